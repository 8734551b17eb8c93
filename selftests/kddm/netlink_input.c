// SPDX-License-Identifier: GPL-2.0
/*
 * The "kddm" generic netlink family refuses malformed and out-of-range
 * input with the right errno and an extended-ack message, and still works
 * afterwards. Talks raw netlink (no libnl) so it can send anything.
 *
 * Run as root on a node where kddm.ko is loaded (and joined, for the node
 * dump). None of the requests sent here may change the node's state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <kddm/kddm_netlink.h>

#include "kselftest_harness.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define UNKNOWN_ATTR	200

struct nlreq {
	char buf[512];
	size_t len;
};

/* How a request ended. */
struct nlres {
	int error;		/* 0, or -errno of the ack or the dump's end */
	char extack[256];	/* NLMSGERR_ATTR_MSG, "" if none */
	int miss_type;		/* NLMSGERR_ATTR_MISS_TYPE, -1 if none */
	int nr_msgs;		/* replies other than the ack / done */
};

typedef void (*reply_fn)(const struct nlmsghdr *nlh, void *arg);

static void req_init(struct nlreq *r, uint16_t type, uint16_t flags,
		     uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->buf;
	struct genlmsghdr *g = NLMSG_DATA(nlh);
	static uint32_t seq = 1000;

	memset(r, 0, sizeof(*r));
	r->len = NLMSG_LENGTH(GENL_HDRLEN);
	nlh->nlmsg_len = r->len;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++seq;
	g->cmd = cmd;
	g->version = version;
}

static void req_put(struct nlreq *r, uint16_t type, const void *data,
		    uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(r->buf + r->len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->len += NLA_ALIGN(a->nla_len);
	((struct nlmsghdr *)r->buf)->nlmsg_len = r->len;
}

static void req_put_u32(struct nlreq *r, uint16_t type, uint32_t v)
{
	req_put(r, type, &v, sizeof(v));
}

static void req_put_u64(struct nlreq *r, uint16_t type, uint64_t v)
{
	req_put(r, type, &v, sizeof(v));
}

/* Reads the extended-ack TLVs found at @off of @nlh's payload. */
static void parse_tlvs(const struct nlmsghdr *nlh, size_t off,
		       struct nlres *res)
{
	const char *p = (const char *)NLMSG_DATA(nlh) + off;
	const char *end = (const char *)nlh + nlh->nlmsg_len;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *a = (const struct nlattr *)p;
		const char *data = p + NLA_HDRLEN;
		int len = a->nla_len - NLA_HDRLEN;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			break;
		if (a->nla_type == NLMSGERR_ATTR_MSG && len > 0)
			snprintf(res->extack, sizeof(res->extack), "%.*s",
				 len, data);
		if (a->nla_type == NLMSGERR_ATTR_MISS_TYPE && len == 4)
			memcpy(&res->miss_type, data, 4);
		p += NLA_ALIGN(a->nla_len);
	}
}

/* Handles one message of the answer; returns 1 once the answer is over. */
static int answer_msg(const struct nlmsghdr *nlh, struct nlres *res,
		      reply_fn fn, void *arg)
{
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(nlh);
		size_t off = sizeof(*e);

		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		res->error = e->error;
		parse_tlvs(nlh, NLMSG_ALIGN(off), res);
		return 1;
	}
	if (nlh->nlmsg_type == NLMSG_DONE) {
		memcpy(&res->error, NLMSG_DATA(nlh), sizeof(int));
		parse_tlvs(nlh, NLMSG_ALIGN(sizeof(int)), res);
		return 1;
	}
	res->nr_msgs++;
	if (fn)
		fn(nlh, arg);
	return 0;
}

/*
 * Sends @r and reads its answer up to the ack (requests are sent with
 * NLM_F_ACK) or the end of the dump. Returns 0 or -errno of the socket.
 */
static int transact(int fd, struct nlreq *r, struct nlres *res,
		    reply_fn fn, void *arg)
{
	uint32_t seq = ((struct nlmsghdr *)r->buf)->nlmsg_seq;
	static char buf[32768];
	struct nlmsghdr *nlh;
	ssize_t n;

	memset(res, 0, sizeof(*res));
	res->miss_type = -1;
	if (send(fd, r->buf, r->len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (answer_msg(nlh, res, fn, arg))
				return 0;
		}
	}
}

typedef void (*attr_fn)(int type, const void *data, int len, void *arg);

