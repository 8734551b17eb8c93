// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile peer: a user-space program on this node sends malformed and
 * forged kDDM messages to node KDDM_TARGET (default 1). The target must
 * drop them all, count them, and go on serving objects. Since members are
 * authenticated ports, the target drops them at the sender check (a user
 * socket is no member's port); kddm/impostor checks that part. Any kernel warning
 * on its console fails the run (the driver scans consoles).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <endian.h>
#include <linux/tipc.h>
#include "wire.h"

#include "kselftest_harness.h"

#define COH_MSG_DATA		4
#define COH_MSG_INV		6
#define COH_MSG_NR		22

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v ? atoi(v) : def;
}

static int run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	char sink[256];

	if (!p)
		return -1;
	if (out) {
		n = fread(out, 1, len - 1, p);
		out[n] = '\0';
		out[strcspn(out, "\n")] = '\0';
	}
	while (fread(sink, 1, sizeof(sink), p) > 0)
		;
	return pclose(p);
}

FIXTURE(peer) {
	int fd;
	int self;
	int target;
	char set[64];
	struct sockaddr_tipc to;
};

FIXTURE_SETUP(peer)
{
	char cmd[128];

	self->self = env_int("KDDM_NODE", 2);
	self->target = env_int("KDDM_TARGET", 1);
	ASSERT_NE(self->self, self->target);
	self->fd = socket(AF_TIPC, SOCK_RDM, 0);
	ASSERT_GE(self->fd, 0);
	self->to = (struct sockaddr_tipc) {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name.type = KDDM_TIPC_TYPE,
		.addr.name.name.instance = self->target,
	};
	/* a set homed on the target, with an object it serves */
	snprintf(cmd, sizeof(cmd), "kddm-test create -p fixed -n %d",
		 self->target);
	ASSERT_EQ(0, run(cmd, self->set, sizeof(self->set)));
	snprintf(cmd, sizeof(cmd), "kddm-test write %s 1 intact", self->set);
	ASSERT_EQ(0, run(cmd, NULL, 0));
}

FIXTURE_TEARDOWN(peer)
{
	close(self->fd);
}


static int send_to(int fd, const struct sockaddr_tipc *to, const void *buf,
		   size_t len)
{
	return sendto(fd, buf, len, 0, (const struct sockaddr *)to,
		      sizeof(*to)) == (ssize_t)len ? 0 : -errno;
}

#define send_raw(self, buf, len) send_to((self)->fd, &(self)->to, buf, len)

/* The target still serves the object homed on it. */
static int target_ok(const char *set)
{
	char cmd[128], out[128];

	snprintf(cmd, sizeof(cmd), "kddm-test get %s 1", set);
	if (run(cmd, out, sizeof(out)) || strcmp(out, "intact"))
		return -1;
	snprintf(cmd, sizeof(cmd), "kddm-test incr %s 2", set);
	return run(cmd, NULL, 0);
}

TEST_F(peer, broken_headers)
{
	unsigned char buf[256];
	struct kddm_wire_hdr *h = (void *)buf;
	__u64 set = strtoull(self->set, NULL, 0);
	int i;

	memset(buf, 0xa5, sizeof(buf));
	ASSERT_EQ(0, send_raw(self, buf, 3));		/* truncated */
	ASSERT_EQ(0, send_raw(self, buf, sizeof(buf)));	/* garbage */
	wire_hdr(h, self->self, KDDM_MSG_PING, 0, 0, 0);
	h->version = 99;				/* future version */
	ASSERT_EQ(0, send_raw(self, buf, sizeof(*h)));
	wire_hdr(h, self->self, KDDM_MSG_COH, 1000, set, 1);	/* len lies */
	ASSERT_EQ(0, send_raw(self, buf, sizeof(*h) + 10));
	wire_hdr(h, self->self, 200, 0, set, 1);		/* unknown type */
	ASSERT_EQ(0, send_raw(self, buf, sizeof(*h)));
	wire_hdr(h, self->self, KDDM_MSG_SET_INFO, 100, set, 1); /* > max len */
	ASSERT_EQ(0, send_raw(self, buf, sizeof(*h) + 100));
	wire_hdr(h, self->target, KDDM_MSG_PING, 0, 0, 0);	/* forged sender */
	ASSERT_EQ(0, send_raw(self, buf, sizeof(*h)));
	for (i = 0; i < 100; i++) {			/* random bytes */
		int n = rand() % sizeof(buf), k;

		for (k = 0; k < n; k++)
			buf[k] = rand();
		ASSERT_EQ(0, send_raw(self, buf, n));
	}
	EXPECT_EQ(0, target_ok(self->set));
}

/*
 * Well-framed coherence messages that make no sense in any state, about
 * objects 1000..1002: what a member forges about objects it takes part in
 * may wedge those objects, but never the target or its other objects.
 */
