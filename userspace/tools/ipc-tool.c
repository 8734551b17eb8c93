// SPDX-License-Identifier: GPL-2.0
/*
 * ipc-tool: an ordinary System V IPC program (no kDDM in it) for tests:
 * run on several nodes, it shows whether they share one IPC space.
 *
 *   ipc-tool [-u UID] shm-get KEY SIZE [FLAGS]   prints the id
 *                                  FLAGS: c (IPC_CREAT) x (IPC_EXCL), mode
 *                                  in octal after a comma, e.g. cx,600
 *   ipc-tool [-u UID] shm-write ID OFFSET TEXT
 *   ipc-tool [-u UID] shm-read ID OFFSET LEN     prints the bytes as text
 *   ipc-tool [-u UID] shm-stat ID                "size N nattch N mode O
 *                                                 key K cpid N"
 *   ipc-tool [-u UID] shm-rm ID
 *   ipc-tool [-u UID] shm-hold ID                attach, say "held", wait
 *                                                for stdin to close, detach
 *   ipc-tool shm-info                            "used N pages N maxidx N"
 *   ipc-tool shm-add ID OFFSET COUNT PROCS       PROCS processes each add 1
 *                                                COUNT times (atomically)
 *                                                to the u64 at OFFSET
 *   ipc-tool shm-u64 ID OFFSET                   prints the u64 at OFFSET
 *   ipc-tool shm-steps ID                        "ptrace N own M": the single
 *                                                steps a tracer and the
 *                                                program's own trap flag
 *                                                see over stores to the
 *                                                segment (ID -1: to an
 *                                                anonymous shared page)
 *   ipc-tool shm-forks ID N             sets the u64 at 128 to 1, then
 *                                        stores a constant to the first
 *                                        u64 until the u64 at 64 reaches N
 *                                        (shm-add on another node), while
 *                                        SIGUSR1 comes
 *                                        every 20 ms and its handler forks
 *                                        (the child goes on from the signal
 *                                        frame, stores once and exits 0);
 *                                        prints "children N failed N"
 * Errors print "ipc-tool: OP: ERRNAME" and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOOL "ipc-tool"
#include "ipc-common.h"

/* @procs processes add 1 to *@v @count times each; 0 if all did. */
static int shm_add(unsigned long long *v, long count, long procs)
{
	int st, ret = 0;
	long i, j;

	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return fail();
		if (pid)
			continue;
		for (j = 0; j < count; j++)
			__atomic_fetch_add(v, 1, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			ret = 1;
	return ret;
}

/* The stores whose single steps shm-steps counts. */
static void __attribute__((noinline)) stores(volatile char *p)
{
	p[0] = 1;
	p[64] = 2;
	p[4096 + 128] = 3;
}

/* Single steps a tracer sees from the child's SIGSTOP to its exit. */
static long ptrace_steps(volatile char *p)
{
	pid_t pid = fork();
	long n = 0;
	int st;

	if (pid < 0)
		return -1;
	if (!pid) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		stores(p);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
		return -1;
	for (;;) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) ||
		    waitpid(pid, &st, 0) != pid)
			return -1;
		if (WIFEXITED(st))
			return WEXITSTATUS(st) ? -1 : n;
		if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		n++;
	}
}

static volatile sig_atomic_t traps;

static void on_trap(int sig)
{
	(void)sig;
	traps++;
}

#ifdef __x86_64__
#define TF_ON	"pushf\n\torl $0x100, (%%rsp)\n\tpopf"
#define TF_OFF	"pushf\n\tandl $~0x100, (%%rsp)\n\tpopf"
#else
#define TF_ON	"pushf\n\torl $0x100, (%%esp)\n\tpopf"
#define TF_OFF	"pushf\n\tandl $~0x100, (%%esp)\n\tpopf"
#endif

/* SIGTRAPs of the program's own trap flag set around the stores. */
static long own_steps(volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_trap };

	if (sigaction(SIGTRAP, &sa, NULL))
		return -1;
	traps = 0;
	__asm__ volatile(TF_ON ::: "memory", "cc");
	stores(p);
	__asm__ volatile(TF_OFF ::: "memory", "cc");
	return traps;
}

static pid_t storm_parent;
static volatile sig_atomic_t storm_child;

static void storm_fork(int sig)
{
	(void)sig;
	/* the child returns through the signal frame too */
	if (!fork())
		storm_child = 1;
}

