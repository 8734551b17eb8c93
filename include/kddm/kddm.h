/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kDDM public API: coherent cluster-wide objects.
 *
 * A set is a cluster-wide collection of objects that share an io-linker (the
 * ops table that knows how to create, ship, store and drop one kind of
 * object). A set is named by a 64-bit id whose high 32 bits are the node
 * that created it (its manager). An object is named by (set, 64-bit id).
 *
 * kddm_get_object() returns a read copy and kddm_grab_object() the only
 * writable copy in the cluster; both leave the object frozen on this node
 * until kddm_put_object(). Remote requests that hit a frozen object wait
 * until the put. kdfs, kipc and migrate use kDDM only through this header.
 */
#ifndef _KDDM_KDDM_H
#define _KDDM_KDDM_H

#include <linux/types.h>
#include <linux/err.h>

struct module;
struct kddm_set;
struct kddm_rpc;

/* Node ids are 1..KDDM_MAX_NODE; 0 means "none". */
#define KDDM_MAX_NODE		65535U
#define KDDM_NODE_NONE		0U

/* Largest argument of kddm_call_home(). */
#define KDDM_CALL_MAX		256U
/* Largest data of kddm_call_home_start(): 16 pages, one TIPC datagram. */
#define KDDM_CALL_DATA_MAX	65536U
#define KDDM_CALL_LONG		(KDDM_CALL_MAX + KDDM_CALL_DATA_MAX)

/* Largest object an io-linker may export (longer than one TIPC datagram). */
#define KDDM_MAX_OBJ_SIZE	(1U << 20)

/**
 * struct kddm_io_linker_ops - how one kind of object lives in kDDM
 * @name: registered name; sets refer to their linker by name on every node
 * @owner: the module providing the linker (informational: sets do not
 *	pin it; kddm_unregister_io_linker() tears down the sets using it)
 * @alloc_object: allocate local storage for an object's data; the returned
 *	pointer is what get/grab return. Called when a copy arrives or on
 *	first touch. May sleep. A linker with @alloc_object also provides
 *	@first_touch, @export_object and @import_object (its storage need
 *	not be obj_size plain bytes).
 * @free_object: release what @alloc_object returned.
 * @first_touch: initialise a new object on its home node (it existed
 *	nowhere). Optional: without it the data is zeroed.
 * @export_object: copy the object's data into @buf (at most @len bytes);
 *	return the number of bytes (at least 1: an empty payload is not
 *	a copy) or -errno. Called with the object locked.
 *	Optional: without it the object is obj_size plain bytes, shipped
 *	whole (and, without @import_object, received whole, zero-padded).
 * @export_size: the bytes @export_object needs for this object now (the
 *	set's object size at most). Optional: without it, the object size.
 * @import_object: install @len bytes received from a peer into @data.
 *	@len is checked against the set's object size before the call.
 * @insert_object: a valid copy is now present here (e.g. map a page).
 *	Optional.
 * @invalidate_object: the local copy is about to be dropped (e.g. unmap).
 *	Optional.
 * @remove_object: kddm_remove_object() on this node removed the object
 *	cluster-wide (called on the removing node only; the other copies
 *	get @invalidate_object). Optional.
 * @sync_object: write the object back to its backing store; runs on the
 *	object's home, in process context, whoever called
 *	kddm_sync_object(). Optional.
 * @reload_object: re-read an object whose only copy was lost with a node
 *	from the backing store. Optional: without it the object fails -EIO.
 * @default_owner: custom default-owner (home) policy, called once per
 *	object when this node first sees it. Optional.
 * @home_call: an operation of the client's on the object's backing store,
 *	run on its home, in process context, for kddm_call_home() from any
 *	node: @arg is the caller's @len bytes (validate them: they come
 *	from a peer; with kddm_call_home_start()'s data after them, up to
 *	KDDM_CALL_LONG). Nothing is frozen. Optional.
 */
