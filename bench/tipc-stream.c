// SPDX-License-Identifier: GPL-2.0
/*
 * tipc-stream: bytes through one TIPC stream connection, the peer that
 * migration benchmarks compare with (copying CRIU's images between nodes,
 * and the rate at which kDDM pulls a moved process's memory).
 *
 *   tipc-stream recv INSTANCE
 *	binds a SOCK_STREAM socket to TIPC service {0x5053, INSTANCE},
 *	accepts one connection, copies it to stdout up to the end mark, and
 *	prints "BYTES SECONDS" (from the first byte) on stderr.
 *   tipc-stream send INSTANCE
 *	connects to {0x5053, INSTANCE} and copies stdin to it.
 *   tipc-stream zero INSTANCE MIB
 *	connects and sends MIB MiB of zeros (no file in the way).
 *   tipc-stream tcp-recv PORT
 *   tipc-stream tcp-zero HOST PORT MIB
 *	the same over TCP (IPv6 or IPv4; HOST may be fe80::1%eth0): the
 *	reference for what one TIPC link carries against TCP on the same
 *	network path (bench/kdfs-bench.sh compares kdfs with NFS over TCP).
 *
 * TIPC drops what a closed socket still had queued, and the peer sees a
 * reset: the data goes in records of a 4-byte length (0: the end), and
 * the sender closes only once the receiver answered the end.
 */
#include <errno.h>
#include <linux/tipc.h>
#include <netdb.h>
#include <netinet/in.h>
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

static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= r;
	}
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int listen_tipc(unsigned int inst)
{
	struct sockaddr_tipc a = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_RANGE,
		.scope = TIPC_CLUSTER_SCOPE,
		.addr.nameseq = { TYPE, inst, inst },
	};
	int s = socket(AF_TIPC, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
		return perror("tipc-stream: bind"), -1;
	return s;
}

static int listen_tcp(const char *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	int s = socket(AF_INET6, SOCK_STREAM, 0), one = 1;

	if (*end || !p || p > 65535)
		return fprintf(stderr, "tipc-stream: bad port '%s'\n", port), -1;
	a.sin6_port = htons(p);
	if (s < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
		return perror("tipc-stream: bind"), -1;
	return s;
}

static int recv_side(int s)
{
	long long total = 0;
	double t0 = 0;
	unsigned int len;
	int c;

	if (s < 0)
		return 1;
	fprintf(stderr, "ready\n");
	c = accept(s, NULL, NULL);
	if (c < 0)
		return perror("tipc-stream: accept"), 1;
	for (;;) {
		if (read_all(c, &len, sizeof(len)) || len > BUF ||
		    read_all(c, buf, len))
			return perror("tipc-stream: read"), 1;
		if (!len)
			break;
		if (!total)
			t0 = now();
		total += len;
		if (write_all(1, buf, len))
			return perror("tipc-stream: write"), 1;
	}
	fprintf(stderr, "%lld %.6f\n", total, total ? now() - t0 : 0.0);
	if (write_all(c, "k", 1))	/* the sender may close now */
		return perror("tipc-stream: ack"), 1;
	return 0;
}

static int connect_tipc(unsigned int inst)
{
	struct sockaddr_tipc a = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name = { TYPE, inst },
	};
	int s = socket(AF_TIPC, SOCK_STREAM, 0), i;

	for (i = 0; i < 50; i++) {	/* the receiver may be starting */
		if (s >= 0 && !connect(s, (struct sockaddr *)&a, sizeof(a)))
			return s;
		usleep(100000);
	}
	perror("tipc-stream: connect");
	if (s >= 0)
		close(s);
	return -1;
}

static int connect_tcp(const char *host, const char *port)
{
	struct addrinfo hint = { .ai_socktype = SOCK_STREAM }, *ai;
	int err = getaddrinfo(host, port, &hint, &ai), s = -1, i;

	if (err) {
		fprintf(stderr, "tipc-stream: %s: %s\n", host, gai_strerror(err));
		return -1;
	}
	for (i = 0; i < 50; i++) {	/* the receiver may be starting */
		s = socket(ai->ai_family, SOCK_STREAM, 0);
		if (s >= 0 && !connect(s, ai->ai_addr, ai->ai_addrlen))
			break;
		if (s >= 0)
			close(s);
		s = -1;
		usleep(100000);
	}
	if (s < 0)
		perror("tipc-stream: connect");
	freeaddrinfo(ai);
	return s;
}

static int send_side(int s, long long zero_mib)
{
	unsigned int len;
	ssize_t n;
	char ack;

	if (s < 0)
		return 1;
	memset(buf, 0, BUF);
	for (;;) {
		if (zero_mib >= 0)
			n = zero_mib-- ? BUF : 0;
		else
			n = read(0, buf, BUF);
		if (n < 0)
			return perror("tipc-stream: stdin"), 1;
		len = n;
		if (write_all(s, (char *)&len, sizeof(len)) ||
		    write_all(s, buf, len))
			return perror("tipc-stream: send"), 1;
		if (!n)
			break;
	}
	if (read_all(s, &ack, 1))
		return perror("tipc-stream: no answer to the end"), 1;
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return recv_side(listen_tipc(strtoul(argv[2], NULL, 0)));
	if (argc == 3 && !strcmp(argv[1], "send"))
		return send_side(connect_tipc(strtoul(argv[2], NULL, 0)), -1);
	if (argc == 4 && !strcmp(argv[1], "zero") && atoll(argv[3]) >= 0)
		return send_side(connect_tipc(strtoul(argv[2], NULL, 0)),
				 atoll(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "tcp-recv"))
		return recv_side(listen_tcp(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "tcp-zero") && atoll(argv[4]) >= 0)
		return send_side(connect_tcp(argv[2], argv[3]), atoll(argv[4]));
	fprintf(stderr, "usage: tipc-stream recv|send INSTANCE | zero INSTANCE MIB\n"
		"       tipc-stream tcp-recv PORT | tcp-zero HOST PORT MIB\n");
	return 2;
}
