// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM coherence engine: write-invalidate, home-based directory protocol.
 *
 * The home of an object serialises the transactions on that object: a
 * transaction that involves a third node (INV with acks, FWD_READ,
 * FWD_WRITE, RM) keeps the directory entry busy until it is confirmed
 * (DONE from the requester, WRITEBACK from the owner, RM_ACKs); requests
 * arriving meanwhile are queued on the entry.  Messages that only involve
 * the home and the requester (a read served by the home, a write without
 * copies to invalidate) need no confirmation since links are FIFO.
 *
 * Messages to the local node (the home accessing its own objects) are not
 * sent but dispatched by a direct call, so the home is a node like the
 * others for its local accesses, without any network message.
 */
#include "coh_port.h"
#include "coh.h"

enum {
	COH_TXN_NONE,
	COH_TXN_INV,
	COH_TXN_FWD_READ,
	COH_TXN_FWD_WRITE,
	COH_TXN_RM,
};

#define COH_TF_NEED_DONE	0x1	/* requester will send DONE */
#define COH_TF_GOT_DONE		0x2
#define COH_TF_GOT_WB		0x4
#define COH_TF_REQ_DEAD		0x8	/* requester left */
#define COH_TF_FWD_DEAD		0x10	/* forwardee left */

struct coh_qent {
	struct coh_qent *next;
	u16 type;
	u16 flags;
	u32 src;
	u32 req;
};

static int coh_rx_local(struct coh_node *n, struct coh_obj *o,
			const struct coh_msg *m, void *data);
static void dir_drain(struct coh_node *n, struct coh_obj *o);

/* Node sets */

/*
 * A set holds node ids below its words * 64 and grows to hold more: its
 * size follows the highest node id in use (coh_node_span()), not the
 * bound @nr_nodes, so a small cluster pays a word per set, not 8 KiB.
 */
static int set_reserve(struct coh_node *n, struct coh_set *s, u32 id)
{
	u32 words = (id >> 6) + 1, span = (coh_load(n->span) + 63) >> 6;
	u64 *bits;

	if (s->bits && id < s->words << 6)
		return 0;
	if (id >= n->nr_nodes)
		return -COH_EINVAL;
	if (words < span)
		words = span;
	bits = n->ops->alloc(n, words * (u32)sizeof(u64));
	if (!bits)
		return -COH_ENOMEM;
	memset(bits, 0, words * sizeof(u64));
	if (s->bits) {
		memcpy(bits, s->bits, s->words * sizeof(u64));
		n->ops->free(n, s->bits);
	} else {
		s->count = 0;
	}
	s->bits = bits;
	s->words = words;
	return 0;
}

static int set_prepare(struct coh_node *n, struct coh_set *s)
{
	return set_reserve(n, s, 0);
}

static void set_free(struct coh_node *n, struct coh_set *s)
{
	if (s->bits)
		n->ops->free(n, s->bits);
	s->bits = NULL;
	s->words = 0;
	s->count = 0;
}

static bool set_test(const struct coh_set *s, u32 id)
{
	return s->bits && id < s->words << 6 &&
	       (s->bits[id >> 6] >> (id & 63)) & 1;
}

/* @id must have been reserved (set_reserve()). */
static void set_add(struct coh_set *s, u32 id)
{
	if (!s->bits || id >= s->words << 6 || set_test(s, id))
		return;
	s->bits[id >> 6] |= 1ULL << (id & 63);
	s->count++;
}

static void set_del(struct coh_set *s, u32 id)
{
	if (!set_test(s, id))
		return;
	s->bits[id >> 6] &= ~(1ULL << (id & 63));
	s->count--;
}

static void set_clear(struct coh_set *s)
{
	if (s->bits)
		memset(s->bits, 0, s->words * sizeof(u64));
	s->count = 0;
}

static void set_swap(struct coh_set *a, struct coh_set *b)
{
	struct coh_set t = *a;

	*a = *b;
	*b = t;
}

static u32 coh_ffs64(u64 w)
{
	u32 b = 0;

	if (!(w & 0xffffffffULL)) {
		w >>= 32;
		b += 32;
	}
	if (!(w & 0xffff)) {
		w >>= 16;
		b += 16;
	}
	if (!(w & 0xff)) {
		w >>= 8;
		b += 8;
	}
	if (!(w & 0xf)) {
		w >>= 4;
		b += 4;
	}
	if (!(w & 0x3)) {
		w >>= 2;
		b += 2;
	}
	if (!(w & 0x1))
		b += 1;
	return b;
}

/* First member >= @from, or COH_NODE_NONE. */
static u32 set_next(const struct coh_set *s, u32 from)
{
	u32 i, nw = s->words;
	u64 w;

	if (!s->bits || !s->count || from >= nw << 6)
		return COH_NODE_NONE;
	i = from >> 6;
	w = s->bits[i] & (~0ULL << (from & 63));
	for (;;) {
		if (w)
			return (i << 6) + coh_ffs64(w);
		if (++i >= nw)
			return COH_NODE_NONE;
		w = s->bits[i];
	}
}

/* Helpers */

static bool is_home(const struct coh_node *n, const struct coh_obj *o)
{
	return o->home == n->self;
}

static bool frozen(const struct coh_obj *o)
{
	return o->readers || o->writer;
}

static bool waiting_state(const struct coh_obj *o)
{
	return o->state == COH_WAIT_READ || o->state == COH_WAIT_WRITE ||
	       o->state == COH_WAIT_REMOVE;
}

static int coh_bad(struct coh_node *n)
{
	coh_stat_inc(&n->stats.dropped);
	return -COH_EPROTO;
}

static int coh_stale(struct coh_node *n)
{
	coh_stat_inc(&n->stats.stale);
	return 0;
}

static void coh_wake(struct coh_node *n, struct coh_obj *o)
{
	if (o->nwaiters)
		n->ops->wake(n, o);
}

static void drop_data(struct coh_node *n, struct coh_obj *o)
{
	if (o->has_data && n->ops->drop)
		n->ops->drop(n, o);
	o->has_data = false;
}

static void post_err(struct coh_node *n, struct coh_obj *o, int err)
{
	coh_stat_inc(&n->stats.errors);
	o->err = err;
	o->err_seq++;
	coh_wake(n, o);
}

static void msg_init(struct coh_msg *m, u16 type, u32 requester, u32 req)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->requester = requester;
	m->req = req;
}

/*
 * Send a message.  A message to the local node is dispatched at once:
 * the call chains this creates are bounded (request -> grant -> DONE ->
 * queue replay, which stops at the draining flag).
 */
