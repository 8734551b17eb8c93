// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: messages, the kddm generic netlink family (this node's id,
 * the nodes up, MACs under the cluster key) and authenticated connections
 * between daemons over TIPC.
 *
 * A daemon binds {KDDM_MIGRATE_TIPC_TYPE, its node id}. Any local user of
 * any node may bind that name too, so a connection proves nothing by
 * itself: both ends prove they can have kddm.ko MAC with the cluster key,
 * which only root on a member can (KDDM_CMD_MAC is admin-only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/tipc.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <kddm/kddm_netlink.h>

#include "migrated.h"

/* ---- messages ---- */

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (!n)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

int send_msg2(int fd, uint32_t type, const void *a, size_t alen,
	      const void *b, size_t blen)
{
	struct kddm_mig_hdr h = { .type = type, .len = alen + blen };
	int err;

	if (alen + blen > KDDM_MIG_MSG_MAX)
		return -EMSGSIZE;
	err = write_all(fd, &h, sizeof(h));
	if (!err && alen)
		err = write_all(fd, a, alen);
	if (!err && blen)
		err = write_all(fd, b, blen);
	return err;
}

int send_msg(int fd, uint32_t type, const void *p, size_t len)
{
	return send_msg2(fd, type, p, len, NULL, 0);
}

int recv_msg(int fd, uint32_t *type, void *buf, size_t max, size_t *len)
{
	struct kddm_mig_hdr h;
	int err;

	err = read_all(fd, &h, sizeof(h));
	if (err)
		return err;
	if (h.len > max || h.len > KDDM_MIG_MSG_MAX ||
	    !h.type || h.type >= __KDDM_MIG_TYPE_MAX)
		return -EBADMSG;
	err = read_all(fd, buf, h.len);
	if (err)
		return err;
	*type = h.type;
	*len = h.len;
	return 0;
}

int send_result(int fd, int err, const char *fmt, ...)
{
	struct kddm_mig_result r = { .err = err };
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(r.text, sizeof(r.text), fmt, ap);
		va_end(ap);
	}
	return send_msg(fd, KDDM_MIG_RESULT, &r, sizeof(r));
}

/* ---- the kddm family ---- */

static pthread_mutex_t nl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nl_sock *nl;
static int family;

struct nl_xact {
	int error;
	bool done;
	int (*parse)(struct nlattr **tb, void *arg);
	void *arg;
};

static struct nla_policy nl_policy[KDDM_A_MAX + 1] = {
	[KDDM_A_NODE_ID] = { .type = NLA_U32 },
	[KDDM_A_NODE_STATE] = { .type = NLA_U8 },
	[KDDM_A_MAC] = { .type = NLA_UNSPEC, .minlen = KDDM_MAC_LEN,
			 .maxlen = KDDM_MAC_LEN },
};

static int nl_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nl_xact *x = arg;

	(void)nla;
	x->error = -e->error;
	x->done = true;
	return NL_STOP;
}

static int nl_done_cb(struct nl_msg *msg, void *arg)
{
	struct nl_xact *x = arg;

	(void)msg;
	x->done = true;
	return NL_STOP;
}

static int nl_valid_cb(struct nl_msg *msg, void *arg)
{
	struct nl_xact *x = arg;
	struct nlattr *tb[KDDM_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KDDM_A_MAX, nl_policy) < 0) {
		x->error = EPROTO;
		return NL_STOP;
	}
	if (x->parse && x->parse(tb, x->arg))
		x->error = EPROTO;
	return NL_OK;
}

/* One request to kddm.ko; -errno. Serialised: one socket per daemon. */
static int nl_request(uint8_t cmd, bool dump, const void *data, size_t len,
		      int (*parse)(struct nlattr **tb, void *arg), void *arg)
{
	struct nl_xact x = { .parse = parse, .arg = arg };
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int err;

	if (!msg || !cb) {
		x.error = ENOMEM;
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			 dump ? NLM_F_DUMP : 0, cmd, KDDM_GENL_VERSION) ||
	    (data && nla_put(msg, KDDM_A_MAC_DATA, len, data) < 0)) {
		x.error = EMSGSIZE;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, nl_valid_cb, &x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, nl_done_cb, &x);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, nl_done_cb, &x);
	nl_cb_err(cb, NL_CB_CUSTOM, nl_error_cb, &x);
	pthread_mutex_lock(&nl_lock);
	err = nl_send_auto(nl, msg);
	while (err >= 0 && !x.done)
		err = nl_recvmsgs(nl, cb);
	pthread_mutex_unlock(&nl_lock);
	if (err < 0 && !x.done)
		x.error = EIO;
out:
	nlmsg_free(msg);
	nl_cb_put(cb);
	return -x.error;
}

int kddm_nl_init(void)
{
	int err;

	nl = nl_socket_alloc();
	if (!nl)
		return -ENOMEM;
	err = genl_connect(nl);
	if (err < 0)
		return -EIO;
	nl_socket_enable_msg_peek(nl);
	family = genl_ctrl_resolve(nl, KDDM_GENL_NAME);
	return family < 0 ? -ENOENT : 0;
}

