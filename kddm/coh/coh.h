/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kDDM coherence engine: write-invalidate, home-based directory protocol
 * for objects identified by (set id, object id).
 *
 * Pure C: no kernel or libc header besides coh_port.h.  The same code is
 * linked into kddm.ko and into the user-space simulator (kddm-sim).
 * See Documentation/kddm/protocol.rst for the protocol itself.
 *
 * Caller's contract (summary):
 *
 * - One struct coh_node per node, one struct coh_obj per (node, object),
 *   both allocated by the caller.  Every entry point taking a coh_obj must
 *   be called with that object's lock held (kddm.ko: a per-object mutex); the
 *   engine never sleeps, never blocks and takes no lock.  All callbacks are
 *   invoked synchronously from within an entry point, with the object lock
 *   held, and must not re-enter the engine for that object (they may
 *   sleep only if the caller's lock allows it: kddm.ko's mutex does).
 * - Node-wide state (struct coh_node) is only written by coh_node_init(),
 *   coh_node_span(), coh_obj_init() (which must be serialised on a node,
 *   e.g. under the object table lock) and by statistics counters (racy
 *   increments).
 * - Entry points return 0 on success, COH_WAIT (> 0) when the caller must
 *   sleep until ops->wake() is called for the object and then call the
 *   same function again with the same struct coh_wait, or -COH_Exxx.
 */
#ifndef _KDDM_COH_H
#define _KDDM_COH_H

#include "coh_port.h"

/* Positive "come back later" return value of the local entry points. */
#define COH_WAIT	1

/* Error numbers, equal to the Linux errno values; returned negated. */
#define COH_ENOENT	2
#define COH_EIO		5
#define COH_EAGAIN	11
#define COH_ENOMEM	12
#define COH_EBUSY	16
#define COH_EINVAL	22
#define COH_ENOLINK	67
#define COH_EPROTO	71
#define COH_EHOSTDOWN	112

/* No node (owner of an object nobody writes, ...). */
#define COH_NODE_NONE	0xffffffffU

/* Flags of coh_get() / coh_grab() / coh_remove(). */
#define COH_NO_FT	0x1	/* no first touch: -ENOENT if nowhere */
#define COH_TRY		0x2	/* -EBUSY instead of waiting */
#define COH_ASYNC	0x4	/* prefetch: start the request, never wait */

/**
 * enum coh_msg_type - protocol messages (see protocol.rst)
 * @COH_MSG_REQ_READ: requester -> home, read copy wanted
 * @COH_MSG_REQ_WRITE: requester -> home, write copy wanted
 * @COH_MSG_REQ_REMOVE: requester -> home, cluster-wide removal
 * @COH_MSG_DATA: home or previous owner -> requester, carries data
 * @COH_MSG_GRANT_WRITE: home -> requester, upgrade of a read copy, no data
 * @COH_MSG_INV: home -> read copy holder, invalidate and ack requester
 * @COH_MSG_INV_ACK: copy holder -> requester (or home -> requester, proxy)
 * @COH_MSG_FWD_READ: home -> owner, send read copy to requester
 * @COH_MSG_FWD_WRITE: home -> owner, hand the write copy to requester
 * @COH_MSG_WRITEBACK: owner -> home after FWD_READ, carries data
 * @COH_MSG_FLUSH: owner -> home, owner drops its copy, carries data
 * @COH_MSG_DROP: reader -> home, reader dropped its copy
 * @COH_MSG_RM: home -> copy holder, object removed
 * @COH_MSG_RM_ACK: copy holder -> home
 * @COH_MSG_RM_DONE: home -> remove requester
 * @COH_MSG_NO_OBJECT: home -> requester, object does not exist (NO_FT)
 * @COH_MSG_ERROR: home -> requester, request failed with @err
 * @COH_MSG_DONE: requester -> home, three-party transaction completed
 * @COH_MSG_PROBE: home -> requester, the node that should send you the
 *	data left: tell me whether you got it
 * @COH_MSG_NODATA: requester -> home, answer to PROBE: data not received;
 *	owner -> home, answer to RECALL: data already handed over
 * @COH_MSG_RECALL: home -> owner, the requester of the FWD_WRITE you got
 *	left: keep your copy if you still have it (answer DONE or NODATA)
 * @COH_MSG_NR: number of message types
 */