static void coh_xmit(struct coh_node *n, struct coh_obj *o, u32 dst,
		     struct coh_msg *m, bool with_data)
{
	m->set_id = o->set_id;
	m->obj_id = o->obj_id;
	m->src = n->self;
	if (dst == n->self) {
		coh_rx_local(n, o, m, NULL);
		return;
	}
	coh_stat_inc(&n->stats.sent[m->type]);
	n->ops->send(n, o, dst, m, with_data);
}

static void send_simple(struct coh_node *n, struct coh_obj *o, u32 dst,
			u16 type, u32 requester, u32 req)
{
	struct coh_msg m;

	msg_init(&m, type, requester, req);
	coh_xmit(n, o, dst, &m, false);
}

static void send_err(struct coh_node *n, struct coh_obj *o, u32 dst,
		     u32 req, int err)
{
	struct coh_msg m;

	msg_init(&m, COH_MSG_ERROR, dst, req);
	m.err = (u32)-err;
	coh_xmit(n, o, dst, &m, false);
}

static void send_data(struct coh_node *n, struct coh_obj *o, u32 dst,
		      u32 req, bool write, u32 acks)
{
	struct coh_msg m;

	msg_init(&m, COH_MSG_DATA, dst, req);
	if (write)
		m.flags = COH_MF_WRITE;
	m.count = acks;
	coh_xmit(n, o, dst, &m, true);
}

/*
 * Replay the deferred remote request if the local copy allows it, and on
 * the home the queued requests.
 */
static void coh_kick(struct coh_node *n, struct coh_obj *o)
{
	struct coh_msg m;

	if (o->has_deferred && !o->reserved) {
		m = o->deferred;
		o->has_deferred = false;
		coh_rx_local(n, o, &m, NULL);
	}
	if (is_home(n, o))
		dir_drain(n, o);
}

/* Copy side: messages received by a (potential) copy holder */

static void copy_complete(struct coh_node *n, struct coh_obj *o)
{
	bool done = o->grant_src != o->home || o->acks_needed;

	o->state = o->grant_write ? COH_WRITE : COH_READ;
	o->got_grant = false;
	o->done_req = o->req;
	o->reserved = o->nwaiters > 0;
	if (done)
		send_simple(n, o, o->home, COH_MSG_DONE, n->self, o->req);
	coh_kick(n, o);
	coh_wake(n, o);
}

static int copy_grant(struct coh_node *n, struct coh_obj *o,
		      const struct coh_msg *m, void *data)
{
	bool write = m->type == COH_MSG_GRANT_WRITE ||
		     (m->flags & COH_MF_WRITE);
	bool want_write = o->state == COH_WAIT_WRITE;

	if (m->req != o->req || o->got_grant ||
	    (o->state != COH_WAIT_READ && o->state != COH_WAIT_WRITE))
		return coh_stale(n);
	if (o->abandoned && m->src != o->home)
		return coh_stale(n);
	if (write != want_write)
		return coh_bad(n);
	if (m->type == COH_MSG_GRANT_WRITE) {
		if (!o->has_data)
			return coh_bad(n);
	} else if (m->src != n->self) {
		if (!data)
			return coh_bad(n);
		n->ops->install(n, o, data);
	}
	o->has_data = true;
	o->grant_src = m->src;
	o->grant_write = write;
	if (!write) {
		o->acks_needed = 0;
		copy_complete(n, o);
		return 0;
	}
	o->got_grant = true;
	o->acks_needed = m->count;
	if (o->acks_got >= o->acks_needed)
		copy_complete(n, o);
	return 0;
}

static int copy_ack(struct coh_node *n, struct coh_obj *o,
		    const struct coh_msg *m)
{
	u32 who = m->src;

	if (m->flags & COH_MF_PROXY) {
		if (m->src != o->home || m->node >= n->nr_nodes)
			return coh_bad(n);
		who = m->node;
	}
	if (o->state != COH_WAIT_WRITE || m->req != o->req)
		return coh_stale(n);
	if (set_test(&o->acked, who))
		return coh_stale(n);
	if (set_reserve(n, &o->acked, who))
		return -COH_ENOMEM;
	set_add(&o->acked, who);
	o->acks_got++;
	if (o->got_grant && o->acks_got >= o->acks_needed)
		copy_complete(n, o);
	return 0;
}

static int copy_defer(struct coh_node *n, struct coh_obj *o,
		      const struct coh_msg *m)
{
	/*
	 * Only one remote transaction at a time can wait for this node, but a
	 * deferred INV whose requester left is obsolete: it is superseded.
	 */
	if (o->has_deferred && o->deferred.type != COH_MSG_INV)
		return coh_bad(n);
	o->deferred = *m;
	o->has_deferred = true;
	return 0;
}

static int copy_inv(struct coh_node *n, struct coh_obj *o,
		    const struct coh_msg *m)
{
	if (m->requester >= n->nr_nodes || m->requester == n->self)
		return coh_bad(n);
	switch (o->state) {
	case COH_READ:
		if (frozen(o) || o->reserved)
			return copy_defer(n, o, m);
		o->state = COH_INVALID;
		drop_data(n, o);
		coh_stat_inc(&n->stats.invalidations);
		break;
	case COH_WAIT_WRITE:
		if (o->got_grant)
			return coh_bad(n);
		/* upgrade crossing the INV: the request gets data later */
		drop_data(n, o);
		break;
	case COH_WRITE:
		return coh_bad(n);
	default:
		/* the copy was dropped (DROP crossing the INV) */
		break;
	}
	send_simple(n, o, m->requester, COH_MSG_INV_ACK, m->requester, m->req);
	return 0;
}

static int copy_fwd(struct coh_node *n, struct coh_obj *o,
		    const struct coh_msg *m)
{
	bool rd = m->type == COH_MSG_FWD_READ;
	struct coh_msg r;

	if (m->requester >= n->nr_nodes || m->requester == n->self)
		return coh_bad(n);
	/* the copy was flushed: the home serves the requester itself */
	if (o->state != COH_WRITE || m->owner_req != o->req)
		return coh_stale(n);
	if (o->writer || o->reserved || (!rd && o->readers))
		return copy_defer(n, o, m);
	if (rd) {
		if (m->requester != o->home)
			send_data(n, o, m->requester, m->req, false, 0);
		msg_init(&r, COH_MSG_WRITEBACK, m->requester, m->req);
		coh_xmit(n, o, o->home, &r, true);
		o->state = COH_READ;
	} else {
		send_data(n, o, m->requester, m->req, true, 0);
		o->state = COH_INVALID;
		drop_data(n, o);
	}
	return 0;
}

