// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM messaging: framing, validation, dispatch, request/reply.
 *
 * Every received datagram is checked before a handler sees it: magic,
 * version, length against the header and against the type's maximum, a
 * registered type, and a sender that is a live node whose TIPC address is
 * the one the datagram came from. Anything else is dropped and counted.
 *
 * A message longer than a datagram goes as FRAG datagrams (struct
 * kddm_wire_frag) of FRAG_ROOM bytes but the last, one such message at a
 * time from a sender to a receiver. TIPC delivers the datagrams of one
 * socket to another in order, so a receiver keeps one reassembly per
 * sender and drops it at the first piece out of place.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/mutex.h>
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
	unsigned long sent;	/* jiffies: kddm_rpc_start()'s timeout runs from */
	u32 id;
	u32 dst;
	void *reply;
	u32 reply_max;
	int status;		/* reply length or -errno */
};

static DEFINE_XARRAY_ALLOC1(rpcs);
static u32 rpc_next;

static atomic64_t n_sent, n_rcvd, b_sent, b_rcvd, n_dropped, n_timeouts;

/*
 * Long messages: one at a time to a destination (a mutex per hash of the
 * destination, so that a congested peer holds up only its own); one
 * reassembly per sender.
 */
#define BIG_LOCKS	16
static struct mutex big_mutex[BIG_LOCKS];
static atomic_t big_seq;

struct kddm_reasm {
	u32 seq;
	u32 total;
	u32 got;
	void *buf;
};

static DEFINE_MUTEX(reasm_mutex);
static DEFINE_XARRAY(reasms);		/* sender node -> kddm_reasm */

#define FRAG_ROOM (KDDM_TIPC_MAX - sizeof(struct kddm_wire_hdr) - \
		   sizeof(struct kddm_wire_frag))

void kddm_msg_register(u8 type, u32 max_len, kddm_msg_handler_t fn)
{
	if (WARN_ON(type >= KDDM_MSG_NR))
		return;
	handlers[type].max_len = max_len;
	handlers[type].fn = fn;
}

/* A header from this node, in our incarnation @src_inc, to @dst_inc. */
static void hdr_fill(struct kddm_wire_hdr *h, u8 type, u32 len, u32 rpc_id,
		     u64 set_id, u64 obj_id, u32 src_inc, u32 dst_inc)
{
	*h = (struct kddm_wire_hdr) {
		.magic = cpu_to_le16(KDDM_WIRE_MAGIC),
		.version = KDDM_WIRE_VERSION,
		.type = type,
		.len = cpu_to_le32(len),
		.src = cpu_to_le32(kddm_self()),
		.rpc_id = cpu_to_le32(rpc_id),
		.set_id = cpu_to_le64(set_id),
		.obj_id = cpu_to_le64(obj_id),
		.src_inc = cpu_to_le32(src_inc),
		.dst_inc = cpu_to_le32(dst_inc),
	};
}

/* Traces and counts a message sent (or not: @ret); returns @ret. */
static int sent(u32 dst, u8 type, u64 set_id, u64 obj_id, size_t len,
		int ret)
{
	trace_kddm_msg_send(dst, type, set_id, obj_id, len, ret);
	if (ret)
		return ret;
	atomic64_inc(&n_sent);
	atomic64_add(len, &b_sent);
	return 0;
}

/* Sends the @len bytes of @vec as FRAG datagrams to @tipc:@ref. */
static int send_big(u32 dst, u32 tipc, u32 ref, u32 inc,
		    const struct kvec *vec, size_t nvec, size_t len)
{
	struct kddm_wire_hdr h;
	struct kddm_wire_frag f = { .total = cpu_to_le32(len) };
	struct kvec fv[3] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = &f, .iov_len = sizeof(f) },
	};
	size_t i, off, n;
	void *buf;
	int ret = 0;

	if (len > KDDM_WIRE_MSG_MAX)
		return -EMSGSIZE;
	hdr_fill(&h, KDDM_MSG_FRAG, 0, 0, 0, 0, kddm_self_inc(), inc);
	buf = kvmalloc(len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (i = 0, off = 0; i < nvec; off += vec[i].iov_len, i++)
		memcpy(buf + off, vec[i].iov_base, vec[i].iov_len);
	mutex_lock(&big_mutex[dst % BIG_LOCKS]);
	f.seq = cpu_to_le32(atomic_inc_return(&big_seq));
	for (off = 0; off < len && !ret; off += n) {
		n = min_t(size_t, FRAG_ROOM, len - off);
		h.len = cpu_to_le32(sizeof(f) + n);
		f.offset = cpu_to_le32(off);
		fv[2].iov_base = buf + off;
		fv[2].iov_len = n;
		ret = kddm_transport_send(tipc, ref, fv, 3,
					  sizeof(h) + sizeof(f) + n);
	}
	mutex_unlock(&big_mutex[dst % BIG_LOCKS]);
	kvfree(buf);
	return ret;
}

