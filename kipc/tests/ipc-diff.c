// SPDX-License-Identifier: GPL-2.0
/*
 * ipc-diff: a transcript of System V IPC semantics, edge cases included,
 * with nothing in it that differs between two correct implementations
 * (no ids, no addresses, no times). The differential test runs it in a
 * local IPC namespace (the kernel's own IPC) and in a cluster-enabled one
 * (kipc) and requires identical transcripts.
 *
 * The limits part lowers the namespace's sysctls (msgmax, msgmnb, msgmni,
 * sem) for a while, relative to what is in use, and restores them.
 *
 *   ipc-diff [KEYBASE]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef IPC_DIRECT
#include "ipc-direct.h"
#endif

static const char *res(long r)
{
	static char buf[64];

	if (r >= 0)
		return "ok";
	snprintf(buf, sizeof(buf), "%s", strerrorname_np(errno) ?: "?");
	return buf;
}

#define SAY(name, fmt, ...) printf("%-28s " fmt "\n", name, ##__VA_ARGS__)

/* Runs @fn as uid 1000 in a child; returns its exit code. */
static int as_user(int (*fn)(int, key_t), int id, key_t key)
{
	pid_t pid = fork();
	int st;

	if (!pid) {
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(99);
		_exit(fn(id, key));
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int user_checks(int id, key_t key)
{
	struct shmid_ds ds;

	SAY("user shmget read", "%s", res(shmget(key, 0, 0400)));
	SAY("user shmget no perm bits", "%s", res(shmget(key, 0, 0)));
	SAY("user IPC_STAT", "%s", res(shmctl(id, IPC_STAT, &ds)));
	SAY("user IPC_RMID", "%s", res(shmctl(id, IPC_RMID, NULL)));
	SAY("user shmat", "%s", res((long)shmat(id, NULL, 0)));
	SAY("user SHM_HUGETLB", "%s", res(shmget(key + 0x10, 2 << 20,
					       IPC_CREAT | SHM_HUGETLB | 0600)));
	fflush(stdout);
	return 0;
}

static void stat_line(const char *name, int id)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds)) {
		SAY(name, "%s", res(-1));
		return;
	}
	SAY(name, "size %zu nattch %lu mode %o cpid-is-me %d", ds.shm_segsz,
	    ds.shm_nattch, ds.shm_perm.mode, ds.shm_cpid == getpid());
}

