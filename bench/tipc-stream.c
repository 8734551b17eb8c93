// SPDX-License-Identifier: GPL-2.0
/*
 * tipc-stream: bytes through one TIPC stream connection, the peer that
 * migration benchmarks compare with (copying CRIU's images between nodes,
 * and the rate at which kDDM pulls a moved process's memory).
 *
 *   tipc-stream recv INSTANCE
 *	binds a SOCK_STREAM socket to TIPC service {0x5053, INSTANCE},
 *	accepts one connection, copies it to stdout until EOF, and prints
 *	"BYTES SECONDS" (from the first byte) on stderr.
 *   tipc-stream send INSTANCE
 *	connects to {0x5053, INSTANCE} and copies stdin to it.
 *   tipc-stream zero INSTANCE MIB
 *	connects and sends MIB MiB of zeros (no file in the way).
 */
#include <errno.h>
#include <linux/tipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TYPE	0x5053
#define BUF	(1 << 20)

static char buf[BUF];

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int recv_side(unsigned int inst)
{
	struct sockaddr_tipc a = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_RANGE,
		.scope = TIPC_CLUSTER_SCOPE,
		.addr.nameseq = { TYPE, inst, inst },
	};
	long long total = 0;
	double t0 = 0;
	int s, c;
	ssize_t n;

	s = socket(AF_TIPC, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
		return perror("tipc-stream: bind"), 1;
	fprintf(stderr, "ready\n");
	c = accept(s, NULL, NULL);
	if (c < 0)
		return perror("tipc-stream: accept"), 1;
	while ((n = read(c, buf, BUF)) > 0) {
		if (!total)
			t0 = now();
		total += n;
		if (write_all(1, buf, n))
			return perror("tipc-stream: write"), 1;
	}
	if (n < 0)
		return perror("tipc-stream: read"), 1;
	fprintf(stderr, "%lld %.6f\n", total, total ? now() - t0 : 0.0);
	return 0;
}

static int send_side(unsigned int inst, long long zero_mib)
{
	struct sockaddr_tipc a = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name = { TYPE, inst },
	};
	int s = socket(AF_TIPC, SOCK_STREAM, 0), i;
	ssize_t n;

	for (i = 0; i < 50; i++) {	/* the receiver may be starting */
		if (s >= 0 && !connect(s, (struct sockaddr *)&a, sizeof(a)))
			break;
		usleep(100000);
	}
	if (i == 50)
		return perror("tipc-stream: connect"), 1;
	if (zero_mib >= 0) {
		memset(buf, 0, BUF);
		while (zero_mib--)
			if (write_all(s, buf, BUF))
				return perror("tipc-stream: send"), 1;
		return close(s), 0;
	}
	while ((n = read(0, buf, BUF)) > 0)
		if (write_all(s, buf, n))
			return perror("tipc-stream: send"), 1;
	close(s);
	return n < 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return recv_side(strtoul(argv[2], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "send"))
		return send_side(strtoul(argv[2], NULL, 0), -1);
	if (argc == 4 && !strcmp(argv[1], "zero"))
		return send_side(strtoul(argv[2], NULL, 0), atoll(argv[3]));
	fprintf(stderr, "usage: tipc-stream recv|send INSTANCE | zero INSTANCE MIB\n");
	return 2;
}
