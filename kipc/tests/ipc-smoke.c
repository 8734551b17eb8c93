// SPDX-License-Identifier: GPL-2.0
/*
 * ipc-smoke: one round of every System V IPC call, checking the results.
 *
 *   ipc-smoke [-n] [-e]   -n: first unshare(CLONE_NEWIPC)
 *                         -e: then write "enable" to /sys/kernel/debug/kipc/ns
 *   ipc-smoke -r KEY      block in msgrcv() on queue KEY until a message comes
 *   ipc-smoke -s KEY      send a message to queue KEY
 *
 * Prints the IPC namespace inode and the calls it made, one per line
 * ("calls shmget 1" ...), and exits 0 when every result was as expected.
 * Made for checking that kipc's interception changes nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: %s (errno %d %s)\n",	\
			__FILE__, __LINE__, #cond, errno, strerror(errno)); \
		failures++;						\
	}								\
} while (0)

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

struct msg {
	long mtype;
	char mtext[64];
};

static void test_shm(void)
{
	struct shmid_ds ds;
	char *p, *q;
	int id;

	id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
	CHECK(id >= 0);
	p = shmat(id, NULL, 0);
	CHECK(p != (void *)-1);
	q = shmat(id, NULL, SHM_RDONLY);
	CHECK(q != (void *)-1);
	strcpy(p + 4096, "kipc shm");
	CHECK(strcmp(q + 4096, "kipc shm") == 0);
	CHECK(shmctl(id, IPC_STAT, &ds) == 0);
	CHECK(ds.shm_nattch == 2 && ds.shm_segsz == 8192);
	CHECK(shmdt(q) == 0);
	CHECK(shmdt(p) == 0);
	CHECK(shmctl(id, IPC_RMID, NULL) == 0);
	/* errors come back unchanged */
	CHECK(shmctl(id, IPC_STAT, &ds) == -1 && errno == EINVAL);
	id = shmget(IPC_PRIVATE, 16, 0600 | IPC_CREAT | IPC_EXCL);
	CHECK(id >= 0);
	CHECK(shmctl(id, IPC_RMID, NULL) == 0);
}

static void test_msg(void)
{
	struct msg m = { .mtype = 7 }, r;
	struct msqid_ds ds;
	pid_t pid;
	int id, st;

	id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	CHECK(id >= 0);
	strcpy(m.mtext, "kipc msg");
	CHECK(msgsnd(id, &m, sizeof(m.mtext), 0) == 0);
	CHECK(msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 1);
	memset(&r, 0, sizeof(r));
	CHECK(msgrcv(id, &r, sizeof(r.mtext), 7, 0) == sizeof(r.mtext));
	CHECK(r.mtype == 7 && strcmp(r.mtext, "kipc msg") == 0);
	CHECK(msgrcv(id, &r, sizeof(r.mtext), 0, IPC_NOWAIT) == -1 &&
	      errno == ENOMSG);
	/* a blocking receive, woken by a sender in a child */
	pid = fork();
	if (pid == 0) {
		usleep(200000);
		m.mtype = 3;
		_exit(msgsnd(id, &m, sizeof(m.mtext), 0) ? 1 : 0);
	}
	CHECK(msgrcv(id, &r, sizeof(r.mtext), 3, 0) == sizeof(r.mtext));
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0);
	CHECK(msgctl(id, IPC_RMID, NULL) == 0);
}

static void test_sem(void)
{
	struct sembuf op = { .sem_num = 1, .sem_op = 1 };
	struct timespec ts = { .tv_nsec = 50000000 };
	unsigned short vals[2];
	union semun arg;
	int id;

	id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
	CHECK(id >= 0);
	arg.val = 2;
	CHECK(semctl(id, 0, SETVAL, arg) == 0);
	CHECK(semop(id, &op, 1) == 0);
	op.sem_num = 0;
	op.sem_op = -1;
	CHECK(semtimedop(id, &op, 1, &ts) == 0);
	arg.array = vals;
	CHECK(semctl(id, 0, GETALL, arg) == 0);
	CHECK(vals[0] == 1 && vals[1] == 1);
	/* glibc's semop() is the semtimedop system call: the semop one too */
	op.sem_num = 1;
	op.sem_op = 1;
	CHECK(syscall(SYS_semop, id, &op, 1) == 0);
	CHECK(semctl(id, 1, GETVAL) == 2);
	op.sem_num = 0;
	op.sem_op = -2;
	CHECK(semtimedop(id, &op, 1, &ts) == -1 && errno == EAGAIN);
	CHECK(semctl(id, 0, IPC_RMID) == 0);
}

static int key_queue(int c, key_t key)
{
	struct msg m = { .mtype = 1 };
	int id = msgget(key, IPC_CREAT | 0600);

	if (id < 0) {
		perror("msgget");
		return 1;
	}
	if (c == 's')
		return msgsnd(id, &m, sizeof(m.mtext), 0) ? 1 : 0;
	if (msgrcv(id, &m, sizeof(m.mtext), 0, 0) < 0) {
		perror("msgrcv");
		return 1;
	}
	printf("received\n");
	return msgctl(id, IPC_RMID, NULL) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct stat st;
	int c, fd;

	while ((c = getopt(argc, argv, "ner:s:")) != -1) {
		switch (c) {
		case 'r':
		case 's':
			return key_queue(c, strtol(optarg, NULL, 0));
		case 'n':
			if (unshare(CLONE_NEWIPC)) {
				perror("unshare");
				return 2;
			}
			break;
		case 'e':
			fd = open("/sys/kernel/debug/kipc/ns", O_WRONLY);
			if (fd < 0 || write(fd, "enable", 6) != 6) {
				perror("kipc/ns");
				return 2;
			}
			close(fd);
			break;
		default:
			fprintf(stderr, "usage: %s [-n] [-e] | -r KEY | -s KEY\n", argv[0]);
			return 2;
		}
	}
	if (stat("/proc/self/ns/ipc", &st) == 0)
		printf("ipcns %lu\n", (unsigned long)st.st_ino);
	test_shm();
	test_msg();
	test_sem();
	printf("%s: %d failures\n", failures ? "FAIL" : "ok", failures);
	return failures ? 1 : 0;
}
