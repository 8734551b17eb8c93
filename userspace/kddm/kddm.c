// SPDX-License-Identifier: GPL-2.0
/*
 * kddm: the kDDM command line, over the "kddm" generic netlink family
 * (include/uapi/kddm/kddm_netlink.h, Documentation/netlink/specs/kddm.yaml).
 *
 * Exit status: 0 success, 1 the request failed, 2 bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include <kddm/kddm_netlink.h>

#include "fs.h"
#include "ipc.h"
#include "migrate.h"
#include "balance.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define MAX_NODE_ID	65535U
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *prog = "kddm";

static const char usage_text[] =
"usage: kddm [--json] COMMAND\n"
"\n"
"  status                 this node's id and whether it has joined\n"
"  nodes                  known nodes: NODE STATE (self, up, down)\n"
"  sets                   sets with local state on this node\n"
"  stats [SET_ID]         statistics of one set, or the node's counters\n"
"                         and those of every set\n"
"  node set-id N          set this node's id (1..65535; before joining)\n"
"  join [--key-file F]    join the cluster; F holds the cluster key (16 to\n"
"                         64 bytes, the same on every node): without one,\n"
"                         any local user of a member can speak for it\n"
"  leave                  leave the cluster (no sets may exist)\n"
"  ipcs                   System V IPC objects of the cluster (kipc.ko)\n"
"  df                     each node's kdfs backing store: size, used, free\n"
"  where PATH             the node holding a kdfs file's metadata and data\n"
"  ipc enable|disable|status\n"
"                         make this IPC namespace cluster-wide, or local\n"
"  migrate PID NODE [--tree] [--eager]\n"
"                         move process PID of this node to NODE, with its\n"
"                         descendants with --tree (kddm-migrated); its memory\n"
"                         follows once it runs there, or before with --eager\n"
"  ps                     processes kddm moved or started, on every node\n"
"  load                   every node's load, as its kddm-balancer published\n"
"                         it (kDDM objects)\n"
"  balancer status|pause|resume|policy NAME [ARGS]\n"
"                         this node's kddm-balancer: what it does, stop or\n"
"                         go on moving processes, use policy NAME (none,\n"
"                         least-loaded, mosix, or a path to a .so)\n"
"  balancer exclude|include PID\n"
"                         the balancers may not (may) move PID, a process\n"
"                         kddm started or moved on this node (its owner)\n"
"  run --node NODE [--migratable] [--] CMD [ARG...]\n"
"                         run CMD on NODE as you, with your environment,\n"
"                         its standard streams and exit status brought\n"
"                         back; --migratable: it may move (kddm migrate),\n"
"                         reads no input, its output goes through kdfs\n"
"\n"
"  --json, -j             print JSON instead of tables\n"
"  --help, -h             print this help\n"
"\n"
"SET_ID is a number (0x prefix for hex, as printed by 'kddm sets').\n"
"node set-id, join and leave need CAP_NET_ADMIN.\n";

/* ---- small helpers ---- */

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return 2;
}

static void json_str(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static int parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

/* ---- netlink plumbing ---- */

struct kddm {
	struct nl_sock *sk;
	int family;
	bool json;
};

/* One request: its reply handler and how it ended. */
struct xact {
	int (*parse)(struct nlattr **tb, void *arg);	/* 0 or -errno */
	void *arg;
	bool done;
	int error;		/* positive errno, 0 on success */
	char extack[256];	/* the kernel's message, if any */
};

static struct nla_policy top_policy[KDDM_A_MAX + 1] = {
	[KDDM_A_NODE_ID]	= { .type = NLA_U32 },
	[KDDM_A_NODE_STATE]	= { .type = NLA_U8 },
	[KDDM_A_NODE_JOINED]	= { .type = NLA_U8 },
	[KDDM_A_NODE_ACTIVE]	= { .type = NLA_U8 },
	[KDDM_A_SET_ID]		= { .type = NLA_U64 },
	[KDDM_A_SET_LINKER]	= { .type = NLA_STRING },
	[KDDM_A_SET_OBJ_SIZE]	= { .type = NLA_U32 },
	[KDDM_A_SET_POLICY]	= { .type = NLA_U32 },
	[KDDM_A_SET_MANAGER]	= { .type = NLA_U32 },
	[KDDM_A_SET_NR_OBJECTS]	= { .type = NLA_U64 },
	[KDDM_A_SET_STATS]	= { .type = NLA_NESTED },
	[KDDM_A_GSTATS]		= { .type = NLA_NESTED },
};

/* Copies the NLMSGERR_ATTR_MSG of an error or ack, if there is one. */
static void get_extack(const struct nlmsgerr *e, char *buf, size_t len)
{
	const struct nlmsghdr *nlh =
		(const void *)((const char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e), total;

	buf[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	total = nlh->nlmsg_len - NLMSG_HDRLEN;
	if (total <= off)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)e + off), total - off, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(buf, len, "%.*s", nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	buf[strcspn(buf, "\n")] = '\0';
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct xact *x = arg;

	(void)nla;
	x->error = e->error < 0 ? -e->error : e->error;
	get_extack(e, x->extack, sizeof(x->extack));
	x->done = true;
	return NL_STOP;
}

static int done_cb(struct nl_msg *msg, void *arg)
{
	struct xact *x = arg;

	(void)msg;
	x->done = true;
	return NL_STOP;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[KDDM_A_MAX + 1];
	struct xact *x = arg;
	int err;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KDDM_A_MAX, top_policy) < 0) {
		x->error = EPROTO;
		snprintf(x->extack, sizeof(x->extack), "malformed reply");
		x->done = true;
		return NL_STOP;
	}
	if (!x->parse)
		return NL_OK;
	err = x->parse(tb, x->arg);
	if (err) {
		x->error = -err;
		x->done = true;
		return NL_STOP;
	}
	return NL_OK;
}

