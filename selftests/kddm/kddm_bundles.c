// SPDX-License-Identifier: GPL-2.0
/*
 * kddm_bundles TARGET: a hostile member. Through kddm's debugfs send_raw,
 * this node (a true member: the datagrams come from its authenticated
 * port, with true headers) sends node TARGET BUNDLE messages whose
 * contents lie: empty, cut short, inner lengths past the end, inner
 * FRAG, HELLO, BYE or BUNDLE, inner messages claiming another sender or other
 * incarnations, bad magic, unknown types, one too long for a datagram,
 * and one whose first message (a PING) is good but not its second. Then
 * one good bundle of two PINGs. Prints "bad N good-pings M": TARGET must
 * drop exactly N messages, and answer M PINGs (whose replies, with no rpc
 * id, this node drops).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wire.h"

#define DBG "/sys/kernel/debug/kddm/"

static unsigned char msg[2 * KDDM_WIRE_DGRAM_MAX];
static size_t used;
static unsigned int self, target, self_inc, target_inc;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* This node's id and incarnations, from debugfs nodes. */
static void read_nodes(void)
{
	FILE *f = fopen(DBG "nodes", "r");
	char line[256], state[16];
	unsigned int node, tipc, inc;

	if (!f)
		die(DBG "nodes");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %15s %x %u", &node, state, &tipc,
			   &inc) != 4)
			continue;
		if (!strcmp(state, "self")) {
			self = node;
			self_inc = inc;
		} else if (node == target) {
			target_inc = inc;
		}
	}
	fclose(f);
	if (!self || !self_inc || !target_inc) {
		fprintf(stderr, "kddm_bundles: node %u not up, or not joined\n",
			target);
		exit(1);
	}
}

/* Appends a message with this header to the bundle being made. */
static void add(unsigned int src, int type, unsigned int len,
		unsigned int src_inc, unsigned int dst_inc)
{
	struct kddm_wire_hdr *h = (void *)(msg + 8 + used);

	memset(h, 0, sizeof(*h) + len);
	wire_hdr(h, src, type, len, 0, 0);
	h->src_inc = htole32(src_inc);
	h->dst_inc = htole32(dst_inc);
	used += (sizeof(*h) + len + 7) & ~7UL;	/* each starts aligned */
}

static void good_ping(void)
{
	add(self, KDDM_MSG_PING, 4, self_inc, target_inc);
}

/* Sends what was added as one BUNDLE, and starts a new one. */
static void send_bundle(void)
{
	__le32 dst = htole32(target);
	int fd = open(DBG "send_raw", O_WRONLY);

	if (fd < 0)
		die(DBG "send_raw");
	memcpy(msg, &dst, 4);
	msg[4] = KDDM_MSG_BUNDLE;
	msg[5] = msg[6] = msg[7] = 0;
	if (write(fd, msg, 8 + used) != (ssize_t)(8 + used))
		die("send_raw");
	close(fd);
	used = 0;
}

int main(int argc, char **argv)
{
	struct kddm_wire_hdr *h;
	int bad = 0;

	if (argc != 2)
		return 2;
	target = atoi(argv[1]);
	read_nodes();

	send_bundle(), bad++;				/* empty */
	used = 10, send_bundle(), bad++;		/* a header cut short */
	add(self, KDDM_MSG_PING, 0, self_inc, target_inc);
	h = (void *)(msg + 8);
	h->len = htole32(1000);				/* past the end */
	used += 10, send_bundle(), bad++;
	add(self, KDDM_MSG_FRAG, 16, self_inc, target_inc);
	send_bundle(), bad++;
	add(self, KDDM_MSG_HELLO, 0, self_inc, target_inc);
	send_bundle(), bad++;
	add(self, KDDM_MSG_BUNDLE, 0, self_inc, target_inc);
	send_bundle(), bad++;
	add(self, KDDM_MSG_BYE, 8, self_inc, target_inc);
	send_bundle(), bad++;
	add(target, KDDM_MSG_PING, 4, self_inc, target_inc);	/* not us */
	send_bundle(), bad++;
	add(self, KDDM_MSG_PING, 4, self_inc, target_inc + 1);
	send_bundle(), bad++;
	add(self, KDDM_MSG_PING, 4, self_inc + 1, target_inc);
	send_bundle(), bad++;
	add(self, KDDM_MSG_PING, 4, self_inc, target_inc);
	((struct kddm_wire_hdr *)(msg + 8))->magic = 0;	/* bad magic */
	send_bundle(), bad++;
	add(self, 200, 4, self_inc, target_inc);	/* unknown type */
	send_bundle(), bad++;
	good_ping();			/* a good one, then one that lies */
	h = (void *)(msg + 8 + used);
	add(self, KDDM_MSG_PING, 4, self_inc, target_inc);
	h->len = htole32(99999);
	send_bundle(), bad++;
	/* too long for a datagram: pieces, whose whole is a BUNDLE */
	while (used < KDDM_WIRE_DGRAM_MAX + 1000)
		good_ping();
	send_bundle(), bad++;

	good_ping();
	good_ping();
	send_bundle();
	printf("bad %d good-pings %d\n", bad, 3);
	return 0;
}
