// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-sim: runs the kDDM coherence engine (kddm/coh/coh.c) on N simulated
 * nodes in one process, with a seeded random schedule of local operations,
 * message deliveries (FIFO per ordered pair of nodes) and node crashes, and
 * checks the coherence invariants after every step.
 *
 * With --partition (and --loss), kDDM's membership rules are modelled too
 * (kddm/membership.c): links are cut (a minority of the nodes, or one
 * link), each node detects each lost peer on its own, at a random later
 * step; a node without a strict majority of the nodes (a tie goes to the
 * side of node 0) is fenced: coh_reset() of every object, and it rejoins
 * as a new incarnation with fresh objects once the cut heals; where both
 * ends of a cut link keep a majority, the higher id resets and rejoins. A
 * message lost while both nodes stay up (--loss) cuts that link. Messages
 * of an old incarnation, or from a node the receiver saw down, are never
 * delivered. Between the home's detection of a node and that node's
 * detection of the home, its copy is orphaned: it may be stale and its
 * writes reach nobody (kDDM has no leases). A node at either end of a cut
 * link, and any node that took a message from such a node during the
 * cut, is tainted until the cut heals: its copies are not checked while
 * tainted, and an object it changed keeps its structural checks (one
 * writer or readers, directory against copies) but not the comparison
 * with the last committed value, which an orphaned writer can make wrong
 * for good. The stale reads these serve are counted and printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <time.h>

#include "coh.h"

#define NTHREADS	3

enum { OP_NONE, OP_GET, OP_GRAB, OP_REMOVE };
enum { T_IDLE, T_WAIT, T_HOLD };

struct sobj {
	struct coh_obj c;	/* first: coh_obj * == sobj * */
	u64 val;
	bool dirty;		/* home: changed since stored (kddm.ko's) */
	bool freed;		/* storage freed (!coh_holds_data()) */
};

/* The value of freed storage: exporting it is a failure. */
#define POISON	0xdeadbeefdeadbeefULL

struct thr {
	int st;
	int op;
	u32 obj;
	u32 flags;
	u32 hold;
	bool woken;
	u32 wake_depth;
	u32 start_step;
	struct coh_wait w;
};

struct snode {
	struct coh_node c;	/* first */
	struct sobj *objs;
	struct thr thr[NTHREADS];
	bool alive;
	bool fenced;		/* reset, waiting for the cut to heal */
	u32 inc;		/* incarnation */
};

struct smsg {
	struct smsg *next;
	struct coh_msg m;
	u64 data;
	bool has_data;
	u32 depth;
	u32 src_inc, dst_inc;
};

struct chan {
	struct smsg *head, *tail;
	u32 pos;		/* index in nonempty[] */
};

/* simulation state */
static u32 N, M;
static struct snode *nodes;
static struct chan **chans;	/* N * N, lazily allocated */
static u32 *nonempty;
static u32 nnonempty;
static u64 *committed;
static bool *lost_ever;		/* object lost or reloaded after a crash */
static u64 *stored;		/* backing store of evicted objects */
static bool *evicted;		/* evicted: the next first touch loads */
static u64 rng;
static u64 seed;
static u64 step;
static u32 cur_depth;
static long allocs;
static bool crashed_any;
static u64 net_msgs;
static u32 ncrash;

/* membership model (--partition, --loss) */
static bool partitions, losses;
static unsigned char *sees_down;	/* N * N: [i * N + j] i saw j down */
static unsigned char *cut;		/* N * N: link i -> j cut */
static u32 *pending;			/* detections to come: i * N + j */
static u32 npending;
static bool cut_active;
static unsigned char *tainted;		/* N: took part in a cut (see below) */
static unsigned char *obj_tainted;	/* M: a tainted node changed it */
static u64 nfences, nstale_window, nlost;

/* statistics of one run */
static u64 ops_done, ops_failed, msgs_total;

static const char *const msg_names[COH_MSG_NR] = {
	[COH_MSG_REQ_READ] = "REQ_READ", [COH_MSG_REQ_WRITE] = "REQ_WRITE",
	[COH_MSG_REQ_REMOVE] = "REQ_REMOVE", [COH_MSG_DATA] = "DATA",
	[COH_MSG_GRANT_WRITE] = "GRANT_WRITE", [COH_MSG_INV] = "INV",
	[COH_MSG_INV_ACK] = "INV_ACK", [COH_MSG_FWD_READ] = "FWD_READ",
	[COH_MSG_FWD_WRITE] = "FWD_WRITE", [COH_MSG_WRITEBACK] = "WRITEBACK",
	[COH_MSG_FLUSH] = "FLUSH", [COH_MSG_DROP] = "DROP",
	[COH_MSG_RM] = "RM", [COH_MSG_RM_ACK] = "RM_ACK",
	[COH_MSG_RM_DONE] = "RM_DONE", [COH_MSG_NO_OBJECT] = "NO_OBJECT",
	[COH_MSG_ERROR] = "ERROR", [COH_MSG_DONE] = "DONE",
	[COH_MSG_PROBE] = "PROBE", [COH_MSG_NODATA] = "NODATA",
	[COH_MSG_RECALL] = "RECALL",
};

static bool verbose, quiet;
static u64 tot_fences, tot_stale, tot_evictions, tot_frees;