/* Prints "kddm: WHAT: reason" for a failed request. */
static void report(const char *what, const struct xact *x)
{
	const char *why = x->extack[0] ? x->extack : strerror(x->error);

	fprintf(stderr, "%s: %s: %s", prog, what, why);
	if (x->error == EPERM && !x->extack[0])
		fputs(" (CAP_NET_ADMIN needed)", stderr);
	if (!strcmp(what, "join") && x->error == EINVAL)
		fprintf(stderr, " (use '%s node set-id N')", prog);
	fputc('\n', stderr);
}

/*
 * Sends command @cmd (a dump if @dump) with the attributes @put adds, hands
 * every reply to @parse and waits for the ack or the end of the dump.
 * Returns 0, or 1 after printing why it failed.
 */
static int request(struct kddm *k, const char *what, uint8_t cmd, bool dump,
		   int (*put)(struct nl_msg *msg, const void *arg),
		   const void *put_arg,
		   int (*parse)(struct nlattr **tb, void *arg), void *arg)
{
	struct xact x = { .parse = parse, .arg = arg };
	struct nl_msg *msg = NULL;
	struct nl_cb *cb;
	int err;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	msg = nlmsg_alloc();
	if (!cb || !msg) {
		x.error = ENOMEM;
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, k->family, 0,
			 dump ? NLM_F_DUMP : 0, cmd, KDDM_GENL_VERSION) ||
	    (put && put(msg, put_arg) < 0)) {
		x.error = EMSGSIZE;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, done_cb, &x);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, done_cb, &x);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, &x);

	err = nl_send_auto(k->sk, msg);
	while (err >= 0 && !x.done)
		err = nl_recvmsgs(k->sk, cb);
	if (err < 0 && !x.done) {
		x.error = EIO;
		snprintf(x.extack, sizeof(x.extack), "netlink: %s",
			 nl_geterror(err));
	}
out:
	nlmsg_free(msg);
	nl_cb_put(cb);
	if (x.error)
		report(what, &x);
	return x.error ? 1 : 0;
}

