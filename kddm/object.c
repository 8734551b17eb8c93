// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM objects: the kernel side of the coherence engine.
 *
 * Each object has a mutex held around every engine call and a wait queue
 * on which callers sleep when the engine answers COH_WAIT. Engine
 * callbacks run under that mutex: they export and import data through the
 * set's io-linker and send coherence messages directly (a send may sleep
 * while a TIPC link is congested; the engine itself never sleeps).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "msg.h"
#include "set.h"
#include "trace.h"
#include "transport.h"

struct coh_node kddm_coh;
static DEFINE_SPINLOCK(obj_init_lock);	/* coh_obj_init() is per node */

/* Payload handle passed through coh_rx() to install(). */
struct kddm_payload {
	const void *buf;
	u32 len;
};

static struct kddm_obj *to_kobj(struct coh_obj *o)
{
	return container_of(o, struct kddm_obj, coh);
}

/* Bytes the engine holds (node sets, queued requests), for debugfs. */
static atomic_long_t engine_bytes = ATOMIC_LONG_INIT(0);

static void *k_alloc(struct coh_node *n, u32 size)
{
	void *p = kzalloc(size, GFP_KERNEL);

	if (p)
		atomic_long_add(ksize(p), &engine_bytes);
	return p;
}

static void k_free(struct coh_node *n, void *p)
{
	atomic_long_sub(ksize(p), &engine_bytes);
	kfree(p);
}

long kddm_engine_bytes(void)
{
	return atomic_long_read(&engine_bytes);
}

static int ensure_data(struct kddm_obj *obj)
{
	struct kddm_set *set = obj->set;

	if (obj->data)
		return 0;
	if (set->linker->alloc_object)
		obj->data = set->linker->alloc_object(set, obj->coh.obj_id);
	else
		obj->data = kvzalloc(set->obj_size, GFP_KERNEL);
	if (!obj->data)
		return -ENOMEM;
	kddm_cache_add(obj);
	return 0;
}

static void free_data(struct kddm_obj *obj)
{
	struct kddm_set *set = obj->set;

	if (!obj->data)
		return;
	kddm_cache_del(obj);
	if (set->linker->free_object)
		set->linker->free_object(set, obj->coh.obj_id, obj->data);
	else
		kvfree(obj->data);
	obj->data = NULL;
}

/* The bytes the local copy needs to be shipped. */
static u32 export_size(struct kddm_obj *obj)
{
	struct kddm_set *set = obj->set;

	if (!obj->data || !set->linker->export_size ||
	    !set->linker->export_object)
		return set->obj_size;
	return min(set->linker->export_size(set, obj->coh.obj_id, obj->data),
		   set->obj_size);
}

/* The bytes of the local copy to ship, into @buf (@size bytes). */
static int export_data(struct kddm_obj *obj, void *buf, u32 size)
{
	struct kddm_set *set = obj->set;

	if (!buf || !obj->data)
		return -ENOMEM;
	if (set->linker->export_object)
		return set->linker->export_object(set, obj->coh.obj_id,
						  obj->data, buf, size);
	memcpy(buf, obj->data, set->obj_size);	/* plain bytes */
	return set->obj_size;
}

/* kddm_fill_t of a copy of an object's data, for k_send(). */
struct export_arg {
	struct kddm_obj *obj;
	int len;
};

static int export_fill(void *buf, u32 room, void *arg)
{
	struct export_arg *e = arg;

	e->len = export_data(e->obj, buf, room);
	if (e->len <= 0 || e->len > room) {
		pr_err("set %llx object %llx: export failed (%d)\n",
		       e->obj->set->id, e->obj->coh.obj_id, e->len);
		e->len = 0;
	}
	return e->len;
}

static void k_send(struct coh_node *n, struct coh_obj *o, u32 dst,
		   const struct coh_msg *msg, bool with_data)
{
	struct kddm_obj *obj = to_kobj(o);
	struct kddm_set *set = obj->set;
	struct kddm_wire_coh w = {
		.type = cpu_to_le16(msg->type),
		.flags = cpu_to_le16(msg->flags),
		.requester = cpu_to_le32(msg->requester),
		.req = cpu_to_le32(msg->req),
		.owner_req = cpu_to_le32(msg->owner_req),
		.count = cpu_to_le32(msg->count),
		.err = cpu_to_le32(msg->err),
		.node = cpu_to_le32(msg->node),
	};
	struct export_arg e = { .obj = obj };
	u32 size = with_data ? export_size(obj) : 0;
	int ret;

	/*
	 * Queued (sent with others to @dst in one datagram) for a caller's
	 * batch of requests, and for whatever the receive thread answers
	 * (flushed once it has read every datagram there was); the data
	 * exported straight into the queue.
	 */
	if (obj->batch || kddm_transport_on_rx())
		ret = kddm_msg_queue_fill(dst, KDDM_MSG_COH, set->id,
					  o->obj_id, &w, sizeof(w), size,
					  export_fill, &e);
	else
		ret = kddm_msg_send_fill(dst, KDDM_MSG_COH, set->id,
					 o->obj_id, &w, sizeof(w), size,
					 export_fill, &e);
	if (ret) {
		/* Reported to the engine as a node failure once it returns. */
		pr_warn_ratelimited("send to node %u failed: %d\n", dst, ret);
		obj->send_err_node = dst;
		return;
	}
	atomic64_inc(&set->msgs_sent);
	atomic64_add(sizeof(struct kddm_wire_hdr) + sizeof(w) + e.len,
		     &set->bytes_sent);
}

