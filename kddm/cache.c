// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM cache bound: a client may bound the local copies this node keeps
 * of a set's objects (kddm_set_cache_limit()), for sets whose objects are
 * a cache of a backing store (kdfs's file pages). Without it, every copy
 * stays until it is invalidated or removed, and a file larger than memory
 * cannot be written.
 *
 * The objects with storage are on a clock list: each freeze sets their
 * bit, the hand clears it or takes the object. Past the bound, a worker
 * moves the hand until the set is an eighth under it:
 *
 * - a copy on a node other than the home is flushed (a writable copy goes
 *   back to the home with its data, a read copy is dropped);
 * - the home's copy, if no other node holds one, is written to the backing
 *   store (the io-linker's sync_object(), if it changed since it was last
 *   written) and forgotten (coh_evict()): the next access first-touches
 *   it, which reads the store back.
 *
 * - storage the protocol no longer uses (the home's, while another node
 *   writes the object) is freed.
 *
 * Frozen objects, objects with requests or transactions in flight and
 * home objects with copies elsewhere are passed over. A caller that finds
 * the set an eighth over the bound waits for the worker, at most
 * THROTTLE_WAIT (it may itself hold the only objects left).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "set.h"

#define THROTTLE_WAIT	(HZ / 10)

static struct workqueue_struct *evict_wq;

static void evict_fn(struct work_struct *work);

void kddm_cache_init_set(struct kddm_set *set)
{
	spin_lock_init(&set->lru_lock);
	INIT_LIST_HEAD(&set->lru);
	init_waitqueue_head(&set->evict_wq);
	INIT_DELAYED_WORK(&set->evict_work, evict_fn);
	atomic64_set(&set->evictions, 0);
}

static bool over(const struct kddm_set *set, unsigned long slack)
{
	unsigned long max = READ_ONCE(set->cache_max);

	return max && READ_ONCE(set->lru_nr) > max + slack;
}

/*
 * Starts the worker (it holds a reference to the set while queued); a
 * second after the last if that freed nothing.
 */
static void kick(struct kddm_set *set)
{
	unsigned long delay = READ_ONCE(set->evict_stuck) ? HZ : 0;

	if (!READ_ONCE(set->hashed) || delayed_work_pending(&set->evict_work) ||
	    !kref_get_unless_zero(&set->ref))
		return;
	if (!queue_delayed_work(evict_wq, &set->evict_work, delay))
		kddm_put_set(set);
}

/* @obj got storage: on the clock, behind the hand (bound or not). */
void kddm_cache_add(struct kddm_obj *obj)
{
	struct kddm_set *set = obj->set;

	spin_lock(&set->lru_lock);
	list_add_tail(&obj->lru, &set->lru);
	set->lru_nr++;
	spin_unlock(&set->lru_lock);
	if (over(set, 0))
		kick(set);
}

/* @obj's storage is freed. */
void kddm_cache_del(struct kddm_obj *obj)
{
	struct kddm_set *set = obj->set;

	spin_lock(&set->lru_lock);
	list_del_init(&obj->lru);
	set->lru_nr--;
	spin_unlock(&set->lru_lock);
	if (!over(set, 0) && wq_has_sleeper(&set->evict_wq))
		wake_up_all(&set->evict_wq);
}

/*
 * Before an access: past the bound by an eighth, give the worker time;
 * not while its last turn freed nothing (copies that other nodes hold
 * keep the home's storage).
 */
void kddm_cache_throttle(struct kddm_set *set)
{
	unsigned long max = READ_ONCE(set->cache_max);

	if (!max || !over(set, max / 8) || READ_ONCE(set->evict_stuck))
		return;
	kick(set);
	wait_event_killable_timeout(set->evict_wq, !over(set, 0),
				    THROTTLE_WAIT);
}

/* The object under the hand, referenced; NULL if the clock is empty. */
static struct kddm_obj *hand(struct kddm_set *set)
{
	struct kddm_obj *obj;

	spin_lock(&set->lru_lock);
	for (;;) {
		obj = list_first_entry_or_null(&set->lru, struct kddm_obj,
					       lru);
		if (!obj)
			break;
		list_move_tail(&obj->lru, &set->lru);
		if (READ_ONCE(obj->accessed)) {
			WRITE_ONCE(obj->accessed, false);
			obj = NULL;	/* a second chance: one step */
			break;
		}
		if (!refcount_inc_not_zero(&obj->ref))
			obj = NULL;	/* being freed: one step */
		break;
	}
	spin_unlock(&set->lru_lock);
	return obj;
}

/*
 * Writes the home's copy back, frozen for read (no one writes it
 * meanwhile) but not locked: the receive thread may need the lock for
 * other requests. 0 or -errno; the object is locked again on return.
 */
static int write_back(struct kddm_obj *obj)
{
	struct kddm_set *set = obj->set;
	int ret;

	ret = kddm_obj_freeze_read(obj);
	if (ret)
		return ret;
	obj->dirty = false;	/* a grab after the put sets it again */
	mutex_unlock(&obj->lock);
	ret = set->linker->sync_object(set, obj->coh.obj_id, obj->data);
	mutex_lock(&obj->lock);
	if (ret)
		obj->dirty = true;
	coh_put(&kddm_coh, &obj->coh);
	kddm_obj_check_send(obj);
	return ret;
}

/* Writes back and forgets the home's copy; 0 or -errno. */
static int evict_home(struct kddm_obj *obj)
{
	struct kddm_set *set = obj->set;
	int ret;

	if (!coh_evictable(&kddm_coh, &obj->coh) || !obj->data)
		return -EBUSY;
	if (obj->dirty) {
		ret = write_back(obj);
		if (ret)
			return ret;
		/* changed or taken while it was written */
		if (obj->dirty || !coh_evictable(&kddm_coh, &obj->coh))
			return -EBUSY;
	}
	ret = coh_evict(&kddm_coh, &obj->coh);
	if (!ret)
		atomic64_inc(&set->evictions);
	return ret;
}

/* One step of the hand: flush or evict the object; true if it went. */
static bool evict_one(struct kddm_obj *obj)
{
	bool gone = false;
	int ret;

	if (!kddm_obj_lock(obj))
		return true;
	if (!coh_holds_data(&kddm_coh, &obj->coh)) {
		/* e.g. the home's, while another node writes the object */
		kddm_obj_free_data(obj);
		gone = true;
	} else if (obj->coh.home == kddm_coh.self) {
		ret = evict_home(obj);
		gone = !ret;
		if (ret && ret != -EBUSY && ret != -EAGAIN)
			pr_warn_ratelimited("set %llx object %llx: write-back failed (%d), kept\n",
					    obj->set->id, obj->coh.obj_id, ret);
	} else if (!coh_flush(&kddm_coh, &obj->coh)) {
		kddm_obj_check_send(obj);
		gone = true;
	}
	kddm_obj_release(obj);
	return gone;
}

static void evict_fn(struct work_struct *work)
{
	struct kddm_set *set = container_of(to_delayed_work(work),
					    struct kddm_set, evict_work);
	unsigned long max = READ_ONCE(set->cache_max);
	unsigned long steps = 2 * READ_ONCE(set->lru_nr) + 1, freed = 0;
	struct kddm_obj *obj;

	/* down to an eighth under the bound, at most two turns */
	while (max && set->hashed && steps-- &&
	       READ_ONCE(set->lru_nr) + max / 8 > max) {
		obj = hand(set);
		if (obj && evict_one(obj))
			freed++;
		if (!over(set, 0))
			wake_up_all(&set->evict_wq);
		cond_resched();
	}
	/* nothing could go: callers stop waiting, the next turn waits */
	WRITE_ONCE(set->evict_stuck, max && !freed && over(set, 0));
	wake_up_all(&set->evict_wq);
	kddm_put_set(set);
}

/**
 * kddm_set_cache_limit - bound the local copies of a set's objects
 * @set: the set; its io-linker has sync_object(), and its first_touch()
 *	reads back what sync_object() wrote
 * @max: the most objects with storage this node keeps (0: no bound)
 *
 * See cache.c. Lowering the bound to 0 waits for a worker in progress. Return: 0,
 * -EINVAL (no set) or -EOPNOTSUPP (the io-linker cannot write back).
 */
int kddm_set_cache_limit(struct kddm_set *set, unsigned long max)
{
	if (!set)
		return -EINVAL;
	if (max && !set->linker->sync_object)
		return -EOPNOTSUPP;
	WRITE_ONCE(set->cache_max, max);
	if (!max) {
		if (cancel_delayed_work_sync(&set->evict_work))
			kddm_put_set(set);	/* the queued worker's */
		wake_up_all(&set->evict_wq);
	} else if (over(set, 0)) {
		kick(set);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(kddm_set_cache_limit);

/**
 * kddm_object_stored - the frozen data of an object is in its backing store
 * @set: the set
 * @objid: an object frozen by the caller on its home
 *
 * For a client that writes objects back itself (several in one write):
 * the cache bound need not write this one again before it forgets it.
 */
void kddm_object_stored(struct kddm_set *set, u64 objid)
{
	struct kddm_obj *obj = kddm_obj_ref(set, objid);

	if (!obj)
		return;
	if (!kddm_obj_lock(obj))
		return;
	if (obj->coh.home == kddm_coh.self && !obj->coh.writer &&
	    obj->coh.readers)
		obj->dirty = false;
	kddm_obj_release(obj);
}
EXPORT_SYMBOL_GPL(kddm_object_stored);

int kddm_cache_init(void)
{
	evict_wq = alloc_workqueue("kddm_evict", WQ_UNBOUND, 0);
	return evict_wq ? 0 : -ENOMEM;
}

/* After the sets are gone (each queued worker holds its set). */
void kddm_cache_exit(void)
{
	destroy_workqueue(evict_wq);
}