/*
 * A send to a member that failed for good: the message is lost while the
 * peer may be up (congested past the send timeout, no memory).
 * Unreachable peers are leaving: their withdrawal follows.
 */
static bool send_lost(int ret)
{
	switch (ret) {
	case -EAGAIN:
	case -ETIMEDOUT:
	case -ENOMEM:
	case -ENOBUFS:
	case -EINTR:	/* not returned: kddm_transport_send() polls then */
	case -ERESTARTSYS:
		return true;
	default:
		return false;
	}
}

/* Fault injection (debugfs lose_next): the next message to this node. */
u32 kddm_lose_next;

static bool lose_this(u32 dst)
{
	return unlikely(READ_ONCE(kddm_lose_next) == dst) &&
	       cmpxchg(&kddm_lose_next, dst, 0) == dst;
}

/*
 * Queued messages (kddm_msg_queue()): one queue per destination, whose
 * messages leave together, as one BUNDLE datagram, when the queue is
 * flushed: by kddm_msg_flush_all() (the receive thread's, once it has
 * nothing more to read; a client's after a loop of requests), before any
 * other message to that node (so that messages to a node leave in the
 * order they were sent, queued or not), when full, or OUTQ_DELAY after
 * the first was queued, whatever the queuer does next.
 *
 * @n is read without @lock by senders: it drops to 0 only once the
 * queue's datagram has left, so a sender that sees 0 cannot overtake it.
 */
struct kddm_outq {
	struct mutex lock;
	u32 dst;
	u32 inc;		/* @dst's incarnation the messages are for */
	u32 self_inc;		/* ours, when they were queued */
	u32 n;			/* messages queued */
	u32 len;		/* their bytes, after room for a header */
	u8 *buf;		/* KDDM_TIPC_MAX bytes */
};

#define OUTQ_HDR	sizeof(struct kddm_wire_hdr)
#define OUTQ_ALIGN	8	/* where each message of a bundle starts */
#define OUTQ_ROOM	(KDDM_TIPC_MAX - OUTQ_HDR)
#define OUTQ_DELAY	1	/* jiffy */

static DEFINE_XARRAY(outqs);		/* destination node -> kddm_outq */
static void outq_timeout(struct work_struct *w);
static DECLARE_DELAYED_WORK(outq_work, outq_timeout);

static void outq_free(struct kddm_outq *q)
{
	if (q)
		kvfree(q->buf);
	kfree(q);
}

static struct kddm_outq *outq_get(u32 dst)
{
	struct kddm_outq *q = xa_load(&outqs, dst), *old;

	if (q)
		return q;
	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return NULL;
	q->buf = kvmalloc(KDDM_TIPC_MAX, GFP_KERNEL);
	if (!q->buf) {
		outq_free(q);
		return NULL;
	}
	mutex_init(&q->lock);
	q->dst = dst;
	old = xa_cmpxchg(&outqs, dst, NULL, q, GFP_KERNEL);
	if (!old)
		return q;
	outq_free(q);
	return xa_is_err(old) ? NULL : old;
}

/* Sends what @q holds, as one datagram (a BUNDLE of two or more). */
static int outq_flush(struct kddm_outq *q)
{
	struct kddm_wire_hdr *h = (void *)q->buf;
	struct kvec vec;
	u32 tipc, ref, inc;
	int ret;

	lockdep_assert_held(&q->lock);
	if (!q->n)
		return 0;
	ret = kddm_peer_addr(q->dst, &tipc, &ref, &inc);
	/* it came back, or we did, since: they were not for this pair */
	if (!ret && (inc != q->inc || q->self_inc != kddm_self_inc()))
		ret = -ENOLINK;
	if (ret)
		goto out;
	if (q->n == 1) {	/* as it is, without its padding */
		h = (void *)(q->buf + OUTQ_HDR);
		vec.iov_base = h;
		vec.iov_len = sizeof(*h) + le32_to_cpu(h->len);
	} else {
		hdr_fill(h, KDDM_MSG_BUNDLE, q->len, 0, 0, 0, q->self_inc, inc);
		vec.iov_base = q->buf;
		vec.iov_len = OUTQ_HDR + q->len;
	}
	ret = kddm_transport_send(tipc, ref, &vec, 1, vec.iov_len);
	if (send_lost(ret))
		kddm_peer_lost(q->dst);
out:
	q->len = 0;
	WRITE_ONCE(q->n, 0);
	return ret;
}