static void k_install(struct coh_node *n, struct coh_obj *o, void *data)
{
	struct kddm_obj *obj = to_kobj(o);
	struct kddm_set *set = obj->set;
	struct kddm_payload *p = data;

	if (ensure_data(obj)) {
		pr_err("set %llx object %llx: no memory for a copy\n",
		       set->id, o->obj_id);
		return;
	}
	if (set->linker->import_object)
		set->linker->import_object(set, o->obj_id, obj->data, p->buf,
					   p->len);
	else
		memcpy(obj->data, p->buf, min(p->len, set->obj_size));
	if (!set->linker->import_object && p->len < set->obj_size)
		memset(obj->data + p->len, 0, set->obj_size - p->len);
	if (o->home == n->self)
		obj->dirty = true;	/* a writer's data came back */
	if (set->linker->insert_object)
		set->linker->insert_object(set, o->obj_id, obj->data);
}

static int k_first_touch(struct coh_node *n, struct coh_obj *o)
{
	struct kddm_obj *obj = to_kobj(o);
	struct kddm_set *set = obj->set;
	int ret;

	ret = ensure_data(obj);
	if (ret)
		return ret;
	if (set->linker->first_touch)
		return set->linker->first_touch(set, o->obj_id, obj->data);
	/* A new object is zeroed, even where an old incarnation was. */
	memset(obj->data, 0, set->obj_size);
	return 0;
}

static int k_reload(struct coh_node *n, struct coh_obj *o)
{
	struct kddm_obj *obj = to_kobj(o);
	struct kddm_set *set = obj->set;

	if (!set->linker->reload_object)
		return -EIO;
	if (ensure_data(obj))
		return -ENOMEM;
	return set->linker->reload_object(set, o->obj_id, obj->data);
}

static void k_drop(struct coh_node *n, struct coh_obj *o)
{
	struct kddm_obj *obj = to_kobj(o);
	struct kddm_set *set = obj->set;

	atomic64_inc(&set->invalidations);
	if (obj->data && set->linker->invalidate_object)
		set->linker->invalidate_object(set, o->obj_id, obj->data);
}

static void k_wake(struct coh_node *n, struct coh_obj *o)
{
	wake_up_all(&to_kobj(o)->wq);
}

static const struct coh_ops kddm_coh_ops = {
	.alloc = k_alloc,
	.free = k_free,
	.send = k_send,
	.install = k_install,
	.first_touch = k_first_touch,
	.reload = k_reload,
	.drop = k_drop,
	.wake = k_wake,
};

static u32 home_of(struct kddm_set *set, u64 objid)
{
	u32 node;

	switch (set->policy) {
	case KDDM_OWNER_ROUND_ROBIN:
		node = set->rr_max ? (u32)(objid % set->rr_max) + 1 : 0;
		break;
	case KDDM_OWNER_OBJID_BITS:
		node = (u32)(objid >> 48);
		break;
	case KDDM_OWNER_CUSTOM:
		node = set->linker->default_owner ?
		       set->linker->default_owner(set, objid,
						  kddm_nodes_up()) : 0;
		break;
	default:
		node = set->fixed_node;
		break;
	}
	/* No valid home: the manager, or none for a well-known set. */
	if (!node || node > KDDM_MAX_NODE)
		node = (u32)(set->id >> 32) ?: KDDM_MAX_NODE;
	return node;
}

/*
 * Object lifetime: the set's xarray holds one reference, every user one
 * more. An object that holds no state any more (no copy, no freeze, no
 * waiter, no directory entry of an existing object) is taken out of the
 * xarray when its user lets it go (obj_release()), and marked dead under
 * its lock: whoever finds a dead object after taking the lock looks again
 * and gets a fresh one. So a node keeps memory only for the objects it
 * holds copies of or is the home of.
 */