static int copy_rm(struct coh_node *n, struct coh_obj *o,
		   const struct coh_msg *m)
{
	switch (o->state) {
	case COH_READ:
	case COH_WRITE:
		if (frozen(o) || o->reserved)
			return copy_defer(n, o, m);
		o->state = COH_INVALID;
		drop_data(n, o);
		break;
	case COH_WAIT_WRITE:
		if (o->got_grant)
			return coh_bad(n);
		drop_data(n, o);
		break;
	default:
		break;
	}
	send_simple(n, o, o->home, COH_MSG_RM_ACK, m->requester, m->req);
	return 0;
}

static int copy_rm_done(struct coh_node *n, struct coh_obj *o,
			const struct coh_msg *m)
{
	if (o->state != COH_WAIT_REMOVE || m->req != o->req)
		return coh_stale(n);
	o->state = COH_INVALID;
	o->done_req = o->req;
	coh_kick(n, o);
	coh_wake(n, o);
	return 0;
}

static int copy_fail(struct coh_node *n, struct coh_obj *o,
		     const struct coh_msg *m)
{
	int err = -COH_ENOENT;

	if (!waiting_state(o) || m->req != o->req || o->got_grant)
		return coh_stale(n);
	if (m->type == COH_MSG_ERROR) {
		err = -COH_EIO;
		if (m->err > 0 && m->err < 4096)
			err = -(int)m->err;
	}
	o->state = COH_INVALID;
	drop_data(n, o);
	post_err(n, o, err);
	coh_kick(n, o);
	return 0;
}

static int copy_probe(struct coh_node *n, struct coh_obj *o,
		      const struct coh_msg *m)
{
	if ((o->state != COH_WAIT_READ && o->state != COH_WAIT_WRITE) ||
	    m->req != o->req || o->got_grant || o->abandoned)
		return coh_stale(n);
	/* from now on only the home may send us the data */
	o->abandoned = true;
	send_simple(n, o, o->home, COH_MSG_NODATA, n->self, o->req);
	return 0;
}

/* The requester of a FWD_WRITE we got left: cancel it if still deferred. */
static int copy_recall(struct coh_node *n, struct coh_obj *o,
		       const struct coh_msg *m)
{
	u16 type = COH_MSG_NODATA;

	if (o->has_deferred && o->deferred.type == COH_MSG_FWD_WRITE &&
	    o->deferred.req == m->req &&
	    o->deferred.requester == m->requester) {
		o->has_deferred = false;
		type = COH_MSG_DONE;
	}
	send_simple(n, o, o->home, type, m->requester, m->req);
	return 0;
}

static int copy_rx(struct coh_node *n, struct coh_obj *o,
		   const struct coh_msg *m, void *data)
{
	if (o->dead)
		return coh_stale(n);
	if (m->type != COH_MSG_DATA && m->type != COH_MSG_INV_ACK &&
	    m->src != o->home)
		return coh_bad(n);
	switch (m->type) {
	case COH_MSG_DATA:
	case COH_MSG_GRANT_WRITE:
		return copy_grant(n, o, m, data);
	case COH_MSG_INV:
		return copy_inv(n, o, m);
	case COH_MSG_INV_ACK:
		return copy_ack(n, o, m);
	case COH_MSG_FWD_READ:
	case COH_MSG_FWD_WRITE:
		return copy_fwd(n, o, m);
	case COH_MSG_RM:
		return copy_rm(n, o, m);
	case COH_MSG_RM_DONE:
		return copy_rm_done(n, o, m);
	case COH_MSG_NO_OBJECT:
	case COH_MSG_ERROR:
		return copy_fail(n, o, m);
	case COH_MSG_PROBE:
		return copy_probe(n, o, m);
	case COH_MSG_RECALL:
		return copy_recall(n, o, m);
	default:
		return coh_bad(n);
	}
}

/* Directory side: the home of the object */

static void dir_txn_start(struct coh_obj *o, u8 txn, u32 requester, u32 req,
			  u8 flags)
{
	o->dir.txn = txn;
	o->dir.txn_requester = requester;
	o->dir.txn_req = req;
	o->dir.txn_flags = flags;
}

static void dir_txn_end(struct coh_node *n, struct coh_obj *o)
{
	o->dir.txn = COH_TXN_NONE;
	o->dir.txn_flags = 0;
	set_clear(&o->dir.txnset);
	dir_drain(n, o);
}

/* Invalidate the home's own copy for a remote writer or remover. */
static void dir_inval_home(struct coh_node *n, struct coh_obj *o)
{
	if (o->state == COH_READ || o->state == COH_WRITE) {
		o->state = COH_INVALID;
		coh_stat_inc(&n->stats.invalidations);
	}
	drop_data(n, o);
}

/* The writer's data is gone: reload it or mark the object lost. */
static bool dir_reload(struct coh_node *n, struct coh_obj *o)
{
	struct coh_dir *d = &o->dir;

	d->owner = COH_NODE_NONE;
	if (n->ops->reload && !n->ops->reload(n, o)) {
		d->valid = true;
		return true;
	}
	d->valid = false;
	d->lost = true;
	return false;
}

static void dir_read(struct coh_node *n, struct coh_obj *o, u32 src, u32 req)
{
	struct coh_dir *d = &o->dir;

	bool local = d->owner == COH_NODE_NONE || d->owner == n->self;

	/* room for the reader and for the owner that will write back */
	if ((src != n->self && set_reserve(n, &d->copyset, src)) ||
	    (!local && set_reserve(n, &d->copyset, d->owner))) {
		send_err(n, o, src, req, -COH_EAGAIN);
		return;
	}
	if (src != n->self)
		set_add(&d->copyset, src);
	if (local) {
		if (d->owner == n->self) {
			/* remote reader: downgrade the home's write copy */
			o->state = COH_READ;
			d->owner = COH_NODE_NONE;
			d->valid = true;
		}
		send_data(n, o, src, req, false, 0);
		return;
	}
	dir_txn_start(o, COH_TXN_FWD_READ, src, req,
		      src != n->self ? COH_TF_NEED_DONE : 0);
	d->txn_fwd = d->owner;
	d->txn_fwd_req = d->owner_req;
	{
		struct coh_msg m;

		msg_init(&m, COH_MSG_FWD_READ, src, req);
		m.owner_req = d->owner_req;
		coh_xmit(n, o, d->owner, &m, false);
	}
}