/* See shm-forks above: every child must exit 0, none die of SIGTRAP. */
static int shm_forks(volatile unsigned long long *v, long n)
{
	struct sigaction sa = { .sa_handler = storm_fork, .sa_flags = SA_RESTART };
	int st, kids = 0, failed = 0;
	pid_t sig, c;

	storm_parent = getpid();
	if (sigaction(SIGUSR1, &sa, NULL))
		return fail();
	sig = fork();
	if (sig < 0)
		return fail();
	if (!sig) {
		while (!kill(storm_parent, SIGUSR1))
			usleep(20000);
		_exit(0);
	}
	v[16] = 1;	/* started: the other node may add */
	/* a child exits after the store it may have been stopped in */
	while (v[8] < (unsigned long long)n) {
		v[0] = 0x5a5a;	/* when the other node took the page: a fault */
		if (storm_child)
			_exit(0);
		sched_yield();
	}
	signal(SIGUSR1, SIG_IGN);
	if (storm_child)	/* forked after the last store */
		_exit(0);
	kill(sig, SIGKILL);
	waitpid(sig, NULL, 0);
	while ((c = wait(&st)) > 0) {
		kids++;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	printf("children %d failed %d\n", kids, failed);
	return failed ? 1 : 0;
}

static int shm_steps(long id)
{
	char *p = id == -1 ? mmap(NULL, 8192, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0) :
			     shmat((int)id, NULL, 0);
	long n, m;

	if (p == MAP_FAILED || p == (void *)-1)
		return fail();
	n = ptrace_steps(p);
	m = own_steps(p + 1);
	printf("ptrace %ld own %ld\n", n, m);
	return n > 0 && m > 0 ? 0 : 1;
}

static int shm_cmd(int argc, char **argv)
{
	struct shmid_ds ds;
	char *p, c;
	int id;

	if (!strcmp(op, "shm-get") && argc >= 3) {
		id = shmget((key_t)num(argv[1]), num(argv[2]),
			    argc > 3 ? ipc_flags(argv[3]) : 0);
		if (id < 0)
			return fail();
		printf("%d\n", id);
		return 0;
	}
	if (!strcmp(op, "shm-info")) {
		struct shm_info info;
		int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

		if (max < 0)
			return fail();
		printf("used %d pages %lu maxidx %d\n", info.used_ids,
		       info.shm_tot, max);
		return 0;
	}
	if (argc < 2)
		return 2;
	id = (int)num(argv[1]);
	if (!strcmp(op, "shm-stat")) {
		if (shmctl(id, IPC_STAT, &ds))
			return fail();
		printf("size %zu nattch %lu mode %o key %d cpid %d\n",
		       ds.shm_segsz, ds.shm_nattch, ds.shm_perm.mode,
		       ds.shm_perm.__key, ds.shm_cpid);
		return 0;
	}
	if (!strcmp(op, "shm-rm"))
		return shmctl(id, IPC_RMID, NULL) ? fail() : 0;
	if (!strcmp(op, "shm-steps"))
		return shm_steps(num(argv[1]));
	p = shmat(id, NULL, !strcmp(op, "shm-read") ? SHM_RDONLY : 0);
	if (p == (void *)-1)
		return fail();
	if (!strcmp(op, "shm-write") && argc == 4) {
		strcpy(p + num(argv[2]), argv[3]);
	} else if (!strcmp(op, "shm-read") && argc == 4) {
		fwrite(p + num(argv[2]), 1, strnlen(p + num(argv[2]),
						    num(argv[3])), stdout);
		putchar('\n');
	} else if (!strcmp(op, "shm-add") && argc == 5) {
		if (shm_add((unsigned long long *)(p + num(argv[2])),
			    num(argv[3]), num(argv[4])))
			return 1;
	} else if (!strcmp(op, "shm-forks") && argc == 3) {
		if (shm_forks((unsigned long long *)p, num(argv[2])))
			return 1;
	} else if (!strcmp(op, "shm-u64") && argc == 3) {
		printf("%llu\n", *(unsigned long long *)(p + num(argv[2])));
	} else if (!strcmp(op, "shm-hold")) {
		printf("held\n");
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
	} else {
		return 2;
	}
	return shmdt(p) ? fail() : 0;
}

int main(int argc, char **argv)
{
	int i = tool_args(argc, argv);

	if (i < 0)
		return 2;
	if (!strncmp(op, "shm-", 4))
		return shm_cmd(argc - i, argv + i);
	fprintf(stderr, "ipc-tool: unknown command %s\n", op);
	return 2;
}
