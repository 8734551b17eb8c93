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
 * Errors print "ipc-tool: OP: ERRNAME" and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
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
