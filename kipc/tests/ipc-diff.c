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
#include <sys/shm.h>
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

int main(int argc, char **argv)
{
	key_t key = argc > 1 ? (key_t)strtol(argv[1], NULL, 0) : 0x6b646966;

	setvbuf(stdout, NULL, _IOLBF, 0);
	shm_battery(key);
	return 0;
}