static void dir_write_fwd(struct coh_node *n, struct coh_obj *o, u32 src,
			  u32 req)
{
	struct coh_dir *d = &o->dir;
	struct coh_msg m;
	u32 old = d->owner;

	dir_txn_start(o, COH_TXN_FWD_WRITE, src, req, COH_TF_NEED_DONE);
	d->txn_fwd = old;
	d->txn_fwd_req = d->owner_req;
	msg_init(&m, COH_MSG_FWD_WRITE, src, req);
	m.owner_req = d->owner_req;
	d->owner = src;
	d->owner_req = req;
	coh_xmit(n, o, old, &m, false);
}

static void dir_write(struct coh_node *n, struct coh_obj *o, u32 src,
		      u32 req, u16 flags)
{
	struct coh_dir *d = &o->dir;
	struct coh_msg m;
	bool had_read;
	u32 k, c;

	if (d->owner == n->self) {
		dir_inval_home(n, o);
		d->owner = src;
		d->owner_req = req;
		d->valid = false;
		send_data(n, o, src, req, true, 0);
		return;
	}
	if (d->owner != COH_NODE_NONE) {
		dir_write_fwd(n, o, src, req);
		return;
	}
	if (src == n->self) {
		had_read = o->has_data;
	} else {
		had_read = (flags & COH_MF_HAS_READ) && !d->fuzzy &&
			   set_test(&d->copyset, src);
		dir_inval_home(n, o);
	}
	set_del(&d->copyset, src);
	k = d->copyset.count;
	d->fuzzy = false;
	d->owner = src;
	d->owner_req = req;
	d->valid = false;
	if (k) {
		set_swap(&d->copyset, &d->txnset);
		set_clear(&d->copyset);
		dir_txn_start(o, COH_TXN_INV, src, req, COH_TF_NEED_DONE);
		msg_init(&m, COH_MSG_INV, src, req);
		for (c = set_next(&d->txnset, 0); c != COH_NODE_NONE;
		     c = set_next(&d->txnset, c + 1))
			coh_xmit(n, o, c, &m, false);
	}
	if (had_read) {
		msg_init(&m, COH_MSG_GRANT_WRITE, src, req);
		m.count = k;
		coh_xmit(n, o, src, &m, false);
	} else {
		send_data(n, o, src, req, true, k);
	}
}

static void dir_remove(struct coh_node *n, struct coh_obj *o, u32 src,
		       u32 req)
{
	struct coh_dir *d = &o->dir;
	struct coh_msg m;
	u32 c;

	if (!d->exists && !d->lost) {
		send_err(n, o, src, req, -COH_ENOENT);
		return;
	}
	if (set_prepare(n, &d->copyset) || set_prepare(n, &d->txnset) ||
	    (d->owner != COH_NODE_NONE &&
	     set_reserve(n, &d->copyset, d->owner))) {
		send_err(n, o, src, req, -COH_EAGAIN);
		return;
	}
	set_swap(&d->copyset, &d->txnset);
	set_clear(&d->copyset);
	d->fuzzy = false;
	if (d->owner != COH_NODE_NONE && d->owner != n->self)
		set_add(&d->txnset, d->owner);
	set_del(&d->txnset, src);
	if (src != n->self)
		dir_inval_home(n, o);
	d->owner = COH_NODE_NONE;
	d->exists = false;
	d->lost = false;
	d->valid = false;
	if (!d->txnset.count) {
		send_simple(n, o, src, COH_MSG_RM_DONE, src, req);
		return;
	}
	dir_txn_start(o, COH_TXN_RM, src, req, 0);
	msg_init(&m, COH_MSG_RM, src, req);
	for (c = set_next(&d->txnset, 0); c != COH_NODE_NONE;
	     c = set_next(&d->txnset, c + 1))
		coh_xmit(n, o, c, &m, false);
}

static void dir_serve(struct coh_node *n, struct coh_obj *o, u16 type,
		      u16 flags, u32 src, u32 req)
{
	struct coh_dir *d = &o->dir;
	int ret;

	if (type == COH_MSG_REQ_REMOVE) {
		dir_remove(n, o, src, req);
		return;
	}
	if (d->lost) {
		send_err(n, o, src, req, -COH_EIO);
		return;
	}
	if (!d->exists) {
		if (flags & COH_MF_NO_FT) {
			send_simple(n, o, src, COH_MSG_NO_OBJECT, src, req);
			return;
		}
		ret = n->ops->first_touch(n, o);
		if (ret) {
			send_err(n, o, src, req, ret < 0 ? ret : -COH_EIO);
			return;
		}
		d->exists = true;
		d->valid = true;
	}
	if (d->owner == src) {
		coh_stat_inc(&n->stats.dropped);
		send_err(n, o, src, req, -COH_EPROTO);
		return;
	}
	if (type == COH_MSG_REQ_READ)
		dir_read(n, o, src, req);
	else
		dir_write(n, o, src, req, flags);
}

/* Would serving this request now break a local freeze of the home? */
static bool dir_conflict(const struct coh_node *n, const struct coh_obj *o,
			 u16 type, u32 src)
{
	if (src == n->self)
		return false;
	if (o->state != COH_READ && o->state != COH_WRITE)
		return false;
	if (type == COH_MSG_REQ_READ)
		return o->state == COH_WRITE && (o->writer || o->reserved);
	return frozen(o) || o->reserved;
}

static void dir_drain(struct coh_node *n, struct coh_obj *o)
{
	struct coh_dir *d = &o->dir;
	struct coh_qent *e;

	if (d->draining)
		return;
	d->draining = true;
	while ((e = d->qhead) && d->txn == COH_TXN_NONE &&
	       !dir_conflict(n, o, e->type, e->src)) {
		d->qhead = e->next;
		if (!d->qhead)
			d->qtail = NULL;
		dir_serve(n, o, e->type, e->flags, e->src, e->req);
		n->ops->free(n, e);
	}
	d->draining = false;
}