static int kddm_open(struct kddm *k)
{
	int one = 1, err;

	k->sk = nl_socket_alloc();
	if (!k->sk) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	err = genl_connect(k->sk);
	if (err < 0) {
		fprintf(stderr, "%s: generic netlink: %s\n", prog,
			nl_geterror(err));
		return 1;
	}
	nl_socket_enable_msg_peek(k->sk);
	/* Best effort: without them errors just lack the kernel's text. */
	setsockopt(nl_socket_get_fd(k->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(k->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));

	k->family = genl_ctrl_resolve(k->sk, KDDM_GENL_NAME);
	if (k->family == -NLE_OBJ_NOTFOUND) {
		fprintf(stderr, "%s: the kddm module is not loaded\n", prog);
		return 1;
	}
	if (k->family < 0) {
		fprintf(stderr, "%s: cannot resolve the kddm family: %s\n",
			prog, nl_geterror(k->family));
		return 1;
	}
	return 0;
}

static void kddm_close(struct kddm *k)
{
	nl_socket_free(k->sk);	/* closes it; NULL is fine */
	k->sk = NULL;
}

/* ---- status, node set-id, join, leave ---- */

struct status {
	uint32_t node;
	bool joined, active;
};

static int parse_status(struct nlattr **tb, void *arg)
{
	struct status *s = arg;

	if (tb[KDDM_A_NODE_ID])
		s->node = nla_get_u32(tb[KDDM_A_NODE_ID]);
	if (tb[KDDM_A_NODE_JOINED])
		s->joined = nla_get_u8(tb[KDDM_A_NODE_JOINED]);
	if (tb[KDDM_A_NODE_ACTIVE])
		s->active = nla_get_u8(tb[KDDM_A_NODE_ACTIVE]);
	return 0;
}

static int cmd_status(struct kddm *k)
{
	struct status s = { 0 };

	if (request(k, "status", KDDM_CMD_NODE_GET, false, NULL, NULL,
		    parse_status, &s))
		return 1;
	if (k->json) {
		printf("{\"node\":%" PRIu32 ",\"joined\":%s,\"member\":%s}\n",
		       s.node, s.joined ? "true" : "false",
		       s.active ? "true" : "false");
		return 0;
	}
	if (s.node)
		printf("node:   %" PRIu32 "\n", s.node);
	else
		printf("node:   unset\n");
	printf("joined: %s\n", s.joined ? "yes" : "no");
	if (s.joined)
		printf("member: %s\n", s.active ? "yes (in the majority)" :
		       "no (fenced or joining: objects fail with ENOLINK)");
	return 0;
}

static int put_node_id(struct nl_msg *msg, const void *arg)
{
	return nla_put_u32(msg, KDDM_A_NODE_ID, *(const uint32_t *)arg);
}

static int cmd_set_id(struct kddm *k, uint32_t id)
{
	return request(k, "node set-id", KDDM_CMD_NODE_SET_ID, false,
		       put_node_id, &id, NULL, NULL);
}

/* ---- nodes ---- */

struct node_row {
	uint32_t id;
	uint8_t state;
};

struct node_list {
	struct node_row *v;
	size_t n, cap;
};

static int parse_node(struct nlattr **tb, void *arg)
{
	struct node_list *l = arg;
	struct node_row *v;

	if (!tb[KDDM_A_NODE_ID] || !tb[KDDM_A_NODE_STATE])
		return -EPROTO;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		v = realloc(l->v, l->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
	}
	l->v[l->n].id = nla_get_u32(tb[KDDM_A_NODE_ID]);
	l->v[l->n].state = nla_get_u8(tb[KDDM_A_NODE_STATE]);
	l->n++;
	return 0;
}

static const char *node_state_name(uint8_t st)
{
	switch (st) {
	case KDDM_NODE_STATE_SELF:
		return "self";
	case KDDM_NODE_STATE_UP:
		return "up";
	case KDDM_NODE_STATE_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

static int cmd_nodes(struct kddm *k)
{
	struct node_list l = { 0 };
	size_t i;
	int ret;

	ret = request(k, "nodes", KDDM_CMD_NODE_GET, true, NULL, NULL,
		      parse_node, &l);
	if (ret)
		goto out;
	if (k->json) {
		putchar('[');
		for (i = 0; i < l.n; i++)
			printf("%s{\"node\":%" PRIu32 ",\"state\":\"%s\"}",
			       i ? "," : "", l.v[i].id,
			       node_state_name(l.v[i].state));
		printf("]\n");
		goto out;
	}
	printf("%-6s %s\n", "NODE", "STATE");
	for (i = 0; i < l.n; i++)
		printf("%-6" PRIu32 " %s\n", l.v[i].id,
		       node_state_name(l.v[i].state));
out:
	free(l.v);
	return ret;
}

/* ---- sets and their statistics ---- */

enum {
	ST_GETS, ST_GRABS, ST_INVALIDATIONS, ST_MSGS_SENT, ST_MSGS_RCVD,
	ST_BYTES_SENT, ST_BYTES_RCVD, ST_COPIES, ST_CACHE_MAX, ST_EVICTIONS,
	ST_COUNT
};

/* Attribute, JSON key and table label of each per-set counter. */
static const struct {
	int attr;
	const char *key, *label;
} set_stat[ST_COUNT] = {
	{ KDDM_A_STAT_GETS, "gets", "gets" },
	{ KDDM_A_STAT_GRABS, "grabs", "grabs" },
	{ KDDM_A_STAT_INVALIDATIONS, "invalidations", "invalidations" },
	{ KDDM_A_STAT_MSGS_SENT, "msgs_sent", "msgs sent" },
	{ KDDM_A_STAT_MSGS_RCVD, "msgs_rcvd", "msgs received" },
	{ KDDM_A_STAT_BYTES_SENT, "bytes_sent", "bytes sent" },
	{ KDDM_A_STAT_BYTES_RCVD, "bytes_rcvd", "bytes received" },
	{ KDDM_A_STAT_COPIES, "copies", "copies here" },
	{ KDDM_A_STAT_CACHE_MAX, "cache_max", "bound on copies" },
	{ KDDM_A_STAT_EVICTIONS, "evictions", "evictions" },
};

#define MAX_BUCKETS 64

struct set_row {
	uint64_t id;
	char linker[64];
	uint32_t obj_size, policy, manager;
	uint64_t nr_objects;
	uint64_t stat[ST_COUNT];
	uint64_t lat[MAX_BUCKETS];
	int nr_lat;
};

struct set_list {
	struct set_row *v;
	size_t n, cap;
};

static struct nla_policy stat_policy[KDDM_A_STAT_MAX + 1] = {
	[KDDM_A_STAT_GETS]		= { .type = NLA_U64 },
	[KDDM_A_STAT_GRABS]		= { .type = NLA_U64 },
	[KDDM_A_STAT_INVALIDATIONS]	= { .type = NLA_U64 },
	[KDDM_A_STAT_MSGS_SENT]		= { .type = NLA_U64 },
	[KDDM_A_STAT_MSGS_RCVD]		= { .type = NLA_U64 },
	[KDDM_A_STAT_BYTES_SENT]	= { .type = NLA_U64 },
	[KDDM_A_STAT_BYTES_RCVD]	= { .type = NLA_U64 },
	[KDDM_A_STAT_LAT_HIST]		= { .type = NLA_NESTED },
	[KDDM_A_STAT_COPIES]		= { .type = NLA_U64 },
	[KDDM_A_STAT_CACHE_MAX]		= { .type = NLA_U64 },
	[KDDM_A_STAT_EVICTIONS]		= { .type = NLA_U64 },
};

static int parse_lat(struct nlattr *hist, struct set_row *r)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, hist, rem) {
		if (nla_type(a) != KDDM_A_LAT_BUCKET)
			continue;
		if (nla_len(a) != sizeof(uint64_t) || r->nr_lat == MAX_BUCKETS)
			return -EPROTO;
		r->lat[r->nr_lat++] = nla_get_u64(a);
	}
	return 0;
}

static int parse_set_stats(struct nlattr *nest, struct set_row *r)
{
	struct nlattr *tb[KDDM_A_STAT_MAX + 1];
	int i;

	if (nla_parse_nested(tb, KDDM_A_STAT_MAX, nest, stat_policy))
		return -EPROTO;
	for (i = 0; i < ST_COUNT; i++)
		if (tb[set_stat[i].attr])
			r->stat[i] = nla_get_u64(tb[set_stat[i].attr]);
	return tb[KDDM_A_STAT_LAT_HIST] ?
		parse_lat(tb[KDDM_A_STAT_LAT_HIST], r) : 0;
}

static int parse_set(struct nlattr **tb, void *arg)
{
	struct set_list *l = arg;
	struct set_row *r;

	if (!tb[KDDM_A_SET_ID])
		return -EPROTO;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		r = realloc(l->v, l->cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		l->v = r;
	}
	r = &l->v[l->n];
	memset(r, 0, sizeof(*r));
	r->id = nla_get_u64(tb[KDDM_A_SET_ID]);
	if (tb[KDDM_A_SET_LINKER])
		snprintf(r->linker, sizeof(r->linker), "%s",
			 nla_get_string(tb[KDDM_A_SET_LINKER]));
	if (tb[KDDM_A_SET_OBJ_SIZE])
		r->obj_size = nla_get_u32(tb[KDDM_A_SET_OBJ_SIZE]);
	if (tb[KDDM_A_SET_POLICY])
		r->policy = nla_get_u32(tb[KDDM_A_SET_POLICY]);
	if (tb[KDDM_A_SET_MANAGER])
		r->manager = nla_get_u32(tb[KDDM_A_SET_MANAGER]);
	if (tb[KDDM_A_SET_NR_OBJECTS])
		r->nr_objects = nla_get_u64(tb[KDDM_A_SET_NR_OBJECTS]);
	l->n++;
	if (tb[KDDM_A_SET_STATS])
		return parse_set_stats(tb[KDDM_A_SET_STATS], r);
	return 0;
}

/* enum kddm_owner_policy of include/kddm/kddm.h */
static const char *policy_name(uint32_t p, char *buf, size_t len)
{
	static const char *const names[] = {
		"fixed", "round-robin", "objid-bits", "custom",
	};

	if (p < ARRAY_SIZE(names))
		return names[p];
	snprintf(buf, len, "%" PRIu32, p);
	return buf;
}

static void print_sets_json(const struct set_list *l)
{
	char buf[16];
	size_t i;

	putchar('[');
	for (i = 0; i < l->n; i++) {
		const struct set_row *r = &l->v[i];

		printf("%s{\"id\":\"0x%" PRIx64 "\",\"linker\":", i ? "," : "",
		       r->id);
		json_str(r->linker);
		printf(",\"obj_size\":%" PRIu32 ",\"policy\":", r->obj_size);
		json_str(policy_name(r->policy, buf, sizeof(buf)));
		printf(",\"manager\":%" PRIu32 ",\"objects\":%" PRIu64 "}",
		       r->manager, r->nr_objects);
	}
	printf("]\n");
}

static int put_set_id(struct nl_msg *msg, const void *arg)
{
	return nla_put_u64(msg, KDDM_A_SET_ID, *(const uint64_t *)arg);
}

static int get_sets(struct kddm *k, const char *what, const uint64_t *id,
		    struct set_list *l)
{
	return request(k, what, KDDM_CMD_SET_GET, !id, id ? put_set_id : NULL,
		       id, parse_set, l);
}

static int cmd_sets(struct kddm *k)
{
	struct set_list l = { 0 };
	char buf[16];
	size_t i;
	int ret;

	ret = get_sets(k, "sets", NULL, &l);
	if (ret)
		goto out;
	if (k->json) {
		print_sets_json(&l);
		goto out;
	}
	printf("%-18s %-16s %8s %-12s %7s %10s\n", "SET", "LINKER", "OBJSIZE",
	       "POLICY", "MANAGER", "OBJECTS");
	for (i = 0; i < l.n; i++) {
		const struct set_row *r = &l.v[i];

		printf("0x%016" PRIx64 " %-16s %8" PRIu32 " %-12s %7" PRIu32
		       " %10" PRIu64 "\n", r->id, r->linker, r->obj_size,
		       policy_name(r->policy, buf, sizeof(buf)), r->manager,
		       r->nr_objects);
	}
out:
	free(l.v);
	return ret;
}

/* Bucket i holds [2^i, 2^(i+1)) us; bucket 0 also what took under 1us. */
static uint64_t bucket_lo(int i)
{
	return i ? UINT64_C(1) << i : 0;
}

static uint64_t bucket_hi(int i)
{
	return i < 63 ? UINT64_C(1) << (i + 1) : UINT64_MAX;
}

static void bucket_label(int i, char *buf, size_t len)
{
	if (!i)
		snprintf(buf, len, "<%" PRIu64 "us", bucket_hi(0));
	else
		snprintf(buf, len, "%" PRIu64 "-%" PRIu64 "us", bucket_lo(i),
			 bucket_hi(i));
}

static void print_set_stats_json(const struct set_row *r)
{
	bool first = true;
	int i;

	printf("{\"id\":\"0x%" PRIx64 "\",\"linker\":", r->id);
	json_str(r->linker);
	for (i = 0; i < ST_COUNT; i++)
		printf(",\"%s\":%" PRIu64, set_stat[i].key, r->stat[i]);
	printf(",\"latency\":[");
	for (i = 0; i < r->nr_lat; i++) {
		if (!r->lat[i])
			continue;
		printf("%s{\"min_us\":%" PRIu64 ",\"max_us\":%" PRIu64
		       ",\"count\":%" PRIu64 "}", first ? "" : ",",
		       bucket_lo(i), bucket_hi(i), r->lat[i]);
		first = false;
	}
	printf("]}");
}

static void print_set_stats(const struct set_row *r)
{
	char label[48];
	bool any = false;
	int i;

	printf("set 0x%016" PRIx64 " (%s)\n", r->id, r->linker);
	for (i = 0; i < ST_COUNT; i++)
		printf("  %-16s %" PRIu64 "\n", set_stat[i].label, r->stat[i]);
	printf("  latency of gets and grabs that sent messages:\n");
	for (i = 0; i < r->nr_lat; i++) {
		if (!r->lat[i])
			continue;
		bucket_label(i, label, sizeof(label));
		printf("    %-14s %" PRIu64 "\n", label, r->lat[i]);
		any = true;
	}
	if (!any)
		printf("    (none)\n");
}

/* Node-wide counters. */
static const struct {
	int attr;
	const char *key, *label;
} gstat[] = {
	{ KDDM_A_GSTAT_MSGS_SENT, "msgs_sent", "msgs sent" },
	{ KDDM_A_GSTAT_MSGS_RCVD, "msgs_rcvd", "msgs received" },
	{ KDDM_A_GSTAT_BYTES_SENT, "bytes_sent", "bytes sent" },
	{ KDDM_A_GSTAT_BYTES_RCVD, "bytes_rcvd", "bytes received" },
	{ KDDM_A_GSTAT_MSGS_DROPPED, "msgs_dropped", "msgs dropped" },
	{ KDDM_A_GSTAT_RPC_TIMEOUTS, "rpc_timeouts", "rpc timeouts" },
	{ KDDM_A_GSTAT_FENCES, "fences", "fences" },
	{ KDDM_A_GSTAT_BAD_HELLOS, "bad_hellos", "refused HELLOs" },
};

#define NR_GSTATS ARRAY_SIZE(gstat)

static struct nla_policy gstat_policy[KDDM_A_GSTAT_MAX + 1] = {
	[KDDM_A_GSTAT_MSGS_SENT]	= { .type = NLA_U64 },
	[KDDM_A_GSTAT_MSGS_RCVD]	= { .type = NLA_U64 },
	[KDDM_A_GSTAT_BYTES_SENT]	= { .type = NLA_U64 },
	[KDDM_A_GSTAT_BYTES_RCVD]	= { .type = NLA_U64 },
	[KDDM_A_GSTAT_MSGS_DROPPED]	= { .type = NLA_U64 },
	[KDDM_A_GSTAT_RPC_TIMEOUTS]	= { .type = NLA_U64 },
	[KDDM_A_GSTAT_FENCES]		= { .type = NLA_U64 },
	[KDDM_A_GSTAT_BAD_HELLOS]	= { .type = NLA_U64 },
};

static int parse_gstats(struct nlattr **tb, void *arg)
{
	struct nlattr *g[KDDM_A_GSTAT_MAX + 1];
	uint64_t *v = arg;
	size_t i;

	if (!tb[KDDM_A_GSTATS] ||
	    nla_parse_nested(g, KDDM_A_GSTAT_MAX, tb[KDDM_A_GSTATS],
			     gstat_policy))
		return -EPROTO;
	for (i = 0; i < NR_GSTATS; i++)
		v[i] = g[gstat[i].attr] ? nla_get_u64(g[gstat[i].attr]) : 0;
	return 0;
}

static void print_gstats(const uint64_t *v, bool json)
{
	size_t i;

	if (json) {
		putchar('{');
		for (i = 0; i < NR_GSTATS; i++)
			printf("%s\"%s\":%" PRIu64, i ? "," : "", gstat[i].key,
			       v[i]);
		putchar('}');
		return;
	}
	printf("node\n");
	for (i = 0; i < NR_GSTATS; i++)
		printf("  %-16s %" PRIu64 "\n", gstat[i].label, v[i]);
}

static void print_stats(struct kddm *k, const uint64_t *global,
			const struct set_list *l)
{
	size_t i;

	if (k->json && !global) {
		print_set_stats_json(&l->v[0]);
		putchar('\n');
		return;
	}
	if (k->json) {
		printf("{\"global\":");
		print_gstats(global, true);
		printf(",\"sets\":[");
		for (i = 0; i < l->n; i++) {
			if (i)
				putchar(',');
			print_set_stats_json(&l->v[i]);
		}
		printf("]}\n");
		return;
	}
	if (global)
		print_gstats(global, false);
	for (i = 0; i < l->n; i++) {
		if (global || i)
			putchar('\n');
		print_set_stats(&l->v[i]);
	}
}

static int cmd_stats(struct kddm *k, const uint64_t *id)
{
	uint64_t global[NR_GSTATS] = { 0 };
	struct set_list l = { 0 };
	int ret;

	if (id) {
		ret = get_sets(k, "stats", id, &l);
		if (!ret && l.n != 1) {
			fprintf(stderr, "%s: stats: malformed reply\n", prog);
			ret = 1;
		}
	} else {
		ret = request(k, "stats", KDDM_CMD_STATS_GET, false, NULL,
			      NULL, parse_gstats, global);
		if (!ret)
			ret = get_sets(k, "stats", NULL, &l);
	}
	if (!ret)
		print_stats(k, id ? NULL : global, &l);
	free(l.v);
	return ret;
}

/* ---- join ---- */

#define KEY_MIN	16
#define KEY_MAX	64

struct key {
	unsigned char b[KEY_MAX];
	size_t len;
};

static int put_key(struct nl_msg *msg, const void *arg)
{
	const struct key *key = arg;

	return key->len ? nla_put(msg, KDDM_A_KEY, key->len, key->b) : 0;
}

/* Reads the cluster key: 16 to 64 bytes, taken as they are. */
static int read_key(const char *path, struct key *key)
{
	unsigned char extra;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "%s: join: %s: %s\n", prog, path,
			strerror(errno));
		return 1;
	}
	key->len = fread(key->b, 1, sizeof(key->b), f);
	if (key->len == sizeof(key->b) && fread(&extra, 1, 1, f) == 1)
		key->len = KEY_MAX + 1;
	fclose(f);
	if (key->len < KEY_MIN || key->len > KEY_MAX) {
		fprintf(stderr, "%s: join: %s: a cluster key has %d to %d bytes\n",
			prog, path, KEY_MIN, KEY_MAX);
		return 1;
	}
	return 0;
}