static void obj_unref(struct kddm_obj *obj)
{
	if (!refcount_dec_and_test(&obj->ref))
		return;
	coh_obj_destroy(&kddm_coh, &obj->coh);
	free_data(obj);
	mutex_destroy(&obj->lock);
	kfree_rcu(obj, rcu);
}

static struct kddm_obj *obj_lookup(struct kddm_set *set, u64 objid)
{
	struct kddm_obj *obj;

	rcu_read_lock();
	obj = xa_load(&set->objs, objid);
	if (obj && !refcount_inc_not_zero(&obj->ref))
		obj = NULL;
	rcu_read_unlock();
	return obj;
}

struct kddm_obj *kddm_obj_ref(struct kddm_set *set, u64 objid)
{
	return obj_lookup(set, objid);
}

void kddm_obj_unref(struct kddm_obj *obj)
{
	obj_unref(obj);
}

/* The object named @objid (+ref), created (invalid) if needed. */
static struct kddm_obj *obj_get(struct kddm_set *set, u64 objid)
{
	struct kddm_obj *obj, *old;
	u32 home;

	obj = obj_lookup(set, objid);
	if (obj)
		return obj;
	obj = kzalloc(sizeof(*obj), GFP_KERNEL);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	mutex_init(&obj->lock);
	init_waitqueue_head(&obj->wq);
	INIT_LIST_HEAD(&obj->lru);
	refcount_set(&obj->ref, 2);	/* the xarray's and ours */
	obj->set = set;
	home = home_of(set, objid);	/* may call the linker: may sleep */
	spin_lock(&obj_init_lock);
	coh_obj_init(&kddm_coh, &obj->coh, (u32)set->id, objid, home);
	spin_unlock(&obj_init_lock);
	old = xa_cmpxchg(&set->objs, objid, NULL, obj, GFP_KERNEL);
	if (!old)
		return obj;
	coh_obj_destroy(&kddm_coh, &obj->coh);
	mutex_destroy(&obj->lock);
	kfree(obj);
	if (xa_is_err(old))
		return ERR_PTR(xa_err(old));
	return obj_get(set, objid);	/* lost a race: take the winner */
}

static bool obj_idle(const struct kddm_obj *obj)
{
	const struct coh_obj *o = &obj->coh;
	const struct coh_dir *d = &o->dir;

	return o->state == COH_INVALID && !o->readers && !o->writer &&
	       !o->nwaiters && !o->has_deferred && !o->reserved &&
	       !d->exists && !d->txn && !d->qhead && !d->lost &&
	       !d->copyset.count && !d->txnset.count &&
	       d->owner == COH_NODE_NONE;
}

/* A live object, locked and referenced; NULL if none and !@create. */
static struct kddm_obj *obj_get_locked(struct kddm_set *set, u64 objid,
				       bool create)
{
	struct kddm_obj *obj;

	for (;;) {
		obj = create ? obj_get(set, objid) : obj_lookup(set, objid);
		if (IS_ERR_OR_NULL(obj))
			return obj;
		mutex_lock(&obj->lock);
		if (!obj->dead && obj->coh.dead && obj_idle(obj) &&
		    kddm_node_is_up(obj->coh.home)) {
			/*
			 * Its home left (the cluster, or the set) and is back:
			 * what this node knew of the object is void, start
			 * afresh.
			 */
			obj->dead = true;
			if (xa_cmpxchg(&set->objs, objid, obj, NULL, 0) == obj)
				obj_unref(obj);	/* the xarray's reference */
		}
		if (!obj->dead)
			return obj;
		mutex_unlock(&obj->lock);
		obj_unref(obj);
	}
}

/* Unlocks and unreferences, reclaiming the object if it holds no state. */
static void obj_release(struct kddm_obj *obj)
{
	bool erased = false;

	if (obj_idle(obj)) {
		obj->dead = true;
		erased = xa_cmpxchg(&obj->set->objs, obj->coh.obj_id, obj,
				    NULL, 0) == obj;
	}
	mutex_unlock(&obj->lock);
	if (erased)
		obj_unref(obj);
	obj_unref(obj);
}

/*
 * A send failed inside the last engine call: if the destination is gone
 * for good, tell the engine now (it cannot be told from inside the call).
 */
static void obj_check_send(struct kddm_obj *obj)
{
	int dst = obj->send_err_node;

	obj->send_err_node = 0;
	if (dst && !kddm_node_is_up(dst))
		coh_node_down(&kddm_coh, &obj->coh, dst);
}

void kddm_obj_free_data(struct kddm_obj *obj)
{
	free_data(obj);
}

void kddm_obj_check_send(struct kddm_obj *obj)
{
	obj_check_send(obj);
}