static int parse_self(struct nlattr **tb, void *arg)
{
	if (!tb[KDDM_A_NODE_ID])
		return -1;
	*(uint32_t *)arg = nla_get_u32(tb[KDDM_A_NODE_ID]);
	return 0;
}

int kddm_self_node(uint32_t *node)
{
	*node = 0;
	return nl_request(KDDM_CMD_NODE_GET, false, NULL, 0, parse_self, node);
}

struct up_list {
	uint32_t *nodes;
	int max, nr;
};

static int parse_up(struct nlattr **tb, void *arg)
{
	struct up_list *l = arg;
	uint8_t st;

	if (!tb[KDDM_A_NODE_ID] || !tb[KDDM_A_NODE_STATE])
		return -1;
	st = nla_get_u8(tb[KDDM_A_NODE_STATE]);
	if (st != KDDM_NODE_STATE_UP && st != KDDM_NODE_STATE_SELF)
		return 0;
	if (l->nr < l->max)
		l->nodes[l->nr++] = nla_get_u32(tb[KDDM_A_NODE_ID]);
	return 0;
}

/* The nodes up, this one included; their number or -errno. */
int kddm_nodes_up(uint32_t *nodes, int max)
{
	struct up_list l = { .nodes = nodes, .max = max };
	int err = nl_request(KDDM_CMD_NODE_GET, true, NULL, 0, parse_up, &l);

	return err ? err : l.nr;
}

static int parse_mac(struct nlattr **tb, void *arg)
{
	if (!tb[KDDM_A_MAC])
		return -1;
	memcpy(arg, nla_data(tb[KDDM_A_MAC]), KDDM_MAC_LEN);
	return 0;
}

int kddm_mac(const void *data, size_t len, uint8_t *mac)
{
	return nl_request(KDDM_CMD_MAC, false, data, len, parse_mac, mac);
}

/* ---- peers ---- */

static void set_timeout(int fd, int secs);

/*
 * What each side's MAC covers: the node ids, both nonces, and the TIPC
 * ports of both ends of this very connection as each end sees them. A
 * local user who binds the service name and relays between the two
 * daemons holds two connections with other ports: the MACs do not match.
 */
struct hello_mac_data {
	char tag[8];
	uint32_t from, to;
	uint32_t cli_ref, cli_node, srv_ref, srv_node;
	uint8_t nonce_c[KDDM_MIG_NONCE];
	uint8_t nonce_s[KDDM_MIG_NONCE];
};

/* The ports of @fd's connection: @srv says which end this is. */
static int conn_ports(int fd, bool srv, struct hello_mac_data *d)
{
	struct sockaddr_tipc me, peer, *c = &me, *sv = &peer;
	socklen_t l1 = sizeof(me), l2 = sizeof(peer);

	if (getsockname(fd, (struct sockaddr *)&me, &l1) ||
	    getpeername(fd, (struct sockaddr *)&peer, &l2))
		return -errno;
	if (srv) {
		c = &peer;
		sv = &me;
	}
	d->cli_ref = c->addr.id.ref;
	d->cli_node = c->addr.id.node;
	d->srv_ref = sv->addr.id.ref;
	d->srv_node = sv->addr.id.node;
	return 0;
}

static int hello_mac(int fd, bool srv, const char *tag, uint32_t from,
		     uint32_t to, const uint8_t *nc, const uint8_t *ns,
		     uint8_t *mac)
{
	struct hello_mac_data d = { .from = from, .to = to };
	int err = conn_ports(fd, srv, &d);

	if (err)
		return err;
	memcpy(d.tag, tag, strnlen(tag, sizeof(d.tag)));
	memcpy(d.nonce_c, nc, KDDM_MIG_NONCE);
	memcpy(d.nonce_s, ns, KDDM_MIG_NONCE);
	return kddm_mac(&d, sizeof(d), mac);
}

/* Constant-time comparison of two MACs. */
static bool mac_equal(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	int i;

	for (i = 0; i < KDDM_MIG_MAC; i++)
		d |= a[i] ^ b[i];
	return !d;
}

void peer_timeout(int fd, int secs)
{
	set_timeout(fd, secs);
}

