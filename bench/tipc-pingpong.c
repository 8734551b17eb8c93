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
 *   tipc-pingpong grab HOME SIZE COUNT [COPY...]
 *	the message pattern of a kDDM grab, with the servers doing the work
 *	of the home and of the copies: a 64-byte request to HOME's server,
 *	which sends a 64-byte "invalidate" to the server of every COPY node
 *	and then SIZE bytes of "data" back; each COPY server sends a 64-byte
 *	"ack" to the client, which waits for the data and every ack, then
 *	sends a 64-byte "done" to HOME (off the critical path).  Prints the
 *	average ns per operation like client.  Servers must run on HOME and
 *	on every COPY.
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

#define PP_SMALL 64
#define PP_MAX_COPIES 8


/* Every message starts with this header; ECHO is echoed whole. */
enum { PP_ECHO, PP_REQ, PP_INV, PP_ACK, PP_DATA, PP_DONE };
struct pp_hdr {
	uint32_t op;
	uint32_t seq;
	uint32_t ncopies;
	uint32_t size;			/* REQ: bytes of DATA wanted */
	struct tipc_socket_addr requester;	/* INV: where to ACK */
	uint32_t copies[PP_MAX_COPIES];
};

_Static_assert(sizeof(struct pp_hdr) <= PP_SMALL, "header too big");

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
	struct sockaddr_tipc from, to = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name.type = PP_TYPE,
	};
	struct pp_hdr *h = (struct pp_hdr *)buf;
	socklen_t flen;
	ssize_t n;
	uint32_t i, size;
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
		if (n < (ssize_t)sizeof(*h) || h->op == PP_ECHO) {
			if (sendto(sd, buf, n, 0, (struct sockaddr *)&from,
				   flen) < 0)
				return die("sendto");
		} else if (h->op == PP_REQ) {	/* home: INVs, then DATA */
			h->op = PP_INV;
			h->requester = from.addr.id;
			for (i = 0; i < h->ncopies && i < PP_MAX_COPIES; i++) {
				to.addr.name.name.instance = h->copies[i];
				if (sendto(sd, buf, PP_SMALL, 0,
					   (struct sockaddr *)&to,
					   sizeof(to)) < 0)
					return die("sendto INV");
			}
			h->op = PP_DATA;
			size = h->size < PP_SMALL ? PP_SMALL :
			       h->size > PP_MAX ? PP_MAX : h->size;
			if (sendto(sd, buf, size, 0, (struct sockaddr *)&from,
				   flen) < 0)
				return die("sendto DATA");
		} else if (h->op == PP_INV) {	/* copy: ACK the requester */
			h->op = PP_ACK;
			to.addrtype = TIPC_SOCKET_ADDR;
			to.addr.id = h->requester;
			if (sendto(sd, buf, PP_SMALL, 0, (struct sockaddr *)&to,
				   sizeof(to)) < 0)
				return die("sendto ACK");
			to.addrtype = TIPC_SERVICE_ADDR;
		}			/* DONE: nothing to do */
	}
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/*
 * Waits for the echo of message @seq (@size bytes in buf), sending it
 * again when none came within the socket's timeout: a datagram may be
 * lost while a guest is descheduled, or sent before the server's name
 * reached every node's name table. Late echoes of earlier tries are
 * skipped. Returns the echo's length, or -1 with errno set after
 * RETRIES tries.
 */
#define RETRIES 5