static void shm_battery(key_t key)
{
	struct shmid_ds ds;
	char *a, *b, *c;
	pid_t pid;
	int id, st;

	SAY("shmget size 0", "%s", res(shmget(IPC_PRIVATE, 0, 0600)));
	SAY("shmget missing key", "%s", res(shmget(key, 4096, 0600)));
	id = shmget(key, 6000, IPC_CREAT | 0600);
	SAY("shmget create", "%s", res(id));
	SAY("shmget excl", "%s", res(shmget(key, 4096, IPC_CREAT | IPC_EXCL)));
	SAY("shmget bigger", "%s", res(shmget(key, 9000, 0)));
	SAY("shmget same id", "%d", shmget(key, 100, 0) == id);
	stat_line("stat new", id);
	a = shmat(id, NULL, 0);
	SAY("shmat", "%s", res(a == (void *)-1 ? -1 : 0));
	strcpy(a + 4100, "second page");
	b = shmat(id, NULL, SHM_RDONLY);
	SAY("shmat rdonly", "%s", res(b == (void *)-1 ? -1 : 0));
	SAY("same bytes", "%d", !strcmp(b + 4100, "second page"));
	stat_line("stat attached twice", id);
	SAY("shmat remap no addr", "%s", res((long)shmat(id, NULL, SHM_REMAP)));
	SAY("shmat unaligned", "%s", res((long)shmat(id, a + 1, 0)));
	SAY("shmat rnd busy", "%s", res((long)shmat(id, a + 1, SHM_RND)));
	SAY("shmat rnd remap", "%d",
	    shmat(id, a + 1, SHM_RND | SHM_REMAP) == a);
	SAY("shmdt unaligned", "%s", res(shmdt(a + 1)));
	SAY("shmdt not attached", "%s", res(shmdt((void *)0x10000)));
	pid = fork();
	if (!pid) {
		b[0] = 1;	/* read-only: SIGSEGV */
		_exit(0);
	}
	waitpid(pid, &st, 0);
	SAY("write to rdonly", "%s", WIFSIGNALED(st) ?
	    strsignal(WTERMSIG(st)) : "no signal");
	pid = fork();
	if (!pid) {
		stat_line("stat in child", id);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	ds.shm_perm.uid = getuid();
	ds.shm_perm.gid = getgid();
	ds.shm_perm.mode = 0640;
	SAY("IPC_SET", "%s", res(shmctl(id, IPC_SET, &ds)));
	stat_line("stat after set", id);
	{
		struct shminfo si;

		SAY("IPC_INFO", "%s", res(shmctl(0, IPC_INFO,
						 (struct shmid_ds *)&si)));
		SAY("shminfo", "shmmax %lu shmmin %lu shmmni %lu shmall %lu",
		    si.shmmax, si.shmmin, si.shmmni, si.shmall);
	}
	SAY("bad cmd", "%s", res(shmctl(id, 12345, &ds)));
	/* with no huge page reserved (vm.nr_hugepages 0, as on the guests) */
	SAY("SHM_HUGETLB none reserved", "%s",
	    res(shmget(key + 0x11, 2 << 20, IPC_CREAT | SHM_HUGETLB | 0600)));
	SAY("SHM_HUGETLB existing key", "%d",
	    shmget(key, 100, SHM_HUGETLB) == id);
	SAY("bad id", "%s", res(shmctl(0x7ffffff0, IPC_STAT, &ds)));
	SAY("negative id", "%s", res(shmctl(-1, IPC_STAT, &ds)));
	fflush(stdout);
	as_user(user_checks, id, key);
	SAY("IPC_RMID attached", "%s", res(shmctl(id, IPC_RMID, NULL)));
	stat_line("stat removed attached", id);
	SAY("key after rmid", "%s", res(shmget(key, 100, 0)));
	c = shmat(id, NULL, 0);
	SAY("shmat after rmid", "%s", res(c == (void *)-1 ? -1 : 0));
	SAY("data after rmid", "%d", !strcmp(c + 4100, "second page"));
	SAY("shmdt", "%s", res(shmdt(a)));
	SAY("shmdt rdonly", "%s", res(shmdt(b)));
	stat_line("stat one left", id);
	SAY("shmdt last", "%s", res(shmdt(c)));
	stat_line("stat destroyed", id);
	SAY("shmdt twice", "%s", res(shmdt(c)));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal with a handler (no SA_RESTART) arrives in 200 ms. */
static void arm_signal(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 200 * 1000 } };

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

struct mbuf {
	long type;
	char text[64];
};

static void msg_rcv(const char *name, int id, long type, int flg, size_t sz)
{
	struct mbuf m = { 0 };
	ssize_t n = msgrcv(id, &m, sz, type, flg);

	if (n < 0)
		SAY(name, "%s", res(-1));
	else
		SAY(name, "type %ld len %zd text %.*s", m.type, n, (int)n,
		    m.text);
}

static int msg_user(int id, key_t key)
{
	struct mbuf m = { 1, "x" };

	SAY("user msgget read", "%s", res(msgget(key, 0400)));
	SAY("user msgsnd", "%s", res(msgsnd(id, &m, 1, IPC_NOWAIT)));
	SAY("user IPC_RMID", "%s", res(msgctl(id, IPC_RMID, NULL)));
	fflush(stdout);
	return 0;
}

static void msg_battery(key_t key)
{
	struct mbuf m;
	struct msqid_ds ds;
	int id, i;

	SAY("msgget missing", "%s", res(msgget(key, 0600)));
	id = msgget(key, IPC_CREAT | 0600);
	SAY("msgget create", "%s", res(id));
	SAY("msgget excl", "%s", res(msgget(key, IPC_CREAT | IPC_EXCL)));
	m.type = 0;
	SAY("msgsnd type 0", "%s", res(msgsnd(id, &m, 1, 0)));
	SAY("msgsnd negative size", "%s", res(msgsnd(id, &m, -1, 0)));
	for (i = 1; i <= 4; i++) {
		m.type = i;
		snprintf(m.text, sizeof(m.text), "m%d", i);
		msgsnd(id, &m, 3, 0);
	}
	msgctl(id, IPC_STAT, &ds);
	SAY("stat", "qnum %lu cbytes %lu mode %o", ds.msg_qnum,
	    ds.__msg_cbytes, ds.msg_perm.mode);
	msg_rcv("rcv type 3", id, 3, 0, 64);
	msg_rcv("rcv except 1", id, 1, MSG_EXCEPT, 64);
	msg_rcv("rcv lowest <= 4", id, -4, 0, 64);
	msg_rcv("rcv too small", id, 0, 0, 1);
	msg_rcv("rcv noerror", id, 0, MSG_NOERROR, 1);
	msg_rcv("rcv empty nowait", id, 0, IPC_NOWAIT, 64);
	msg_rcv("rcv copy no nowait", id, 0, MSG_COPY, 64);
	m.type = 9;
	msgsnd(id, &m, 3, 0);
	msg_rcv("rcv copy 0", id, 0, MSG_COPY | IPC_NOWAIT, 64);
	msg_rcv("rcv copy 1", id, 1, MSG_COPY | IPC_NOWAIT, 64);
	arm_signal();
	msg_rcv("rcv interrupted", id, 5, 0, 64);
	fflush(stdout);
	as_user(msg_user, id, key);
	ds.msg_qbytes = 100;
	SAY("IPC_SET qbytes", "%s", res(msgctl(id, IPC_SET, &ds)));
	msgctl(id, IPC_STAT, &ds);
	SAY("stat after set", "qnum %lu qbytes %lu", ds.msg_qnum,
	    ds.msg_qbytes);
	m.type = 1;
	SAY("snd fits", "%s", res(msgsnd(id, &m, 60, IPC_NOWAIT)));
	SAY("snd full nowait", "%s", res(msgsnd(id, &m, 60, IPC_NOWAIT)));
	SAY("snd too big", "%s", res(msgsnd(id, &m, 200000, IPC_NOWAIT)));
	{
		struct msginfo mi;

		SAY("IPC_INFO", "%s", res(msgctl(0, IPC_INFO,
						 (struct msqid_ds *)&mi)));
		SAY("msginfo", "msgmax %d msgmnb %d msgmni %d", mi.msgmax,
		    mi.msgmnb, mi.msgmni);
	}
	SAY("bad cmd", "%s", res(msgctl(id, 12345, &ds)));
	SAY("IPC_RMID", "%s", res(msgctl(id, IPC_RMID, NULL)));
	SAY("stat removed", "%s", res(msgctl(id, IPC_STAT, &ds)));
}

static int sem_user(int id, key_t key)
{
	struct sembuf op = { 0, 1, IPC_NOWAIT };

	SAY("user semget read", "%s", res(semget(key, 0, 0400)));
	SAY("user semop", "%s", res(semop(id, &op, 1)));
	SAY("user GETVAL", "%s", res(semctl(id, 0, GETVAL)));
	SAY("user IPC_RMID", "%s", res(semctl(id, 0, IPC_RMID)));
	fflush(stdout);
	return 0;
}

static void sem_battery(key_t key)
{
	unsigned short vals[3] = { 1, 2, 3 }, got[3];
	struct sembuf ops[2];
	struct semid_ds ds;
	pid_t pid;
	int id, st;

	SAY("semget missing", "%s", res(semget(key, 3, 0600)));
	SAY("semget nsems -1", "%s", res(semget(key, -1, IPC_CREAT)));
	id = semget(key, 3, IPC_CREAT | 0600);
	SAY("semget create", "%s", res(id));
	SAY("semget more sems", "%s", res(semget(key, 4, 0)));
	SAY("semget excl", "%s", res(semget(key, 3, IPC_CREAT | IPC_EXCL)));
	SAY("SETALL", "%s", res(semctl(id, 0, SETALL, vals)));
	semctl(id, 0, GETALL, got);
	SAY("GETALL", "%u %u %u", got[0], got[1], got[2]);
	SAY("SETVAL range", "%s", res(semctl(id, 0, SETVAL, 40000)));
	SAY("GETVAL bad num", "%s", res(semctl(id, 5, GETVAL)));
	ops[0] = (struct sembuf) { 0, -1, 0 };
	ops[1] = (struct sembuf) { 1, -5, IPC_NOWAIT };
	SAY("semop not all", "%s", res(semop(id, ops, 2)));
	SAY("GETVAL unchanged", "%d", semctl(id, 0, GETVAL));
	ops[1].sem_op = -2;
	SAY("semop all", "%s", res(semop(id, ops, 2)));
	semctl(id, 0, GETALL, got);
	SAY("GETALL after", "%u %u %u", got[0], got[1], got[2]);
	ops[0] = (struct sembuf) { 7, 1, 0 };
	SAY("semop bad num", "%s", res(semop(id, ops, 1)));
	SAY("semop zero ops", "%s", res(semop(id, ops, 0)));
	pid = fork();
	if (!pid) {
		struct sembuf u = { 2, -3, SEM_UNDO };

		_exit(semop(id, &u, 1) ? 1 : 0);
	}
	waitpid(pid, &st, 0);
	SAY("undo child", "%d", WEXITSTATUS(st));
	SAY("GETVAL after undo", "%d", semctl(id, 2, GETVAL));
	SAY("GETPID is child", "%d", semctl(id, 2, GETPID) == pid);
	ops[0] = (struct sembuf) { 0, -1, 0 };
	{
		struct timespec ts = { 0, 200 * 1000 * 1000 };

		SAY("semtimedop timeout", "%s",
		    res(semtimedop(id, ops, 1, &ts)));
	}
	SAY("GETNCNT", "%d", semctl(id, 0, GETNCNT));
	arm_signal();
	SAY("semop interrupted", "%s", res(semop(id, ops, 1)));
	SAY("GETNCNT after signal", "%d", semctl(id, 0, GETNCNT));
	semctl(id, 0, IPC_STAT, &ds);
	SAY("stat", "nsems %lu mode %o", ds.sem_nsems, ds.sem_perm.mode);
	fflush(stdout);
	as_user(sem_user, id, key);
	SAY("GETZCNT", "%d", semctl(id, 0, GETZCNT));
	{
		struct seminfo si;

		SAY("IPC_INFO", "%s", res(semctl(0, 0, IPC_INFO, &si)));
		SAY("seminfo", "semmsl %d semmns %d semopm %d", si.semmsl,
		    si.semmns, si.semopm);
		SAY("seminfo", "semmni %d semvmx %d", si.semmni, si.semvmx);
	}
	SAY("bad cmd", "%s", res(semctl(id, 0, 12345)));
	SAY("IPC_RMID", "%s", res(semctl(id, 0, IPC_RMID)));
	SAY("GETVAL removed", "%s", res(semctl(id, 0, GETVAL)));
}

/* ---- namespace limits ---- */

static const char *const sysctls[] = { "msgmax", "msgmnb", "msgmni", "sem" };

static int sysctl_get(const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int sysctl_set(const char *name, const char *fmt, ...)
{
	char path[64], val[128];
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * Runs @fn in a child with the limits it sets, then puts the sysctls
 * back, whatever became of the child.
 */
static void with_sysctls(void (*fn)(key_t), key_t key)
{
	char saved[4][128];
	unsigned int i;
	pid_t pid;
	int st;

	for (i = 0; i < 4; i++)
		if (sysctl_get(sysctls[i], saved[i], sizeof(saved[i]))) {
			SAY("sysctl read", "%s %s", sysctls[i], res(-1));
			return;
		}
	pid = fork();
	if (!pid) {
		fn(key);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	for (i = 0; i < 4; i++)
		if (sysctl_set(sysctls[i], "%s", saved[i]))
			SAY("sysctl restore", "%s %s", sysctls[i], res(-1));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		SAY("limits child", "status %d", st);
}

/* As the owner without CAP_SYS_RESOURCE: raising msg_qbytes. */
static int msg_qbytes_user(int id, key_t key)
{
	struct msqid_ds ds;

	(void)key;
	msgctl(id, IPC_STAT, &ds);
	ds.msg_qbytes = 129;
	SAY("user qbytes > msgmnb", "%s", res(msgctl(id, IPC_SET, &ds)));
	ds.msg_qbytes = 128;
	SAY("user qbytes = msgmnb", "%s", res(msgctl(id, IPC_SET, &ds)));
	/*
	 * the kernel takes msg_qbytes as an int: 2^32 + 100 is 100 (a 32-bit
	 * msg_qbytes is 100 already)
	 */
	ds.msg_qbytes = (msglen_t)((1ULL << 32) + 100);
	SAY("user qbytes 2^32+100", "%s", res(msgctl(id, IPC_SET, &ds)));
	msgctl(id, IPC_STAT, &ds);
	SAY("user stat", "qbytes %lu", ds.msg_qbytes);
	fflush(stdout);
	return 0;
}

static void msg_limits(key_t key)
{
	struct msginfo mi;
	struct msqid_ds ds;
	struct mbuf m = { 1, "" };
	int in_use, id, id2;

	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0) {
		SAY("MSG_INFO", "%s", res(-1));
		return;
	}
	in_use = mi.msgpool;
	if (sysctl_set("msgmax", "64") || sysctl_set("msgmnb", "128") ||
	    sysctl_set("msgmni", "%d", in_use + 2)) {
		SAY("lower msg sysctls", "%s", res(-1));
		return;
	}
	msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	SAY("msginfo lowered", "msgmax %d msgmnb %d msgmni-in-use %d",
	    mi.msgmax, mi.msgmnb, mi.msgmni - in_use);
	id = msgget(key, IPC_CREAT | 0600);
	SAY("msgget under msgmni", "%s", res(id));
	msgctl(id, IPC_STAT, &ds);
	SAY("qbytes is msgmnb", "qbytes %lu", ds.msg_qbytes);
	SAY("snd msgmax+1", "%s", res(msgsnd(id, &m, 65, IPC_NOWAIT)));
	SAY("snd msgmax", "%s", res(msgsnd(id, &m, 64, IPC_NOWAIT)));
	SAY("snd fills msgmnb", "%s", res(msgsnd(id, &m, 64, IPC_NOWAIT)));
	SAY("snd past msgmnb", "%s", res(msgsnd(id, &m, 1, IPC_NOWAIT)));
	sysctl_set("msgmax", "32");
	SAY("snd 33 > msgmax 32", "%s", res(msgsnd(id, &m, 33, IPC_NOWAIT)));
	msg_rcv("copy 64 > msgmax 32", id, 0, MSG_COPY | IPC_NOWAIT, 64);
	msg_rcv("rcv 64 > msgmax 32", id, 0, IPC_NOWAIT, 64);
	sysctl_set("msgmax", "64");
	id2 = msgget(key + 1, IPC_CREAT | 0600);
	SAY("msgget at msgmni", "%s", res(id2));
	SAY("msgget past msgmni", "%s", res(msgget(key + 2, IPC_CREAT | 0600)));
	SAY("msgget private past", "%s", res(msgget(IPC_PRIVATE, 0600)));
	SAY("msgget existing", "%d", msgget(key, 0) == id);
	sysctl_set("msgmni", "%d", in_use);
	SAY("msgget existing, lowered", "%d", msgget(key + 1, 0) == id2);
	SAY("msgctl rmid id2", "%s", res(msgctl(id2, IPC_RMID, NULL)));
	SAY("msgget past msgmni again", "%s",
	    res(msgget(key + 2, IPC_CREAT | 0600)));
	sysctl_set("msgmni", "%d", in_use + 2);
	/* the queue to uid 1000, who may then change msg_qbytes */
	ds.msg_perm.uid = 1000;
	ds.msg_perm.gid = 1000;
	ds.msg_perm.mode = 0600;
	ds.msg_qbytes = 128;
	SAY("IPC_SET to user", "%s", res(msgctl(id, IPC_SET, &ds)));
	fflush(stdout);
	as_user(msg_qbytes_user, id, key);
	msgctl(id, IPC_STAT, &ds);
	ds.msg_qbytes = 200;
	SAY("root qbytes > msgmnb", "%s", res(msgctl(id, IPC_SET, &ds)));
	sysctl_set("msgmnb", "100");
	msgctl(id, IPC_STAT, &ds);
	SAY("msgmnb lowered, queue", "qbytes %lu qnum %lu", ds.msg_qbytes,
	    ds.msg_qnum);
	SAY("snd after raise", "%s", res(msgsnd(id, &m, 50, IPC_NOWAIT)));
	SAY("msgctl rmid", "%s", res(msgctl(id, IPC_RMID, NULL)));
	id = msgget(IPC_PRIVATE, 0600);
	SAY("msgget new, msgmnb 100", "%s", res(id));
	msgctl(id, IPC_STAT, &ds);
	SAY("new queue", "qbytes %lu", ds.msg_qbytes);
	msgctl(id, IPC_RMID, NULL);
}

static void sem_limits(key_t key)
{
	struct sembuf ops[4] = {
		{ 0, 1, 0 }, { 1, 1, 0 }, { 2, 1, 0 }, { 3, 1, 0 },
	};
	struct seminfo si;
	int in_use, used, id, id2, id3;

	if (semctl(0, 0, SEM_INFO, &si) < 0) {
		SAY("SEM_INFO", "%s", res(-1));
		return;
	}
	in_use = si.semusz;
	used = si.semaem;
	/* semmsl semmns semopm semmni */
	if (sysctl_set("sem", "4 %d 3 %d", used + 6, in_use + 3)) {
		SAY("lower sem sysctl", "%s", res(-1));
		return;
	}
	semctl(0, 0, IPC_INFO, &si);
	SAY("seminfo lowered", "semmsl %d semopm %d", si.semmsl, si.semopm);
	SAY("seminfo lowered", "semmns-used %d semmni-in-use %d",
	    si.semmns - used, si.semmni - in_use);
	SAY("semget > semmsl", "%s", res(semget(key, 5, IPC_CREAT | 0600)));
	id = semget(key, 4, IPC_CREAT | 0600);
	SAY("semget = semmsl", "%s", res(id));
	SAY("semget existing > semmsl", "%s", res(semget(key, 5, 0)));
	SAY("semget existing 0", "%d", semget(key, 0, 0) == id);
	SAY("semget past semmns", "%s",
	    res(semget(key + 1, 3, IPC_CREAT | 0600)));
	id2 = semget(key + 1, 2, IPC_CREAT | 0600);
	SAY("semget to semmns", "%s", res(id2));
	SAY("semget private past semmns", "%s",
	    res(semget(IPC_PRIVATE, 1, 0600)));
	semctl(0, 0, SEM_INFO, &si);
	SAY("sem_info", "sets %d sems %d", si.semusz - in_use,
	    si.semaem - used);
	SAY("semop > semopm", "%s", res(semop(id, ops, 4)));
	SAY("semop > semopm, bad id", "%s", res(semop(-1, ops, 4)));
	SAY("semop = semopm", "%s", res(semop(id, ops, 3)));
	SAY("GETVAL 2", "%d", semctl(id, 2, GETVAL));
	sysctl_set("sem", "4 %d 3 %d", used + 100, in_use + 3);
	id3 = semget(IPC_PRIVATE, 1, 0600);
	SAY("semget to semmni", "%s", res(id3));
	SAY("semget past semmni", "%s",
	    res(semget(key + 2, 1, IPC_CREAT | 0600)));
	SAY("semctl rmid", "%s", res(semctl(id2, 0, IPC_RMID)));
	id2 = semget(key + 2, 1, IPC_CREAT | 0600);
	SAY("semget after rmid", "%s", res(id2));
	semctl(0, 0, SEM_INFO, &si);
	SAY("sem_info", "sets %d sems %d", si.semusz - in_use,
	    si.semaem - used);
	semctl(id, 0, IPC_RMID);
	semctl(id2, 0, IPC_RMID);
	semctl(id3, 0, IPC_RMID);
	semctl(0, 0, SEM_INFO, &si);
	SAY("sem_info removed", "sets %d sems %d", si.semusz - in_use,
	    si.semaem - used);
}

/* ---- SEM_UNDO lists and CLONE_SYSVSEM ---- */

/* Waits until thread @tid of this process is gone (past exit_sem()). */
static void thread_gone(pid_t tid)
{
	struct timespec ts = { 0, 1000 * 1000 };
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	for (i = 0; i < 10000 && !access(path, F_OK); i++)
		nanosleep(&ts, NULL);
}

struct undo_arg {
	int id;
	pid_t tid;
	int ret;
};

static void *undo_thread(void *p)
{
	struct undo_arg *a = p;
	struct sembuf op = { 0, -1, SEM_UNDO };

	a->tid = gettid();
	a->ret = semop(a->id, &op, 1);
	return NULL;
}

/* A thread (clone() with CLONE_SYSVSEM, as pthreads) takes one, exits. */
static void undo_pthread(int id)
{
	struct undo_arg a = { .id = id };
	pthread_t t;

	pthread_create(&t, NULL, undo_thread, &a);
	pthread_join(t, NULL);
	thread_gone(a.tid);
	SAY("pthread semop undo", "%s", res(a.ret));
	SAY("pthread gone, value", "%d", semctl(id, 0, GETVAL));
}

/* semop without libc; i386 has no semop system call: ipc(2)'s SEMOP. */
static long raw_semop(int id, struct sembuf *op, unsigned int nsops)
{
#ifdef SYS_semop
	return syscall(SYS_semop, id, op, nsops);
#else
	return syscall(SYS_ipc, 1, id, nsops, 0, op, 0);
#endif
}

/* A raw thread, CLONE_THREAD without CLONE_SYSVSEM: its own undo list. */
static int raw_thread(void *p)
{
	struct undo_arg *a = p;
	struct sembuf op = { 0, -1, SEM_UNDO };

	/* no TLS of its own: system calls only */
	a->tid = syscall(SYS_gettid);
	a->ret = raw_semop(a->id, &op, 1);
	return 0;
}

static void undo_raw_thread(int id)
{
	static long double stack[4096];		/* 64 KiB, 16-byte aligned */
	struct undo_arg a = { .id = id, .tid = 0 };
	struct timespec ts = { 0, 1000 * 1000 };
	pid_t ctid = 1;		/* the kernel clears it when the thread exits */
	int i;

	if (clone(raw_thread, stack + 4096,
		  CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
		  CLONE_THREAD | CLONE_CHILD_CLEARTID, &a, NULL, NULL,
		  &ctid) < 0) {
		SAY("clone thread", "%s", res(-1));
		return;
	}
	for (i = 0; i < 10000 && __atomic_load_n(&ctid, __ATOMIC_ACQUIRE); i++)
		nanosleep(&ts, NULL);
	thread_gone(a.tid);
	SAY("raw thread semop undo", "%s", res(a.ret));
	SAY("raw thread gone, value", "%d", semctl(id, 0, GETVAL));
}

/* Waits until thread @tid of this process is a zombie (past exit_sem()). */
static void thread_zombie(pid_t tid)
{
	struct timespec ts = { 0, 1000 * 1000 };
	char path[64], buf[256], *p;
	int fd, i;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (i = 0; i < 10000; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		p = strrchr(buf, ')');
		if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
			return;
		nanosleep(&ts, NULL);
	}
}

/* The thread that outlives the leader of its process. */
static void *last_thread(void *p)
{
	struct undo_arg *a = p;
	struct sembuf op = { 0, -1, SEM_UNDO };

	a->ret = semop(a->id, &op, 1);
	SAY("thread semop undo", "%s", res(a->ret));
	/* the leader, whose semop with SEM_UNDO came first, exits */
	thread_zombie(a->tid);
	SAY("leader gone, value", "%d", semctl(a->id, 0, GETVAL));
	fflush(stdout);
	_exit(0);
}

static void sem_undo_sharing(key_t key)
{
	struct sembuf op = { 0, -1, SEM_UNDO };
	int id = semget(key, 1, IPC_CREAT | 0600);
	pid_t pid, c;
	int st;

	SAY("semget undo set", "%s", res(id));
	semctl(id, 0, SETVAL, 5);
	/* threads share the list: undone when the process exits */
	pid = fork();
	if (!pid) {
		undo_pthread(id);
		undo_pthread(id);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	SAY("process gone, value", "%d", semctl(id, 0, GETVAL));
	/*
	 * A process with adjustments of its own starts a thread: they share
	 * them now; the leader exits first, the thread last.
	 */
	pid = fork();
	if (!pid) {
		static struct undo_arg a;
		pthread_t t;

		a.id = id;
		a.tid = getpid();
		SAY("leader semop undo", "%s", res(semop(id, &op, 1)));
		fflush(stdout);
		pthread_create(&t, NULL, last_thread, &a);
		/* this thread only (pthread_exit() would need libgcc_s) */
		syscall(SYS_exit, 0);
	}
	waitpid(pid, &st, 0);
	SAY("process gone, value", "%d", semctl(id, 0, GETVAL));
	/* a process that shares it (CLONE_SYSVSEM without CLONE_THREAD) */
	pid = fork();
	if (!pid) {
		c = syscall(SYS_clone, CLONE_SYSVSEM | SIGCHLD, NULL, NULL,
			    NULL, NULL);
		if (!c)
			_exit(raw_semop(id, &op, 1) ? 1 : 0);
		waitpid(c, &st, 0);
		SAY("sharer exit", "%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		SAY("sharer gone, value", "%d", semctl(id, 0, GETVAL));
		SAY("own semop undo", "%s", res(semop(id, &op, 1)));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	SAY("last sharer gone, value", "%d", semctl(id, 0, GETVAL));
	/* a thread with a list of its own: undone when it exits */
	pid = fork();
	if (!pid) {
		undo_raw_thread(id);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	SAY("process gone, value", "%d", semctl(id, 0, GETVAL));
	/* unshare(CLONE_SYSVSEM) leaves the list: as an exit */
	pid = fork();
	if (!pid) {
		SAY("semop undo", "%s", res(semop(id, &op, 1)));
		SAY("value", "%d", semctl(id, 0, GETVAL));
		SAY("unshare sysvsem", "%s", res(unshare(CLONE_SYSVSEM)));
		SAY("value after unshare", "%d", semctl(id, 0, GETVAL));
		SAY("semop undo again", "%s", res(semop(id, &op, 1)));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	SAY("process gone, value", "%d", semctl(id, 0, GETVAL));
	/* fork() does not share: the child's exit undoes only its own */
	pid = fork();
	if (!pid) {
		semop(id, &op, 1);
		if (!fork())
			_exit(semop(id, &op, 1) ? 1 : 0);
		wait(&st);
		SAY("forked child gone, value", "%d", semctl(id, 0, GETVAL));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	SAY("process gone, value", "%d", semctl(id, 0, GETVAL));
	SAY("IPC_RMID", "%s", res(semctl(id, 0, IPC_RMID)));
}

#ifdef __i386__
/*
 * "ipc-diff32 KEY old": IPC_STAT and IPC_SET in the old layouts (16-bit
 * uids, modes, pids and counts), which only ipc(2) without IPC_64 reaches.
 */
struct old_perm {
	int32_t key;
	uint16_t uid, gid, cuid, cgid, mode, seq;
};

struct old_shmid_ds {
	struct old_perm perm;
	int32_t segsz, atime, dtime, ctime;
	uint16_t cpid, lpid, nattch, unused;
	uint32_t unused2, unused3;
};

struct old_msqid_ds {
	struct old_perm perm;
	uint32_t first, last;
	int32_t stime, rtime, ctime;
	uint32_t lcbytes, lqbytes;
	uint16_t cbytes, qnum, qbytes, lspid, lrpid;
};

struct old_semid_ds {
	struct old_perm perm;
	int32_t otime, ctime;
	uint32_t base, pending, pending_last, undo;
	uint16_t nsems;
};

enum { OLD_SEMCTL = 3, OLD_MSGCTL = 14, OLD_SHMCTL = 24 };

static long old_ctl(int call, int id, int cmd, void *buf)
{
	uint32_t arg = (uint32_t)(uintptr_t)buf;

	if (call == OLD_SEMCTL)	/* ipc(SEMCTL, id, semnum, cmd, &semun) */
		return syscall(SYS_ipc, call, id, 0, cmd, &arg, 0);
	return syscall(SYS_ipc, call, id, cmd, 0, buf, 0);
}

static void old_perm(const char *name, const struct old_perm *p, key_t key)
{
	SAY(name, "key %d uid %u gid %u cuid %u cgid %u mode %o",
	    p->key == key, p->uid, p->gid, p->cuid, p->cgid, p->mode);
}

static void old_shm(key_t key)
{
	struct old_shmid_ds s = {};
	int id = shmget(key, 5000, IPC_CREAT | 0640);
	void *a = shmat(id, NULL, 0);

	SAY("old shm IPC_STAT", "%s", res(old_ctl(OLD_SHMCTL, id, IPC_STAT, &s)));
	old_perm("old shm perm", &s.perm, key);
	SAY("old shm", "segsz %d nattch %u cpid me %d lpid me %d ctime %d",
	    s.segsz, s.nattch, s.cpid == (uint16_t)getpid(),
	    s.lpid == (uint16_t)getpid(), s.ctime != 0);
	s.perm.mode = 0604;
	s.perm.uid = 1234;
	s.perm.gid = 4321;
	SAY("old shm IPC_SET", "%s", res(old_ctl(OLD_SHMCTL, id, IPC_SET, &s)));
	memset(&s, 0, sizeof(s));
	old_ctl(OLD_SHMCTL, id, IPC_STAT, &s);
	old_perm("old shm perm set", &s.perm, key);
	SAY("old shm bad id", "%s",
	    res(old_ctl(OLD_SHMCTL, 0x7ffffff0, IPC_STAT, &s)));
	shmdt(a);
	SAY("old shm IPC_RMID", "%s", res(old_ctl(OLD_SHMCTL, id, IPC_RMID, NULL)));
}

static void old_msg(key_t key)
{
	struct { long type; char text[16]; } m = { 1, "0123456789" };
	struct old_msqid_ds q = {};
	int id = msgget(key, IPC_CREAT | 0640);
	struct msqid_ds ds;

	msgsnd(id, &m, 10, 0);
	msgsnd(id, &m, 7, 0);
	SAY("old msg IPC_STAT", "%s", res(old_ctl(OLD_MSGCTL, id, IPC_STAT, &q)));
	old_perm("old msg perm", &q.perm, key);
	SAY("old msg", "qnum %u cbytes %u qbytes %u lcbytes %u lqbytes %u lspid me %d",
	    q.qnum, q.cbytes, q.qbytes, q.lcbytes, q.lqbytes,
	    q.lspid == (uint16_t)getpid());
	q.qbytes = 1000;
	q.perm.mode = 0600;
	SAY("old msg IPC_SET", "%s", res(old_ctl(OLD_MSGCTL, id, IPC_SET, &q)));
	msgctl(id, IPC_STAT, &ds);
	SAY("old msg after set", "qbytes %lu mode %o", (unsigned long)ds.msg_qbytes,
	    ds.msg_perm.mode);
	SAY("old msg IPC_RMID", "%s", res(old_ctl(OLD_MSGCTL, id, IPC_RMID, NULL)));
}

static void old_sem(key_t key)
{
	struct old_semid_ds s = {};
	int id = semget(key, 3, IPC_CREAT | 0640);

	SAY("old sem IPC_STAT", "%s", res(old_ctl(OLD_SEMCTL, id, IPC_STAT, &s)));
	old_perm("old sem perm", &s.perm, key);
	SAY("old sem", "nsems %u ctime %d", s.nsems, s.ctime != 0);
	s.perm.mode = 0606;
	SAY("old sem IPC_SET", "%s", res(old_ctl(OLD_SEMCTL, id, IPC_SET, &s)));
	memset(&s, 0, sizeof(s));
	old_ctl(OLD_SEMCTL, id, IPC_STAT, &s);
	old_perm("old sem perm set", &s.perm, key);
	SAY("old sem IPC_RMID", "%s", res(old_ctl(OLD_SEMCTL, id, IPC_RMID, NULL)));
}
#endif

/* The index of object @id of @type (0 shm, 1 msg, 2 sem), or -1. */
static int index_of(int type, int id)
{
	static const int info[] = { SHM_INFO, MSG_INFO, SEM_INFO };
	static const int stat[] = { SHM_STAT, MSG_STAT, SEM_STAT };
	union { struct shmid_ds shm; struct msqid_ds msg;
		struct semid_ds sem; char any[512]; } buf;
	int max, i, r;

	max = type == 0 ? shmctl(0, info[0], &buf.shm) :
	      type == 1 ? msgctl(0, info[1], &buf.msg) :
			  semctl(0, 0, info[2], &buf.any);
	for (i = 0; i <= max; i++) {
		r = type == 0 ? shmctl(i, stat[0], &buf.shm) :
		    type == 1 ? msgctl(i, stat[1], &buf.msg) :
				semctl(i, 0, stat[2], &buf.sem);
		if (r == id)
			return i;
	}
	return -1;
}

static int stat_any_user(int type, key_t idx)
{
	static const int stat[] = { SHM_STAT, MSG_STAT, SEM_STAT };
	static const int any[] = { SHM_STAT_ANY, MSG_STAT_ANY, SEM_STAT_ANY };
	union { struct shmid_ds shm; struct msqid_ds msg;
		struct semid_ds sem; } b;
	long r;

	r = type == 0 ? shmctl(idx, stat[0], &b.shm) :
	    type == 1 ? msgctl(idx, stat[1], &b.msg) :
			semctl(idx, 0, stat[2], &b.sem);
	SAY("user *_STAT 0600", "%s", res(r));
	r = type == 0 ? shmctl(idx, any[0], &b.shm) :
	    type == 1 ? msgctl(idx, any[1], &b.msg) :
			semctl(idx, 0, any[2], &b.sem);
	SAY("user *_STAT_ANY 0600", "%s mode %o", res(r < 0 ? -1 : 0),
	    r < 0 ? 0 : type == 0 ? b.shm.shm_perm.mode :
	    type == 1 ? b.msg.msg_perm.mode : b.sem.sem_perm.mode);
	fflush(stdout);
	return 0;
}

/*
 * /proc/sysvipc/{shm,msg,sem}: the kernel's header, and a line for object
 * @id of @key (its first columns: key, id, perms, then size and nattch,
 * cbytes and qnum, or nsems).
 */
static void proc_line(int type, key_t key, int id)
{
	static const char *const files[] = {
		"/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem",
	};
	char line[512];
	unsigned long a, b;
	int k, i, found = 0;
	unsigned int mode;
	FILE *f = fopen(files[type], "r");

	if (!f) {
		SAY(files[type], "%s", res(-1));
		return;
	}
	if (fgets(line, sizeof(line), f))
		printf("%s", line);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %d %o %lu %*u %*u %lu", &k, &i, &mode, &a,
			   &b) < 4 || k != key || i != id)
			continue;
		if (type == 0)	/* size cpid lpid nattch */
			sscanf(line, "%*d %*d %*o %lu %*u %*u %lu", &a, &b);
		else if (type == 1)	/* cbytes qnum */
			sscanf(line, "%*d %*d %*o %lu %lu", &a, &b);
		else			/* nsems */
			b = 0;
		SAY(files[type], "listed: mode %o %lu %lu", mode, a, b);
		found++;
	}
	fclose(f);
	SAY(files[type], "lines for it %d", found);
}

/*
 * SHM_STAT_ANY, MSG_STAT_ANY, SEM_STAT_ANY: by index like *_STAT, without
 * the read permission; an index not in use is EINVAL.
 */
static void stat_any(key_t key)
{
	static const char *const names[] = { "shm", "msg", "sem" };
	union { struct shmid_ds shm; struct msqid_ds msg;
		struct semid_ds sem; char any[512]; } b;
	int type, id, idx, r;

	for (type = 0; type < 3; type++) {
		id = type == 0 ? shmget(key + type, 4096, IPC_CREAT | 0600) :
		     type == 1 ? msgget(key + type, IPC_CREAT | 0600) :
				 semget(key + type, 1, IPC_CREAT | 0600);
		SAY(names[type], "create %s", res(id));
		proc_line(type, key + type, id);
		idx = index_of(type, id);
		SAY(names[type], "index found %d", idx >= 0);
		r = type == 0 ? shmctl(idx, SHM_STAT_ANY, &b.shm) :
		    type == 1 ? msgctl(idx, MSG_STAT_ANY, &b.msg) :
				semctl(idx, 0, SEM_STAT_ANY, &b.sem);
		SAY(names[type], "*_STAT_ANY gives the id %d", r == id);
		as_user(stat_any_user, type, idx);
		r = type == 0 ? shmctl(0, SHM_INFO, &b.shm) :
		    type == 1 ? msgctl(0, MSG_INFO, &b.msg) :
				semctl(0, 0, SEM_INFO, &b.any);
		r = type == 0 ? shmctl(r + 1, SHM_STAT_ANY, &b.shm) :
		    type == 1 ? msgctl(r + 1, MSG_STAT_ANY, &b.msg) :
				semctl(r + 1, 0, SEM_STAT_ANY, &b.sem);
		SAY(names[type], "*_STAT_ANY past the highest %s", res(r));
		r = type == 0 ? shmctl(id, IPC_RMID, NULL) :
		    type == 1 ? msgctl(id, IPC_RMID, NULL) :
				semctl(id, 0, IPC_RMID);
		SAY(names[type], "rm %s", res(r));
	}
}

static int create(int type, key_t key)
{
	return type == 0 ? shmget(key, 4096, IPC_CREAT | 0600) :
	       type == 1 ? msgget(key, IPC_CREAT | 0600) :
			   semget(key, 1, IPC_CREAT | 0600);
}

static void destroy(int type, int id)
{
	if (type == 0)
		shmctl(id, IPC_RMID, NULL);
	else if (type == 1)
		msgctl(id, IPC_RMID, NULL);
	else
		semctl(id, 0, IPC_RMID);
}

static int proc_int(const char *path, int set, int v)
{
	FILE *f = fopen(path, set ? "w" : "r");
	int ok;

	if (!f)
		return -2;
	ok = set ? fprintf(f, "%d\n", v) > 0 : fscanf(f, "%d", &v) == 1;
	if (fclose(f) || !ok)
		return -2;
	return v;
}

/*
 * /proc/sys/kernel/{shm,msg,sem}_next_id: the next object gets that id
 * (the next free one from it if taken), once. The id names this node's
 * range (node << 15), where kipc and the kernel both can honour it.
 */
static void next_ids(key_t key)
{
	static const char *const files[] = {
		"/proc/sys/kernel/shm_next_id", "/proc/sys/kernel/msg_next_id",
		"/proc/sys/kernel/sem_next_id",
	};
	static const char *const names[] = { "shm", "msg", "sem" };
	int type, node = proc_int("/etc/kddm/node", 0, 0), want, a, b, c;

	want = (node > 0 ? node : 1) << 15 | 30001;
	for (type = 0; type < 3; type++) {
		SAY(names[type], "next_id unset %d",
		    proc_int(files[type], 0, 0) == -1);
		proc_int(files[type], 1, want);
		a = create(type, key + 2 * type);
		SAY(names[type], "next_id used %d", a == want);
		SAY(names[type], "next_id reset %d",
		    proc_int(files[type], 0, 0) == -1);
		proc_int(files[type], 1, want);
		b = create(type, key + 2 * type + 1);
		SAY(names[type], "next_id taken, next free %d", b == want + 1);
		c = create(type, IPC_PRIVATE);
		SAY(names[type], "then a usual id %d",
		    c >= 0 && c != want + 2);
		destroy(type, a);
		destroy(type, b);
		destroy(type, c);
	}
}

static char *remap_at;
static int remap_go;	/* __atomic: set by the remapping thread */

/* remap_file_pages() of the whole segment, until it fails (bounded). */
static void *remap_loop(void *arg)
{
	long i, r = 0;

	(void)arg;
	for (i = 0; i < 100000 && !r; i++) {
		r = remap_file_pages(remap_at, 4 * 4096, 0, 0, 0);
		if (i == 10)
			__atomic_store_n(&remap_go, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&remap_go, 1, __ATOMIC_RELEASE);
	return (void *)(long)(r ? errno : 0);
}

/* Is segment @id still there? */
static const char *seg_state(int id)
{
	struct shmid_ds ds;

	return res(shmctl(id, IPC_STAT, &ds));
}

/*
 * remap_file_pages() on an attached segment: a fragment still detaches
 * with the address of the attach; once the segment is removed and its
 * last mapping goes, a remap fails (the kernel's shm_mmap() refuses a
 * removed segment), in a race with IPC_RMID too, and a program killed
 * meanwhile leaves nothing behind.
 */
static void remap_battery(key_t key)
{
	struct shmid_ds ds;
	pthread_t t;
	void *ret;
	pid_t pid;
	int id, st;
	char *a;

	id = shmget(key, 4 * 4096, IPC_CREAT | 0600);
	a = shmat(id, NULL, 0);
	strcpy(a + 2 * 4096, "page two");
	SAY("remap page 0 to 2", "%s", res(remap_file_pages(a, 4096, 0, 2, 0)));
	SAY("remapped bytes", "%d", !strcmp(a, "page two"));
	SAY("shmdt after remap", "%s", res(shmdt(a)));
	a = shmat(id, NULL, 0);
	SAY("IPC_RMID attached", "%s", res(shmctl(id, IPC_RMID, NULL)));
	SAY("remap removed segment", "%s",
	    res(remap_file_pages(a, 4 * 4096, 0, 0, 0)));
	SAY("segment after", "%s", seg_state(id));
	SAY("shmdt nothing left", "%s", res(shmdt(a)));

	id = shmget(key + 1, 4 * 4096, IPC_CREAT | 0600);
	remap_at = shmat(id, NULL, 0);
	__atomic_store_n(&remap_go, 0, __ATOMIC_RELEASE);
	pthread_create(&t, NULL, remap_loop, NULL);
	while (!__atomic_load_n(&remap_go, __ATOMIC_ACQUIRE))
		sched_yield();
	SAY("IPC_RMID during remaps", "%s", res(shmctl(id, IPC_RMID, NULL)));
	pthread_join(t, &ret);
	SAY("remaps ended", "%s", ret ? strerrorname_np((long)ret) : "no");
	shmdt(remap_at);
	SAY("segment after race", "%s", seg_state(id));

	id = shmget(key + 2, 4 * 4096, IPC_CREAT | 0600);
	pid = fork();
	if (!pid) {
		remap_at = shmat(id, NULL, 0);
		shmctl(id, IPC_RMID, NULL);
		for (;;)
			remap_file_pages(remap_at, 4096, 0, 1, 0);
	}
	while (!shmctl(id, IPC_STAT, &ds) && !(ds.shm_perm.mode & SHM_DEST) &&
	       waitpid(pid, &st, WNOHANG) == 0)
		usleep(1000);
	usleep(100000);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	SAY("killed while remapping", "%s", WIFSIGNALED(st) ?
	    strsignal(WTERMSIG(st)) : "exited");
	SAY("segment after kill", "%s", seg_state(id));
}

/* ---- a caller in a user namespace: ids converted, ipc_update_perm ---- */

union ipc_ds {
	struct shmid_ds shm;
	struct msqid_ds msg;
	struct semid_ds sem;
	char any[512];
};

static long ctl(int type, int id, int cmd, union ipc_ds *b)
{
	return type == 0 ? shmctl(id, cmd, &b->shm) :
	       type == 1 ? msgctl(id, cmd, &b->msg) :
			   semctl(id, 0, cmd, &b->sem);
}

/* Every *id_ds starts with its struct ipc_perm. */
static void owner_line(const char *name, int type, int id)
{
	union ipc_ds b;
	struct ipc_perm *p = &b.shm.shm_perm;

	if (ctl(type, id, IPC_STAT, &b) < 0) {
		SAY(name, "%s", res(-1));
		return;
	}
	SAY(name, "uid %u gid %u cuid %u cgid %u mode %o", p->uid, p->gid,
	    p->cuid, p->cgid, p->mode & 0777);
}

static int set_owner(int type, int id, uid_t uid, gid_t gid, int mode)
{
	union ipc_ds b;

	if (ctl(type, id, IPC_STAT, &b) < 0)
		return -1;
	b.shm.shm_perm.uid = uid;
	b.shm.shm_perm.gid = gid;
	b.shm.shm_perm.mode = mode;
	return ctl(type, id, IPC_SET, &b);
}

static int write_str(const char *path, const char *str)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, str, strlen(str));
	close(fd);
	return n == (ssize_t)strlen(str) ? 0 : -1;
}

/* uid and gid 1000, mapped to 0 in a user namespace of their own. */
static int enter_userns(void)
{
	/* a change of uid makes us undumpable: /proc/self/ root's */
	if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) ||
	    setresuid(1000, 1000, 1000) || prctl(PR_SET_DUMPABLE, 1) ||
	    unshare(CLONE_NEWUSER))
		return -1;
	if (write_str("/proc/self/setgroups", "deny") ||
	    write_str("/proc/self/uid_map", "0 1000 1") ||
	    write_str("/proc/self/gid_map", "0 1000 1"))
		return -1;
	return 0;
}

/* @id: root's, mode 0644; @closed: root's, mode 0600. */
static int userns_checks(int type, int id, int closed, key_t key)
{
	union ipc_ds b;
	int mine;

	if (enter_userns())
		return 98;
	owner_line("ns root's object", type, id);
	SAY("ns root's 0600 object", "%s", res(ctl(type, closed, IPC_STAT,
						   &b)));
	SAY("ns IPC_SET root's", "%s", res(set_owner(type, id, 0, 0, 0666)));
	SAY("ns IPC_RMID root's", "%s", res(ctl(type, id, IPC_RMID, &b)));
	mine = create(type, key);
	SAY("ns create", "%s", res(mine));
	owner_line("ns own object", type, mine);
	SAY("ns IPC_SET unmapped uid", "%s",
	    res(set_owner(type, mine, 5, 0, 0640)));
	SAY("ns IPC_SET unmapped gid", "%s",
	    res(set_owner(type, mine, 0, 5, 0640)));
	SAY("ns IPC_SET mapped", "%s", res(set_owner(type, mine, 0, 0, 0640)));
	owner_line("ns after IPC_SET", type, mine);
	if (type == 0) {
		SAY("ns SHM_LOCK own", "%s", res(shmctl(mine, SHM_LOCK, NULL)));
		SAY("ns SHM_UNLOCK own", "%s",
		    res(shmctl(mine, SHM_UNLOCK, NULL)));
		SAY("ns SHM_LOCK root's", "%s", res(shmctl(id, SHM_LOCK, NULL)));
	}
	fflush(stdout);
	return 0;
}

static void userns_battery(key_t key)
{
	static const char *const names[] = { "shm", "msg", "sem" };
	int type, id, closed, mine, st;
	pid_t pid;

	for (type = 0; type < 3; type++) {
		SAY("userns", "%s", names[type]);
		id = create(type, key + 4 * type);
		closed = create(type, key + 4 * type + 1);
		set_owner(type, id, 0, 0, 0644);
		fflush(stdout);
		pid = fork();
		if (!pid)
			_exit(userns_checks(type, id, closed,
					    key + 4 * type + 2));
		waitpid(pid, &st, 0);
		SAY("userns child", "status %d", WIFEXITED(st) ?
		    WEXITSTATUS(st) : 128 + WTERMSIG(st));
		mine = type == 0 ? shmget(key + 4 * type + 2, 0, 0) :
		       type == 1 ? msgget(key + 4 * type + 2, 0) :
				   semget(key + 4 * type + 2, 0, 0);
		owner_line("outside: ns-made object", type, mine);
		destroy(type, mine);
		destroy(type, closed);
		destroy(type, id);
	}
}

int main(int argc, char **argv)
{
	key_t key = argc > 1 ? (key_t)strtol(argv[1], NULL, 0) : 0x6b646966;

	setvbuf(stdout, NULL, _IOLBF, 0);
#ifdef __i386__
	if (argc > 2 && !strcmp(argv[2], "old")) {
		old_shm(key);
		old_msg(key + 1);
		old_sem(key + 2);
		SAY("end", "%s", "ok");
		return 0;
	}
#endif
	shm_battery(key);
	msg_battery(key + 0x100);
	sem_battery(key + 0x200);
	with_sysctls(msg_limits, key + 0x300);
	with_sysctls(sem_limits, key + 0x400);
	sem_undo_sharing(key + 0x500);
	stat_any(key + 0x600);
	next_ids(key + 0x700);
	remap_battery(key + 0x800);
	userns_battery(key + 0x900);
	SAY("end", "%s", "ok");
	return 0;
}
