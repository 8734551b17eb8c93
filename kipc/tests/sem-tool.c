// SPDX-License-Identifier: GPL-2.0
/*
 * sem-tool: an ordinary System V semaphore program (no kDDM in it) for
 * tests: run on several nodes, it shows whether they share semaphores.
 *
 *   sem-tool [-u UID] get KEY NSEMS [FLAGS]   prints the id; FLAGS: c
 *                                  (IPC_CREAT) x (IPC_EXCL), mode in octal
 *                                  after a comma, e.g. cx,600
 *   sem-tool [-u UID] op ID "NUM:OP[:FLAGS] ..." [TIMEOUT_MS]
 *                                  one semop(2), semtimedop(2) with a
 *                                  timeout;
 *                                  FLAGS: n (IPC_NOWAIT) u (SEM_UNDO)
 *   sem-tool [-u UID] hold ID "NUM:OP[:FLAGS] ..." [BY]
 *                                  the same semop, then say "held" and wait
 *                                  for stdin to close (or to be killed);
 *                                  BY: the semop is made by, and "held"
 *                                  said once it is gone (past exit_sem()):
 *                                  thread (a pthread, which shares the
 *                                  SEM_UNDO list), clone (a process
 *                                  cloned with CLONE_SYSVSEM, sharing it
 *                                  too), rawthread (a thread cloned
 *                                  without CLONE_SYSVSEM: a list of its
 *                                  own)
 *   sem-tool [-u UID] getval|ncnt|zcnt|pid ID NUM   prints the number
 *   sem-tool [-u UID] setval ID NUM VAL
 *   sem-tool [-u UID] getall ID               prints "V V V ..."
 *   sem-tool [-u UID] setall ID V,V,...
 *   sem-tool [-u UID] stat ID                 "nsems N mode O key K uid U
 *                                             otime T"
 *   sem-tool [-u UID] statidx INDEX           SEM_STAT: prints the id
 *   sem-tool [-u UID] rm ID
 *   sem-tool [-u UID] chmod ID MODE           IPC_SET of the mode (octal)
 *   sem-tool info                             "used N sems N maxidx N
 *                                             semmsl N"
 *   sem-tool [-u UID] loop ID N               N times: P(0, SEM_UNDO),
 *                                             semaphore 1 += 1 by GETVAL
 *                                             and SETVAL, V(0)
 * Errors print "sem-tool: OP: ERRNAME" and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOOL "sem-tool"
#include "ipc-common.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

/* semop without libc; i386 has no semop system call: ipc(2)'s SEMOP. */
static long raw_semop(int id, struct sembuf *sops, unsigned int nsops)
{
#ifdef SYS_semop
	return syscall(SYS_semop, id, sops, nsops);
#else
	return syscall(SYS_ipc, 1, id, nsops, 0, sops, 0);
#endif
}

/* "NUM:OP[:FLAGS] ..." into sops; returns their number. */
static int parse_ops(char *s, struct sembuf *sops, int max)
{
	char *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(s, " ", &save); tok && n < max;
	     tok = strtok_r(NULL, " ", &save), n++) {
		char *f;

		sops[n].sem_num = strtol(tok, &f, 0);
		sops[n].sem_op = *f == ':' ? strtol(f + 1, &f, 0) : 0;
		sops[n].sem_flg = 0;
		if (*f == ':')
			for (f++; *f; f++)
				sops[n].sem_flg |= *f == 'n' ? IPC_NOWAIT :
						   *f == 'u' ? SEM_UNDO : 0;
	}
	return n;
}

static int do_op(int argc, char **argv)
{
	struct sembuf sops[64];
	struct timespec ts;
	int n = parse_ops(argv[2], sops, 64);
	long ms;

	/* glibc's semop() is semtimedop(2): call semop(2) itself here. */
	if (argc < 4)
		return raw_semop(num(argv[1]), sops, n) ? fail() : 0;
	ms = num(argv[3]);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000;
	return semtimedop(num(argv[1]), sops, n, &ts) ? fail() : 0;
}