static int dir_request(struct coh_node *n, struct coh_obj *o,
		       const struct coh_msg *m)
{
	struct coh_dir *d = &o->dir;
	struct coh_qent *e;

	if (d->txn == COH_TXN_NONE && !d->qhead &&
	    !dir_conflict(n, o, m->type, m->src)) {
		dir_serve(n, o, m->type, m->flags, m->src, m->req);
		return 0;
	}
	/*
	 * A node waits for one request per object at a time: a newer one
	 * supersedes its queued one (whose answer it would drop as stale),
	 * so the queue holds at most one entry per node.
	 */
	for (e = d->qhead; e; e = e->next) {
		if (e->src != m->src)
			continue;
		e->type = m->type;
		e->flags = m->flags;
		e->req = m->req;
		coh_stale(n);
		dir_drain(n, o);
		return 0;
	}
	e = n->ops->alloc(n, sizeof(*e));
	if (!e) {
		send_err(n, o, m->src, m->req, -COH_EAGAIN);
		return 0;
	}
	e->next = NULL;
	e->type = m->type;
	e->flags = m->flags;
	e->src = m->src;
	e->req = m->req;
	if (d->qtail)
		d->qtail->next = e;
	else
		d->qhead = e;
	d->qtail = e;
	dir_drain(n, o);
	return 0;
}

/* Answer of the owner to RECALL: DONE (kept its copy) or NODATA. */
static bool dir_recalled(struct coh_node *n, struct coh_obj *o,
			 const struct coh_msg *m)
{
	struct coh_dir *d = &o->dir;

	if (d->txn != COH_TXN_FWD_WRITE || !(d->txn_flags & COH_TF_REQ_DEAD) ||
	    m->src != d->txn_fwd || m->req != d->txn_req)
		return false;
	if (m->type == COH_MSG_NODATA)
		dir_reload(n, o);
	dir_txn_end(n, o);
	return true;
}

static int dir_done(struct coh_node *n, struct coh_obj *o,
		    const struct coh_msg *m)
{
	struct coh_dir *d = &o->dir;

	if (dir_recalled(n, o, m))
		return 0;

	if (d->txn == COH_TXN_NONE || d->txn == COH_TXN_RM ||
	    m->src != d->txn_requester || m->req != d->txn_req)
		return coh_stale(n);
	if (d->txn == COH_TXN_FWD_READ) {
		d->txn_flags |= COH_TF_GOT_DONE;
		if (!(d->txn_flags & COH_TF_GOT_WB))
			return 0;
	}
	dir_txn_end(n, o);
	return 0;
}

/* PROBE answer: the data forwarded to the requester died with the owner. */
static int dir_nodata(struct coh_node *n, struct coh_obj *o,
		      const struct coh_msg *m)
{
	struct coh_dir *d = &o->dir;
	u32 src = m->src;

	if (dir_recalled(n, o, m))
		return 0;
	if (d->txn != COH_TXN_FWD_WRITE || src != d->txn_requester ||
	    m->req != d->txn_req)
		return coh_stale(n);
	if (dir_reload(n, o)) {
		d->owner = src;
		d->owner_req = m->req;
		d->valid = false;
		send_data(n, o, src, m->req, true, 0);
	} else {
		send_err(n, o, src, m->req, -COH_EIO);
	}
	dir_txn_end(n, o);
	return 0;
}

static int dir_writeback(struct coh_node *n, struct coh_obj *o,
			 const struct coh_msg *m, void *data)
{
	struct coh_dir *d = &o->dir;

	if (d->txn != COH_TXN_FWD_READ || m->src != d->txn_fwd ||
	    m->req != d->txn_req || (d->txn_flags & COH_TF_GOT_WB) || !data)
		return coh_bad(n);
	/* dir_read() made room for the owner; it may have grown since */
	if (set_reserve(n, &d->copyset, m->src))
		return -COH_ENOMEM;
	n->ops->install(n, o, data);
	d->valid = true;
	d->owner = COH_NODE_NONE;
	set_add(&d->copyset, m->src);
	d->txn_flags |= COH_TF_GOT_WB;
	if (d->txn_requester == n->self)
		send_data(n, o, n->self, d->txn_req, false, 0);
	if (!(d->txn_flags & COH_TF_NEED_DONE) ||
	    (d->txn_flags & COH_TF_GOT_DONE))
		dir_txn_end(n, o);
	return 0;
}

static int dir_flush(struct coh_node *n, struct coh_obj *o,
		     const struct coh_msg *m, void *data)
{
	struct coh_dir *d = &o->dir;
	bool fwd = d->txn == COH_TXN_FWD_READ || d->txn == COH_TXN_FWD_WRITE;

	if (!data)
		return coh_bad(n);
	if (fwd && m->src == d->txn_fwd && m->owner_req == d->txn_fwd_req) {
		/* the flush crossed our FWD: serve the requester ourselves */
		n->ops->install(n, o, data);
		d->valid = true;
		if (d->txn == COH_TXN_FWD_READ) {
			d->owner = COH_NODE_NONE;
			if (!(d->txn_flags & COH_TF_REQ_DEAD))
				send_data(n, o, d->txn_requester, d->txn_req,
					  false, 0);
		} else if (d->txn_flags & COH_TF_REQ_DEAD) {
			d->owner = COH_NODE_NONE;
		} else {
			d->valid = false;
			send_data(n, o, d->txn_requester, d->txn_req, true, 0);
		}
		dir_txn_end(n, o);
		return 0;
	}
	/* crossed a remove: the RM will be acked */
	if (d->txn == COH_TXN_RM && set_test(&d->txnset, m->src))
		return coh_stale(n);
	if (d->owner != m->src || m->owner_req != d->owner_req)
		return coh_bad(n);
	n->ops->install(n, o, data);
	d->valid = true;
	d->owner = COH_NODE_NONE;
	return 0;
}

static int dir_drop(struct coh_node *n, struct coh_obj *o,
		    const struct coh_msg *m)
{
	if (!set_test(&o->dir.copyset, m->src))
		return coh_stale(n);
	set_del(&o->dir.copyset, m->src);
	return 0;
}

static void dir_rm_check(struct coh_node *n, struct coh_obj *o)
{
	struct coh_dir *d = &o->dir;

	if (d->txnset.count)
		return;
	if (!(d->txn_flags & COH_TF_REQ_DEAD))
		send_simple(n, o, d->txn_requester, COH_MSG_RM_DONE,
			    d->txn_requester, d->txn_req);
	dir_txn_end(n, o);
}

static int dir_rm_ack(struct coh_node *n, struct coh_obj *o,
		      const struct coh_msg *m)
{
	struct coh_dir *d = &o->dir;

	if (d->txn != COH_TXN_RM || m->req != d->txn_req ||
	    !set_test(&d->txnset, m->src))
		return coh_bad(n);
	set_del(&d->txnset, m->src);
	dir_rm_check(n, o);
	return 0;
}