/* Locks referenced @obj; NULL (unreferenced) if it left its set. */
struct kddm_obj *kddm_obj_lock(struct kddm_obj *obj)
{
	mutex_lock(&obj->lock);
	if (!obj->dead)
		return obj;
	mutex_unlock(&obj->lock);
	obj_unref(obj);
	return NULL;
}

void kddm_obj_release(struct kddm_obj *obj)
{
	obj_release(obj);
}

static void account_latency(struct kddm_set *set, ktime_t start)
{
	u64 us = ktime_us_delta(ktime_get(), start);
	unsigned int b = us ? ilog2(us) : 0;

	atomic64_inc(&set->lat[min_t(unsigned int, b, KDDM_LAT_BUCKETS - 1)]);
}

enum obj_op { OP_GET, OP_GRAB, OP_REMOVE };

static int engine_call(struct kddm_obj *obj, enum obj_op op, u32 flags,
		       struct coh_wait *w)
{
	int ret;

	if (op == OP_GET)
		ret = coh_get(&kddm_coh, &obj->coh, flags, w);
	else if (op == OP_GRAB)
		ret = coh_grab(&kddm_coh, &obj->coh, flags, w);
	else
		ret = coh_remove(&kddm_coh, &obj->coh, flags, w);
	obj_check_send(obj);
	return ret;
}

/*
 * Runs @op until it completes, sleeping (killable, or not at all
 * interruptible with @nointr) between tries. Called and returns with the
 * object locked.
 */
static int obj_wait_op(struct kddm_obj *obj, enum obj_op op, u32 flags,
		       bool nointr)
{
	struct coh_wait w;
	DEFINE_WAIT(wait);
	ktime_t start = 0;
	int ret, retries = 8;
	bool flushed = false;

	/* Not in the majority: nothing here may be trusted or changed. */
	if (!kddm_active())
		return -ENOLINK;
	/* A home that is not (yet, or any more) a member cannot answer. */
	if (obj->coh.home != kddm_self() && !kddm_node_is_up(obj->coh.home))
		return -EHOSTDOWN;
	coh_wait_init(&w);
	for (;;) {
		ret = engine_call(obj, op, flags, &w);
		/*
		 * Removed while our request was in flight: with first touch
		 * allowed, the remove came first and we create it anew.
		 */
		if (ret == -ENOENT && op != OP_REMOVE &&
		    !(flags & COH_NO_FT) && retries--) {
			coh_wait_init(&w);
			continue;
		}
		if (ret != COH_WAIT)
			break;
		if (!start)
			start = ktime_get();
		/*
		 * No request we wait for may stay queued (KDDM_BATCH): sent
		 * without the lock (a send may wait for a congested link,
		 * and the receive thread for this object), then the engine
		 * is asked again (its answer may have come meanwhile).
		 */
		obj->batch = false;
		if (!flushed && kddm_msg_queued()) {
			flushed = true;	/* ours are out: once is enough */
			mutex_unlock(&obj->lock);
			kddm_msg_flush_all();
			mutex_lock(&obj->lock);
			continue;
		}
		prepare_to_wait(&obj->wq, &wait, nointr ? TASK_UNINTERRUPTIBLE :
							  TASK_KILLABLE);
		mutex_unlock(&obj->lock);
		/* set_unhash() clears hashed before it wakes anyone */
		if (READ_ONCE(obj->set->hashed))
			schedule();
		finish_wait(&obj->wq, &wait);
		mutex_lock(&obj->lock);
		if ((!nointr && fatal_signal_pending(current)) ||
		    !obj->set->hashed) {
			coh_wait_cancel(&kddm_coh, &obj->coh, &w);
			ret = obj->set->hashed ? -EINTR : -EIDRM;
			break;
		}
	}
	if (start && !ret)
		account_latency(obj->set, start);
	return ret;
}

/* A read freeze of locked @obj (put it with coh_put()); 0 or -errno. */
int kddm_obj_freeze_read(struct kddm_obj *obj)
{
	return obj_wait_op(obj, OP_GET, COH_NO_FT, true);
}

static void *obj_op(struct kddm_set *set, u64 objid, int flags,
		    enum obj_op op)
{
	u32 cflags = 0;
	struct kddm_obj *obj;
	void *data;
	int ret;