/* Sends what @q holds, if anything. */
static void outq_send(struct kddm_outq *q)
{
	if (!q || !READ_ONCE(q->n))
		return;
	mutex_lock(&q->lock);
	outq_flush(q);
	mutex_unlock(&q->lock);
}

/* Whether any message waits in a queue. */
bool kddm_msg_queued(void)
{
	struct kddm_outq *q;
	unsigned long dst;

	xa_for_each(&outqs, dst, q)
		if (READ_ONCE(q->n))
			return true;
	return false;
}

/* Sends every queued message now. */
void kddm_msg_flush_all(void)
{
	struct kddm_outq *q;
	unsigned long dst;

	xa_for_each(&outqs, dst, q)
		outq_send(q);
}

static void outq_timeout(struct work_struct *w)
{
	kddm_msg_flush_all();
}

/*
 * Sends @vec, after what is queued for @dst if anything. What was queued
 * before (by this task, or by one this send follows from) has left when
 * the flush returns; a message queued meanwhile by another task does not
 * follow from this one, which has not returned: it may go first.
 */
static int frame_out(u32 dst, u32 tipc, u32 ref, u32 inc,
		     const struct kvec *vec, size_t nvec, size_t len)
{
	outq_send(xa_load(&outqs, dst));
	if (lose_this(dst))
		return -EAGAIN;	/* as a send that timed out */
	if (len > KDDM_TIPC_MAX)
		return send_big(dst, tipc, ref, inc, vec, nvec, len);
	return kddm_transport_send(tipc, ref, (struct kvec *)vec, nvec, len);
}

static int send_frame(u32 dst, u8 type, u32 rpc_id, u64 set_id, u64 obj_id,
		      const void *p1, u32 l1, const void *p2, u32 l2)
{
	struct kddm_wire_hdr h;
	struct kvec vec[3] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)p1, .iov_len = l1 },
		{ .iov_base = (void *)p2, .iov_len = l2 },
	};
	size_t len = sizeof(h) + l1 + l2;
	u32 tipc, ref, inc;
	int ret;

	ret = kddm_peer_addr(dst, &tipc, &ref, &inc);
	if (ret)
		goto out;
	hdr_fill(&h, type, l1 + l2, rpc_id, set_id, obj_id, kddm_self_inc(),
		 inc);
	ret = frame_out(dst, tipc, ref, inc, vec, l2 ? 3 : (l1 ? 2 : 1), len);
	if (send_lost(ret))
		kddm_peer_lost(dst);
out:
	return sent(dst, type, set_id, obj_id, len, ret);
}

/* A second payload part given as bytes, for kddm_msg_queue(). */
struct copy_arg {
	const void *p;
	u32 l;
};

static int copy_fill(void *buf, u32 room, void *arg)
{
	struct copy_arg *c = arg;

	memcpy(buf, c->p, c->l);
	return c->l;
}

/*
 * kddm_msg_send_fill - kddm_msg_send() where @fill writes the second
 * payload part (at most @max2 bytes; see kddm_msg_queue_fill()) into a
 * buffer of its own; without memory for it, or if @fill fails, the
 * message leaves without them.
 */
int kddm_msg_send_fill(u32 dst, u8 type, u64 set_id, u64 obj_id,
		       const void *p1, u32 l1, u32 max2, kddm_fill_t fill,
		       void *arg)
{
	void *buf = max2 ? kvmalloc(max2, GFP_KERNEL) : NULL;
	int n = buf ? fill(buf, max2, arg) : 0, ret;

	if (max2 && (!buf || n < 0 || n > max2)) {
		pr_warn_ratelimited("type %u to node %u: no data (%d)\n", type,
				    dst, buf ? n : -ENOMEM);
		n = 0;
	}
	ret = send_frame(dst, type, 0, set_id, obj_id, p1, l1, buf, n);
	kvfree(buf);
	return ret;
}

