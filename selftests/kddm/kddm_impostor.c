// SPDX-License-Identifier: GPL-2.0
/*
 * kddm_impostor SECONDS OUTFILE SET: an unprivileged local user (it drops
 * to uid 65534) trying to speak for this node. It binds kDDM's TIPC
 * service as this node's id and as a node that does not exist (9), sends
 * a HELLO it cannot sign and forged coherence messages about object 1 of
 * SET to node 1, then counts what kDDM lets reach it for SECONDS and
 * writes "ready" then "received N" to OUTFILE. Used by the impostor test.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/tipc.h>
#include "wire.h"

#define COH_MSG_REQ_WRITE	2
#define COH_MSG_DATA		4
#define COH_MSG_FLUSH		11

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void bind_as(int fd, unsigned int id)
{
	struct sockaddr_tipc a = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_RANGE,
		.scope = TIPC_CLUSTER_SCOPE,
		.addr.nameseq = { KDDM_TIPC_TYPE, id, id },
	};

	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
}

static void send_as(int fd, unsigned int src, int type, unsigned long long set,
		    const void *payload, unsigned int len)
{
	unsigned char buf[512];
	struct kddm_wire_hdr *h = (void *)buf;
	struct sockaddr_tipc to = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name = { KDDM_TIPC_TYPE, 1 },
	};

	wire_hdr(h, src, type, len, set, 1);
	memcpy(buf + sizeof(*h), payload, len);
	if (sendto(fd, buf, sizeof(*h) + len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		die("sendto");
}

static void forge(int fd, unsigned int self, unsigned long long set)
{
	struct kddm_wire_hello hello;
	unsigned char coh[sizeof(struct kddm_wire_coh) + 64];
	struct kddm_wire_coh *c = (void *)coh;
	int type;

	memset(&hello, 0x5a, sizeof(hello));
	send_as(fd, self, KDDM_MSG_HELLO, 0, &hello, sizeof(hello));
	send_as(fd, 9, KDDM_MSG_HELLO, 0, &hello, sizeof(hello));
	for (type = COH_MSG_REQ_WRITE; type <= COH_MSG_FLUSH; type++) {
		memset(coh, 'F', sizeof(coh));
		memset(c, 0, sizeof(*c));
		c->type = htole16(type);
		c->requester = htole32(self);
		send_as(fd, self, KDDM_MSG_COH, set, coh,
			type == COH_MSG_DATA ? sizeof(coh) : sizeof(*c));
	}
}

int main(int argc, char **argv)
{
	unsigned char buf[70000];
	struct pollfd p;
	time_t end;
	FILE *out;
	struct kddm_wire_hdr *h = (void *)buf;
	long n = 0, hellos = 0;
	ssize_t len;
	unsigned int self;

	if (argc != 4)
		return 2;
	out = fopen(argv[2], "w");
	if (!out)
		die(argv[2]);
	p.fd = socket(AF_TIPC, SOCK_RDM, 0);
	if (p.fd < 0)
		die("socket");
	p.events = POLLIN;
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		die("setresuid");
	self = atoi(getenv("KDDM_NODE") ?: "2");
	bind_as(p.fd, self);
	bind_as(p.fd, 9);
	forge(p.fd, self, strtoull(argv[3], NULL, 0));
	fprintf(out, "ready\n");
	fflush(out);
	end = time(NULL) + atoi(argv[1]);
	while (time(NULL) < end) {
		if (poll(&p, 1, 200) <= 0)
			continue;
		len = recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT);
		/* HELLOs to a candidate port carry no data: not counted */
		if (len >= (ssize_t)sizeof(*h) && h->type == KDDM_MSG_HELLO)
			hellos++;
		else if (len >= 0) {
			n++;
			fprintf(out, "got %zd bytes, type %d from node %u\n",
				len, len >= (ssize_t)sizeof(*h) ? h->type : -1,
				len >= (ssize_t)sizeof(*h) ? le32toh(h->src) : 0);
		}
	}
	fprintf(out, "received %ld\nhellos %ld\n", n, hellos);
	fflush(out);
	fclose(out);
	return 0;
}