static int cmd_join(struct kddm *k, const char *key_file)
{
	struct key key = { .len = 0 };
	int ret;

	if (key_file && read_key(key_file, &key))
		return 1;
	ret = request(k, "join", KDDM_CMD_JOIN, false, put_key, &key, NULL,
		      NULL);
	memset(&key, 0, sizeof(key));
	return ret;
}

/* ---- main ---- */

enum op { OP_STATUS, OP_NODES, OP_SETS, OP_STATS, OP_SET_ID, OP_JOIN,
	  OP_LEAVE, OP_IPCS, OP_IPC, OP_DF, OP_WHERE, OP_MIGRATE, OP_PS, OP_LOAD,
	  OP_BALANCER, OP_BALANCE_JOB };

struct cmdline {
	enum op op;
	bool json, has_id, tree, eager;
	uint64_t id;		/* node id or set id */
	uint64_t pid;		/* migrate */
	const char *word;	/* ipc enable|disable|status */
	const char *key_file;	/* join --key-file */
	char req[600];		/* balancer: the request line */
};

static const struct {
	const char *name;
	enum op op;
} simple_cmd[] = {
	{ "status", OP_STATUS },
	{ "nodes", OP_NODES },
	{ "sets", OP_SETS },
	{ "join", OP_JOIN },
	{ "leave", OP_LEAVE },
};