struct kddm_io_linker_ops {
	const char *name;
	struct module *owner;
	void *(*alloc_object)(struct kddm_set *set, u64 objid);
	void (*free_object)(struct kddm_set *set, u64 objid, void *data);
	int (*first_touch)(struct kddm_set *set, u64 objid, void *data);
	int (*export_object)(struct kddm_set *set, u64 objid, void *data,
			     void *buf, size_t len);
	u32 (*export_size)(struct kddm_set *set, u64 objid, void *data);
	int (*import_object)(struct kddm_set *set, u64 objid, void *data,
			     const void *buf, size_t len);
	void (*insert_object)(struct kddm_set *set, u64 objid, void *data);
	void (*invalidate_object)(struct kddm_set *set, u64 objid, void *data);
	void (*remove_object)(struct kddm_set *set, u64 objid, void *data);
	int (*sync_object)(struct kddm_set *set, u64 objid, void *data);
	int (*reload_object)(struct kddm_set *set, u64 objid, void *data);
	u32 (*default_owner)(struct kddm_set *set, u64 objid,
			     const unsigned long *nodes_up);
	int (*home_call)(struct kddm_set *set, u64 objid, const void *arg,
			 size_t len);
};

int kddm_register_io_linker(const struct kddm_io_linker_ops *ops);
void kddm_unregister_io_linker(const struct kddm_io_linker_ops *ops);

/* Default-owner (home) policies of a set. */
enum kddm_owner_policy {
	KDDM_OWNER_FIXED,	/* one node, kddm_set_attr.fixed_node */
	KDDM_OWNER_ROUND_ROBIN,	/* objid % H + 1, H: highest node id up at
				 * set creation (node ids 1..H expected)
				 */
	KDDM_OWNER_OBJID_BITS,	/* node id in objid bits 48..63 */
	KDDM_OWNER_CUSTOM,	/* the io-linker's default_owner() */
};

/**
 * struct kddm_set_attr - what a set is made of, fixed at creation
 * @linker: io-linker name, registered on every node that uses the set
 * @obj_size: largest object size in bytes (<= KDDM_MAX_OBJ_SIZE)
 * @policy: default-owner policy
 * @fixed_node: home of every object with KDDM_OWNER_FIXED (0: creator)
 */
struct kddm_set_attr {
	const char *linker;
	u32 obj_size;
	enum kddm_owner_policy policy;
	u32 fixed_node;
};

struct kddm_set *kddm_create_set(const struct kddm_set_attr *attr);
struct kddm_set *kddm_open_set(u32 name, const struct kddm_set_attr *attr);
struct kddm_set *kddm_find_set(u64 set_id);
void kddm_put_set(struct kddm_set *set);
int kddm_destroy_set(struct kddm_set *set);
u64 kddm_set_id(const struct kddm_set *set);
u32 kddm_set_obj_size(const struct kddm_set *set);
bool kddm_set_uses(const struct kddm_set *set,
		   const struct kddm_io_linker_ops *ops);
void *kddm_set_private(const struct kddm_set *set);
void kddm_set_set_private(struct kddm_set *set, void *priv);
u32 kddm_node_id(void);
bool kddm_node_known(u32 node);	/* up now, or was up since the join */

/* Flags of kddm_object_op(); the named helpers below are what clients use. */
#define KDDM_NO_FT	0x1	/* no first touch: -ENOENT if nowhere */
#define KDDM_TRY	0x2	/* fail with -EBUSY instead of waiting */
#define KDDM_ASYNC	0x4	/* prefetch: start the fetch, do not freeze */
#define KDDM_NOINTR	0x8	/* wait even with a fatal signal pending
				 * (cleanup of a dying task); node failures
				 * still end the wait
				 */
#define KDDM_BATCH	0x10	/* with KDDM_ASYNC, and for a flush: the
				 * message may wait to leave with others to
				 * the same node, in one datagram, until
				 * kddm_send_batched() (or a jiffy, or the
				 * next message to that node)
				 */

