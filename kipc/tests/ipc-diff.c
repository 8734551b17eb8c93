// SPDX-License-Identifier: GPL-2.0
/*
 * ipc-diff: a transcript of System V IPC semantics, edge cases included,
 * with nothing in it that differs between two correct implementations
 * (no ids, no addresses, no times). The differential test runs it in a
 * local IPC namespace (the kernel's own IPC) and in a cluster-enabled one
 * (kipc) and requires identical transcripts.
 *
 *   ipc-diff [KEYBASE]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	key_t key = argc > 1 ? (key_t)strtol(argv[1], NULL, 0) : 0x6b646966;

	setvbuf(stdout, NULL, _IOLBF, 0);
	shm_battery(key);
	msg_battery(key + 0x100);
	sem_battery(key + 0x200);
	return 0;
}