/* Positional words to a command; 0, or 2 after a usage message. */
static int parse_words(int n, char **w, struct cmdline *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(simple_cmd); i++) {
		if (strcmp(w[0], simple_cmd[i].name))
			continue;
		c->op = simple_cmd[i].op;
		return n == 1 ? 0 : usage_error("%s: too many arguments", w[0]);
	}
	if (!strcmp(w[0], "stats")) {
		c->op = OP_STATS;
		if (n > 2)
			return usage_error("%s: too many arguments", w[0]);
		c->has_id = n == 2;
		if (c->has_id && parse_u64(w[1], &c->id))
			return usage_error("stats: '%s' is not a set id", w[1]);
		return 0;
	}
	if (!strcmp(w[0], "ipcs")) {
		c->op = OP_IPCS;
		return n == 1 ? 0 : usage_error("%s: too many arguments", w[0]);
	}
	if (!strcmp(w[0], "df")) {
		c->op = OP_DF;
		return n == 1 ? 0 : usage_error("%s: too many arguments", w[0]);
	}
	if (!strcmp(w[0], "ps")) {
		c->op = OP_PS;
		return n == 1 ? 0 : usage_error("%s: too many arguments", w[0]);
	}
	if (!strcmp(w[0], "load")) {
		c->op = OP_LOAD;
		return n == 1 ? 0 : usage_error("%s: too many arguments", w[0]);
	}
	if (!strcmp(w[0], "balancer")) {
		c->op = OP_BALANCER;
		if (n == 2 && (!strcmp(w[1], "status") || !strcmp(w[1], "pause") ||
			       !strcmp(w[1], "resume"))) {
			snprintf(c->req, sizeof(c->req), "%s%s", w[1],
				 !strcmp(w[1], "status") && c->json ? " json" : "");
			return 0;
		}
		if (n == 3 && (!strcmp(w[1], "include") ||
			       !strcmp(w[1], "exclude"))) {
			c->op = OP_BALANCE_JOB;
			if (parse_u64(w[2], &c->pid) || !c->pid ||
			    c->pid > 4194304)
				return usage_error("balancer: '%s' is not a PID", w[2]);
			c->word = w[1];
			return 0;
		}
		if ((n == 3 || n == 4) && !strcmp(w[1], "policy") &&
		    !strpbrk(w[2], " \n") && (n == 3 || !strchr(w[3], '\n'))) {
			snprintf(c->req, sizeof(c->req), "policy %s%s%s", w[2],
				 n == 4 ? " " : "", n == 4 ? w[3] : "");
			return 0;
		}
		return usage_error("%s", "usage: kddm balancer status|pause|resume|policy NAME [ARGS]|include PID|exclude PID");
	}
	if (!strcmp(w[0], "migrate")) {
		if (n != 3)
			return usage_error("%s", "usage: kddm migrate PID NODE [--tree] [--eager]");
		c->op = OP_MIGRATE;
		if (parse_u64(w[1], &c->pid) || !c->pid || c->pid > 4194304)
			return usage_error("migrate: '%s' is not a PID", w[1]);
		if (parse_u64(w[2], &c->id) || c->id < 1 || c->id > MAX_NODE_ID)
			return usage_error("migrate: '%s' is not a node id (1..65535)",
					   w[2]);
		return 0;
	}
	if (!strcmp(w[0], "where")) {
		if (n != 2)
			return usage_error("%s", "usage: kddm where PATH");
		c->op = OP_WHERE;
		c->word = w[1];
		return 0;
	}
	if (!strcmp(w[0], "ipc")) {
		if (n != 2 || (strcmp(w[1], "enable") && strcmp(w[1], "disable") &&
			       strcmp(w[1], "status")))
			return usage_error("%s", "usage: kddm ipc enable|disable|status");
		c->op = OP_IPC;
		c->word = w[1];
		return 0;
	}
	if (!strcmp(w[0], "node")) {
		if (n != 3 || strcmp(w[1], "set-id"))
			return usage_error("%s", "usage: kddm node set-id N");
		c->op = OP_SET_ID;
		if (parse_u64(w[2], &c->id) || c->id < 1 || c->id > MAX_NODE_ID)
			return usage_error("node set-id: '%s' is not a node id (1..65535)",
					   w[2]);
		return 0;
	}
	return usage_error("unknown command '%s'", w[0]);
}