enum coh_msg_type {
	COH_MSG_REQ_READ = 1,
	COH_MSG_REQ_WRITE,
	COH_MSG_REQ_REMOVE,
	COH_MSG_DATA,
	COH_MSG_GRANT_WRITE,
	COH_MSG_INV,
	COH_MSG_INV_ACK,
	COH_MSG_FWD_READ,
	COH_MSG_FWD_WRITE,
	COH_MSG_WRITEBACK,
	COH_MSG_FLUSH,
	COH_MSG_DROP,
	COH_MSG_RM,
	COH_MSG_RM_ACK,
	COH_MSG_RM_DONE,
	COH_MSG_NO_OBJECT,
	COH_MSG_ERROR,
	COH_MSG_DONE,
	COH_MSG_PROBE,
	COH_MSG_NODATA,
	COH_MSG_RECALL,
	COH_MSG_NR
};

/* Message flags. */
#define COH_MF_HAS_READ	0x1	/* REQ_WRITE: requester holds a read copy */
#define COH_MF_NO_FT	0x2	/* REQ_*: do not create the object */
#define COH_MF_WRITE	0x4	/* DATA: write grant (else read grant) */
#define COH_MF_PROXY	0x8	/* INV_ACK sent by home on behalf of @node */

/**
 * struct coh_msg - protocol message header (host endian)
 * @type: enum coh_msg_type
 * @flags: COH_MF_*
 * @set_id: set of the object
 * @obj_id: object id
 * @src: sender; the engine fills it when sending, the transport must
 *	overwrite it with the authenticated sender on receive
 * @requester: node that issued the request this message serves
 * @req: request id of @requester (per requester and object)
 * @owner_req: FWD_*: request id under which the owner got its copy;
 *	FLUSH: request id of the flushed copy
 * @count: DATA/GRANT_WRITE: number of INV_ACKs the requester must collect
 * @err: ERROR: positive errno
 * @node: INV_ACK with COH_MF_PROXY: node acked on behalf of
 *
 * The data payload is never part of the header: see &coh_ops.send and
 * coh_rx().
 */
struct coh_msg {
	u16 type;
	u16 flags;
	u32 set_id;
	u64 obj_id;
	u32 src;
	u32 requester;
	u32 req;
	u32 owner_req;
	u32 count;
	u32 err;
	u32 node;
};

/**
 * enum coh_state - local copy state of an object on a node
 * @COH_INVALID: no copy
 * @COH_READ: read copy
 * @COH_WRITE: exclusive writable copy
 * @COH_WAIT_READ: read request in flight
 * @COH_WAIT_WRITE: write request in flight (grant and/or INV_ACKs)
 * @COH_WAIT_REMOVE: remove request in flight
 */
enum coh_state {
	COH_INVALID,
	COH_READ,
	COH_WRITE,
	COH_WAIT_READ,
	COH_WAIT_WRITE,
	COH_WAIT_REMOVE,
};

/**
 * struct coh_stats - per-node counters (racy, approximate on SMP)
 * @sent: messages sent to other nodes, per type
 * @gets: successful coh_get() freezes
 * @grabs: successful coh_grab() freezes
 * @get_misses: read requests sent to the home
 * @grab_misses: write requests sent to the home
 * @invalidations: read copies dropped because of an INV or a local write
 * @flushes: coh_flush() of a valid copy
 * @evictions: coh_evict() of an object at its home
 * @removes: remove requests sent
 * @errors: requests that failed (error returned to local waiters)
 * @dropped: malformed or unexpected messages dropped (coh_rx -EPROTO)
 * @stale: benign late messages ignored (crossing races, failures)
 */
struct coh_stats {
	u64 sent[COH_MSG_NR];
	u64 gets;
	u64 grabs;
	u64 get_misses;
	u64 grab_misses;
	u64 invalidations;
	u64 flushes;
	u64 evictions;
	u64 removes;
	u64 errors;
	u64 dropped;
	u64 stale;
};

struct coh_node;
struct coh_obj;

/**
 * struct coh_ops - callbacks, all called with the object lock held
 * @alloc: allocate @size bytes, may fail (kddm.ko: GFP_KERNEL).  Called from
 *	coh_get(), coh_grab(), coh_remove() and coh_rx().
 * @free: free memory from @alloc.  Called from any entry point.
 * @send: send @msg to node @dst.  If @with_data, the transport appends the
 *	current content of the local copy of @obj (io-linker export) now.
 *	Must not sleep and cannot fail: if the message cannot be delivered,
 *	the destination must later be reported down with coh_node_down().
 *	Never called with @dst == local node.  Called from every entry point.
 * @install: accept the payload @data handed to coh_rx() as the new content
 *	of the local copy (io-linker import).  Called from coh_rx() only.
 * @first_touch: initialise a new object on its home (coh_get/grab/rx).
 *	Returns 0 or -errno (the request then fails with that error).
 * @reload: optional (may be NULL): the writable copy was lost with its
 *	node; refill the home copy from a backing store.  Returns 0 on
 *	success, -errno if the data cannot be recovered.  Called from
 *	coh_node_down() and coh_rx().
 * @drop: optional (may be NULL): the local copy's content is no longer
 *	valid (invalidated, handed over, removed).  Any entry point.
 * @wake: wake every task sleeping on the object after COH_WAIT.  Only
 *	called when some caller waits (see struct coh_wait).  Any entry point.
 */