	if (!set || !set->hashed)
		return ERR_PTR(-EIDRM);
	if (!kddm_joined())
		return ERR_PTR(-ENOTCONN);
	cflags |= flags & KDDM_NO_FT ? COH_NO_FT : 0;
	cflags |= flags & KDDM_TRY ? COH_TRY : 0;
	cflags |= flags & KDDM_ASYNC ? COH_ASYNC : 0;
	if (!(flags & (KDDM_ASYNC | KDDM_TRY)))
		kddm_cache_throttle(set);
	obj = obj_get_locked(set, objid, true);
	if (IS_ERR(obj))
		return obj;
	obj->batch = (flags & (KDDM_ASYNC | KDDM_BATCH)) ==
		     (KDDM_ASYNC | KDDM_BATCH);
	ret = obj_wait_op(obj, op, cflags, flags & KDDM_NOINTR);
	obj->batch = false;
	data = obj->data;	/* frozen on success: it stays */
	if (!ret && !(cflags & COH_ASYNC)) {
		obj->accessed = true;
		if (op == OP_GRAB && obj->coh.home == kddm_coh.self)
			obj->dirty = true;
	}
	if (!ret && !data && !(cflags & COH_ASYNC)) {
		/* cannot happen (storage precedes every copy): be safe */
		coh_put(&kddm_coh, &obj->coh);
		obj_check_send(obj);
		ret = -ENOMEM;
	}
	obj_release(obj);
	trace_kddm_obj_op(op == OP_GET ? "get" : "grab", set->id, objid, ret);
	if (ret)
		return ERR_PTR(ret);
	if (flags & KDDM_ASYNC)
		return NULL;
	atomic64_inc(op == OP_GET ? &set->gets : &set->grabs);
	return data;
}

void *kddm_get_object_flags(struct kddm_set *set, u64 objid, int flags)
{
	return obj_op(set, objid, flags, OP_GET);
}
EXPORT_SYMBOL_GPL(kddm_get_object_flags);

void *kddm_grab_object_flags(struct kddm_set *set, u64 objid, int flags)
{
	return obj_op(set, objid, flags, OP_GRAB);
}
EXPORT_SYMBOL_GPL(kddm_grab_object_flags);

/*
 * kddm_find_object - the local copy, frozen for read, without any message
 *
 * Return: the data of a valid local copy (put it with kddm_put_object()),
 * or NULL when this node has none or cannot freeze it without waiting.
 */
void *kddm_find_object(struct kddm_set *set, u64 objid)
{
	struct kddm_obj *obj;
	void *data = NULL;

	if (!set)
		return NULL;
	obj = obj_get_locked(set, objid, false);
	if (!obj)
		return NULL;
	if ((obj->coh.state == COH_READ || obj->coh.state == COH_WRITE) &&
	    !coh_get(&kddm_coh, &obj->coh, COH_TRY | COH_NO_FT, NULL)) {
		data = obj->data;
		obj->accessed = true;
	}
	obj_check_send(obj);
	obj_release(obj);
	return data;
}
EXPORT_SYMBOL_GPL(kddm_find_object);

void kddm_put_object(struct kddm_set *set, u64 objid)
{
	struct kddm_obj *obj = set ? obj_get_locked(set, objid, false) : NULL;

	if (!obj) {
		WARN_ONCE(1, "kddm: put of an unknown object %llx\n", objid);
		return;
	}
	WARN_ONCE(coh_put(&kddm_coh, &obj->coh),
		  "kddm: put of an object not frozen %llx\n", objid);
	obj_check_send(obj);
	obj_release(obj);
}
EXPORT_SYMBOL_GPL(kddm_put_object);

int kddm_remove_object(struct kddm_set *set, u64 objid)
{
	struct kddm_obj *obj;
	int ret;

	if (!set || !set->hashed)
		return -EIDRM;
	obj = obj_get_locked(set, objid, true);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	ret = obj_wait_op(obj, OP_REMOVE, 0, false);
	if (!ret && set->linker->remove_object && obj->data)
		set->linker->remove_object(set, objid, obj->data);
	obj_release(obj);
	return ret;
}
EXPORT_SYMBOL_GPL(kddm_remove_object);

int kddm_flush_object_flags(struct kddm_set *set, u64 objid, int flags)
{
	struct kddm_obj *obj = set ? obj_get_locked(set, objid, false) : NULL;
	int ret;

	if (!obj)
		return -ENOENT;
	obj->batch = flags & KDDM_BATCH;
	ret = coh_flush(&kddm_coh, &obj->coh);
	obj->batch = false;
	obj_check_send(obj);
	obj_release(obj);
	return ret;
}
EXPORT_SYMBOL_GPL(kddm_flush_object_flags);

/*
 * kddm_send_batched - send now the requests that KDDM_BATCH left queued
 * (they would leave within a jiffy anyway, or before the next message to
 * their node)
 */
void kddm_send_batched(void)
{
	kddm_msg_flush_all();
}
EXPORT_SYMBOL_GPL(kddm_send_batched);