static u64 rnd(void)
{
	u64 z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u32 rndn(u32 n)
{
	return (u32)(rnd() % n);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sim: INVARIANT VIOLATION (nodes %u, objects %u, seed %llu, step %llu): ",
		N, M, (unsigned long long)seed, (unsigned long long)step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static struct snode *SN(struct coh_node *n)
{
	return (struct snode *)n;
}

static struct sobj *SO(struct coh_obj *o)
{
	return (struct sobj *)o;
}

static u32 home_of(u32 obj)
{
	return (obj * 2654435761U) % N;
}

/* ops */

static void *s_alloc(struct coh_node *n, u32 size)
{
	(void)n;
	allocs++;
	return malloc(size);
}

static void s_free(struct coh_node *n, void *p)
{
	(void)n;
	allocs--;
	free(p);
}

static void chan_push(u32 src, u32 dst, struct smsg *sm)
{
	u32 id = src * N + dst;
	struct chan *c = chans[id];

	if (!c) {
		c = calloc(1, sizeof(*c));
		chans[id] = c;
	}
	sm->next = NULL;
	if (c->tail) {
		c->tail->next = sm;
	} else {
		c->head = sm;
		c->pos = nnonempty;
		nonempty[nnonempty++] = id;
	}
	c->tail = sm;
}

static struct smsg *chan_pop(u32 id)
{
	struct chan *c = chans[id];
	struct smsg *sm = c->head;

	c->head = sm->next;
	if (!c->head) {
		u32 last = nonempty[--nnonempty];

		c->tail = NULL;
		nonempty[c->pos] = last;
		chans[last]->pos = c->pos;
	}
	return sm;
}

static void s_send(struct coh_node *n, struct coh_obj *o, u32 dst,
		   const struct coh_msg *m, bool with_data)
{
	struct smsg *sm;

	if (dst >= N || dst == n->self)
		fail("send to bad node %u from %u", dst, n->self);
	if (m->set_id != o->set_id || m->obj_id != o->obj_id)
		fail("send: message names another object");
	net_msgs++;
	if (!nodes[dst].alive || nodes[n->self].fenced ||
	    (sees_down && (sees_down[n->self * N + dst] ||
			   cut[n->self * N + dst])))
		return;		/* no member there, or the link is cut */
	sm = calloc(1, sizeof(*sm));
	sm->src_inc = nodes[n->self].inc;
	sm->dst_inc = nodes[dst].inc;
	sm->m = *m;
	sm->has_data = with_data;
	if (with_data && SO(o)->freed)
		fail("node %u obj %llu: message %u exports freed storage",
		     n->self, (unsigned long long)o->obj_id, m->type);
	sm->data = SO(o)->val;
	sm->depth = cur_depth + 1;
	chan_push(n->self, dst, sm);
}

static void s_install(struct coh_node *n, struct coh_obj *o, void *data)
{
	SO(o)->freed = false;
	SO(o)->val = *(u64 *)data;
	if (o->home == n->self)
		SO(o)->dirty = true;	/* a writer's data came back */
}

static int s_first_touch(struct coh_node *n, struct coh_obj *o)
{
	(void)n;
	SO(o)->freed = false;
	SO(o)->dirty = false;
	if (evicted[o->obj_id]) {
		/* written back at the eviction: read back */
		evicted[o->obj_id] = false;
		SO(o)->val = stored[o->obj_id];
		return 0;
	}
	SO(o)->val = 0;
	stored[o->obj_id] = 0;	/* what first touch read */
	committed[o->obj_id] = 0;
	return 0;
}

static int s_reload(struct coh_node *n, struct coh_obj *o)
{
	(void)n;
	lost_ever[o->obj_id] = true;
	if (o->obj_id & 1)
		return -COH_EIO;	/* no backing store */
	/* write-through backing store: holds the last committed value */
	SO(o)->freed = false;
	SO(o)->val = committed[o->obj_id];
	stored[o->obj_id] = SO(o)->val;
	SO(o)->dirty = false;
	return 0;
}

static void s_wake(struct coh_node *n, struct coh_obj *o)
{
	struct snode *sn = SN(n);
	int i;

	for (i = 0; i < NTHREADS; i++) {
		struct thr *t = &sn->thr[i];

		if (t->st == T_WAIT && t->obj == o->obj_id && !t->woken) {
			t->woken = true;
			t->wake_depth = cur_depth;
		}
	}
}

static const struct coh_ops sim_ops = {
	.alloc = s_alloc,
	.free = s_free,
	.send = s_send,
	.install = s_install,
	.first_touch = s_first_touch,
	.reload = s_reload,
	.wake = s_wake,
};

/* invariants */

static bool stable(const struct coh_obj *o)
{
	return o->state == COH_READ || o->state == COH_WRITE;
}

static bool member(u32 i)
{
	return nodes[i].alive && !nodes[i].fenced;
}

/*
 * Node @i's copy of @obj is orphaned: the home saw @i down (and forgot
 * the copy) while @i has not yet seen the home down. Until it does, @i
 * may read a stale value and its writes are lost (kDDM has no leases).
 */
static bool orphaned(u32 i, u32 obj)
{
	u32 h = home_of(obj);

	return sees_down && h != i && sees_down[h * N + i] &&
	       !sees_down[i * N + h];
}

static void check_obj(u32 obj)
{
	u32 i, writers = 0, readers = 0, w = 0;
	const struct coh_obj *hc;

	if (!member(home_of(obj)))
		return;
	for (i = 0; i < N; i++) {
		struct sobj *so;

		if (!member(i) || orphaned(i, obj) || tainted[i])
			continue;
		so = &nodes[i].objs[obj];
		if (so->c.dead)
			continue;
		if (so->c.state == COH_WRITE) {
			writers++;
			w = i;
		} else if (so->c.state == COH_READ) {
			readers++;
		}
		if (stable(&so->c) && so->val != committed[obj] &&
		    !obj_tainted[obj])
			fail("obj %u: node %u holds a %s copy with value %llu, last committed %llu",
			     obj, i, so->c.state == COH_READ ? "READ" : "WRITE",
			     (unsigned long long)so->val,
			     (unsigned long long)committed[obj]);
	}
	/* the home queues at most one request per node */
	hc = &nodes[home_of(obj)].objs[obj].c;
	if (coh_dir_queued(hc, COH_NODE_NONE) > N)
		fail("obj %u: %u requests queued at the home", obj,
		     coh_dir_queued(hc, COH_NODE_NONE));
	for (i = 0; N <= 16 && i < N; i++)
		if (coh_dir_queued(hc, i) > 1)
			fail("obj %u: %u requests of node %u queued", obj,
			     coh_dir_queued(hc, i), i);
	if (writers > 1)
		fail("obj %u: %u writers", obj, writers);
	if (writers && readers)
		fail("obj %u: writer %u and %u readers", obj, w, readers);
}

static void check_all(void)
{
	u32 o;

	for (o = 0; o < M; o++)
		check_obj(o);
}

/* A node set holds ids below its words * 64 (it grows as ids come). */
static bool in_set(const struct coh_set *s, u32 id)
{
	return s->bits && id < s->words * 64 &&
	       (s->bits[id >> 6] >> (id & 63)) & 1;
}

/* quiescence: directory agrees with the copies */

static void check_quiescent(void)
{
	u32 obj, i;

	for (obj = 0; obj < M; obj++) {
		u32 h = home_of(obj);
		struct coh_dir *d;
		struct sobj *hs;
		u32 writer = COH_NODE_NONE;

		if (!nodes[h].alive)
			continue;
		hs = &nodes[h].objs[obj];
		d = &hs->c.dir;
		if (d->txn || d->qhead)
			fail("obj %u: home %u busy at quiescence (txn %u)",
			     obj, h, d->txn);
		for (i = 0; i < N; i++) {
			struct coh_obj *c;

			if (!nodes[i].alive)
				continue;
			c = &nodes[i].objs[obj].c;
			if (c->state > COH_WRITE || c->has_deferred ||
			    c->nwaiters || c->readers || c->writer)
				fail("obj %u: node %u not quiescent (state %u deferred %d waiters %u)",
				     obj, i, c->state, c->has_deferred,
				     c->nwaiters);
			if (c->state == COH_WRITE)
				writer = i;
			if (i == h)
				continue;
			if (c->state == COH_READ && !in_set(&d->copyset, i))
				fail("obj %u: node %u has a READ copy unknown to home %u",
				     obj, i, h);
			if (c->state != COH_READ && !d->lost && !crashed_any &&
			    in_set(&d->copyset, i))
				fail("obj %u: home %u lists node %u in the copyset, state %u",
				     obj, h, i, c->state);
		}
		if (d->owner != writer)
			fail("obj %u: home %u says owner %d, writer is %d",
			     obj, h, (int)d->owner, (int)writer);
		if (d->owner == COH_NODE_NONE && d->exists && !d->lost &&
		    !obj_tainted[obj] && hs->val != committed[obj])
			fail("obj %u: home data %llu != committed %llu", obj,
			     (unsigned long long)hs->val,
			     (unsigned long long)committed[obj]);
	}
}

/* deliveries */

static void deliver(u32 id)
{
	struct smsg *sm = chan_pop(id);
	u32 src = id / N, dst = id % N;
	struct coh_msg m = sm->m;
	struct snode *sn = &nodes[dst];
	int ret;

	m.src = src;
	if (m.obj_id >= M || !sn->alive)
		fail("bad delivery");
	if (sn->fenced || sm->src_inc != nodes[src].inc ||
	    sm->dst_inc != sn->inc ||
	    (sees_down && (sees_down[dst * N + src] || cut[src * N + dst]))) {
		free(sm);	/* old incarnation, or from a node seen down */
		return;
	}
	if (cut_active && tainted[src]) {
		tainted[dst] = 1;
		if (sm->has_data)
			obj_tainted[m.obj_id] = 1;
	}
	cur_depth = sm->depth;
	if (verbose)
		fprintf(stderr, "%llu: %u->%u %s obj %llu req %u\n",
			(unsigned long long)step, src, dst,
			msg_names[m.type], (unsigned long long)m.obj_id,
			m.req);
	ret = coh_rx(&sn->c, &sn->objs[m.obj_id].c, &m,
		     sm->has_data ? &sm->data : NULL);
	if (ret && !crashed_any)
		fail("coh_rx(%s %u->%u obj %llu) returned %d without any crash",
		     msg_names[m.type], src, dst,
		     (unsigned long long)m.obj_id, ret);
	cur_depth = 0;
	free(sm);
	check_obj((u32)m.obj_id);
}

/* operations */

static u64 lat_sum[4], lat_n[4];

static void op_done(struct snode *sn, struct thr *t, int ret)
{
	u32 self = sn->c.self;
	struct sobj *so = &sn->objs[t->obj];

	if (ret == COH_WAIT) {
		if (t->st != T_WAIT) {
			t->st = T_WAIT;
			t->woken = false;
		}
		return;
	}
	if (ret < 0) {
		ops_failed++;
		switch (ret) {
		case -COH_EBUSY:
		case -COH_ENOENT:
			break;
		case -COH_EIO:
		case -COH_EHOSTDOWN:
		case -COH_ENOLINK:
			if (!crashed_any)
				fail("node %u obj %u: error %d without crash",
				     self, t->obj, ret);
			break;
		default:
			fail("node %u obj %u op %d: unexpected error %d",
			     self, t->obj, t->op, ret);
		}
		t->st = T_IDLE;
		return;
	}
	ops_done++;
	if (t->st == T_WAIT) {
		lat_sum[t->op] += t->wake_depth;
		lat_n[t->op]++;
	} else {
		lat_n[t->op]++;
	}
	if (t->op == OP_REMOVE || (t->flags & (COH_ASYNC))) {
		t->st = T_IDLE;
		return;
	}
	if (t->op == OP_GRAB && home_of(t->obj) == self)
		so->dirty = true;
	if (so->val != committed[t->obj] &&
	    (orphaned(self, t->obj) || tainted[self] || obj_tainted[t->obj])) {
		nstale_window++;	/* no leases: see the top comment */
	} else if (so->val != committed[t->obj])
		fail("node %u obj %u: %s returned value %llu, last committed %llu (stale read)",
		     self, t->obj, t->op == OP_GET ? "get" : "grab",
		     (unsigned long long)so->val,
		     (unsigned long long)committed[t->obj]);
	if (t->op == OP_GET && so->c.state != COH_READ &&
	    so->c.state != COH_WRITE)
		fail("get succeeded in state %u", so->c.state);
	if (t->op == OP_GRAB && (so->c.state != COH_WRITE || !so->c.writer))
		fail("grab succeeded in state %u", so->c.state);
	t->st = T_HOLD;
	t->hold = 1 + rndn(20);
}

static int do_call(struct snode *sn, struct thr *t)
{
	struct coh_obj *o = &sn->objs[t->obj].c;
	struct coh_wait *w = (t->flags & (COH_ASYNC | COH_TRY)) ? NULL : &t->w;
	u32 h = home_of(t->obj);

	/* as kddm/object.c, before a first call: a home down cannot answer */
	if (t->st == T_IDLE && h != sn->c.self && sees_down &&
	    sees_down[sn->c.self * N + h])
		return -COH_EHOSTDOWN;

	switch (t->op) {
	case OP_GET:
		return coh_get(&sn->c, o, t->flags, w);
	case OP_GRAB:
		return coh_grab(&sn->c, o, t->flags, w);
	default:
		return coh_remove(&sn->c, o, t->flags, w);
	}
}

static void maybe_afresh(struct snode *sn, u32 obj);

static void release(struct snode *sn, struct thr *t)
{
	struct sobj *so = &sn->objs[t->obj];

	if (t->op == OP_GRAB && !so->c.dead) {
		so->val++;
		/* the write of an orphaned copy reaches nobody */
		if (!orphaned(sn->c.self, t->obj))
			committed[t->obj] = so->val;
		if (tainted[sn->c.self])
			obj_tainted[t->obj] = 1;
	}
	if (coh_put(&sn->c, &so->c))
		fail("put failed");
	t->st = T_IDLE;
	check_obj(t->obj);
}

/*
 * The home writes the object back and forgets it (kddm.ko's cache bound):
 * what it stores must be the last committed value.
 */
static void evict(struct snode *sn, u32 obj)
{
	struct sobj *so = &sn->objs[obj];
	int ret;

	if (!coh_evictable(&sn->c, &so->c)) {
		ret = coh_evict(&sn->c, &so->c);
		if (ret != -COH_EBUSY && ret != -COH_EINVAL)
			fail("evict of a busy object: %d", ret);
		return;
	}
	if (so->val != committed[obj] && !tainted[sn->c.self] &&
	    !obj_tainted[obj])
		fail("node %u obj %u: evicts value %llu, last committed %llu",
		     sn->c.self, obj, (unsigned long long)so->val,
		     (unsigned long long)committed[obj]);
	/* as kddm.ko: only what changed since it was stored is written */
	if (!so->dirty && so->val != stored[obj] && !tainted[sn->c.self] &&
	    !obj_tainted[obj] && !crashed_any)
		fail("node %u obj %u: clean, value %llu, stored %llu",
		     sn->c.self, obj, (unsigned long long)so->val,
		     (unsigned long long)stored[obj]);
	if (so->dirty)
		stored[obj] = so->val;
	so->dirty = false;
	evicted[obj] = true;
	tot_evictions++;
	ret = coh_evict(&sn->c, &so->c);
	if (ret)
		fail("evict: %d", ret);
}

static void start_op(struct snode *sn, struct thr *t)
{
	u32 r = rndn(100);
	int ret;

	t->obj = rndn(M);
	t->flags = 0;
	coh_wait_init(&t->w);
	maybe_afresh(sn, t->obj);
	/* as kddm.ko's cache bound: storage the protocol does not use goes */
	if (!coh_holds_data(&sn->c, &sn->objs[t->obj].c) && rndn(2) &&
	    !sn->objs[t->obj].freed) {
		sn->objs[t->obj].val = POISON;
		sn->objs[t->obj].freed = true;
		tot_frees++;
	}
	if (r < 10 && home_of(t->obj) == sn->c.self && rndn(2)) {
		evict(sn, t->obj);
		check_obj(t->obj);
		return;
	}
	if (r < 10) {
		ret = coh_flush(&sn->c, &sn->objs[t->obj].c);
		if (ret && ret != -COH_EBUSY && ret != -COH_EHOSTDOWN)
			fail("flush: %d", ret);
		check_obj(t->obj);
		return;
	}
	if (r < 45) {
		t->op = OP_GET;
	} else if (r < 80) {
		t->op = OP_GRAB;
	} else if (r < 88) {
		t->op = rndn(2) ? OP_GET : OP_GRAB;
		t->flags = COH_ASYNC;
	} else if (r < 92) {
		t->op = OP_GET;
		t->flags = COH_TRY;
	} else if (r < 96) {
		t->op = rndn(2) ? OP_GET : OP_GRAB;
		t->flags = COH_NO_FT;
	} else {
		t->op = OP_REMOVE;
	}
	t->st = T_IDLE;
	op_done(sn, t, do_call(sn, t));
	check_obj(t->obj);
}

static void thread_step(struct snode *sn, struct thr *t, bool drain)
{
	switch (t->st) {
	case T_IDLE:
		if (!drain)
			start_op(sn, t);
		break;
	case T_HOLD:
		if (drain || !--t->hold)
			release(sn, t);
		break;
	case T_WAIT:
		if (t->woken) {
			t->woken = false;
			op_done(sn, t, do_call(sn, t));
			check_obj(t->obj);
		}
		break;
	}
}

static void drop_channels(u32 k)
{
	u32 i;
	int d;

	for (i = 0; i < N; i++) {
		u32 ids[2] = { k * N + i, i * N + k };

		for (d = 0; d < 2; d++)
			while (chans[ids[d]] && chans[ids[d]]->head)
				free(chan_pop(ids[d]));
	}
}

static void crash(u32 victim)
{
	u32 i, o;

	if (verbose)
		fprintf(stderr, "%llu: crash of node %u\n",
			(unsigned long long)step, victim);
	crashed_any = true;
	ncrash++;
	nodes[victim].alive = false;
	for (i = 0; i < N; i++)	/* everyone sees a crash at once */
		sees_down[i * N + victim] = 1;
	drop_channels(victim);
	for (o = 0; o < M; o++)
		coh_obj_destroy(&nodes[victim].c, &nodes[victim].objs[o].c);
	for (i = 0; i < N; i++) {
		if (!nodes[i].alive)
			continue;
		for (o = 0; o < M; o++)
			coh_node_down(&nodes[i].c, &nodes[i].objs[o].c,
				      victim);
	}
	check_all();
}

/* membership model: partitions, fencing, rejoin (see the top comment) */

static void fence(u32 k);

/* In @i's view, a strict majority of the N nodes is up, or half with 0. */
static bool has_majority(u32 i)
{
	u32 j, up = 0;

	for (j = 0; j < N; j++)
		up += !sees_down[i * N + j];
	return 2 * up > N || (2 * up == N && !sees_down[i * N]);
}

/* Node @i learns that @j is down (TIPC withdrew it). */
static void detect(u32 i, u32 j)
{
	u32 o;

	if (sees_down[i * N + j] || !nodes[i].alive)
		return;
	sees_down[i * N + j] = 1;
	if (nodes[i].fenced)
		return;		/* its objects went with the reset */
	if (verbose)
		fprintf(stderr, "%llu: node %u sees node %u down\n",
			(unsigned long long)step, i, j);
	for (o = 0; o < M; o++)
		coh_node_down(&nodes[i].c, &nodes[i].objs[o].c, j);
	if (!has_majority(i))
		fence(i);
}


/* The thread's operation ends: its object was reset under it. */
static void end_thread(struct snode *sn, struct thr *t)
{
	if (t->st == T_HOLD) {
		release(sn, t);
	} else if (t->st == T_WAIT) {
		t->woken = false;
		op_done(sn, t, do_call(sn, t));
		if (t->st != T_IDLE)
			fail("node %u: a waiter survived the reset",
			     sn->c.self);
	}
}

/*
 * Node @k fences itself: every object reset, every operation ends, its
 * socket closes (the nodes still linked to it see it go at once).
 */
static void fence(u32 k)
{
	struct snode *sn = &nodes[k];
	u32 o, j;
	int t;

	if (sn->fenced || !sn->alive)
		return;
	if (verbose)
		fprintf(stderr, "%llu: node %u fenced\n",
			(unsigned long long)step, k);
	sn->fenced = true;
	nfences++;
	crashed_any = true;
	for (o = 0; o < M; o++)
		coh_reset(&sn->c, &sn->objs[o].c);
	for (t = 0; t < NTHREADS; t++)
		end_thread(sn, &sn->thr[t]);
	drop_channels(k);
	for (j = 0; j < N; j++)
		if (j != k && !cut[j * N + k])
			detect(j, k);
}

/* Node @k, fenced, joins again as a new incarnation with fresh objects. */
static void rejoin(u32 k)
{
	struct snode *sn = &nodes[k];
	u32 o, j;

	for (j = 0; j < N; j++)
		if (j != k && member(j) && !sees_down[j * N + k])
			fail("node %u rejoins before node %u saw it down", k, j);
	for (o = 0; o < M; o++) {
		coh_obj_destroy(&sn->c, &sn->objs[o].c);
		coh_obj_init(&sn->c, &sn->objs[o].c, 1, o, home_of(o));
	}
	sn->inc++;
	sn->fenced = false;
	/* fenced nodes are down to it until they rejoin too */
	for (j = 0; j < N; j++) {
		sees_down[k * N + j] = j != k && !member(j);
		if (j != k)
			sees_down[j * N + k] = 0;
	}
	if (verbose)
		fprintf(stderr, "%llu: node %u rejoined\n",
			(unsigned long long)step, k);
}

/*
 * An object whose home left and is back is started afresh at its next
 * use, once nothing holds it (kddm/object.c obj_get_locked()).
 */
static void maybe_afresh(struct snode *sn, u32 obj)
{
	struct coh_obj *c = &sn->objs[obj].c;
	u32 h = home_of(obj);

	if (!c->dead || h == sn->c.self || !member(h) ||
	    sees_down[sn->c.self * N + h] || c->readers || c->writer ||
	    c->nwaiters || c->has_deferred)
		return;
	coh_obj_destroy(&sn->c, c);
	coh_obj_init(&sn->c, c, 1, obj, h);
}

static void cut_link(u32 a, u32 b)
{
	if (cut[a * N + b])
		return;
	cut[a * N + b] = cut[b * N + a] = 1;
	tainted[a] = tainted[b] = 1;
	pending[npending++] = a * N + b;
	pending[npending++] = b * N + a;
}

static int member_node(void)
{
	u32 i, start = rndn(N);

	for (i = 0; i < N; i++)
		if (member((start + i) % N))
			return (int)((start + i) % N);
	return -1;
}

/* A minority of the members cut off from the rest, or one link cut. */
static void start_partition(void)
{
	u32 i, j, s, n = 0, max = N >= 3 ? (N - 1) / 2 : 0;
	unsigned char *in = calloc(N, 1);
	int k;

	if (max > 3)
		max = 3;
	if (!max || rndn(2)) {		/* one link */
		k = member_node();
		i = (u32)k;
		j = (u32)member_node();
		if (k >= 0 && i != j && member(j))
			cut_link(i, j);
	} else {
		s = 1 + rndn(max);
		for (n = 0; n < s; n++) {
			k = member_node();
			if (k >= 0)
				in[k] = 1;
		}
		for (i = 0; i < N; i++)
			for (j = 0; j < N; j++)
				if (in[i] && !in[j] && member(i) && member(j))
					cut_link(i, j);
	}
	free(in);
	if (npending) {
		cut_active = true;
		crashed_any = true;
	}
}

/* A message in flight between two members is lost: that link breaks. */
static void lose_one(void)
{
	u32 id = nonempty[rndn(nnonempty)], a = id / N, b = id % N;

	if (!member(a) || !member(b) || cut[id])
		return;
	free(chan_pop(id));
	nlost++;
	cut_link(a, b);
	cut_active = true;
	crashed_any = true;
}

static void detect_one(void)
{
	u32 k = rndn(npending), p = pending[k];

	pending[k] = pending[--npending];
	detect(p / N, p % N);
}

/*
 * The cut heals once every detection was made: fenced nodes rejoin, and
 * of two members that saw each other down the higher id resets.
 */
static void heal(void)
{
	u32 i, j;

	memset(cut, 0, (size_t)N * N);
	cut_active = false;
	memset(tainted, 0, N);
	for (i = 0; i < N; i++)
		if (nodes[i].alive && nodes[i].fenced)
			rejoin(i);
	for (i = N; i-- > 0; ) {
		for (j = 0; j < i && member(i); j++) {
			if (!member(j) || (!sees_down[i * N + j] &&
					   !sees_down[j * N + i]))
				continue;
			fence(i);
			rejoin(i);
		}
	}
}

/* setup / teardown */

static void setup(u32 n, u32 m, u64 s)
{
	u32 i, o;

	N = n;
	M = m;
	seed = s;
	rng = s * 0x2545f4914f6cdd1dULL + n;
	step = 0;
	crashed_any = false;
	ncrash = 0;
	ops_done = ops_failed = 0;
	net_msgs = 0;
	memset(lat_sum, 0, sizeof(lat_sum));
	memset(lat_n, 0, sizeof(lat_n));
	nodes = calloc(N, sizeof(*nodes));
	chans = calloc((size_t)N * N, sizeof(*chans));
	nonempty = calloc((size_t)N * N, sizeof(*nonempty));
	nnonempty = 0;
	committed = calloc(M, sizeof(*committed));
	lost_ever = calloc(M, sizeof(*lost_ever));
	stored = calloc(M, sizeof(*stored));
	evicted = calloc(M, sizeof(*evicted));
	sees_down = calloc((size_t)N * N, 1);
	tainted = calloc(N, 1);
	obj_tainted = calloc(M, 1);
	cut = calloc((size_t)N * N, 1);
	pending = calloc((size_t)N * N, sizeof(*pending));
	npending = 0;
	cut_active = false;
	nfences = nstale_window = nlost = 0;
	for (i = 0; i < N; i++) {
		struct snode *sn = &nodes[i];

		if (coh_node_init(&sn->c, &sim_ops, i, N))
			fail("coh_node_init");
		sn->alive = true;
		sn->objs = calloc(M, sizeof(*sn->objs));
		for (o = 0; o < M; o++)
			coh_obj_init(&sn->c, &sn->objs[o].c, 1, o, home_of(o));
	}
}

static void teardown(void)
{
	u32 i, o;

	for (i = 0; i < N; i++) {
		if (nodes[i].alive)
			for (o = 0; o < M; o++)
				coh_obj_destroy(&nodes[i].c,
						&nodes[i].objs[o].c);
		free(nodes[i].objs);
	}
	for (i = 0; i < N * N; i++) {
		if (!chans[i])
			continue;
		while (chans[i]->head)
			free(chan_pop(i));
		free(chans[i]);
	}
	free(chans);
	free(nonempty);
	free(nodes);
	free(committed);
	free(lost_ever);
	free(stored);
	free(evicted);
	free(sees_down);
	free(tainted);
	free(obj_tainted);
	free(cut);
	free(pending);
	sees_down = NULL;
	if (allocs)
		fail("%ld engine allocations leaked", allocs);
}

static u32 alive_node(void)
{
	u32 i;

	do {
		i = rndn(N);
	} while (!nodes[i].alive);
	return i;
}

static void drain(void)
{
	u64 guard = 0;
	bool busy;
	u32 i;
	int k;

	do {
		busy = false;
		for (i = 0; i < N; i++) {
			if (!nodes[i].alive)
				continue;
			for (k = 0; k < NTHREADS; k++) {
				struct thr *t = &nodes[i].thr[k];

				if (t->st == T_HOLD ||
				    (t->st == T_WAIT && t->woken)) {
					thread_step(&nodes[i], t, true);
					busy = true;
				}
			}
		}
		while (nnonempty) {
			deliver(nonempty[rndn(nnonempty)]);
			busy = true;
			step++;
			if (rndn(4) == 0)
				break;
		}
		if (++guard > 100000000ULL)
			fail("drain does not terminate (livelock)");
	} while (busy);
	for (i = 0; i < N; i++) {
		if (!nodes[i].alive)
			continue;
		for (k = 0; k < NTHREADS; k++)
			if (nodes[i].thr[k].st != T_IDLE)
				fail("node %u thread %d still waiting on obj %u op %d at quiescence (deadlock or lost wakeup)",
				     i, k, nodes[i].thr[k].obj,
				     nodes[i].thr[k].op);
	}
	check_quiescent();
}

static u64 total_sent(void)
{
	return net_msgs;
}

/* one randomized run; returns messages per completed op */
static double run(u32 n, u32 m, u64 s, u64 steps, bool crashes)
{
	u32 max_crash = n >= 3 ? (n / 8 ? n / 8 : 1) : 0;
	u64 i;
	double r;

	setup(n, m, s);
	for (i = 0; i < steps; i++) {
		u32 x = rndn(1000);
		int k;

		step = i;
		if (crashes && ncrash < max_crash && x == 0) {
			crash(alive_node());
		} else if (partitions && !cut_active && x == 1) {
			start_partition();
		} else if (losses && !cut_active && nnonempty && x == 2) {
			lose_one();
		} else if (npending && x >= 900) {
			detect_one();
		} else if (cut_active && !npending && x >= 980) {
			heal();
		} else if (nnonempty && x < 500) {
			deliver(nonempty[rndn(nnonempty)]);
		} else if ((k = member_node()) >= 0) {
			struct snode *sn = &nodes[k];

			thread_step(sn, &sn->thr[rndn(NTHREADS)], false);
		}
	}
	while (npending)
		detect_one();
	if (cut_active)
		heal();
	drain();
	msgs_total = total_sent();
	if (!crashed_any) {
		u32 j;

		for (j = 0; j < N; j++)
			if (nodes[j].c.stats.dropped)
				fail("node %u dropped %llu messages without crash",
				     j, (unsigned long long)
				     nodes[j].c.stats.dropped);
	}
	r = ops_done ? (double)msgs_total / (double)ops_done : 0;
	if (verbose || ((partitions || losses) && !quiet))
		printf("nodes %u seed %llu: %llu fences, %llu messages lost, %llu stale reads from orphaned copies\n",
		       n, (unsigned long long)s, (unsigned long long)nfences,
		       (unsigned long long)nlost,
		       (unsigned long long)nstale_window);
	tot_fences += nfences;
	tot_stale += nstale_window;
	teardown();
	return r;
}

/* deterministic measurements */

struct meas {
	u64 msgs;
	u32 lat;
};

static void settle(void)
{
	while (nnonempty)
		deliver(nonempty[rndn(nnonempty)]);
}

/* run op on node/obj to completion; returns messages and latency (hops) */
static struct meas measure(u32 node, u32 obj, int op)
{
	struct snode *sn = &nodes[node];
	struct thr *t = &sn->thr[0];
	u64 before = total_sent();
	struct meas r = { 0, 0 };
	int ret;

	t->obj = obj;
	t->op = op;
	t->flags = 0;
	t->st = T_IDLE;
	coh_wait_init(&t->w);
	ret = do_call(sn, t);
	if (ret == COH_WAIT) {
		t->st = T_WAIT;
		t->woken = false;
	}
	while (ret == COH_WAIT) {
		if (!nnonempty)
			fail("measure: op never completes");
		deliver(nonempty[rndn(nnonempty)]);
		if (t->woken) {
			t->woken = false;
			r.lat = t->wake_depth;
			ret = do_call(sn, t);
		}
	}
	if (ret)
		fail("measure: op failed %d", ret);
	if (op != OP_REMOVE)
		coh_put(&sn->c, &sn->objs[obj].c);
	t->st = T_IDLE;
	settle();
	r.msgs = total_sent() - before;
	return r;
}

static void prime(u32 obj)
{
	/* first touch on the home, no remote copy */
	measure(home_of(obj), obj, OP_GET);
	coh_flush(&nodes[home_of(obj)].c, &nodes[home_of(obj)].objs[obj].c);
}

/* node number i among the nodes that are neither a nor b */
static u32 other(u32 i, u32 a, u32 b)
{
	u32 n = 0, x;

	for (x = 0; x < N; x++) {
		if (x == a || x == b)
			continue;
		if (n++ == i)
			return x;
	}
	return COH_NODE_NONE;
}

static struct meas grab_k(u32 k, bool upgrade)
{
	u32 obj = 0, h = home_of(obj), r = (h + 1) % N, i;

	setup(N, 1, 1);
	prime(obj);
	for (i = 0; i < k; i++)
		measure(other(i, h, r), obj, OP_GET);
	if (upgrade)
		measure(r, obj, OP_GET);
	{
		struct meas m = measure(r, obj, OP_GRAB);

		teardown();
		return m;
	}
}

static void measure_table(const u32 *sizes, int nsizes, u64 steps)
{
	int i;

	printf("\nmessages per operation (latency in one-way hops on the critical path)\n");
	printf("%6s %10s %10s %10s %10s %12s %12s %12s %10s %10s %12s\n",
	       "nodes", "get-miss", "fwd-read", "fwd-write", "grab k=0",
	       "grab k=1", "grab k=N/2", "grab k=N-2", "upgr k=1", "remove",
	       "random/op");
	for (i = 0; i < nsizes; i++) {
		u32 n = sizes[i], h, r, w;
		struct meas gm, fr, fw, g0, g1, gh, gn, up, rm;
		double rnd_mpo;
		char b[11][32];

		if (n < 2)
			continue;
		setup(n, 1, 1);
		h = home_of(0);
		r = (h + 1) % n;
		prime(0);
		gm = measure(r, 0, OP_GET);
		teardown();

		setup(n, 1, 1);
		h = home_of(0);
		r = (h + 1) % n;
		prime(0);
		w = n > 2 ? other(0, h, r) : h;
		measure(w, 0, OP_GRAB);
		fr = measure(r, 0, OP_GET);
		teardown();

		setup(n, 1, 1);
		prime(0);
		measure(w, 0, OP_GRAB);
		fw = measure(r, 0, OP_GRAB);
		teardown();

		N = n;
		g0 = grab_k(0, false);
		g1 = n >= 3 ? grab_k(1, false) : g0;
		gh = n >= 3 ? grab_k(n / 2 > n - 2 ? n - 2 : n / 2, false) : g0;
		gn = n >= 3 ? grab_k(n - 2, false) : g0;
		up = n >= 3 ? grab_k(1, true) : grab_k(0, true);

		setup(n, 1, 1);
		prime(0);
		for (w = 0; w < n; w++)
			measure(w, 0, OP_GET);
		rm = measure((home_of(0) + 1) % n, 0, OP_REMOVE);
		teardown();

		rnd_mpo = run(n, n < 16 ? 8 : 32, 1, steps, false);
		snprintf(b[0], 32, "%llu/%u", (unsigned long long)gm.msgs, gm.lat);
		snprintf(b[1], 32, "%llu/%u", (unsigned long long)fr.msgs, fr.lat);
		snprintf(b[2], 32, "%llu/%u", (unsigned long long)fw.msgs, fw.lat);
		snprintf(b[3], 32, "%llu/%u", (unsigned long long)g0.msgs, g0.lat);
		snprintf(b[4], 32, "%llu/%u", (unsigned long long)g1.msgs, g1.lat);
		snprintf(b[5], 32, "%llu/%u", (unsigned long long)gh.msgs, gh.lat);
		snprintf(b[6], 32, "%llu/%u", (unsigned long long)gn.msgs, gn.lat);
		snprintf(b[7], 32, "%llu/%u", (unsigned long long)up.msgs, up.lat);
		snprintf(b[8], 32, "%llu/%u", (unsigned long long)rm.msgs, rm.lat);
		printf("%6u %10s %10s %10s %10s %12s %12s %12s %10s %10s %12.2f\n",
		       n, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8],
		       rnd_mpo);
	}
	printf("(get-miss: remote get of an object valid at its home; fwd-*: object\n"
	       " written by a third node; grab k: k remote read copies invalidated;\n"
	       " remove: every node holds a read copy; random/op: network messages per\n"
	       " completed operation in a crash-free random run)\n");
}

static u32 parse_list(const char *s, u32 *out, u32 max)
{
	u32 n = 0;

	while (*s && n < max) {
		out[n++] = (u32)strtoul(s, (char **)&s, 0);
		if (*s == ',')
			s++;
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kddm-sim [--quick | --long] [--nodes N] [--objects M]\n"
		"                [--seed S] [--seeds K] [--steps T] [--crash]\n"
		"                [--partition] [--loss]\n"
		"                [--sizes 2,4,...] [--table] [--verbose]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	u32 sizes[64], nsizes = 0, objects = 0, i;
	u64 s0 = 1, nseeds = 1, steps = 20000;
	bool quick = false, longm = false, crashes = false, table = false;
	u32 passed = 0;
	int a;

	for (a = 1; a < argc; a++) {
		const char *o = argv[a];
		const char *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (!strcmp(o, "--quick")) {
			quick = true;
		} else if (!strcmp(o, "--long")) {
			longm = true;
		} else if (!strcmp(o, "--crash")) {
			crashes = true;
		} else if (!strcmp(o, "--partition")) {
			partitions = true;
		} else if (!strcmp(o, "--loss")) {
			losses = true;
		} else if (!strcmp(o, "--table")) {
			table = true;
		} else if (!strcmp(o, "--verbose")) {
			verbose = true;
		} else if (v && !strcmp(o, "--nodes")) {
			sizes[0] = (u32)strtoul(v, NULL, 0);
			nsizes = 1;
			a++;
		} else if (v && !strcmp(o, "--sizes")) {
			nsizes = parse_list(v, sizes, 64);
			a++;
		} else if (v && !strcmp(o, "--objects")) {
			objects = (u32)strtoul(v, NULL, 0);
			a++;
		} else if (v && !strcmp(o, "--seed")) {
			s0 = strtoull(v, NULL, 0);
			a++;
		} else if (v && !strcmp(o, "--seeds")) {
			nseeds = strtoull(v, NULL, 0);
			a++;
		} else if (v && !strcmp(o, "--steps")) {
			steps = strtoull(v, NULL, 0);
			a++;
		} else {
			usage();
		}
	}
	for (i = 0; i < nsizes; i++)
		if (sizes[i] < 2 || sizes[i] > 4096)
			usage();

	if (quick || longm)
		quiet = true;
	if (quick || longm) {
		static const u32 qs[] = { 2, 3, 4, 5, 8, 16, 64, 256, 1024 };
		u32 k;

		for (k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
			u32 n = qs[k];
			u64 nsd = n <= 16 ? 1500 : (n <= 64 ? 250 : (n <= 256 ? 40 : 8));
			u64 st = n <= 16 ? 30000 : (n <= 64 ? 60000 : 400 * (u64)n);
			u64 sd;

			if (longm) {
				st *= 4;
				nsd *= 10;
			}
			for (sd = 0; sd < nsd; sd++) {
				u32 m = objects ? objects :
					(sd % 3 == 0 ? 1 + (u32)(sd % 4) :
					 (n < 16 ? 6 : 24));

				/* a quarter with cuts, losses and rejoins */
				partitions = losses = sd % 4 == 2 && n <= 64;
				run(n, m, s0 + sd, st, sd % 2 == 1);
				passed++;
			}
			printf("sim: %u nodes ok\n", n);
			fflush(stdout);
		}
		/* any violation exits with status 1 before reaching this */
		if (tot_fences)
			printf("sim: %llu fences, %llu stale reads from orphaned copies\n",
			       (unsigned long long)tot_fences,
			       (unsigned long long)tot_stale);
		printf("sim: %llu evictions at homes, %llu storage frees\n",
		       (unsigned long long)tot_evictions,
		       (unsigned long long)tot_frees);
		printf("sim: %u passed, 0 failed\n", passed);
		return 0;
	}
	if (!nsizes) {
		sizes[0] = 8;
		nsizes = 1;
	}
	if (table) {
		measure_table(sizes, (int)nsizes, steps);
		return 0;
	}
	for (i = 0; i < nsizes; i++) {
		u64 sd;

		for (sd = 0; sd < nseeds; sd++) {
			double mpo = run(sizes[i], objects ? objects : 8,
					 s0 + sd, steps, crashes);

			printf("nodes %u seed %llu: %llu ops done, %llu failed, %.2f msgs/op\n",
			       sizes[i], (unsigned long long)(s0 + sd),
			       (unsigned long long)ops_done,
			       (unsigned long long)ops_failed, mpo);
			passed++;
		}
	}
	printf("sim: %u passed, 0 failed\n", passed);
	return 0;
}
