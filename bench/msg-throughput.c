// SPDX-License-Identifier: GPL-2.0
/*
 * msg-throughput: one process sends COUNT messages of SIZE bytes through a
 * System V queue, another receives them; the receiver prints messages per
 * second.
 *
 *   msg-throughput create KEY          prints the queue id
 *   msg-throughput send ID COUNT SIZE
 *   msg-throughput recv ID COUNT SIZE  prints messages per second
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>

struct m {
	long type;
	char text[8192];
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct m msg = { .type = 1 };
	long i, count, size;
	double t0;
	int id;

	if (argc == 3 && !strcmp(argv[1], "create")) {
		id = msgget((key_t)strtol(argv[2], NULL, 0), IPC_CREAT | 0666);
		if (id < 0)
			return perror("msgget"), 1;
		printf("%d\n", id);
		return 0;
	}
	if (argc != 5)
		return 2;
	id = atoi(argv[2]);
	count = atol(argv[3]);
	size = atol(argv[4]);
	if (size < 1 || size > (long)sizeof(msg.text))
		return 2;
	t0 = now_s();
	for (i = 0; i < count; i++) {
		if (!strcmp(argv[1], "send") ?
		    msgsnd(id, &msg, size, 0) :
		    msgrcv(id, &msg, size, 0, 0) < 0)
			return perror(argv[1]), 1;
	}
	if (!strcmp(argv[1], "recv"))
		printf("%.0f\n", count / (now_s() - t0));
	return 0;
}