/* Calls fn(type, payload, len, arg) for each attribute of a genl reply. */
static void walk_attrs(const struct nlmsghdr *nlh, attr_fn fn, void *arg)
{
	const char *p = (const char *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	const char *end = (const char *)nlh + nlh->nlmsg_len;

	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *a = (const struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			break;
		fn(a->nla_type & NLA_TYPE_MASK, p + NLA_HDRLEN,
		   a->nla_len - NLA_HDRLEN, arg);
		p += NLA_ALIGN(a->nla_len);
	}
}

static void family_attr(int type, const void *data, int len, void *arg)
{
	if (type == CTRL_ATTR_FAMILY_ID && len == 2)
		memcpy(arg, data, 2);
}

static void family_reply(const struct nlmsghdr *nlh, void *arg)
{
	walk_attrs(nlh, family_attr, arg);
}

/* The kddm family id, 0 if it is not registered. */
static uint16_t resolve_family(int fd)
{
	struct nlreq r;
	struct nlres res;
	uint16_t id = 0;

	req_init(&r, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	req_put(&r, CTRL_ATTR_FAMILY_NAME, KDDM_GENL_NAME,
		sizeof(KDDM_GENL_NAME));
	if (transact(fd, &r, &res, family_reply, &id) || res.error)
		return 0;
	return id;
}

struct node_info {
	uint32_t id;		/* KDDM_A_NODE_ID of the last reply */
	int state;		/* KDDM_A_NODE_STATE of the last reply, or -1 */
	int joined;		/* KDDM_A_NODE_JOINED, or -1 */
	int nr_self;		/* dump entries in state self */
	uint32_t self_id;	/* and the id of the last of them */
};

static void node_attr(int type, const void *data, int len, void *arg)
{
	struct node_info *ni = arg;
	uint8_t u8;

	if (type == KDDM_A_NODE_ID && len == 4)
		memcpy(&ni->id, data, 4);
	if ((type == KDDM_A_NODE_STATE || type == KDDM_A_NODE_JOINED) &&
	    len == 1) {
		memcpy(&u8, data, 1);
		if (type == KDDM_A_NODE_STATE)
			ni->state = u8;
		else
			ni->joined = u8;
	}
}

static void node_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct node_info *ni = arg;

	ni->state = -1;
	walk_attrs(nlh, node_attr, ni);
	if (ni->state == KDDM_NODE_STATE_SELF) {
		ni->nr_self++;
		ni->self_id = ni->id;
	}
}

FIXTURE(nl) {
	int fd;
	uint16_t family;
	struct nlreq req;
	struct nlres res;
};

FIXTURE_SETUP(nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	int one = 1;

	self->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bind(self->fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, setsockopt(self->fd, SOL_NETLINK, NETLINK_EXT_ACK,
				&one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_RCVTIMEO,
				&tv, sizeof(tv)));
	self->family = resolve_family(self->fd);
}

FIXTURE_TEARDOWN(nl)
{
	close(self->fd);
}

#define NO_FAMILY "the kddm genetlink family is not registered"

/* A do request of @cmd to the kddm family, with NLM_F_ACK. */
static void kddm_req(struct nlreq *r, uint16_t family, uint8_t cmd)
{
	req_init(r, family, NLM_F_ACK, cmd, KDDM_GENL_VERSION);
}

TEST_F(nl, set_id_without_attr)
{
	if (!self->family)
		SKIP(return, NO_FAMILY);
	kddm_req(&self->req, self->family, KDDM_CMD_NODE_SET_ID);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_EQ(-EINVAL, self->res.error);
	EXPECT_NE(0, self->res.extack[0]);
	EXPECT_EQ(KDDM_A_NODE_ID, self->res.miss_type);
	TH_LOG("extack: %s", self->res.extack);
}

/* Node ids are 1..65535: the policy refuses @id. */
static void check_range(struct __test_metadata *_metadata, int fd,
			uint16_t family, uint32_t id)
{
	struct nlreq req;
	struct nlres res;

	kddm_req(&req, family, KDDM_CMD_NODE_SET_ID);
	req_put_u32(&req, KDDM_A_NODE_ID, id);
	ASSERT_EQ(0, transact(fd, &req, &res, NULL, NULL));
	if (res.error != -ERANGE)
		EXPECT_EQ(-EINVAL, res.error);
	EXPECT_NE(0, res.extack[0]);
	TH_LOG("node id %u: %s", id, res.extack);
}

TEST_F(nl, set_id_zero)
{
	if (!self->family)
		SKIP(return, NO_FAMILY);
	check_range(_metadata, self->fd, self->family, 0);
}

TEST_F(nl, set_id_too_big)
{
	if (!self->family)
		SKIP(return, NO_FAMILY);
	check_range(_metadata, self->fd, self->family, 70000);
}

TEST_F(nl, set_id_short_attr)
{
	uint16_t id = 1;

	if (!self->family)
		SKIP(return, NO_FAMILY);
	kddm_req(&self->req, self->family, KDDM_CMD_NODE_SET_ID);
	req_put(&self->req, KDDM_A_NODE_ID, &id, sizeof(id));
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_EQ(-EINVAL, self->res.error);
	EXPECT_NE(0, self->res.extack[0]);
	TH_LOG("2-byte u32: %s", self->res.extack);
}

TEST_F(nl, unknown_attr)
{
	if (!self->family)
		SKIP(return, NO_FAMILY);
	kddm_req(&self->req, self->family, KDDM_CMD_NODE_GET);
	req_put_u32(&self->req, UNKNOWN_ATTR, 1);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_EQ(-EINVAL, self->res.error);
	EXPECT_EQ(0, self->res.nr_msgs);
	TH_LOG("unknown attribute: %s", self->res.extack);
}

/* A known attribute that this command does not take is refused too. */
TEST_F(nl, foreign_attr)
{
	if (!self->family)
		SKIP(return, NO_FAMILY);
	kddm_req(&self->req, self->family, KDDM_CMD_SET_GET);
	req_put_u64(&self->req, KDDM_A_SET_ID, ~0ULL);
	req_put_u32(&self->req, KDDM_A_NODE_ID, 1);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_EQ(-EINVAL, self->res.error);
	TH_LOG("foreign attribute: %s", self->res.extack);
}

TEST_F(nl, truncated_genl_header)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)self->req.buf;
	struct node_info ni = { .joined = -1 };

	if (!self->family)
		SKIP(return, NO_FAMILY);
	kddm_req(&self->req, self->family, KDDM_CMD_NODE_GET);
	self->req.len = NLMSG_HDRLEN + GENL_HDRLEN / 2;
	nlh->nlmsg_len = self->req.len;
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_GT(0, self->res.error);
	EXPECT_EQ(0, self->res.nr_msgs);

	/* The family still answers. */
	kddm_req(&self->req, self->family, KDDM_CMD_NODE_GET);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, node_reply,
			      &ni));
	EXPECT_EQ(0, self->res.error);
	EXPECT_EQ(1, self->res.nr_msgs);
	EXPECT_NE(-1, ni.joined);
}

