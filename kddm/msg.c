// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM messaging: framing, validation, dispatch, request/reply.
 *
 * Every received datagram is checked before a handler sees it: magic,
 * version, length against the header and against the type's maximum, a
 * registered type, and a sender that is a live node whose TIPC address is
 * the one the datagram came from. Anything else is dropped and counted.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/xarray.h>

#include "internal.h"
#include "msg.h"
#include "membership.h"
#include "transport.h"
#include "trace.h"

struct kddm_handler {
	kddm_msg_handler_t fn;
	u32 max_len;
};

static struct kddm_handler handlers[KDDM_MSG_NR];

struct kddm_rpc {
	struct completion done;
	u32 dst;
	void *reply;
	u32 reply_max;
	int status;		/* reply length or -errno */
};

static DEFINE_XARRAY_ALLOC1(rpcs);
static u32 rpc_next;

static atomic64_t n_sent, n_rcvd, b_sent, b_rcvd, n_dropped, n_timeouts;

void kddm_msg_register(u8 type, u32 max_len, kddm_msg_handler_t fn)
{
	if (WARN_ON(type >= KDDM_MSG_NR))
		return;
	handlers[type].max_len = max_len;
	handlers[type].fn = fn;
}

static int send_frame(u32 dst, u8 type, u32 rpc_id, u64 set_id, u64 obj_id,
		      const void *p1, u32 l1, const void *p2, u32 l2)
{
	struct kddm_wire_hdr h = {
		.magic = cpu_to_le16(KDDM_WIRE_MAGIC),
		.version = KDDM_WIRE_VERSION,
		.type = type,
		.len = cpu_to_le32(l1 + l2),
		.src = cpu_to_le32(kddm_self()),
		.rpc_id = cpu_to_le32(rpc_id),
		.set_id = cpu_to_le64(set_id),
		.obj_id = cpu_to_le64(obj_id),
	};
	struct kvec vec[3] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)p1, .iov_len = l1 },
		{ .iov_base = (void *)p2, .iov_len = l2 },
	};
	size_t len = sizeof(h) + l1 + l2;
	int ret;

	ret = kddm_transport_send(dst, vec, l2 ? 3 : (l1 ? 2 : 1), len);
	trace_kddm_msg_send(dst, type, set_id, obj_id, len, ret);
	if (ret)
		return ret;
	atomic64_inc(&n_sent);
	atomic64_add(len, &b_sent);
	return 0;
}

/*
 * kddm_msg_send - send a one-way message (two payload parts, either empty)
 *
 * Return: 0 or -errno. Messages to one node arrive in the order sent.
 */
int kddm_msg_send(u32 dst, u8 type, u64 set_id, u64 obj_id,
		  const void *p1, u32 l1, const void *p2, u32 l2)
{
	return send_frame(dst, type, 0, set_id, obj_id, p1, l1, p2, l2);
}

/*
 * kddm_rpc_call - send a request and wait for its reply
 * @reply: buffer for the reply payload, @reply_max bytes
 * @timeout: in jiffies
 *
 * Return: the reply's length, the remote handler's -errno, -ETIMEDOUT, or
 * -EHOSTDOWN at once when @dst leaves while we wait.
 */
int kddm_rpc_call(u32 dst, u8 type, u64 set_id, u64 obj_id,
		  const void *req, u32 len, void *reply, u32 reply_max,
		  unsigned long timeout)
{
	struct kddm_rpc rpc = { .dst = dst, .reply = reply,
				.reply_max = reply_max };
	u32 id;
	int ret;

	might_sleep();
	init_completion(&rpc.done);
	ret = xa_alloc_cyclic(&rpcs, &id, &rpc, xa_limit_32b, &rpc_next,
			      GFP_KERNEL);
	if (ret < 0)
		return ret;
	if (!kddm_node_is_up(dst))
		ret = -EHOSTDOWN;
	else
		ret = send_frame(dst, type, id, set_id, obj_id, req, len,
				 NULL, 0);
	if (ret) {
		xa_erase(&rpcs, id);
		return ret;
	}
	if (wait_for_completion_timeout(&rpc.done, timeout))
		return rpc.status;
	if (xa_erase(&rpcs, id)) {
		atomic64_inc(&n_timeouts);
		return -ETIMEDOUT;
	}
	/* A completer took it just now and is about to finish. */
	wait_for_completion(&rpc.done);
	return rpc.status;
}

int kddm_rpc_reply(const struct kddm_msg *req, int status,
		   const void *data, u32 len)
{
	__le32 st = cpu_to_le32((u32)status);

	return send_frame(req->src, KDDM_MSG_RPC_REPLY, req->rpc_id, 0, 0,
			  &st, sizeof(st), data, status ? 0 : len);
}