static ssize_t recv_echo(int sd, const struct sockaddr_tipc *to, size_t size,
			 uint32_t seq)
{
	static unsigned char out[PP_MAX];
	struct pp_hdr *h = (struct pp_hdr *)buf;
	int tries = 0;
	ssize_t n;

	memcpy(out, buf, size);
	for (;;) {
		n = recv(sd, buf, sizeof(buf), 0);
		if (n >= (ssize_t)sizeof(*h) && h->seq != seq)
			continue;	/* a late echo of an earlier try */
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			return n;
		if (++tries == RETRIES)
			return -1;
		fprintf(stderr, "tipc-pingpong: no echo of %u in 5 s, sending again\n",
			seq);
		if (sendto(sd, out, size, 0, (const struct sockaddr *)to,
			   sizeof(*to)) != (ssize_t)size)
			return -1;
	}
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
	struct pp_hdr *h = (struct pp_hdr *)buf;
	double t0 = 0;
	ssize_t n;
	int sd = socket(AF_TIPC, SOCK_RDM, 0), tries;

	if (sd < 0)
		return die("socket");
	if (setsockopt(sd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return die("setsockopt");
	memset(buf, 0x5a, size);
	memset(h, 0, sizeof(*h));
	h->op = PP_ECHO;
	for (i = 0; i < warm + count; i++) {
		if (i == warm)
			t0 = now_ns();
		h->seq = (uint32_t)i;
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
		n = recv_echo(sd, &to, size, (uint32_t)i);
		if (n < 0)
			return die("recv");
		if ((size_t)n != size) {
			fprintf(stderr, "tipc-pingpong: bad echo\n");
			return 1;
		}
	}
	printf("%.0f\n", (now_ns() - t0) / (double)count);
	return 0;
}

/* Like client, in the message pattern of a grab (see the top comment). */
static int grab(unsigned long home, size_t size, unsigned long count,
		int ncopies, char **copies)
{
	struct sockaddr_tipc to = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name = { .type = PP_TYPE, .instance = home },
	};
	struct timeval tv = { .tv_sec = 5 };
	unsigned long warm = count / 10 < 10 ? 10 : count / 10, i;
	struct pp_hdr req = { .op = PP_REQ, .size = size,
			      .ncopies = ncopies };
	struct pp_hdr *h = (struct pp_hdr *)buf;
	double t0 = 0;
	ssize_t n;
	int sd = socket(AF_TIPC, SOCK_RDM, 0), tries, c, data, acks;

	if (sd < 0)
		return die("socket");
	if (setsockopt(sd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return die("setsockopt");
	for (c = 0; c < ncopies; c++)
		req.copies[c] = num(copies[c]);
	for (i = 0; i < warm + count; i++) {
		if (i == warm)
			t0 = now_ns();
		req.op = PP_REQ;
		req.seq = (uint32_t)i;
		memset(buf, 0, PP_SMALL);
		memcpy(buf, &req, sizeof(req));
		for (tries = 0;; tries++) {
			if (sendto(sd, buf, PP_SMALL, 0, (struct sockaddr *)&to,
				   sizeof(to)) == PP_SMALL)
				break;
			if (i || tries >= 50 || (errno != EHOSTUNREACH &&
						 errno != ENOENT))
				return die("sendto");
			usleep(100000);
		}
		for (data = 0, acks = 0, tries = 0; !data || acks < ncopies;) {
			n = recv(sd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EAGAIN && ++tries < RETRIES) {
				/* lost on a descheduled guest: ask again */
				fprintf(stderr, "tipc-pingpong: no reply to %lu in 5 s, asking again\n",
					i);
				memset(buf, 0, PP_SMALL);
				memcpy(buf, &req, sizeof(req));
				if (sendto(sd, buf, PP_SMALL, 0,
					   (struct sockaddr *)&to,
					   sizeof(to)) != PP_SMALL)
					return die("sendto");
				continue;
			}
			if (n < 0)
				return die("recv");
			if (n >= (ssize_t)sizeof(*h) && h->seq < (uint32_t)i)
				continue;	/* late, for an earlier try */
			if (n < (ssize_t)sizeof(*h) || h->seq != (uint32_t)i) {
				fprintf(stderr, "tipc-pingpong: bad reply\n");
				return 1;
			}
			if (h->op == PP_DATA && (size_t)n == size)
				data++;
			else if (h->op == PP_ACK)
				acks++;
		}
		req.op = PP_DONE;
		memcpy(buf, &req, sizeof(req));
		if (sendto(sd, buf, PP_SMALL, 0, (struct sockaddr *)&to,
			   sizeof(to)) != PP_SMALL)
			return die("sendto DONE");
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
		if (size < PP_SMALL || size > PP_MAX || !num(argv[4])) {
			fprintf(stderr, "tipc-pingpong: SIZE %d..%d, COUNT > 0\n",
				PP_SMALL, PP_MAX);
			return 2;
		}
		return client(num(argv[2]), size, num(argv[4]));
	}
	if (argc >= 5 && argc <= 5 + PP_MAX_COPIES &&
	    !strcmp(argv[1], "grab")) {
		size = num(argv[3]);
		if (size < PP_SMALL || size > PP_MAX || !num(argv[4])) {
			fprintf(stderr, "tipc-pingpong: SIZE %d..%d, COUNT > 0\n",
				PP_SMALL, PP_MAX);
			return 2;
		}
		return grab(num(argv[2]), size, num(argv[4]), argc - 5,
			    argv + 5);
	}
	fprintf(stderr, "usage: tipc-pingpong server [INSTANCE]\n"
			"       tipc-pingpong client NODE SIZE COUNT\n"
			"       tipc-pingpong grab HOME SIZE COUNT [COPY...]\n");
	return 2;
}