struct coh_ops {
	void *(*alloc)(struct coh_node *node, u32 size);
	void (*free)(struct coh_node *node, void *p);
	void (*send)(struct coh_node *node, struct coh_obj *obj, u32 dst,
		     const struct coh_msg *msg, bool with_data);
	void (*install)(struct coh_node *node, struct coh_obj *obj,
			void *data);
	int (*first_touch)(struct coh_node *node, struct coh_obj *obj);
	int (*reload)(struct coh_node *node, struct coh_obj *obj);
	void (*drop)(struct coh_node *node, struct coh_obj *obj);
	void (*wake)(struct coh_node *node, struct coh_obj *obj);
};

/**
 * struct coh_node - one engine instance per node
 * @ops: callbacks
 * @priv: free for the caller
 * @self: local node id
 * @nr_nodes: node ids are < @nr_nodes (up to 65536 and beyond)
 * @span: node ids in use are < @span (coh_node_span()): new node sets
 *	are sized for it
 * @obj_seq: seeds the request ids of new objects
 * @stats: counters
 */
struct coh_node {
	const struct coh_ops *ops;
	void *priv;
	u32 self;
	u32 nr_nodes;
	u32 span;
	u32 obj_seq;
	struct coh_stats stats;
};

/**
 * struct coh_set - dynamically allocated node bitmap
 * @bits: @words words, NULL until first needed
 * @words: grows to hold the highest node id added
 * @count: number of bits set
 */
struct coh_set {
	u64 *bits;
	u32 words;
	u32 count;
};

struct coh_qent;

/**
 * struct coh_dir - directory entry, only used on the object's home
 * @copyset: remote read copies (the home's own copy is the local state)
 * @txnset: INV or RM targets of the transaction in progress
 * @qhead: requests deferred while the entry is busy
 * @qtail: tail of @qhead
 * @owner: node with the writable copy or COH_NODE_NONE
 * @owner_req: request id under which @owner got its copy
 * @txn_requester: requester of the transaction in progress
 * @txn_req: its request id
 * @txn_fwd: FWD_*: the node the request was forwarded to
 * @txn_fwd_req: FWD_*: request id of @txn_fwd's copy
 * @txn: transaction in progress (0: none)
 * @txn_flags: progress of @txn
 * @exists: the object exists (first touched, not removed)
 * @valid: the home copy holds the current data (no remote owner)
 * @lost: the data was lost with its writer: requests fail with -EIO
 * @draining: the request queue is being replayed
 * @fuzzy: @copyset may list nodes that dropped their copy (after a failure)
 */
struct coh_dir {
	struct coh_set copyset;
	struct coh_set txnset;
	struct coh_qent *qhead;
	struct coh_qent *qtail;
	u32 owner;
	u32 owner_req;
	u32 txn_requester;
	u32 txn_req;
	u32 txn_fwd;
	u32 txn_fwd_req;
	u8 txn;
	u8 txn_flags;
	bool exists;
	bool valid;
	bool lost;
	bool draining;
	bool fuzzy;
};

/**
 * struct coh_obj - per node state of one object, embedded by the caller
 * @obj_id: object id
 * @set_id: set id
 * @home: home node
 * @req: id of the last request sent by this node for the object
 * @done_req: id of the last request that completed successfully
 * @readers: local read freezes
 * @nwaiters: callers that got COH_WAIT and did not finish yet
 * @acks_needed: INV_ACKs to collect (known once the grant arrived)
 * @acks_got: INV_ACKs received
 * @err_seq: bumped each time an error is posted to the waiters
 * @err: last error posted (negative)
 * @grant_src: sender of the grant being processed
 * @acked: nodes whose INV_ACK was received for @req
 * @deferred: remote request deferred while frozen
 * @dir: directory entry (home only)
 * @state: enum coh_state
 * @writer: local write freeze
 * @has_data: the local copy holds valid data (transient states)
 * @got_grant: the grant for @req was received, acks still missing
 * @grant_write: the grant is a write grant
 * @reserved: a grant just completed for sleeping callers: keep deferred
 *	remote requests until one of them froze and put the object
 * @has_deferred: @deferred is valid
 * @abandoned: we told the home (NODATA) that the data of @req is lost
 * @dead: the home left the cluster: the object is unusable
 */