/* 0 to go on, 1 after --help, 2 after a usage message. */
static int parse_cmdline(int argc, char **argv, struct cmdline *c)
{
	char *words[4];
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			c->json = true;
			continue;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (!strcmp(argv[i], "--tree")) {
			c->tree = true;
			continue;
		}
		if (!strcmp(argv[i], "--eager")) {
			c->eager = true;
			continue;
		}
		if (!strcmp(argv[i], "--key-file")) {
			if (++i == argc)
				return usage_error("%s", "--key-file needs a file");
			c->key_file = argv[i];
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("unknown option '%s'", argv[i]);
		if (n == 4)
			return usage_error("%s", "too many arguments");
		words[n++] = argv[i];
	}
	if (!n) {
		fputs(usage_text, stderr);
		return 2;
	}
	i = parse_words(n, words, c);
	if (!i && c->key_file && c->op != OP_JOIN)
		return usage_error("%s", "--key-file goes with join");
	if (!i && (c->tree || c->eager) && c->op != OP_MIGRATE)
		return usage_error("%s", "--tree and --eager go with migrate");
	return i;
}

static int run(struct kddm *k, const struct cmdline *c)
{
	switch (c->op) {
	case OP_STATUS:
		return cmd_status(k);
	case OP_NODES:
		return cmd_nodes(k);
	case OP_SETS:
		return cmd_sets(k);
	case OP_STATS:
		return cmd_stats(k, c->has_id ? &c->id : NULL);
	case OP_SET_ID:
		return cmd_set_id(k, (uint32_t)c->id);
	case OP_JOIN:
		return cmd_join(k, c->key_file);
	case OP_LEAVE:
		return request(k, "leave", KDDM_CMD_LEAVE, false, NULL, NULL,
			       NULL, NULL);
	case OP_IPCS:
	case OP_IPC:
	case OP_DF:
	case OP_WHERE:
	case OP_MIGRATE:
	case OP_PS:
	case OP_LOAD:
	case OP_BALANCER:
	case OP_BALANCE_JOB:
		break;
	}
	return 2;
}