/* The queue a message of @len bytes to @dst waits in; NULL: none. */
static struct kddm_outq *outq_for(u32 dst, size_t len)
{
	return ALIGN(len, OUTQ_ALIGN) <= OUTQ_ROOM ? outq_get(dst) : NULL;
}

/* Queues a message in @q: kddm_msg_queue_fill() once @q is known. */
static int queue_into(struct kddm_outq *q, u32 dst, u8 type, u64 set_id,
		      u64 obj_id, const void *p1, u32 l1, u32 max2,
		      kddm_fill_t fill, void *arg)
{
	size_t len = sizeof(struct kddm_wire_hdr) + l1 + max2;
	struct kddm_wire_hdr *h;
	u32 tipc, ref, inc;
	bool first;
	int ret, n;

	ret = kddm_peer_addr(dst, &tipc, &ref, &inc);
	if (ret)
		goto out;
	if (lose_this(dst)) {
		ret = -EAGAIN;
		kddm_peer_lost(dst);
		goto out;
	}
	mutex_lock(&q->lock);
	if (q->n && (q->inc != inc || q->self_inc != kddm_self_inc() ||
		     q->len + ALIGN(len, OUTQ_ALIGN) > OUTQ_ROOM))
		outq_flush(q);
	first = !q->n;
	q->inc = inc;
	q->self_inc = kddm_self_inc();
	h = (void *)(q->buf + OUTQ_HDR + q->len);
	if (l1)
		memcpy(h + 1, p1, l1);
	n = max2 ? fill((u8 *)(h + 1) + l1, max2, arg) : 0;
	if (WARN_ON_ONCE(n > max2) || n < 0)
		n = 0;
	len = sizeof(*h) + l1 + n;
	hdr_fill(h, type, l1 + n, 0, set_id, obj_id, q->self_inc, inc);
	/* the next message starts aligned (zeroed padding between) */
	memset((u8 *)h + len, 0, ALIGN(len, OUTQ_ALIGN) - len);
	q->len += ALIGN(len, OUTQ_ALIGN);
	WRITE_ONCE(q->n, q->n + 1);
	mutex_unlock(&q->lock);
	if (first)
		queue_delayed_work(system_wq, &outq_work, OUTQ_DELAY);
out:
	return sent(dst, type, set_id, obj_id, len, ret);
}

/*
 * kddm_msg_queue_fill - kddm_msg_queue() where @fill writes the second
 * payload part (at most @max2 bytes) straight into the queue: no buffer
 * nor copy of its own. @fill returns the bytes it wrote, or -errno for
 * none (the message leaves without them). @fill may sleep but must not
 * send any message (it runs with the queue of @dst locked).
 *
 * Return: 0 or -errno, as kddm_msg_queue().
 */
int kddm_msg_queue_fill(u32 dst, u8 type, u64 set_id, u64 obj_id,
			const void *p1, u32 l1, u32 max2, kddm_fill_t fill,
			void *arg)
{
	struct kddm_outq *q = outq_for(dst, sizeof(struct kddm_wire_hdr) +
				       l1 + max2);

	if (!q)
		return kddm_msg_send_fill(dst, type, set_id, obj_id, p1, l1,
					  max2, fill, arg);
	return queue_into(q, dst, type, set_id, obj_id, p1, l1, max2, fill,
			  arg);
}

/*
 * kddm_msg_queue - kddm_msg_send(), but the message may wait, with others
 * to @dst, until kddm_msg_flush_all(), the next message to @dst, or a
 * jiffy: many messages, one datagram (the receiver's work and the wire's
 * are per datagram more than per byte). For one-way messages whose
 * sender does not wait for an answer before a flush.
 *
 * Return: 0 or -errno; like kddm_msg_send(), a message that cannot leave
 * in the end makes @dst a lost peer.
 */
int kddm_msg_queue(u32 dst, u8 type, u64 set_id, u64 obj_id,
		   const void *p1, u32 l1, const void *p2, u32 l2)
{
	struct kddm_outq *q = outq_for(dst, sizeof(struct kddm_wire_hdr) +
				       l1 + l2);
	struct copy_arg c = { .p = p2, .l = l2 };

	if (!q)
		return send_frame(dst, type, 0, set_id, obj_id, p1, l1, p2,
				  l2);
	return queue_into(q, dst, type, set_id, obj_id, p1, l1, l2,
			  copy_fill, &c);
}