/* The io-linker's sync_object() on a read copy, fetched if need be. */
static int sync_here(struct kddm_set *set, u64 objid)
{
	void *data;
	int ret;

	if (!set->linker->sync_object)
		return -EOPNOTSUPP;
	data = kddm_get_object_no_ft(set, objid);
	if (IS_ERR(data))
		return PTR_ERR(data);
	ret = set->linker->sync_object(set, objid, data);
	if (!ret)
		kddm_object_stored(set, objid);
	kddm_put_object(set, objid);
	return ret;
}

/* The io-linker's home_call() with @arg, at the object's home. */
static int call_here(struct kddm_set *set, u64 objid, const void *arg,
		     size_t len)
{
	if (!set->linker->home_call)
		return -EOPNOTSUPP;
	return set->linker->home_call(set, objid, arg, len);
}

/*
 * SYNC and CALL requests from other nodes run on their own workqueue:
 * getting the object may wait for its owner's answer, which the receive
 * thread must be free to take. At most SYNC_MAX wait at once; more get
 * -EBUSY.
 */
#define SYNC_MAX	256
static struct workqueue_struct *sync_wq;
static atomic_t syncs_queued = ATOMIC_INIT(0);
static bool sync_closing;	/* written and read on the receive thread */

/* Longest wait for a home's answer: its disk write included. */
#define SYNC_TIMEOUT	(120 * HZ)
/* A request that waited this long at the home is refused: its caller
 * has given up, or soon will (a late truncate must not run).
 */
#define SYNC_STALE	(100 * HZ)

struct sync_work {
	struct work_struct work;
	struct kddm_msg req;	/* the header, for the reply */
	unsigned long queued;	/* jiffies */
	u32 len;		/* CALL: bytes of @arg */
	u8 arg[];
};

static void sync_work_fn(struct work_struct *work)
{
	struct sync_work *sw = container_of(work, struct sync_work, work);
	struct kddm_set *set = kddm_set_lookup(sw->req.set_id);
	int ret = -ENOENT;

	if (time_after(jiffies, sw->queued + SYNC_STALE))
		ret = -ETIMEDOUT;
	else if (set && home_of(set, sw->req.obj_id) != kddm_self())
		ret = -EINVAL;
	else if (set && sw->req.type == KDDM_MSG_CALL)
		ret = call_here(set, sw->req.obj_id, sw->arg, sw->len);
	else if (set)
		ret = sync_here(set, sw->req.obj_id);
	kddm_put_set(set);
	kddm_rpc_reply(&sw->req, ret, NULL, 0);
	kvfree(sw);
	atomic_dec(&syncs_queued);
}

static void sync_recv(struct kddm_msg *m)
{
	struct sync_work *sw;
	int ret = -ESHUTDOWN;

	if (!m->rpc_id) {
		kddm_msg_count_drop();
		return;
	}
	if (sync_closing)
		goto refuse;
	/* calls with data (bulk writes) leave room for the others */
	ret = -EBUSY;
	if (atomic_inc_return(&syncs_queued) >
	    (m->len > KDDM_CALL_MAX ? SYNC_MAX / 2 : SYNC_MAX))
		goto undo;
	ret = -ENOMEM;
	/* m->len: at most the type's max_len (KDDM_CALL_LONG), checked */
	sw = kvmalloc(struct_size(sw, arg, m->len), GFP_KERNEL);
	if (!sw)
		goto undo;
	sw->req = *m;
	sw->queued = jiffies;
	sw->len = m->len;
	if (sw->len)
		memcpy(sw->arg, m->data, sw->len);
	sw->req.data = NULL;
	sw->req.len = 0;
	INIT_WORK(&sw->work, sync_work_fn);
	queue_work(sync_wq, &sw->work);
	return;
undo:
	atomic_dec(&syncs_queued);
refuse:
	kddm_rpc_reply(m, ret, NULL, 0);
}

static void sync_close(struct kthread_work *w)
{
	sync_closing = true;
}

/*
 * kddm_sync_object - write the object back to its home's backing store
 *
 * The io-linker's sync_object() runs on the object's home (where its
 * backing store is), on the current data: the home fetches it from the
 * owner if another node writes it. Return: 0 or -errno (-EOPNOTSUPP: the
 * linker has no sync_object; -EHOSTDOWN: the home is down).
 */
int kddm_sync_object(struct kddm_set *set, u64 objid)
{
	u32 home = home_of(set, objid);

	if (!set->linker->sync_object)
		return -EOPNOTSUPP;
	if (home == kddm_self())
		return sync_here(set, objid);
	if (home == KDDM_NODE_NONE)
		return -EINVAL;
	return kddm_rpc_call(home, KDDM_MSG_SYNC, set->id, objid, NULL, 0,
			     NULL, 0, SYNC_TIMEOUT);
}
EXPORT_SYMBOL_GPL(kddm_sync_object);

