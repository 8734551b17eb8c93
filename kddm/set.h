/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sets and objects: the local instances of cluster-wide sets, their objects
 * and the glue between the coherence engine (coh/) and the kernel: object
 * locks, wait queues, io-linker calls and the wire format of coherence
 * messages.
 */
#ifndef _KDDM_SET_H
#define _KDDM_SET_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "coh/coh.h"
#include "internal.h"
#include "msg.h"

struct kddm_set {
	u64 id;
	struct kref ref;
	const struct kddm_io_linker_ops *linker;
	u32 obj_size;
	u32 policy;
	u32 fixed_node;
	u32 rr_max;		/* ROUND_ROBIN: highest node id at creation */
	bool hashed;		/* in the set table (not destroyed) */
	struct xarray objs;	/* object id -> struct kddm_obj */
	struct hlist_node hnode;
	struct list_head teardown;	/* sets_unhash_matching() */
	void *private;
	atomic64_t gets, grabs, invalidations;
	atomic64_t msgs_sent, msgs_rcvd, bytes_sent, bytes_rcvd;
	atomic64_t lat[KDDM_LAT_BUCKETS];
	/* the bound on local copies (cache.c) */
	spinlock_t lru_lock;
	struct list_head lru;	/* objects with storage, clock order */
	unsigned long lru_nr;	/* objects with storage (under lru_lock) */
	unsigned long cache_max;	/* 0: no bound */
	struct delayed_work evict_work;
	bool evict_stuck;	/* the worker's last turn freed nothing */
	wait_queue_head_t evict_wq;	/* callers throttled past the bound */
	atomic64_t evictions;
};

struct kddm_obj {
	struct coh_obj coh;	/* engine state, under @lock */
	struct mutex lock;
	wait_queue_head_t wq;
	struct kddm_set *set;
	void *data;		/* io-linker storage, NULL until needed */
	int send_err_node;	/* a send to this node failed (see object.c) */
	refcount_t ref;
	bool dead;		/* out of the xarray (under @lock) */
	bool accessed;		/* clock bit, set at each freeze */
	bool dirty;		/* home: changed since written back */
	bool batch;		/* its messages may be queued (under @lock) */
	struct list_head lru;	/* on set->lru while it has storage */
	struct rcu_head rcu;
};

/* set.c */
struct kddm_set *kddm_set_lookup(u64 id);	/* local only, +ref */
void kddm_sets_node_down(u32 node);
void kddm_sets_reset(void);
struct kddm_set *kddm_set_next(u64 *cursor);	/* id > *cursor, +ref */
void kddm_debugfs_init(void);
void kddm_debugfs_exit(void);
unsigned int kddm_sets_count(void);
void kddm_sets_shutdown(void);
void kddm_sets_destroy_linker(const struct kddm_io_linker_ops *ops);
int kddm_set_init(void);
void kddm_set_exit(void);
const struct kddm_io_linker_ops *kddm_linker_get(const char *name);

/* object.c */
extern struct coh_node kddm_coh;
void kddm_obj_node_down(struct kddm_set *set, u32 node);
void kddm_obj_reset(struct kddm_set *set);
void kddm_objs_free(struct kddm_set *set);
void kddm_objs_wake(struct kddm_set *set);
struct kddm_obj *kddm_obj_ref(struct kddm_set *set, u64 objid);
void kddm_obj_unref(struct kddm_obj *obj);
void kddm_coh_recv(struct kddm_set *set, struct kddm_msg *m);
int kddm_object_init(void);
void kddm_object_exit(void);
void kddm_object_set_self(u32 self);
void kddm_object_node_seen(u32 id);
long kddm_engine_bytes(void);
unsigned long kddm_set_nr_objects(struct kddm_set *set);
struct kddm_obj *kddm_obj_lock(struct kddm_obj *obj);
void kddm_obj_release(struct kddm_obj *obj);
void kddm_obj_check_send(struct kddm_obj *obj);
void kddm_obj_free_data(struct kddm_obj *obj);
int kddm_obj_freeze_read(struct kddm_obj *obj);

/* cache.c */
void kddm_cache_init_set(struct kddm_set *set);
void kddm_cache_add(struct kddm_obj *obj);
void kddm_cache_del(struct kddm_obj *obj);
void kddm_cache_throttle(struct kddm_set *set);
int kddm_cache_init(void);
void kddm_cache_exit(void);

#endif /* _KDDM_SET_H */