static int dir_rx(struct coh_node *n, struct coh_obj *o,
		  const struct coh_msg *m, void *data)
{
	switch (m->type) {
	case COH_MSG_REQ_READ:
	case COH_MSG_REQ_WRITE:
	case COH_MSG_REQ_REMOVE:
		return dir_request(n, o, m);
	case COH_MSG_DONE:
		return dir_done(n, o, m);
	case COH_MSG_NODATA:
		return dir_nodata(n, o, m);
	case COH_MSG_WRITEBACK:
		return dir_writeback(n, o, m, data);
	case COH_MSG_FLUSH:
		return dir_flush(n, o, m, data);
	case COH_MSG_DROP:
		return dir_drop(n, o, m);
	case COH_MSG_RM_ACK:
		return dir_rm_ack(n, o, m);
	default:
		return coh_bad(n);
	}
}

static bool dir_msg(u16 type)
{
	switch (type) {
	case COH_MSG_REQ_READ:
	case COH_MSG_REQ_WRITE:
	case COH_MSG_REQ_REMOVE:
	case COH_MSG_DONE:
	case COH_MSG_NODATA:
	case COH_MSG_WRITEBACK:
	case COH_MSG_FLUSH:
	case COH_MSG_DROP:
	case COH_MSG_RM_ACK:
		return true;
	default:
		return false;
	}
}

static int coh_rx_local(struct coh_node *n, struct coh_obj *o,
			const struct coh_msg *m, void *data)
{
	if (dir_msg(m->type)) {
		if (!is_home(n, o))
			return coh_bad(n);
		return dir_rx(n, o, m, data);
	}
	return copy_rx(n, o, m, data);
}

/* Failures */

static void dir_purge_queue(struct coh_node *n, struct coh_obj *o, u32 dead)
{
	struct coh_dir *d = &o->dir;
	struct coh_qent **pp = &d->qhead, *e;

	d->qtail = NULL;
	while ((e = *pp)) {
		if (e->src == dead) {
			*pp = e->next;
			n->ops->free(n, e);
		} else {
			d->qtail = e;
			pp = &e->next;
		}
	}
}

/* FWD_READ transaction and @dead is involved.  Returns true if over. */
static bool dir_down_fwd_read(struct coh_node *n, struct coh_obj *o,
			      u32 dead)
{
	struct coh_dir *d = &o->dir;
	bool req_ok;

	if (d->txn_requester == dead) {
		d->txn_flags |= COH_TF_REQ_DEAD;
		d->txn_flags &= ~COH_TF_NEED_DONE;
	}
	req_ok = !(d->txn_flags & COH_TF_REQ_DEAD);
	if (d->txn_fwd != dead)
		return d->txn_requester == dead &&
		       (d->txn_flags & COH_TF_GOT_WB);
	if (d->txn_flags & COH_TF_GOT_WB) {
		/* the requester may never get the owner's DATA */
		if (req_ok)
			send_data(n, o, d->txn_requester, d->txn_req,
				  false, 0);
		return true;
	}
	if (dir_reload(n, o)) {
		if (req_ok)
			send_data(n, o, d->txn_requester, d->txn_req,
				  false, 0);
	} else if (req_ok) {
		/* keep it in the copyset: the owner's DATA may have reached it */
		send_err(n, o, d->txn_requester, d->txn_req, -COH_EIO);
	}
	return true;
}

static bool dir_down_txn(struct coh_node *n, struct coh_obj *o, u32 dead)
{
	struct coh_dir *d = &o->dir;
	struct coh_msg m;

	switch (d->txn) {
	case COH_TXN_INV:
		if (d->txn_requester == dead) {
			/* INV targets that did not ack may still hold copies */
			set_swap(&d->copyset, &d->txnset);
			d->fuzzy = true;
			return true;
		}
		if (set_test(&d->txnset, dead)) {
			set_del(&d->txnset, dead);
			msg_init(&m, COH_MSG_INV_ACK, d->txn_requester,
				 d->txn_req);
			m.flags = COH_MF_PROXY;
			m.node = dead;
			coh_xmit(n, o, d->txn_requester, &m, false);
		}
		return false;
	case COH_TXN_FWD_READ:
		return dir_down_fwd_read(n, o, dead);
	case COH_TXN_FWD_WRITE:
		if (d->txn_fwd == dead && (d->txn_flags & COH_TF_REQ_DEAD))
			return true;	/* owner == dead: reloaded below */
		if (d->txn_requester == dead &&
		    (d->txn_flags & COH_TF_FWD_DEAD))
			return true;	/* owner == dead: reloaded below */
		if (d->txn_requester == dead) {
			/* the old owner may still hold the data: recall it */
			d->txn_flags |= COH_TF_REQ_DEAD;
			d->owner = d->txn_fwd;
			d->owner_req = d->txn_fwd_req;
			msg_init(&m, COH_MSG_RECALL, dead, d->txn_req);
			coh_xmit(n, o, d->txn_fwd, &m, false);
			return false;
		}
		if (d->txn_fwd == dead) {
			d->txn_flags |= COH_TF_FWD_DEAD;
			send_simple(n, o, d->txn_requester, COH_MSG_PROBE,
				    d->txn_requester, d->txn_req);
		}
		return false;
	case COH_TXN_RM:
		if (d->txn_requester == dead)
			d->txn_flags |= COH_TF_REQ_DEAD;
		set_del(&d->txnset, dead);
		if (!d->txnset.count) {
			dir_rm_check(n, o);
			return false;
		}
		return false;
	default:
		return false;
	}
}

static void dir_node_down(struct coh_node *n, struct coh_obj *o, u32 dead)
{
	struct coh_dir *d = &o->dir;
	u8 txn = d->txn;
	bool over;

	dir_purge_queue(n, o, dead);
	set_del(&d->copyset, dead);
	over = txn != COH_TXN_NONE && dir_down_txn(n, o, dead);
	if (d->owner == dead)
		dir_reload(n, o);
	if (over && d->txn == txn)
		dir_txn_end(n, o);
	else
		dir_drain(n, o);
}

/* Public entry points */

int coh_node_init(struct coh_node *node, const struct coh_ops *ops,
		  u32 self, u32 nr_nodes)
{
	if (!ops || !ops->alloc || !ops->free || !ops->send ||
	    !ops->install || !ops->first_touch || !ops->wake ||
	    !nr_nodes || self >= nr_nodes || nr_nodes == COH_NODE_NONE)
		return -COH_EINVAL;
	memset(node, 0, sizeof(*node));
	node->ops = ops;
	node->self = self;
	node->nr_nodes = nr_nodes;
	node->span = self + 1;
	return 0;
}