TEST_F(peer, nonsense_protocol)
{
	unsigned char buf[sizeof(struct kddm_wire_hdr) +
			  sizeof(struct kddm_wire_coh) + 64];
	struct kddm_wire_hdr *h = (void *)buf;
	struct kddm_wire_coh *c = (void *)(h + 1);
	__u64 set = strtoull(self->set, NULL, 0);
	int i, type;

	for (i = 0; i < 2000; i++) {
		type = 1 + rand() % COH_MSG_NR;
		memset(c, 0, sizeof(*c) + 64);
		c->type = htole16(type);
		c->flags = htole16(rand() & 0xf);
		c->requester = htole32(rand() % 4);
		c->req = htole32(rand() % 8);
		c->owner_req = htole32(rand() % 8);
		c->count = htole32(rand() % 3);
		c->node = htole32(rand() % 4);
		wire_hdr(h, self->self, KDDM_MSG_COH, sizeof(*c) +
		    (type == COH_MSG_DATA ? 64 : 0), set, 1000 + rand() % 3);
		ASSERT_EQ(0, send_raw(self, buf, sizeof(*h) + le32toh(h->len)));
	}
	/* invalidations for a set the target never heard of */
	wire_hdr(h, self->self, KDDM_MSG_COH, sizeof(*c), 0x7700000042ULL, 1);
	c->type = htole16(COH_MSG_INV);
	ASSERT_EQ(0, send_raw(self, buf, sizeof(*h) + sizeof(*c)));
	EXPECT_EQ(0, target_ok(self->set));
}

/* The payload of a full piece, as kddm.ko sends them. */
#define ROOM (KDDM_WIRE_DGRAM_MAX - sizeof(struct kddm_wire_hdr) - \
	      sizeof(struct kddm_wire_frag))

/* Sends piece @off..@off+@n of a long message of @total bytes. */
static int send_frag(struct _test_data_peer *self, __u32 seq, __u32 total,
		     __u32 off, const void *data, __u32 n, int src)
{
	static unsigned char buf[KDDM_WIRE_DGRAM_MAX];
	struct kddm_wire_hdr *h = (void *)buf;
	struct kddm_wire_frag *f = (void *)(h + 1);

	if (n > ROOM)
		return -EINVAL;
	wire_hdr(h, src, KDDM_MSG_FRAG, sizeof(*f) + n, 0, 0);
	f->seq = htole32(seq);
	f->total = htole32(total);
	f->offset = htole32(off);
	f->pad = 0;
	memcpy(f + 1, data, n);
	return send_raw(self, buf, sizeof(*h) + sizeof(*f) + n);
}

/* Sends the whole @total bytes of @msg in full pieces, message @seq. */
static int send_long(struct _test_data_peer *self, __u32 seq,
		     const unsigned char *msg, __u32 total, int src)
{
	__u32 off, n;
	int ret = 0;

	for (off = 0; off < total && !ret; off += n) {
		n = total - off < ROOM ? total - off : ROOM;
		ret = send_frag(self, seq, total, off, msg + off, n, src);
	}
	return ret;
}

/*
 * Pieces of long messages that lie: too long, short, out of place, never
 * finished, or whole messages that are themselves pieces, come from
 * another sender, or have no valid header. All are dropped.
 */
TEST_F(peer, broken_fragments)
{
	static unsigned char big[200000];
	struct kddm_wire_hdr *h = (void *)big;
	const __u32 total = 100000;
	int me = self->self, i;

	memset(big, 0x5a, sizeof(big));
	ASSERT_EQ(0, send_frag(self, 1, 100, 0, big, 0, me));	/* empty */
	ASSERT_EQ(0, send_frag(self, 1, 1U << 30, 0, big, 100, me));
	ASSERT_EQ(0, send_frag(self, 1, 100, 200, big, 10, me));
	ASSERT_EQ(0, send_frag(self, 1, 100, 50, big, 60, me));
	ASSERT_EQ(0, send_frag(self, 1, total, 0, big, 1000, me)); /* short */
	/* a gap, then a piece of another message */
	ASSERT_EQ(0, send_frag(self, 2, 3 * ROOM, 0, big, ROOM, me));
	ASSERT_EQ(0, send_frag(self, 2, 3 * ROOM, 2 * ROOM, big, ROOM, me));
	ASSERT_EQ(0, send_frag(self, 3, total, 0, big, ROOM, me));
	ASSERT_EQ(0, send_frag(self, 4, total, ROOM, big, total - ROOM, me));
	/* whole messages: a piece, a forged sender, garbage */
	wire_hdr(h, me, KDDM_MSG_FRAG, total - sizeof(*h), 0, 0);
	ASSERT_EQ(0, send_long(self, 5, big, total, me));
	wire_hdr(h, self->target, KDDM_MSG_PING, total - sizeof(*h), 0, 0);
	ASSERT_EQ(0, send_long(self, 6, big, total, me));
	memset(big, 0xa5, sizeof(*h));
	ASSERT_EQ(0, send_long(self, 7, big, total, me));
	/* pieces forged for another node */
	ASSERT_EQ(0, send_frag(self, 8, total, 0, big, ROOM, self->target));
	/* many long messages begun, none finished: one buffer at a time */
	for (i = 0; i < 200; i++)
		ASSERT_EQ(0, send_frag(self, 100 + i, 1U << 20, 0, big, ROOM, me));
	EXPECT_EQ(0, target_ok(self->set));
}

TEST_HARNESS_MAIN
