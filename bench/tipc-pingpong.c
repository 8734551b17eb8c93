// SPDX-License-Identifier: GPL-2.0
/*
 * tipc-pingpong: the TIPC round trip that kDDM's latencies are compared with.
 *
 *   tipc-pingpong server [INSTANCE]
 *	binds a SOCK_RDM socket to TIPC service {0x5049, INSTANCE} (default:
 *	the node id in /etc/kddm/node, cluster scope) and echoes every
 *	message back to its sender, forever.
 *   tipc-pingpong client NODE SIZE COUNT
 *	sends SIZE-byte messages to service {0x5049, NODE}, waits for each
 *	echo; after COUNT/10 (at least 10) warm-up round trips, times COUNT
 *	of them and prints the average round trip in ns.
 *
 * Same message path as kDDM's requests (an in-kernel TIPC socket), so
 * latency / this round trip is the number of "round trips" an operation
 * costs, user/kernel crossings of the ping-pong included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/tipc.h>

#define PP_TYPE 0x5049
#define PP_MAX 66000

static unsigned char buf[PP_MAX];

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "tipc-pingpong: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static int die(const char *what)
{
	fprintf(stderr, "tipc-pingpong: %s: %s\n", what, strerror(errno));
	return 1;
}

static unsigned long own_node(void)
{
	FILE *f = fopen("/etc/kddm/node", "r");
	unsigned long n = 0;

	if (!f || fscanf(f, "%lu", &n) != 1 || !n) {
		fprintf(stderr, "tipc-pingpong: no node id in /etc/kddm/node\n");
		exit(1);
	}
	fclose(f);
	return n;
}

static int server(unsigned long inst)
{
	struct sockaddr_tipc sa = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_RANGE,
		.scope = TIPC_CLUSTER_SCOPE,
		.addr.nameseq = { .type = PP_TYPE, .lower = inst,
				  .upper = inst },
	};
	struct sockaddr_tipc from;
	socklen_t flen;
	ssize_t n;
	int sd = socket(AF_TIPC, SOCK_RDM, 0);

	if (sd < 0)
		return die("socket");
	if (bind(sd, (struct sockaddr *)&sa, sizeof(sa)))
		return die("bind");
	printf("serving {0x%x, %lu}\n", PP_TYPE, inst);
	fflush(stdout);
	for (;;) {
		flen = sizeof(from);
		n = recvfrom(sd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &flen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return die("recvfrom");
		}
		if (sendto(sd, buf, n, 0, (struct sockaddr *)&from, flen) < 0)
			return die("sendto");
	}
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int client(unsigned long node, size_t size, unsigned long count)
{
	struct sockaddr_tipc to = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name = { .type = PP_TYPE, .instance = node },
		.addr.name.domain = 0,
	};
	struct timeval tv = { .tv_sec = 5 };
	unsigned long warm = count / 10 < 10 ? 10 : count / 10, i;
	double t0 = 0;
	ssize_t n;
	int sd = socket(AF_TIPC, SOCK_RDM, 0), tries;

	if (sd < 0)
		return die("socket");
	if (setsockopt(sd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return die("setsockopt");
	memset(buf, 0x5a, size);
	for (i = 0; i < warm + count; i++) {
		if (i == warm)
			t0 = now_ns();
		buf[0] = (unsigned char)i;
		/* The server may not have published its name yet: retry. */
		for (tries = 0;; tries++) {
			if (sendto(sd, buf, size, 0, (struct sockaddr *)&to,
				   sizeof(to)) == (ssize_t)size)
				break;
			if (i || tries >= 50 || (errno != EHOSTUNREACH &&
						 errno != ENOENT))
				return die("sendto");
			usleep(100000);
		}
		n = recv(sd, buf, sizeof(buf), 0);
		if (n < 0)
			return die("recv");
		if ((size_t)n != size || buf[0] != (unsigned char)i) {
			fprintf(stderr, "tipc-pingpong: bad echo\n");
			return 1;
		}
	}
	printf("%.0f\n", (now_ns() - t0) / (double)count);
	return 0;
}

int main(int argc, char **argv)
{
	size_t size;

	if (argc >= 2 && !strcmp(argv[1], "server") && argc <= 3)
		return server(argc == 3 ? num(argv[2]) : own_node());
	if (argc == 5 && !strcmp(argv[1], "client")) {
		size = num(argv[3]);
		if (size < 1 || size > PP_MAX || !num(argv[4])) {
			fprintf(stderr, "tipc-pingpong: SIZE 1..%d, COUNT > 0\n",
				PP_MAX);
			return 2;
		}
		return client(num(argv[2]), size, num(argv[4]));
	}
	fprintf(stderr, "usage: tipc-pingpong server [INSTANCE]\n"
			"       tipc-pingpong client NODE SIZE COUNT\n");
	return 2;
}