static void rpc_reply(struct kddm_msg *m)
{
	struct kddm_rpc *rpc;
	s32 status;

	if (m->len < sizeof(__le32) || !m->rpc_id)
		goto bad;
	xa_lock(&rpcs);
	rpc = xa_load(&rpcs, m->rpc_id);
	if (!rpc || rpc->dst != m->src) {
		xa_unlock(&rpcs);
		goto bad;
	}
	__xa_erase(&rpcs, m->rpc_id);
	xa_unlock(&rpcs);
	status = (s32)le32_to_cpup(m->data);
	if (status > 0 || status < -MAX_ERRNO)
		status = -EPROTO;
	else if (!status && m->len - 4 > rpc->reply_max)
		status = -EMSGSIZE;
	else if (!status)
		status = m->len - 4;
	if (status > 0)
		memcpy(rpc->reply, m->data + 4, status);
	rpc->status = status;
	complete(&rpc->done);
	return;
bad:
	/* A late reply after a timeout, or a forged one. */
	atomic64_inc(&n_dropped);
}

/* A handler refused a message it was given (counted as dropped). */
void kddm_msg_count_drop(void)
{
	atomic64_inc(&n_dropped);
}

/* Every rpc waiting on @node fails now. */
void kddm_msg_node_down(u32 node)
{
	struct kddm_rpc *rpc;
	unsigned long id;

	xa_lock(&rpcs);
	xa_for_each(&rpcs, id, rpc) {
		if (rpc->dst != node)
			continue;
		__xa_erase(&rpcs, id);
		rpc->status = -EHOSTDOWN;
		complete(&rpc->done);
	}
	xa_unlock(&rpcs);
}

static bool sender_ok(u32 src, u32 tipc_node)
{
	if (src == kddm_self())
		return tipc_node == kddm_transport_tipc_addr();
	if (!kddm_node_is_up(src) || kddm_node_tipc(src) != tipc_node) {
		/* Its publication may be queued behind this datagram. */
		kddm_transport_sync_topology();
	}
	return kddm_node_is_up(src) && kddm_node_tipc(src) == tipc_node;
}

static int decode(u32 tipc_node, void *buf, size_t len, struct kddm_msg *m)
{
	const struct kddm_wire_hdr *h = buf;

	if (len < sizeof(*h) || le16_to_cpu(h->magic) != KDDM_WIRE_MAGIC ||
	    h->version != KDDM_WIRE_VERSION)
		return -EPROTO;
	m->type = h->type;
	m->len = le32_to_cpu(h->len);
	m->src = le32_to_cpu(h->src);
	m->rpc_id = le32_to_cpu(h->rpc_id);
	m->set_id = le64_to_cpu(h->set_id);
	m->obj_id = le64_to_cpu(h->obj_id);
	m->data = buf + sizeof(*h);
	if (m->len != len - sizeof(*h) || m->type >= KDDM_MSG_NR ||
	    !handlers[m->type].fn || m->len > handlers[m->type].max_len)
		return -EPROTO;
	if (!sender_ok(m->src, tipc_node))
		return -EPERM;
	return 0;
}

/* Called by the transport, on the receive thread, for each datagram. */
void kddm_msg_recv(u32 tipc_node, void *buf, size_t len)
{
	struct kddm_msg m;
	int ret;

	ret = decode(tipc_node, buf, len, &m);
	if (ret) {
		atomic64_inc(&n_dropped);
		pr_warn_ratelimited("dropped a %zu-byte message from %x: %d\n",
				    len, tipc_node, ret);
		return;
	}
	atomic64_inc(&n_rcvd);
	atomic64_add(len, &b_rcvd);
	trace_kddm_msg_recv(m.src, m.type, m.set_id, m.obj_id, m.len);
	handlers[m.type].fn(&m);
}

static void ping(struct kddm_msg *m)
{
	kddm_rpc_reply(m, 0, m->data, m->len);
}

void kddm_msg_stats(u64 *sent, u64 *rcvd, u64 *bsent, u64 *brcvd,
		    u64 *dropped, u64 *timeouts)
{
	*sent = atomic64_read(&n_sent);
	*rcvd = atomic64_read(&n_rcvd);
	*bsent = atomic64_read(&b_sent);
	*brcvd = atomic64_read(&b_rcvd);
	*dropped = atomic64_read(&n_dropped);
	*timeouts = atomic64_read(&n_timeouts);
}

int kddm_msg_init(void)
{
	kddm_msg_register(KDDM_MSG_RPC_REPLY, KDDM_TIPC_MAX, rpc_reply);
	kddm_msg_register(KDDM_MSG_PING, KDDM_TIPC_MAX, ping);
	return 0;
}

void kddm_msg_exit(void)
{
	WARN_ON(!xa_empty(&rpcs));
	xa_destroy(&rpcs);
}