static void set_timeout(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int peer_listen(void)
{
	struct sockaddr_tipc a = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_RANGE,
		.scope = TIPC_CLUSTER_SCOPE,
		.addr.nameseq = { KDDM_MIGRATE_TIPC_TYPE, self_node, self_node },
	};
	int fd = socket(AF_TIPC, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 32)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* The client's side of the handshake on @fd, to @node. */
static int hello_client(int fd, uint32_t node, char *why, size_t len)
{
	struct kddm_mig_hello h = {
		.magic = KDDM_MIGRATE_MAGIC,
		.version = KDDM_MIGRATE_VERSION,
		.from = self_node,
		.to = node,
	};
	union {
		struct kddm_mig_hello_reply r;
		struct kddm_mig_result res;
	} in;
	struct kddm_mig_hello_done done;
	uint8_t mac[KDDM_MIG_MAC];
	uint32_t type;
	size_t n;
	int err;

	if (getrandom(h.nonce, sizeof(h.nonce), 0) != sizeof(h.nonce))
		return -EIO;
	err = send_msg(fd, KDDM_MIG_HELLO, &h, sizeof(h));
	if (!err)
		err = recv_msg(fd, &type, &in, sizeof(in), &n);
	if (err) {
		snprintf(why, len, "node %u's kddm-migrated: %s", node,
			 strerror(-err));
		return err;
	}
	if (type == KDDM_MIG_RESULT && n == sizeof(in.res)) {
		in.res.text[sizeof(in.res.text) - 1] = 0;
		snprintf(why, len, "node %u refused: %s", node, in.res.text);
		return in.res.err < 0 ? in.res.err : -EPROTO;
	}
	if (type != KDDM_MIG_HELLO_REPLY || n != sizeof(in.r))
		goto bad;
	err = hello_mac(fd, false, "msrv", self_node, node, h.nonce, in.r.nonce,
			mac);
	if (err) {
		snprintf(why, len, "no MAC from kddm.ko: %s%s", strerror(-err),
			 err == -ENOKEY ? " (the cluster has no key)" : "");
		return err;
	}
	if (!mac_equal(mac, in.r.mac))
		goto bad;
	err = hello_mac(fd, false, "mcli", self_node, node, h.nonce,
			in.r.nonce, done.mac);
	if (!err)
		err = send_msg(fd, KDDM_MIG_HELLO_DONE, &done, sizeof(done));
	if (err)
		snprintf(why, len, "node %u: %s", node, strerror(-err));
	return err;
bad:
	snprintf(why, len, "the daemon answering for node %u failed to prove it is node %u's",
		 node, node);
	return -EPERM;
}

int peer_connect(uint32_t node, char *why, size_t len)
{
	struct sockaddr_tipc a = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name = { KDDM_MIGRATE_TIPC_TYPE, node },
	};
	unsigned int tmo = 5000;
	int fd, err, tries;

	/*
	 * TIPC hands connections to a name round robin among the sockets
	 * bound to it: a local user's socket bound to the name gets some.
	 * They fail the handshake; the next try reaches another socket.
	 */
	for (tries = 0; tries < 4; tries++) {
		fd = socket(AF_TIPC, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_TIPC, TIPC_CONN_TIMEOUT, &tmo, sizeof(tmo));
		set_timeout(fd, 30);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			err = -errno;
			snprintf(why, len, "no kddm-migrated on node %u: %s",
				 node, strerror(-err));
			close(fd);
			return err;
		}
		err = hello_client(fd, node, why, len);
		if (!err)
			return fd;
		close(fd);
		if (err != -EPERM)
			return err;
	}
	return err;
}

/* Waits (30 s at most) for the peer to close: see serve(). */
void peer_linger(int fd)
{
	char buf[256];

	set_timeout(fd, 30);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The server's side: 0 with the peer's node id in *@from, or -errno. */
int peer_accept_auth(int fd, uint32_t *from)
{
	struct kddm_mig_hello h;
	struct kddm_mig_hello_reply r;
	struct kddm_mig_hello_done done;
	uint8_t mac[KDDM_MIG_MAC];
	uint32_t type;
	size_t n;
	int err;

	set_timeout(fd, 30);
	err = recv_msg(fd, &type, &h, sizeof(h), &n);
	if (err)
		return err;
	if (type != KDDM_MIG_HELLO || n != sizeof(h) ||
	    h.magic != KDDM_MIGRATE_MAGIC)
		return -EPROTO;
	if (h.version != KDDM_MIGRATE_VERSION) {
		send_result(fd, -EPROTONOSUPPORT,
			    "protocol version %u, this daemon speaks %u",
			    h.version, KDDM_MIGRATE_VERSION);
		return -EPROTONOSUPPORT;
	}
	/* from this node too: kddm run --node SELF */
	if (h.to != self_node || !h.from || h.from > 65535)
		return -EPROTO;
	if (getrandom(r.nonce, sizeof(r.nonce), 0) != sizeof(r.nonce))
		return -EIO;
	err = hello_mac(fd, true, "msrv", h.from, h.to, h.nonce, r.nonce, r.mac);
	if (err) {
		send_result(fd, err, "node %u cannot MAC: %s", self_node,
			    strerror(-err));
		return err;
	}
	err = send_msg(fd, KDDM_MIG_HELLO_REPLY, &r, sizeof(r));
	if (!err)
		err = recv_msg(fd, &type, &done, sizeof(done), &n);
	if (err)
		return err;
	if (type != KDDM_MIG_HELLO_DONE || n != sizeof(done))
		return -EPROTO;
	err = hello_mac(fd, true, "mcli", h.from, h.to, h.nonce, r.nonce, mac);
	if (err)
		return err;
	if (!mac_equal(mac, done.mac))
		return -EPERM;
	*from = h.from;
	return 0;
}