TEST_F(nl, set_get_unknown)
{
	if (!self->family)
		SKIP(return, NO_FAMILY);
	/* Node 0xffffffff cannot exist: no set can have this id. */
	kddm_req(&self->req, self->family, KDDM_CMD_SET_GET);
	req_put_u64(&self->req, KDDM_A_SET_ID, ~0ULL);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_EQ(-ENOENT, self->res.error);
	EXPECT_NE(0, self->res.extack[0]);
	EXPECT_EQ(0, self->res.nr_msgs);
	TH_LOG("unknown set: %s", self->res.extack);
}

TEST_F(nl, set_dump_with_set_id)
{
	if (!self->family)
		SKIP(return, NO_FAMILY);
	req_init(&self->req, self->family, NLM_F_DUMP, KDDM_CMD_SET_GET,
		 KDDM_GENL_VERSION);
	req_put_u64(&self->req, KDDM_A_SET_ID, 1);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_EQ(-EINVAL, self->res.error);
	EXPECT_EQ(0, self->res.nr_msgs);
}

TEST_F(nl, node_dump_has_self)
{
	struct node_info ni = { .joined = -1 };
	uint32_t self_id;

	if (!self->family)
		SKIP(return, NO_FAMILY);
	kddm_req(&self->req, self->family, KDDM_CMD_NODE_GET);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, node_reply,
			      &ni));
	ASSERT_EQ(0, self->res.error);
	ASSERT_EQ(1, self->res.nr_msgs);
	if (ni.joined != 1)
		SKIP(return, "this node has not joined");
	self_id = ni.id;

	memset(&ni, 0, sizeof(ni));
	req_init(&self->req, self->family, NLM_F_DUMP, KDDM_CMD_NODE_GET,
		 KDDM_GENL_VERSION);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, node_reply,
			      &ni));
	EXPECT_EQ(0, self->res.error);
	EXPECT_LE(1, self->res.nr_msgs);
	EXPECT_EQ(1, ni.nr_self);
	EXPECT_EQ(self_id, ni.self_id);
}