/*
 * kddm_msg_send_port - send a membership message (HELLO, BYE) to a port
 * that need not be a member's
 */
int kddm_msg_send_port(u32 tipc, u32 ref, u32 dst, u32 dst_inc, u8 type,
		       const void *p, u32 l)
{
	struct kddm_wire_hdr h;
	struct kvec vec[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)p, .iov_len = l },
	};
	int ret;

	hdr_fill(&h, type, l, 0, 0, 0, kddm_self_inc(), dst_inc);
	ret = kddm_transport_send(tipc, ref, vec, 2, sizeof(h) + l);
	return sent(dst, type, 0, 0, sizeof(h) + l, ret);
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

/* Registers @rpc (for @dst) and sends its request; 0 or -errno. */
static int rpc_send(struct kddm_rpc *rpc, u8 type, u64 set_id, u64 obj_id,
		    const void *p1, u32 l1, const void *p2, u32 l2)
{
	int ret;

	init_completion(&rpc->done);
	ret = xa_alloc_cyclic(&rpcs, &rpc->id, rpc, xa_limit_32b, &rpc_next,
			      GFP_KERNEL);
	if (ret < 0)
		return ret;
	if (!kddm_node_is_up(rpc->dst))
		ret = -EHOSTDOWN;
	else
		ret = send_frame(rpc->dst, type, rpc->id, set_id, obj_id, p1, l1,
				 p2, l2);
	if (ret)
		xa_erase(&rpcs, rpc->id);
	return ret;
}

/* The reply to @rpc (sent), waited for at most @timeout jiffies. */
static int rpc_wait(struct kddm_rpc *rpc, unsigned long timeout)
{
	if (wait_for_completion_timeout(&rpc->done, timeout))
		return rpc->status;
	if (xa_erase(&rpcs, rpc->id)) {
		atomic64_inc(&n_timeouts);
		return -ETIMEDOUT;
	}
	/* A completer took it just now and is about to finish. */
	wait_for_completion(&rpc->done);
	return rpc->status;
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
	int ret;

	might_sleep();
	ret = rpc_send(&rpc, type, set_id, obj_id, req, len, NULL, 0);
	return ret ?: rpc_wait(&rpc, timeout);
}

/*
 * kddm_rpc_start - send a request (two payload parts, either empty) whose
 * reply (no payload) kddm_rpc_end() waits for: requests to one node
 * overlap. Return: the call, to end (also when the send failed), or
 * ERR_PTR(-ENOMEM).
 */
struct kddm_rpc *kddm_rpc_start(u32 dst, u8 type, u64 set_id, u64 obj_id,
				const void *p1, u32 l1, const void *p2, u32 l2)
{
	struct kddm_rpc *rpc;
	int ret;

	might_sleep();
	rpc = kzalloc(sizeof(*rpc), GFP_KERNEL);
	if (!rpc)
		return ERR_PTR(-ENOMEM);
	rpc->dst = dst;
	rpc->sent = jiffies;
	/* once sent, the reply may set the status at any time */
	ret = rpc_send(rpc, type, set_id, obj_id, p1, l1, p2, l2);
	if (ret) {
		rpc->status = ret;
		rpc->id = 0;	/* not sent: nothing to wait for */
	}
	return rpc;
}

/*
 * kddm_rpc_end - the reply to @rpc, waited for until @timeout jiffies
 * after its start (as kddm_rpc_call()): calls started together end
 * within one timeout, whatever their number. Frees @rpc.
 */