/* The semop of "hold ... BY", made by another task. */
struct by_arg {
	int id;
	struct sembuf sops[64];
	int n;
	pid_t tid;
	int ret;
	int err;
};

static void *by_thread(void *p)
{
	struct by_arg *a = p;

	a->tid = gettid();
	a->ret = raw_semop(a->id, a->sops, a->n);
	a->err = errno;
	return NULL;
}

/* No TLS of its own (no CLONE_SETTLS): raw system calls only. */
static int by_raw_thread(void *p)
{
	struct by_arg *a = p;

	a->tid = syscall(SYS_gettid);
	a->ret = raw_semop(a->id, a->sops, a->n);
	return 0;
}

/* Waits until task @tid of this process is gone; 0 or -1 (10 s). */
static int task_gone(pid_t tid)
{
	struct timespec ts = { 0, 1000 * 1000 };
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	for (i = 0; i < 10000; i++) {
		if (access(path, F_OK))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int do_op_by(char **argv, const char *by)
{
	static long double stack[4096];		/* 64 KiB, 16-byte aligned */
	static struct by_arg a;
	pthread_t t;
	pid_t pid;
	int st;

	a.id = num(argv[1]);
	a.n = parse_ops(argv[2], a.sops, 64);
	if (!strcmp(by, "thread")) {
		errno = pthread_create(&t, NULL, by_thread, &a);
		if (!errno)
			errno = pthread_join(t, NULL);
		if (errno)
			return fail();
		if (task_gone(a.tid))
			return 2;
		errno = a.err;
		return a.ret ? fail() : 0;
	}
	if (!strcmp(by, "clone")) {
		pid = syscall(SYS_clone, CLONE_SYSVSEM | SIGCHLD, NULL, NULL,
			      NULL, NULL);
		if (pid < 0)
			return fail();
		if (!pid)
			_exit(raw_semop(a.id, a.sops, a.n) ? errno : 0);
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
			return 2;
		errno = WEXITSTATUS(st);
		return errno ? fail() : 0;
	}
	if (!strcmp(by, "rawthread")) {
		struct timespec ts = { 0, 1000 * 1000 };
		pid_t ctid = 1;		/* the kernel clears it at its exit */
		int i;

		if (clone(by_raw_thread, stack + 4096,
			  CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			  CLONE_THREAD | CLONE_CHILD_CLEARTID, &a, NULL, NULL,
			  &ctid) < 0)
			return fail();
		for (i = 0; i < 10000 && __atomic_load_n(&ctid, __ATOMIC_ACQUIRE);
		     i++)
			nanosleep(&ts, NULL);
		if (__atomic_load_n(&ctid, __ATOMIC_ACQUIRE) || task_gone(a.tid))
			return 2;
		/* its errno is ours: no TLS of its own */
		return a.ret ? fail() : 0;
	}
	return 2;
}

static int do_loop(int id, long n)
{
	struct sembuf p = { 0, -1, SEM_UNDO }, v = { 0, 1, SEM_UNDO };
	union semun arg;
	int val;

	while (n--) {
		if (semop(id, &p, 1))
			return fail();
		val = semctl(id, 1, GETVAL);
		if (val < 0)
			return fail();
		arg.val = val + 1;
		if (semctl(id, 1, SETVAL, arg))
			return fail();
		if (semop(id, &v, 1))
			return fail();
	}
	return 0;
}

static int do_all(int argc, char **argv)
{
	unsigned short vals[4096];
	struct semid_ds ds;
	union semun arg = { .buf = &ds };
	int id = num(argv[1]);
	unsigned long i;
	char *s, *save;

	if (semctl(id, 0, IPC_STAT, arg))
		return fail();
	arg.array = vals;
	if (!strcmp(op, "getall")) {
		if (semctl(id, 0, GETALL, arg))
			return fail();
		for (i = 0; i < ds.sem_nsems; i++)
			printf(i ? " %d" : "%d", vals[i]);
		printf("\n");
		return 0;
	}
	if (argc < 3)
		return 2;
	for (i = 0, s = strtok_r(argv[2], ",", &save); s && i < 4096;
	     s = strtok_r(NULL, ",", &save))
		vals[i++] = num(s);
	return semctl(id, 0, SETALL, arg) ? fail() : 0;
}

static int do_stat(int argc, char **argv)
{
	struct semid_ds ds;
	union semun arg = { .buf = &ds };
	int id = num(argv[1]);

	if (!strcmp(op, "statidx")) {
		id = semctl(id, 0, SEM_STAT, arg);
		if (id < 0)
			return fail();
		printf("%d\n", id);
		return 0;
	}
	if (!strcmp(op, "chmod")) {
		if (argc < 3)
			return 2;
		/* Who may not read it keeps the owner it thinks it has. */
		if (semctl(id, 0, IPC_STAT, arg)) {
			ds.sem_perm.uid = getuid();
			ds.sem_perm.gid = getgid();
		}
		ds.sem_perm.mode = strtol(argv[2], NULL, 8);
		return semctl(id, 0, IPC_SET, arg) ? fail() : 0;
	}
	if (semctl(id, 0, IPC_STAT, arg))
		return fail();
	printf("nsems %lu mode %o key %d uid %u otime %ld\n", ds.sem_nsems,
	       ds.sem_perm.mode, ds.sem_perm.__key, ds.sem_perm.uid,
	       (long)ds.sem_otime);
	return 0;
}

static int do_info(void)
{
	struct seminfo info;
	union semun arg = { .__buf = &info };
	int max = semctl(0, 0, SEM_INFO, arg);

	if (max < 0)
		return fail();
	printf("used %d sems %d maxidx %d semmsl %d\n", info.semusz,
	       info.semaem, max, info.semmsl);
	return 0;
}

static int do_one(int argc, char **argv)
{
	static const struct { const char *name; int cmd; } cmds[] = {
		{ "getval", GETVAL }, { "ncnt", GETNCNT }, { "zcnt", GETZCNT },
		{ "pid", GETPID },
	};
	union semun arg;
	unsigned int i;
	int r;

	if (!strcmp(op, "setval")) {
		if (argc < 4)
			return 2;
		arg.val = num(argv[3]);
		return semctl(num(argv[1]), num(argv[2]), SETVAL, arg) ?
		       fail() : 0;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(op, cmds[i].name))
			continue;
		r = semctl(num(argv[1]), num(argv[2]), cmds[i].cmd);
		if (r < 0)
			return fail();
		printf("%d\n", r);
		return 0;
	}
	return 2;
}

int main(int argc, char **argv)
{
	int id, i = tool_args(argc, argv);

	if (i < 0)
		return 2;
	argc -= i;
	argv += i;
	if (!strcmp(op, "info"))
		return do_info();
	if (argc < 2)
		goto usage;
	if (!strcmp(op, "get") && argc >= 3) {
		id = semget(num(argv[1]), num(argv[2]),
			    argc > 3 ? ipc_flags(argv[3]) : 0);
		if (id < 0)
			return fail();
		printf("%d\n", id);
		return 0;
	}
	if (!strcmp(op, "op") && argc >= 3)
		return do_op(argc, argv);
	if (!strcmp(op, "hold") && argc >= 3) {
		if (argc > 3 ? do_op_by(argv, argv[3]) : do_op(3, argv))
			return 1;
		printf("held\n");
		fflush(stdout);
		while (getchar() != EOF)
			;
		return 0;
	}
	if (!strcmp(op, "loop") && argc >= 3)
		return do_loop(num(argv[1]), num(argv[2]));
	if (!strcmp(op, "rm"))
		return semctl(num(argv[1]), 0, IPC_RMID) ? fail() : 0;
	if (!strcmp(op, "getall") || !strcmp(op, "setall"))
		return do_all(argc, argv);
	if (!strcmp(op, "stat") || !strcmp(op, "statidx") ||
	    !strcmp(op, "chmod"))
		return do_stat(argc, argv);
	if (argc >= 3) {
		id = do_one(argc, argv);
		if (id != 2)
			return id;
	}
usage:
	fprintf(stderr, "usage: see the head of sem-tool.c\n");
	return 2;
}