struct mac_reply {
	int len;
	unsigned char mac[64];
};

static void mac_attr(int type, const void *data, int len, void *arg)
{
	struct mac_reply *m = arg;

	if (type == KDDM_A_MAC && len <= (int)sizeof(m->mac)) {
		m->len = len;
		memcpy(m->mac, data, len);
	}
}

static void mac_reply(const struct nlmsghdr *nlh, void *arg)
{
	walk_attrs(nlh, mac_attr, arg);
}

/*
 * MAC (for kddm-migrated): 32 bytes, the same for the same data, another
 * for other data; no data, empty or oversized data refused. The test
 * cluster always has a key.
 */
TEST_F(nl, mac)
{
	struct mac_reply a = {}, b = {}, c = {};
	char big[KDDM_MAC_DATA_MAX + 1];

	if (!self->family)
		SKIP(return, NO_FAMILY);
	kddm_req(&self->req, self->family, KDDM_CMD_MAC);
	req_put(&self->req, KDDM_A_MAC_DATA, "hello", 5);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, mac_reply, &a));
	if (self->res.error == -ENOKEY)
		SKIP(return, "the cluster has no key");
	ASSERT_EQ(0, self->res.error) TH_LOG("%s", self->res.extack);
	ASSERT_EQ(KDDM_MAC_LEN, a.len);
	kddm_req(&self->req, self->family, KDDM_CMD_MAC);
	req_put(&self->req, KDDM_A_MAC_DATA, "hello", 5);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, mac_reply, &b));
	ASSERT_EQ(0, memcmp(a.mac, b.mac, KDDM_MAC_LEN));
	kddm_req(&self->req, self->family, KDDM_CMD_MAC);
	req_put(&self->req, KDDM_A_MAC_DATA, "hellp", 5);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, mac_reply, &c));
	ASSERT_NE(0, memcmp(a.mac, c.mac, KDDM_MAC_LEN));

	kddm_req(&self->req, self->family, KDDM_CMD_MAC);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_EQ(-EINVAL, self->res.error);
	TH_LOG("no data: %s", self->res.extack);
	kddm_req(&self->req, self->family, KDDM_CMD_MAC);
	req_put(&self->req, KDDM_A_MAC_DATA, "", 0);
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_NE(0, self->res.error);
	memset(big, 'x', sizeof(big));
	kddm_req(&self->req, self->family, KDDM_CMD_MAC);
	req_put(&self->req, KDDM_A_MAC_DATA, big, sizeof(big));
	ASSERT_EQ(0, transact(self->fd, &self->req, &self->res, NULL, NULL));
	EXPECT_NE(0, self->res.error);
	TH_LOG("%zu bytes: %s", sizeof(big), self->res.extack);
}

/*
 * An unprivileged user may look (NODE_GET) but not change (JOIN, LEAVE) nor
 * have MACs made.
 */
TEST_F(nl, changes_need_admin)
{
	int st, leave, join, look, mac;
	pid_t pid;

	if (!self->family)
		SKIP(return, NO_FAMILY);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
		struct nlreq r;
		struct nlres res;
		int fd;

		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(10);
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			    NETLINK_GENERIC);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(11);
		kddm_req(&r, self->family, KDDM_CMD_LEAVE);
		leave = transact(fd, &r, &res, NULL, NULL) ?: res.error;
		kddm_req(&r, self->family, KDDM_CMD_JOIN);
		join = transact(fd, &r, &res, NULL, NULL) ?: res.error;
		kddm_req(&r, self->family, KDDM_CMD_NODE_GET);
		look = transact(fd, &r, &res, NULL, NULL) ?: res.error;
		kddm_req(&r, self->family, KDDM_CMD_MAC);
		req_put(&r, KDDM_A_MAC_DATA, "x", 1);
		mac = transact(fd, &r, &res, NULL, NULL) ?: res.error;
		_exit((leave == -EPERM ? 0 : 1) | (join == -EPERM ? 0 : 2) |
		      (look == 0 ? 0 : 4) | (mac == -EPERM ? 0 : 8));
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st))
		TH_LOG("1: LEAVE allowed, 2: JOIN allowed, 4: NODE_GET refused, 8: MAC allowed");
}

TEST_HARNESS_MAIN