struct coh_obj {
	u64 obj_id;
	u32 set_id;
	u32 home;
	u32 req;
	u32 done_req;
	u32 readers;
	u32 nwaiters;
	u32 acks_needed;
	u32 acks_got;
	u32 err_seq;
	int err;
	u32 grant_src;
	struct coh_set acked;
	struct coh_msg deferred;
	struct coh_dir dir;
	u8 state;
	bool writer;
	bool has_data;
	bool got_grant;
	bool grant_write;
	bool reserved;
	bool has_deferred;
	bool abandoned;
	bool dead;
};

/**
 * struct coh_wait - wait ticket of one calling context
 * @err_seq: object error sequence when the wait started
 * @req: request waited for (coh_remove())
 * @waiting: the previous call with this ticket returned COH_WAIT
 *
 * Contract: a caller initialises a ticket with coh_wait_init() before its
 * first call, and passes the same ticket to every retry of the same
 * operation on the same object.  When a call returns COH_WAIT, the caller
 * sleeps until ops->wake() is called for the object (wake-ups are never
 * lost if the object lock is held from the call until the caller is on the
 * wait queue) and calls the same function again.  A retry never sends a
 * duplicate request.  Every error posted on the object while a ticket is
 * waiting (failed request, lost object, home down) is returned exactly
 * once to that ticket.  A caller that gives up waiting (signal) must call
 * coh_wait_cancel().  A ticket may be NULL only with COH_TRY or COH_ASYNC.
 */
struct coh_wait {
	u32 err_seq;
	u32 req;
	bool waiting;
};

/**
 * coh_wait_init() - initialise a wait ticket
 * @w: ticket
 */
static inline void coh_wait_init(struct coh_wait *w)
{
	memset(w, 0, sizeof(*w));
}

/**
 * coh_node_init() - initialise an engine instance
 * @node: instance
 * @ops: callbacks (alloc, free, send, install, first_touch, wake mandatory)
 * @self: local node id, < @nr_nodes
 * @nr_nodes: bound on node ids
 *
 * Return: 0 or -COH_EINVAL.
 */
int coh_node_init(struct coh_node *node, const struct coh_ops *ops,
		  u32 self, u32 nr_nodes);

/**
 * coh_node_span() - node @id is in use: size new node sets to hold it
 * @node: instance
 * @id: node id, < @nr_nodes
 *
 * Callers serialise it (kddm.ko: membership); any context may read the
 * result.  Sets made before grow when a higher id is added to them.
 */
void coh_node_span(struct coh_node *node, u32 id);

/**
 * coh_dir_queued() - requests queued at the home of @obj
 * @obj: object, locked
 * @node: count only those of @node; COH_NODE_NONE: all
 *
 * Return: the number of requests, at most one per node.
 */
u32 coh_dir_queued(const struct coh_obj *obj, u32 node);

/**
 * coh_obj_init() - initialise the local state of an object
 * @node: engine
 * @obj: object (caller memory)
 * @set_id: set id
 * @obj_id: object id
 * @home: home node of the object (default-owner policy)
 *
 * Calls on one node must be serialised (they seed request ids).
 */
void coh_obj_init(struct coh_node *node, struct coh_obj *obj, u32 set_id,
		  u64 obj_id, u32 home);

/**
 * coh_obj_destroy() - free the engine memory of an object
 * @node: engine
 * @obj: object, unused by any caller and not frozen
 */
void coh_obj_destroy(struct coh_node *node, struct coh_obj *obj);

/**
 * coh_get() - get a read copy and freeze it for read
 * @node: engine
 * @obj: object (locked)
 * @flags: COH_NO_FT, COH_TRY, COH_ASYNC
 * @w: wait ticket
 *
 * Return: 0 (frozen for read, except with COH_ASYNC: nothing frozen),
 * COH_WAIT, -COH_ENOENT (COH_NO_FT), -COH_EBUSY (COH_TRY), -COH_EIO (data
 * lost), -COH_EHOSTDOWN (home gone), -COH_EAGAIN or -COH_ENOMEM.
 */
int coh_get(struct coh_node *node, struct coh_obj *obj, u32 flags,
	    struct coh_wait *w);

/**
 * coh_grab() - get the exclusive writable copy and freeze it for write
 * @node: engine
 * @obj: object (locked)
 * @flags: COH_NO_FT, COH_TRY, COH_ASYNC
 * @w: wait ticket
 *
 * Waits for the local readers to put.  Return: as coh_get().
 */
