// SPDX-License-Identifier: GPL-2.0
/*
 * kipc waits across nodes, with nothing but kDDM coherence.
 *
 * A task that must wait for an IPC object to change (msgrcv on an empty
 * queue, semop that cannot proceed) keeps a read copy of the object on its
 * node and sleeps. Whoever changes the object grabs it, which invalidates
 * every read copy in the cluster: the object's io-linker calls
 * kipc_watch_changed() from invalidate_object, which bumps the object's
 * generation here and wakes the local sleepers, who look again. Removal
 * and the loss of the object's home node invalidate the copies too.
 *
 *   gen = kipc_watch_gen(w);      before taking the read copy
 *   ... get the object, check, put (the read copy stays) ...
 *   kipc_watch_wait(w, gen, timeout)   sleeps until gen moves
 */
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "kipc.h"

struct kipc_watch {
	wait_queue_head_t wq;
	atomic_t gen;
	refcount_t ref;
	struct rcu_head rcu;
};

static DEFINE_XARRAY(watches);		/* id -> struct kipc_watch */
static DEFINE_MUTEX(watch_mutex);

/*
 * The watch of an object; ids are unique per IPC type only, so @key is
 * type << 32 | id.
 */
struct kipc_watch *kipc_watch_get(u64 key)
{
	struct kipc_watch *w;

	mutex_lock(&watch_mutex);
	w = xa_load(&watches, key);
	if (w) {
		refcount_inc(&w->ref);
		goto out;
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		goto out;
	init_waitqueue_head(&w->wq);
	refcount_set(&w->ref, 1);
	if (xa_is_err(xa_store(&watches, key, w, GFP_KERNEL))) {
		kfree(w);
		w = NULL;
	}
out:
	mutex_unlock(&watch_mutex);
	return w;
}

void kipc_watch_put(u64 key, struct kipc_watch *w)
{
	mutex_lock(&watch_mutex);
	if (refcount_dec_and_test(&w->ref)) {
		xa_erase(&watches, key);
		kfree_rcu(w, rcu);
	}
	mutex_unlock(&watch_mutex);
}

int kipc_watch_gen(struct kipc_watch *w)
{
	return atomic_read(&w->gen);
}

/* From invalidate_object: the local copy of @key is going. */
void kipc_watch_changed(u64 key)
{
	struct kipc_watch *w;

	rcu_read_lock();
	w = xa_load(&watches, key);
	if (w) {
		atomic_inc(&w->gen);
		wake_up_all(&w->wq);
	}
	rcu_read_unlock();
}

/*
 * Sleeps until the generation moves from @gen. Returns the remaining
 * timeout in jiffies (>= 1) or MAX_SCHEDULE_TIMEOUT, 0 on timeout,
 * -ERESTARTSYS on a signal.
 */
long kipc_watch_wait(struct kipc_watch *w, int gen, long timeout)
{
	return wait_event_interruptible_timeout(w->wq,
						atomic_read(&w->gen) != gen,
						timeout);
}