void *kddm_get_object_flags(struct kddm_set *set, u64 objid, int flags);
void *kddm_grab_object_flags(struct kddm_set *set, u64 objid, int flags);

/* Read copy, frozen until kddm_put_object(); ERR_PTR(-errno) on failure. */
static inline void *kddm_get_object(struct kddm_set *set, u64 objid)
{
	return kddm_get_object_flags(set, objid, 0);
}

/* The cluster's only writable copy, frozen until kddm_put_object(). */
static inline void *kddm_grab_object(struct kddm_set *set, u64 objid)
{
	return kddm_grab_object_flags(set, objid, 0);
}

static inline void *kddm_get_object_no_ft(struct kddm_set *set, u64 objid)
{
	return kddm_get_object_flags(set, objid, KDDM_NO_FT);
}

static inline void *kddm_grab_object_no_ft(struct kddm_set *set, u64 objid)
{
	return kddm_grab_object_flags(set, objid, KDDM_NO_FT);
}

/* -EBUSY instead of waiting for another holder. */
static inline void *kddm_try_grab_object(struct kddm_set *set, u64 objid)
{
	return kddm_grab_object_flags(set, objid, KDDM_TRY);
}

/* Start fetching a read copy and return at once (NULL or ERR_PTR). */
static inline int kddm_async_get_object(struct kddm_set *set, u64 objid)
{
	return PTR_ERR_OR_ZERO(kddm_get_object_flags(set, objid, KDDM_ASYNC));
}

/* Start fetching the writable copy and return at once (0 or -errno). */
static inline int kddm_async_grab_object(struct kddm_set *set, u64 objid)
{
	return PTR_ERR_OR_ZERO(kddm_grab_object_flags(set, objid, KDDM_ASYNC));
}

/* Local copy (frozen for read) if this node has a valid one, else NULL. */
void *kddm_find_object(struct kddm_set *set, u64 objid);
void kddm_put_object(struct kddm_set *set, u64 objid);
int kddm_remove_object(struct kddm_set *set, u64 objid);
int kddm_flush_object_flags(struct kddm_set *set, u64 objid, int flags);
void kddm_send_batched(void);

/* This node's copy back to the home (with its data if it was written). */
static inline int kddm_flush_object(struct kddm_set *set, u64 objid)
{
	return kddm_flush_object_flags(set, objid, 0);
}

int kddm_sync_object(struct kddm_set *set, u64 objid);
int kddm_call_home(struct kddm_set *set, u64 objid, const void *arg,
		   size_t len);

/* A kddm_call_home_start() until its kddm_call_home_end(). */
struct kddm_call {
	struct kddm_rpc *rpc;	/* NULL: done, @ret */
	int ret;
};

void kddm_call_home_start(struct kddm_call *call, struct kddm_set *set,
			  u64 objid, const void *arg, size_t len,
			  const void *data, size_t dlen);
int kddm_call_home_end(struct kddm_call *call);
/* Bound on the copies this node keeps of @set's objects: see cache.c. */
int kddm_set_cache_limit(struct kddm_set *set, unsigned long max);
void kddm_object_stored(struct kddm_set *set, u64 objid);
/* kddm_walk_copies(): @fn runs for each object, nothing locked */
struct kddm_copy_visitor {
	void (*fn)(struct kddm_copy_visitor *v, u64 objid);
};

void kddm_walk_copies(struct kddm_set *set, struct kddm_copy_visitor *v);

/*
 * Membership callbacks for client modules (o2hb style). At registration,
 * node_up runs for every other node already up.
 */
struct kddm_node_callback {
	void (*node_up)(u32 node, void *arg);
	void (*node_down)(u32 node, void *arg);
	void *arg;
	struct list_head list;
};

void kddm_register_node_callback(struct kddm_node_callback *cb);
void kddm_unregister_node_callback(struct kddm_node_callback *cb);

#endif /* _KDDM_KDDM_H */