int kddm_rpc_end(struct kddm_rpc *rpc, unsigned long timeout)
{
	unsigned long now = jiffies, end = rpc->sent + timeout;
	int ret = rpc->status;

	if (rpc->id)
		ret = rpc_wait(rpc, time_before(now, end) ? end - now : 1);

	kfree(rpc);
	return ret;
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

static void reasm_free(struct kddm_reasm *r)
{
	if (r)
		kvfree(r->buf);
	kfree(r);
}

/*
 * Every rpc waiting on @node fails now; its long message in flight goes,
 * and so do the messages queued for it.
 */
void kddm_msg_node_down(u32 node)
{
	struct kddm_outq *q = xa_load(&outqs, node);
	struct kddm_rpc *rpc;
	unsigned long id;

	if (q) {
		mutex_lock(&q->lock);
		q->len = 0;
		WRITE_ONCE(q->n, 0);
		mutex_unlock(&q->lock);
	}

	mutex_lock(&reasm_mutex);
	reasm_free(xa_erase(&reasms, node));
	mutex_unlock(&reasm_mutex);

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

/*
 * The sender is a member, speaking from its own port, in the incarnation
 * we know, to ours. HELLO comes from ports that are no members yet.
 */
static bool sender_ok(const struct kddm_msg *m)
{
	if (m->type == KDDM_MSG_HELLO)
		return true;
	if (kddm_peer_ok(m->src, m->tipc, m->ref, m->src_inc, m->dst_inc))
		return true;
	/* Its HELLO or publication may be queued behind this datagram. */
	kddm_transport_sync_topology();
	if (kddm_peer_ok(m->src, m->tipc, m->ref, m->src_inc, m->dst_inc))
		return true;
	kddm_dead_sender(m->src, m->tipc, m->ref, m->src_inc);
	return false;
}

/* Checks the header of a message of @len bytes and decodes it into @m. */
static int parse(void *buf, size_t len, struct kddm_msg *m)
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
	m->src_inc = le32_to_cpu(h->src_inc);
	m->dst_inc = le32_to_cpu(h->dst_inc);
	m->data = buf + sizeof(*h);
	if (m->len != len - sizeof(*h) || m->type >= KDDM_MSG_NR ||
	    !handlers[m->type].fn || m->len > handlers[m->type].max_len)
		return -EPROTO;
	return 0;
}

static void dispatch(struct kddm_msg *m, size_t len)
{
	atomic64_inc(&n_rcvd);
	atomic64_add(len, &b_rcvd);
	trace_kddm_msg_recv(m->src, m->type, m->set_id, m->obj_id, m->len);
	handlers[m->type].fn(m);
}

/*
 * Adds FRAG @m to its sender's reassembly. Returns the whole message once
 * complete (the caller frees it), NULL while incomplete, or an ERR_PTR
 * for a piece out of place (the reassembly is dropped).
 */
static struct kddm_reasm *reasm_add(const struct kddm_msg *m)
{
	const struct kddm_wire_frag *f = m->data;
	struct kddm_reasm *r, *done = NULL;
	u32 total, off, n;
	int ret = -EPROTO;

	if (m->len <= sizeof(*f) || m->set_id || m->obj_id || m->rpc_id)
		return ERR_PTR(-EPROTO);
	total = le32_to_cpu(f->total);
	off = le32_to_cpu(f->offset);
	n = m->len - sizeof(*f);
	/* every piece full but the last: no buffer for a few bytes */
	if (total <= sizeof(struct kddm_wire_hdr) ||
	    total > KDDM_WIRE_MSG_MAX || off >= total ||
	    n != min_t(u32, FRAG_ROOM, total - off))
		return ERR_PTR(-EPROTO);
	mutex_lock(&reasm_mutex);
	r = xa_load(&reasms, m->src);
	if (!off) {
		/* A new message: one left incomplete is dropped. */
		reasm_free(xa_erase(&reasms, m->src));
		ret = -ENOMEM;
		r = kzalloc(sizeof(*r), GFP_KERNEL);
		if (!r)
			goto out;
		r->buf = kvmalloc(total, GFP_KERNEL);
		if (!r->buf || xa_err(xa_store(&reasms, m->src, r,
					       GFP_KERNEL))) {
			reasm_free(r);
			goto out;
		}
		r->seq = le32_to_cpu(f->seq);
		r->total = total;
	} else if (!r || r->seq != le32_to_cpu(f->seq) || r->total != total ||
		   r->got != off) {
		reasm_free(xa_erase(&reasms, m->src));
		goto out;
	}
	memcpy(r->buf + off, f + 1, n);
	r->got += n;
	if (r->got == total)
		done = xa_erase(&reasms, m->src);
	ret = 0;
out:
	mutex_unlock(&reasm_mutex);
	return ret ? ERR_PTR(ret) : done;
}

/* A FRAG from @m->src; a message it completes must come from there too. */
static int frag_recv(struct kddm_msg *m)
{
	struct kddm_reasm *r = reasm_add(m);
	struct kddm_msg whole;
	int ret;

	if (IS_ERR_OR_NULL(r))
		return PTR_ERR_OR_ZERO(r);
	ret = parse(r->buf, r->total, &whole);
	if (!ret && (whole.type == KDDM_MSG_FRAG ||
		     whole.type == KDDM_MSG_HELLO ||
		     whole.type == KDDM_MSG_BUNDLE || whole.src != m->src ||
		     whole.src_inc != m->src_inc ||
		     whole.dst_inc != m->dst_inc))
		ret = -EPROTO;
	whole.tipc = m->tipc;
	whole.ref = m->ref;
	if (!ret)
		dispatch(&whole, r->total);
	reasm_free(r);
	return ret;
}

/*
 * The messages of BUNDLE @m, handled in order; the first that is not
 * well formed, not from @m's sender to us as @m is, or not from a member
 * any more (a message before it may have ended that), ends it. Each
 * starts at a multiple of OUTQ_ALIGN bytes in the payload.
 */
static int bundle_recv(struct kddm_msg *m)
{
	u8 *p = m->data;
	u32 left = m->len, len, step;
	struct kddm_wire_hdr h;
	struct kddm_msg in;

	if (m->set_id || m->obj_id || m->rpc_id || !left)
		return -EPROTO;
	while (left) {
		if (left < sizeof(h))
			return -EPROTO;
		memcpy(&h, p, sizeof(h));	/* any alignment */
		if (le32_to_cpu(h.len) > left - sizeof(h))
			return -EPROTO;
		len = sizeof(h) + le32_to_cpu(h.len);
		if (parse(p, len, &in) || in.type == KDDM_MSG_FRAG ||
		    in.type == KDDM_MSG_HELLO || in.type == KDDM_MSG_BYE ||
		    in.type == KDDM_MSG_BUNDLE || in.src != m->src ||
		    in.src_inc != m->src_inc || in.dst_inc != m->dst_inc ||
		    !kddm_peer_ok(in.src, m->tipc, m->ref, in.src_inc,
				  in.dst_inc))
			return -EPROTO;
		in.tipc = m->tipc;
		in.ref = m->ref;
		dispatch(&in, len);
		step = min_t(u32, ALIGN(len, OUTQ_ALIGN), left);
		p += step;
		left -= step;
	}
	return 0;
}

/* Called by the transport, on the receive thread, for each datagram. */
void kddm_msg_recv(u32 tipc_node, u32 ref, void *buf, size_t len)
{
	struct kddm_msg m;
	int ret;

	ret = parse(buf, len, &m);
	m.tipc = tipc_node;
	m.ref = ref;
	if (!ret && !sender_ok(&m))
		ret = -EPERM;
	if (!ret && m.type == KDDM_MSG_FRAG)
		ret = frag_recv(&m);
	else if (!ret && m.type == KDDM_MSG_BUNDLE)
		ret = bundle_recv(&m);
	else if (!ret)
		dispatch(&m, len);
	if (ret) {
		atomic64_inc(&n_dropped);
		pr_warn_ratelimited("dropped a %zu-byte message from %x: %d\n",
				    len, tipc_node, ret);
	}
}

/* Registered so that parse() accepts FRAG and BUNDLE (see kddm_msg_recv). */
static void frag_unused(struct kddm_msg *m)
{
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
	int i;

	kddm_msg_register(KDDM_MSG_RPC_REPLY, KDDM_TIPC_MAX, rpc_reply);
	kddm_msg_register(KDDM_MSG_PING, KDDM_TIPC_MAX, ping);
	kddm_msg_register(KDDM_MSG_FRAG, KDDM_TIPC_MAX, frag_unused);
	kddm_msg_register(KDDM_MSG_BUNDLE, KDDM_TIPC_MAX, frag_unused);
	for (i = 0; i < BIG_LOCKS; i++)
		mutex_init(&big_mutex[i]);
	return 0;
}

void kddm_msg_exit(void)
{
	struct kddm_reasm *r;
	struct kddm_outq *q;
	unsigned long node;

	cancel_delayed_work_sync(&outq_work);
	xa_for_each(&outqs, node, q)
		outq_free(q);
	xa_destroy(&outqs);
	WARN_ON(!xa_empty(&rpcs));
	xa_destroy(&rpcs);
	xa_for_each(&reasms, node, r)
		reasm_free(r);
	xa_destroy(&reasms);
}