/* kddm run --node N [--migratable] [--] CMD [ARG...]: its own parser. */
static int run_cmd(int argc, char **argv)
{
	bool migratable = false;
	uint64_t node = 0;
	int i;

	for (i = 2; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--migratable")) {
			migratable = true;
		} else if (!strcmp(argv[i], "--node") && i + 1 < argc) {
			if (parse_u64(argv[++i], &node) || !node ||
			    node > MAX_NODE_ID)
				return usage_error("run: '%s' is not a node id (1..65535)",
						   argv[i]);
		} else {
			return usage_error("run: unknown option '%s'", argv[i]);
		}
	}
	if (!node || i == argc)
		return usage_error("%s", "usage: kddm run --node NODE [--migratable] [--] CMD [ARG...]");
	return kddm_run((uint32_t)node, migratable, argv + i);
}

int main(int argc, char **argv)
{
	struct cmdline c = { .op = OP_STATUS };
	struct kddm k = { .sk = NULL };
	int ret;

	if (argc > 1 && !strcmp(argv[1], "run"))
		return run_cmd(argc, argv);

	ret = parse_cmdline(argc, argv, &c);
	if (ret)
		return ret == 1 ? 0 : ret;
	if (c.op == OP_IPCS)
		return kddm_ipcs(c.json);
	if (c.op == OP_IPC)
		return kddm_ipc_ctl(c.word);
	if (c.op == OP_DF)
		return kddm_df(c.json);
	if (c.op == OP_WHERE)
		return kddm_where(c.word, c.json);
	if (c.op == OP_MIGRATE)
		return kddm_migrate((uint32_t)c.pid, (uint32_t)c.id, c.tree,
				    c.eager, c.json);
	if (c.op == OP_PS)
		return kddm_ps(c.json);
	if (c.op == OP_LOAD)
		return kddm_load(c.json);
	if (c.op == OP_BALANCER)
		return kddm_balancer(c.req);
	if (c.op == OP_BALANCE_JOB)
		return kddm_balance_job((uint32_t)c.pid,
					!strcmp(c.word, "include"));
	k.json = c.json;
	ret = kddm_open(&k);
	if (!ret)
		ret = run(&k, &c);
	kddm_close(&k);
	return ret;
}