u32 coh_dir_queued(const struct coh_obj *obj, u32 node)
{
	const struct coh_qent *e;
	u32 n = 0;

	for (e = obj->dir.qhead; e; e = e->next)
		n += node == COH_NODE_NONE || e->src == node;
	return n;
}

void coh_node_span(struct coh_node *node, u32 id)
{
	if (id < node->nr_nodes && id >= coh_load(node->span))
		coh_store(node->span, id + 1);
}

void coh_obj_init(struct coh_node *node, struct coh_obj *obj, u32 set_id,
		  u64 obj_id, u32 home)
{
	memset(obj, 0, sizeof(*obj));
	obj->set_id = set_id;
	obj->obj_id = obj_id;
	obj->home = home;
	obj->state = COH_INVALID;
	/* distinct request ids for successive incarnations of an object */
	obj->req = node->obj_seq++ << 16;
	obj->done_req = obj->req;
	obj->dir.owner = COH_NODE_NONE;
	obj->dir.txn_requester = COH_NODE_NONE;
	obj->dir.txn_fwd = COH_NODE_NONE;
	if (home >= node->nr_nodes)
		obj->dead = true;
}

void coh_obj_destroy(struct coh_node *node, struct coh_obj *obj)
{
	struct coh_qent *e;

	while ((e = obj->dir.qhead)) {
		obj->dir.qhead = e->next;
		node->ops->free(node, e);
	}
	obj->dir.qtail = NULL;
	set_free(node, &obj->dir.copyset);
	set_free(node, &obj->dir.txnset);
	set_free(node, &obj->acked);
}

/* Error posted while @w was waiting?  0 if none. */
static int wait_err(const struct coh_obj *o, const struct coh_wait *w,
		    u32 seq)
{
	if (w && w->waiting)
		seq = w->err_seq;
	return seq != o->err_seq ? o->err : 0;
}

static int wait_end(struct coh_node *n, struct coh_obj *o,
		    struct coh_wait *w, int ret)
{
	if (!w || !w->waiting)
		return ret;
	w->waiting = false;
	if (o->nwaiters && !--o->nwaiters && o->reserved) {
		o->reserved = false;
		coh_kick(n, o);
	}
	return ret;
}

static int wait_begin(struct coh_node *n, struct coh_obj *o,
		      struct coh_wait *w, u32 flags)
{
	if (flags & COH_ASYNC)
		return wait_end(n, o, w, 0);
	if (flags & COH_TRY)
		return wait_end(n, o, w, -COH_EBUSY);
	if (!w)
		return -COH_EINVAL;
	if (!w->waiting) {
		w->waiting = true;
		w->err_seq = o->err_seq;
		o->nwaiters++;
	}
	return COH_WAIT;
}

void coh_wait_cancel(struct coh_node *node, struct coh_obj *obj,
		     struct coh_wait *w)
{
	wait_end(node, obj, w, 0);
}

/* Send a new request for the object, state must be stable and unfrozen. */
static int start_req(struct coh_node *n, struct coh_obj *o, u8 state,
		     u32 flags)
{
	struct coh_msg m;
	u16 type = COH_MSG_REQ_READ;

	o->reserved = false;
	if (o->has_deferred)
		coh_kick(n, o);
	if (o->state != COH_INVALID && o->state != COH_READ)
		return 0;	/* the replay changed the state: retry */
	if (state == COH_WAIT_WRITE) {
		if (set_prepare(n, &o->acked))
			return -COH_ENOMEM;
		set_clear(&o->acked);
		type = COH_MSG_REQ_WRITE;
		coh_stat_inc(&n->stats.grab_misses);
	} else {
		coh_stat_inc(&n->stats.get_misses);
	}
	msg_init(&m, type, n->self, ++o->req);
	if (o->state == COH_READ && state == COH_WAIT_WRITE)
		m.flags |= COH_MF_HAS_READ;
	else
		drop_data(n, o);
	if (flags & COH_NO_FT)
		m.flags |= COH_MF_NO_FT;
	o->state = state;
	o->acks_got = 0;
	o->acks_needed = 0;
	o->got_grant = false;
	o->abandoned = false;
	coh_xmit(n, o, o->home, &m, false);
	return 0;
}

static int coh_access(struct coh_node *n, struct coh_obj *o, u32 flags,
		      struct coh_wait *w, bool write)
{
	u32 seq = o->err_seq;
	int ret, i;

	for (i = 0; i < 2; i++) {
		if (o->dead)
			return wait_end(n, o, w, -COH_EHOSTDOWN);
		ret = wait_err(o, w, seq);
		if (ret)
			return wait_end(n, o, w, ret);
		if (o->state == COH_WRITE || (!write && o->state == COH_READ)) {
			if (o->writer || (write && o->readers))
				break;
			if (flags & COH_ASYNC)
				return wait_end(n, o, w, 0);
			o->reserved = false;
			if (write) {
				o->writer = true;
				coh_stat_inc(&n->stats.grabs);
			} else {
				o->readers++;
				coh_stat_inc(&n->stats.gets);
			}
			return wait_end(n, o, w, 0);
		}
		if (waiting_state(o) || i || (o->state == COH_READ &&
					      o->readers))
			break;
		if (flags & COH_TRY)
			return wait_end(n, o, w, -COH_EBUSY);
		ret = start_req(n, o, write ? COH_WAIT_WRITE : COH_WAIT_READ,
				flags);
		if (ret)
			return wait_end(n, o, w, ret);
	}
	return wait_begin(n, o, w, flags);
}

int coh_get(struct coh_node *node, struct coh_obj *obj, u32 flags,
	    struct coh_wait *w)
{
	return coh_access(node, obj, flags, w, false);
}

int coh_grab(struct coh_node *node, struct coh_obj *obj, u32 flags,
	     struct coh_wait *w)
{
	return coh_access(node, obj, flags, w, true);
}

int coh_put(struct coh_node *node, struct coh_obj *obj)
{
	if (obj->writer)
		obj->writer = false;
	else if (obj->readers)
		obj->readers--;
	else
		return -COH_EINVAL;
	coh_kick(node, obj);
	coh_wake(node, obj);
	return 0;
}