int coh_grab(struct coh_node *node, struct coh_obj *obj, u32 flags,
	     struct coh_wait *w);

/**
 * coh_put() - release one freeze taken by coh_get() or coh_grab()
 * @node: engine
 * @obj: object (locked)
 *
 * Replays remote requests deferred while frozen.
 * Return: 0 or -COH_EINVAL if the object is not frozen.
 */
int coh_put(struct coh_node *node, struct coh_obj *obj);

/**
 * coh_flush() - drop the local copy, writing it back to the home first
 * @node: engine
 * @obj: object (locked)
 *
 * Return: 0, -COH_EBUSY (frozen or request in flight), -COH_EHOSTDOWN.
 */
int coh_flush(struct coh_node *node, struct coh_obj *obj);

/**
 * coh_holds_data() - may the protocol still use the local storage of @obj?
 * @node: engine
 * @obj: object (locked)
 *
 * False once the local copy is gone and, on the home, the current data is
 * elsewhere: the caller may free the storage (a payload that comes later
 * is installed into new storage, ops->first_touch and ops->reload fill
 * new storage).
 */
bool coh_holds_data(const struct coh_node *node, const struct coh_obj *obj);

/**
 * coh_evictable() - may the home forget @obj (see coh_evict())?
 * @node: engine
 * @obj: object (locked)
 *
 * Return: true on the home of an existing object whose current data is the
 * home's (no copy elsewhere, no writer elsewhere), with no freeze, request,
 * transaction or waiter.
 */
bool coh_evictable(const struct coh_node *node, const struct coh_obj *obj);

/**
 * coh_evict() - the home forgets an object whose data is stored
 * @node: engine
 * @obj: object (locked)
 *
 * The caller wrote the home's copy to its backing store first, under the
 * object lock; the object then exists nowhere, and the next request first
 * touches it (ops->first_touch reads the store back). A memory cache
 * bound, not a removal: no message is sent.
 * Return: 0, -COH_EBUSY (!coh_evictable()), -COH_EINVAL (not the home).
 */
int coh_evict(struct coh_node *node, struct coh_obj *obj);

/**
 * coh_remove() - remove the object cluster-wide
 * @node: engine
 * @obj: object (locked), waits for the local freezes to be put
 * @flags: COH_TRY, COH_ASYNC
 * @w: wait ticket
 *
 * Return: 0, COH_WAIT, -COH_ENOENT (no such object), -COH_EBUSY,
 * -COH_EHOSTDOWN, -COH_EAGAIN, -COH_ENOMEM.
 */
int coh_remove(struct coh_node *node, struct coh_obj *obj, u32 flags,
	       struct coh_wait *w);

/**
 * coh_wait_cancel() - abandon a wait started by a call returning COH_WAIT
 * @node: engine
 * @obj: object (locked)
 * @w: ticket
 */
void coh_wait_cancel(struct coh_node *node, struct coh_obj *obj,
		     struct coh_wait *w);

/**
 * coh_rx() - deliver a message received from another node
 * @node: engine
 * @obj: object named by @msg (locked), coh_obj_init()ed if new
 * @msg: message, @msg->src set by the transport
 * @data: opaque payload handle or NULL; passed to ops->install() if and
 *	when the engine accepts the payload
 *
 * Messages from one sender must be delivered in the order sent; once
 * coh_node_down() was called for a node, no message from it may be
 * delivered any more.
 * Return: 0, or -COH_EPROTO if the message was dropped as malformed or
 * unexpected (counted in stats.dropped).  Never crashes on bad input.
 */
int coh_rx(struct coh_node *node, struct coh_obj *obj,
	   const struct coh_msg *msg, void *data);

/**
 * coh_node_down() - node @dead left the cluster
 * @node: engine
 * @obj: object (locked); call for every object known locally
 * @dead: node id
 *
 * On the home: forgets @dead's copies; if @dead held the writable copy,
 * reloads (ops->reload) or marks the object lost (-EIO until removed);
 * transactions waiting on @dead complete.  Elsewhere, if @dead is the home,
 * every waiter fails with -EHOSTDOWN and the object is unusable from now
 * on (every call returns -EHOSTDOWN; coh_put() still works).
 */
void coh_node_down(struct coh_node *node, struct coh_obj *obj, u32 dead);

/* This node was fenced: forget @obj as if the node had crashed. */
void coh_reset(struct coh_node *node, struct coh_obj *obj);

#endif /* _KDDM_COH_H */
