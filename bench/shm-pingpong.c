// SPDX-License-Identifier: GPL-2.0
/*
 * shm-pingpong: two processes, on two nodes, pass a counter back and forth
 * through one System V shared memory segment, one cache line each way.
 *
 *   shm-pingpong create KEY         prints the segment id
 *   shm-pingpong pong ID COUNT      answers COUNT pings
 *   shm-pingpong ping ID COUNT      sends COUNT pings, prints ns per round
 *                                   trip (after 20 warm-up rounds)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>

#define WARMUP 20

struct lines {
	volatile uint64_t ping;		/* written by ping */
	char pad[56];
	volatile uint64_t pong;		/* written by pong */
};

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void wait_for(volatile uint64_t *v, uint64_t want)
{
	while (*v != want)
		sched_yield();
}

int main(int argc, char **argv)
{
	struct lines *l;
	uint64_t i, n;
	double t0 = 0;

	if (argc == 3 && !strcmp(argv[1], "create")) {
		int id = shmget((key_t)strtol(argv[2], NULL, 0), 8192,
				IPC_CREAT | 0666);

		if (id < 0) {
			perror("shmget");
			return 1;
		}
		printf("%d\n", id);
		return 0;
	}
	if (argc != 4)
		return 2;
	l = shmat(atoi(argv[2]), NULL, 0);
	if (l == (void *)-1) {
		perror("shmat");
		return 1;
	}
	n = strtoull(argv[3], NULL, 0) + WARMUP;
	for (i = 1; i <= n; i++) {
		if (!strcmp(argv[1], "ping")) {
			if (i == WARMUP + 1)
				t0 = now_ns();
			l->ping = i;
			wait_for(&l->pong, i);
		} else {
			wait_for(&l->ping, i);
			l->pong = i;
		}
	}
	if (!strcmp(argv[1], "ping"))
		printf("%.0f\n", (now_ns() - t0) / (double)(n - WARMUP));
	return shmdt(l);
}