int coh_flush(struct coh_node *node, struct coh_obj *obj)
{
	struct coh_msg m;
	u8 state;

	if (obj->dead)
		return -COH_EHOSTDOWN;
	if (frozen(obj) || waiting_state(obj))
		return -COH_EBUSY;
	obj->reserved = false;
	coh_kick(node, obj);
	state = obj->state;
	if (state == COH_INVALID)
		return 0;
	coh_stat_inc(&node->stats.flushes);
	obj->state = COH_INVALID;
	if (is_home(node, obj)) {
		/* the home copy stays valid in the directory */
		if (state == COH_WRITE) {
			obj->dir.owner = COH_NODE_NONE;
			obj->dir.valid = true;
		}
		obj->has_data = false;
		dir_drain(node, obj);
		return 0;
	}
	if (state == COH_WRITE) {
		msg_init(&m, COH_MSG_FLUSH, node->self, obj->req);
		m.owner_req = obj->req;
		coh_xmit(node, obj, obj->home, &m, true);
	} else {
		send_simple(node, obj, obj->home, COH_MSG_DROP, node->self,
			    obj->req);
	}
	drop_data(node, obj);
	return 0;
}

bool coh_holds_data(const struct coh_node *node, const struct coh_obj *obj)
{
	const struct coh_dir *d = &obj->dir;

	if (obj->state != COH_INVALID || obj->has_data || frozen(obj) ||
	    obj->nwaiters || obj->has_deferred || obj->reserved)
		return true;
	return is_home(node, obj) &&
	       (d->valid || d->owner == node->self || d->lost || d->qhead ||
		d->txn != COH_TXN_NONE);
}

bool coh_evictable(const struct coh_node *node, const struct coh_obj *obj)
{
	const struct coh_dir *d = &obj->dir;

	if (!is_home(node, obj) || obj->dead || frozen(obj) ||
	    waiting_state(obj) || obj->nwaiters || obj->has_deferred ||
	    obj->reserved)
		return false;
	if (!d->exists || d->lost || d->draining || d->txn != COH_TXN_NONE ||
	    d->qhead || d->copyset.count || d->txnset.count)
		return false;
	if (d->owner == node->self)
		return obj->state == COH_WRITE;
	return d->owner == COH_NODE_NONE && d->valid;
}

int coh_evict(struct coh_node *node, struct coh_obj *obj)
{
	struct coh_dir *d = &obj->dir;

	if (!is_home(node, obj))
		return -COH_EINVAL;
	if (!coh_evictable(node, obj))
		return -COH_EBUSY;
	coh_stat_inc(&node->stats.evictions);
	obj->state = COH_INVALID;
	drop_data(node, obj);
	d->owner = COH_NODE_NONE;
	d->exists = false;
	d->valid = false;
	d->fuzzy = false;
	return 0;
}

static bool remove_done(const struct coh_obj *o, const struct coh_wait *w)
{
	return w && w->waiting && (s32)(o->done_req - w->req) >= 0;
}

int coh_remove(struct coh_node *node, struct coh_obj *obj, u32 flags,
	       struct coh_wait *w)
{
	u32 seq = obj->err_seq;
	int ret;

	if (obj->dead)
		return wait_end(node, obj, w, -COH_EHOSTDOWN);
	ret = wait_err(obj, w, seq);
	if (ret)
		return wait_end(node, obj, w, ret);
	if (remove_done(obj, w))
		return wait_end(node, obj, w, 0);
	if (obj->state == COH_WAIT_REMOVE) {
		if (w && !w->waiting)
			w->req = obj->req;
		return wait_begin(node, obj, w, flags);
	}
	if (frozen(obj) || waiting_state(obj))
		return wait_begin(node, obj, w, flags);
	flags &= ~COH_TRY;
	/* a writer hands its data back first: a FWD may cross the remove */
	if (obj->state == COH_WRITE && !is_home(node, obj))
		coh_flush(node, obj);
	if (waiting_state(obj))
		return wait_begin(node, obj, w, flags);
	obj->reserved = false;
	if (obj->has_deferred)
		coh_kick(node, obj);
	drop_data(node, obj);
	obj->state = COH_WAIT_REMOVE;
	coh_stat_inc(&node->stats.removes);
	send_simple(node, obj, obj->home, COH_MSG_REQ_REMOVE, node->self,
		    ++obj->req);
	if (w && !w->waiting)
		w->req = obj->req;
	if (obj->dead)
		return wait_end(node, obj, w, -COH_EHOSTDOWN);
	ret = wait_err(obj, w, seq);
	if (ret)
		return wait_end(node, obj, w, ret);
	if (obj->state == COH_INVALID && w)
		return wait_end(node, obj, w, 0);
	if (obj->state == COH_INVALID)
		return 0;
	return wait_begin(node, obj, w, flags);
}

int coh_rx(struct coh_node *node, struct coh_obj *obj,
	   const struct coh_msg *msg, void *data)
{
	if (!msg || msg->type == 0 || msg->type >= COH_MSG_NR ||
	    msg->src >= node->nr_nodes || msg->src == node->self ||
	    msg->set_id != obj->set_id || msg->obj_id != obj->obj_id)
		return coh_bad(node);
	return coh_rx_local(node, obj, msg, data);
}

/* The local copy and every wait go: the object is unusable here. */
static void kill_copy(struct coh_node *node, struct coh_obj *obj, int err)
{
	obj->dead = true;
	obj->state = COH_INVALID;
	obj->has_deferred = false;
	obj->got_grant = false;
	obj->reserved = false;
	drop_data(node, obj);
	post_err(node, obj, err);
}

void coh_node_down(struct coh_node *node, struct coh_obj *obj, u32 dead)
{
	if (dead >= node->nr_nodes || dead == node->self || obj->dead)
		return;
	if (is_home(node, obj)) {
		dir_node_down(node, obj, dead);
		return;
	}
	if (dead != obj->home)
		return;	/* missing INV_ACKs come from the home (proxy) */
	kill_copy(node, obj, -COH_EHOSTDOWN);
}

void coh_reset(struct coh_node *node, struct coh_obj *obj)
{
	struct coh_dir *d = &obj->dir;
	struct coh_qent *e;

	while ((e = d->qhead)) {
		d->qhead = e->next;
		node->ops->free(node, e);
	}
	set_free(node, &d->copyset);
	set_free(node, &d->txnset);
	set_free(node, &obj->acked);
	memset(d, 0, sizeof(*d));
	d->owner = COH_NODE_NONE;
	d->txn_requester = COH_NODE_NONE;
	d->txn_fwd = COH_NODE_NONE;
	kill_copy(node, obj, -COH_ENOLINK);
}