/*
 * kddm_call_home - run the io-linker's home_call() at the object's home
 *
 * With @len bytes of @arg (at most KDDM_CALL_MAX), in process context,
 * whatever the object's state (nothing is frozen). Return: what
 * home_call() returned, or -errno (-EOPNOTSUPP: no home_call; -EINVAL:
 * @len too long; -EHOSTDOWN: the home is down).
 */
int kddm_call_home(struct kddm_set *set, u64 objid, const void *arg,
		   size_t len)
{
	struct kddm_call call;

	kddm_call_home_start(&call, set, objid, arg, len, NULL, 0);
	return kddm_call_home_end(&call);
}
EXPORT_SYMBOL_GPL(kddm_call_home);

/*
 * kddm_call_home_start - kddm_call_home() with data, answered later
 * @call: where the call is kept until kddm_call_home_end()
 * @data: @dlen bytes (at most KDDM_CALL_DATA_MAX) that home_call() gets
 *	after the @len of @arg, in one buffer
 *
 * Returns once the request is sent (the caller may reuse @arg and @data):
 * calls to one home overlap. Every call started is ended.
 */
void kddm_call_home_start(struct kddm_call *call, struct kddm_set *set,
			  u64 objid, const void *arg, size_t len,
			  const void *data, size_t dlen)
{
	u32 home = home_of(set, objid);
	void *buf;

	call->rpc = NULL;
	call->ret = -EOPNOTSUPP;
	if (!set->linker->home_call)
		return;
	call->ret = -EINVAL;
	if (len > KDDM_CALL_MAX || dlen > KDDM_CALL_DATA_MAX ||
	    home == KDDM_NODE_NONE)
		return;
	if (home != kddm_self()) {
		call->rpc = kddm_rpc_start(home, KDDM_MSG_CALL, set->id, objid,
					   arg, len, data, dlen);
		if (IS_ERR(call->rpc)) {
			call->ret = PTR_ERR(call->rpc);
			call->rpc = NULL;
		}
		return;
	}
	if (!dlen) {
		call->ret = call_here(set, objid, arg, len);
		return;
	}
	call->ret = -ENOMEM;
	buf = kvmalloc(len + dlen, GFP_KERNEL);
	if (!buf)
		return;
	memcpy(buf, arg, len);
	memcpy(buf + len, data, dlen);
	call->ret = call_here(set, objid, buf, len + dlen);
	kvfree(buf);
}
EXPORT_SYMBOL_GPL(kddm_call_home_start);

/*
 * kddm_call_home_end - the result of a call kddm_call_home_start() made:
 * what home_call() returned, or -errno (as kddm_call_home()).
 */
int kddm_call_home_end(struct kddm_call *call)
{
	if (!call->rpc)
		return call->ret;
	call->ret = kddm_rpc_end(call->rpc, SYNC_TIMEOUT);
	call->rpc = NULL;
	return call->ret;
}
EXPORT_SYMBOL_GPL(kddm_call_home_end);

/* Handler of KDDM_MSG_COH for a set known here; on the ordered wq. */
void kddm_coh_recv(struct kddm_set *set, struct kddm_msg *m)
{
	const struct kddm_wire_coh *w = m->data;
	struct kddm_payload p;
	struct coh_msg msg;
	struct kddm_obj *obj;
	int ret;

	if (m->len < sizeof(*w) || m->len - sizeof(*w) > set->obj_size)
		goto bad;
	msg = (struct coh_msg) {
		.type = le16_to_cpu(w->type),
		.flags = le16_to_cpu(w->flags),
		.set_id = (u32)set->id,
		.obj_id = m->obj_id,
		.src = m->src,
		.requester = le32_to_cpu(w->requester),
		.req = le32_to_cpu(w->req),
		.owner_req = le32_to_cpu(w->owner_req),
		.count = le32_to_cpu(w->count),
		.err = le32_to_cpu(w->err),
		.node = le32_to_cpu(w->node),
	};
	p.buf = m->data + sizeof(*w);
	p.len = m->len - sizeof(*w);
	obj = obj_get_locked(set, m->obj_id, true);
	if (IS_ERR(obj))
		return;
	atomic64_inc(&set->msgs_rcvd);
	atomic64_add(m->len + sizeof(struct kddm_wire_hdr), &set->bytes_rcvd);
	/* install() cannot fail: storage for a payload comes first */
	if (p.len && ensure_data(obj)) {
		obj_release(obj);
		kddm_msg_count_drop();
		pr_warn_ratelimited("set %llx object %llx: no memory for a copy\n",
				    set->id, m->obj_id);
		return;
	}
	ret = coh_rx(&kddm_coh, &obj->coh, &msg, p.len ? &p : NULL);
	trace_kddm_coh_rx(set->id, m->obj_id, m->src, msg.type, msg.req,
			  obj->coh.state, ret);
	obj_check_send(obj);
	obj_release(obj);
	if (ret)
		pr_warn_ratelimited("set %llx object %llx: dropped message %u from node %u\n",
				    set->id, m->obj_id, msg.type, m->src);
	return;
bad:
	kddm_msg_count_drop();
	pr_warn_ratelimited("set %llx: malformed coherence message from node %u\n",
			    set->id, m->src);
}

