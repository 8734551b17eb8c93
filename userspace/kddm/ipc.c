// SPDX-License-Identifier: GPL-2.0
/*
 * kddm ipcs, kddm ipc enable|disable|status.
 *
 * ipcs lists with the ordinary SysV calls (*_INFO, then *_STAT_ANY by
 * index), which kipc.ko answers cluster-wide in a cluster-enabled IPC
 * namespace: the same view on every node. The owner node is in the id.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc.h"

#define NS_FILE "/sys/kernel/debug/kipc/ns"
#define SLOT_BITS 15

static bool first;

static void row(bool json, const char *type, int key, int id,
		const struct ipc_perm *p, const char *what, unsigned long a,
		unsigned long b)
{
	if (json) {
		printf("%s{\"type\":\"%s\",\"key\":%d,\"id\":%d,\"node\":%d,"
		       "\"uid\":%u,\"mode\":\"%o\",\"%s\":%lu,\"%s\":%lu}",
		       first ? "" : ",", type, key, id, id >> SLOT_BITS,
		       p->uid, p->mode & 0777, what,
		       a, !strcmp(type, "shm") ? "nattch" :
		       !strcmp(type, "msg") ? "messages" : "unused", b);
		first = false;
		return;
	}
	printf("%-4s 0x%08x %-10d %-5d %-6u %-5o %s=%lu", type, key, id,
	       id >> SLOT_BITS, p->uid, p->mode & 0777, what, a);
	if (!strcmp(type, "shm"))
		printf(" nattch=%lu", b);
	else if (!strcmp(type, "msg"))
		printf(" messages=%lu", b);
	putchar('\n');
}

static void list_shm(bool json)
{
	struct shm_info info;
	struct shmid_ds ds;
	int max, i, id;

	max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
	for (i = 0; i <= max; i++) {
		id = shmctl(i, SHM_STAT_ANY, &ds);
		if (id >= 0)
			row(json, "shm", ds.shm_perm.__key, id, &ds.shm_perm,
			    "bytes", ds.shm_segsz, ds.shm_nattch);
	}
}

static void list_msg(bool json)
{
	struct msginfo info;
	struct msqid_ds ds;
	int max, i, id;

	max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
	for (i = 0; i <= max; i++) {
		id = msgctl(i, MSG_STAT_ANY, &ds);
		if (id >= 0)
			row(json, "msg", ds.msg_perm.__key, id, &ds.msg_perm,
			    "bytes", ds.__msg_cbytes, ds.msg_qnum);
	}
}

static void list_sem(bool json)
{
	struct seminfo info;
	struct semid_ds ds;
	int max, i, id;

	max = semctl(0, 0, SEM_INFO, &info);
	for (i = 0; i <= max; i++) {
		id = semctl(i, 0, SEM_STAT_ANY, &ds);
		if (id >= 0)
			row(json, "sem", ds.sem_perm.__key, id, &ds.sem_perm,
			    "nsems", ds.sem_nsems, 0);
	}
}

int kddm_ipcs(bool json)
{
	struct stat st;

	if (stat("/sys/module/kipc", &st)) {
		fprintf(stderr, "kddm: ipcs: kipc.ko is not loaded: no cluster IPC\n");
		return 1;
	}
	first = true;
	if (json)
		printf("[");
	else
		printf("TYPE KEY        ID         NODE  OWNER  PERMS SIZE\n");
	list_shm(json);
	list_msg(json);
	list_sem(json);
	if (json)
		printf("]\n");
	return 0;
}

/* enable / disable act on the caller's own IPC namespace. */
int kddm_ipc_ctl(const char *what)
{
	char buf[256] = "", self[64], inum[24];
	unsigned long long ino = 0;
	ssize_t n;
	FILE *f;

	if (!strcmp(what, "status")) {
		f = fopen(NS_FILE, "r");
		if (!f)
			goto err;
		n = readlink("/proc/self/ns/ipc", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n > 0 ? n : 0] = '\0';
		fclose(f);
		sscanf(self, "ipc:[%llu]", &ino);
		snprintf(inum, sizeof(inum), "%llu\n", ino);
		printf("%s: %s\n", self,
		       strstr(buf, inum) ? "cluster-enabled" : "local");
		return 0;
	}
	f = fopen(NS_FILE, "w");
	if (!f)
		goto err;
	if (fputs(what, f) < 0 || fclose(f)) {
		fprintf(stderr, "kddm: ipc %s: %s\n", what, strerror(errno));
		return 1;
	}
	return 0;
err:
	fprintf(stderr, "kddm: ipc %s: %s (is kipc.ko loaded? root?)\n", what,
		strerror(errno));
	return 1;
}