/* Node @node left (or, @node 0, this node was fenced): tell every object. */
static void objs_down(struct kddm_set *set, u32 node)
{
	struct kddm_obj *obj;
	unsigned long id;

	xa_for_each(&set->objs, id, obj) {
		obj = obj_get_locked(set, id, false);
		if (!obj)
			continue;
		if (node)
			coh_node_down(&kddm_coh, &obj->coh, node);
		else
			coh_reset(&kddm_coh, &obj->coh);
		obj_check_send(obj);
		obj_release(obj);
		cond_resched();
	}
}

void kddm_obj_node_down(struct kddm_set *set, u32 node)
{
	objs_down(set, node);
}

/* This node was fenced: every object goes, as if it had crashed. */
void kddm_obj_reset(struct kddm_set *set)
{
	objs_down(set, 0);
}

/* The set was destroyed: waiters find out and fail with -EIDRM. */
void kddm_objs_wake(struct kddm_set *set)
{
	struct kddm_obj *obj;
	unsigned long id;

	xa_for_each(&set->objs, id, obj) {
		obj = obj_lookup(set, id);
		if (!obj)
			continue;
		wake_up_all(&obj->wq);
		obj_unref(obj);
	}
}

/* The set is unreachable: drop the xarray's reference of every object. */
void kddm_objs_free(struct kddm_set *set)
{
	struct kddm_obj *obj;
	unsigned long id;

	xa_for_each(&set->objs, id, obj) {
		xa_erase(&set->objs, id);
		WARN_ON(refcount_read(&obj->ref) != 1);
		obj_unref(obj);
	}
	xa_destroy(&set->objs);
}

/**
 * kddm_walk_copies - every object of which this node holds a valid copy
 * @set: the set
 * @v: its fn is called with the object's id, nothing locked (it may sleep)
 *
 * A snapshot, object by object: copies may come and go meanwhile. Used
 * by a client that keeps state about objects it holds (kdfs marks them
 * for write-back when the node that changed them died).
 */
void kddm_walk_copies(struct kddm_set *set, struct kddm_copy_visitor *v)
{
	struct kddm_obj *obj;
	unsigned long id;
	bool valid;

	xa_for_each(&set->objs, id, obj) {
		obj = obj_get_locked(set, id, false);
		if (!obj)
			continue;
		valid = obj->coh.state == COH_READ ||
			obj->coh.state == COH_WRITE;
		obj_check_send(obj);
		obj_release(obj);
		if (valid)
			v->fn(v, id);
		cond_resched();
	}
}
EXPORT_SYMBOL_GPL(kddm_walk_copies);

unsigned long kddm_set_nr_objects(struct kddm_set *set)
{
	struct kddm_obj *obj;
	unsigned long id, n = 0;

	xa_for_each(&set->objs, id, obj)
		n++;
	return n;
}

int kddm_object_init(void)
{
	int ret = coh_node_init(&kddm_coh, &kddm_coh_ops, 0,
				KDDM_MAX_NODE + 1);

	if (ret)
		return -EINVAL;
	sync_wq = alloc_workqueue("kddm_sync", WQ_UNBOUND, 0);
	if (!sync_wq)
		return -ENOMEM;
	ret = kddm_cache_init();
	if (ret) {
		destroy_workqueue(sync_wq);
		return ret;
	}
	kddm_msg_register(KDDM_MSG_SYNC, 0, sync_recv);
	kddm_msg_register(KDDM_MSG_CALL, KDDM_CALL_LONG, sync_recv);
	return 0;
}

/* After the sets are gone: SYNC requests get -ESHUTDOWN, queued ones end. */
void kddm_object_exit(void)
{
	struct kthread_work close;

	kthread_init_work(&close, sync_close);
	kddm_transport_queue(&close);
	kddm_transport_flush();
	destroy_workqueue(sync_wq);
	kddm_cache_exit();
}

/* The node id is fixed while joined; no object exists before the join. */
void kddm_object_set_self(u32 self)
{
	kddm_coh.self = self;
	coh_node_span(&kddm_coh, self);
}

/* Node @id joined: node sets made from now on hold it. */
void kddm_object_node_seen(u32 id)
{
	coh_node_span(&kddm_coh, id);
}
