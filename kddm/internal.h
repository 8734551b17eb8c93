/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kddm.ko internals shared between its layers: transport (TIPC sockets),
 * messaging (wire header, handlers, rpc), membership, sets and objects,
 * coherence glue and the netlink control plane.
 */
#ifndef _KDDM_INTERNAL_H
#define _KDDM_INTERNAL_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <kddm/kddm.h>

/* ---- membership (membership.c) ---- */

enum kddm_node_state {
	KDDM_NODE_DOWN,
	KDDM_NODE_UP,
	KDDM_NODE_SELF,
};

u32 kddm_self(void);			/* own node id, 0 before set */
bool kddm_joined(void);
bool kddm_node_is_up(u32 node);		/* self counts as up once joined */
int kddm_set_self(u32 node);		/* -EBUSY once joined, -ERANGE */
int kddm_join(void);			/* -EINVAL without a node id */
int kddm_leave(void);			/* -EBUSY while sets exist */
const unsigned long *kddm_nodes_up(void);	/* bitmap, KDDM_MAX_NODE + 1 */
bool kddm_active(void);			/* joined, in the majority */
u32 kddm_self_inc(void);		/* this node's incarnation */
int kddm_peer_addr(u32 node, u32 *tipc, u32 *ref, u32 *inc);
bool kddm_peer_ok(u32 node, u32 tipc, u32 ref, u32 src_inc, u32 dst_inc);
void kddm_peer_lost(u32 node);		/* a message to/from it was lost */
void kddm_dead_sender(u32 node, u32 tipc, u32 ref, u32 inc);
int kddm_set_key(const void *key, unsigned int len);	/* before join */
int kddm_user_mac(const void *data, unsigned int len, u8 *mac);
void kddm_membership_stats(u64 *fences, u64 *bad_hellos);

/*
 * Calls fn for every known node (up, down after having been up, or self)
 * with id >= start, in id order; stops early when fn returns non-zero and
 * returns that value.
 */
typedef int (*kddm_node_fn)(u32 node, enum kddm_node_state st, void *arg);
int kddm_nodes_walk(u32 start, kddm_node_fn fn, void *arg);

/* ---- statistics (set.c, msg.c) ---- */

#define KDDM_LAT_BUCKETS	16	/* bucket i: [2^i, 2^(i+1)) microseconds */

struct kddm_set_stats {
	u64 gets;
	u64 grabs;
	u64 invalidations;
	u64 msgs_sent;
	u64 msgs_rcvd;
	u64 bytes_sent;
	u64 bytes_rcvd;
	u64 copies;
	u64 cache_max;
	u64 evictions;
	u64 lat[KDDM_LAT_BUCKETS];	/* get/grab that needed messages */
};

struct kddm_set_info {
	u64 id;
	char linker[32];
	u32 obj_size;
	u32 policy;
	u32 manager;
	u64 nr_objects;			/* objects with local state here */
	struct kddm_set_stats stats;
};

/*
 * Fills @info with the set whose id is the smallest one > *cursor and sets
 * *cursor to it; -ENOENT when there is none.
 */
int kddm_set_info_next(u64 *cursor, struct kddm_set_info *info);
int kddm_set_info_get(u64 id, struct kddm_set_info *info);

struct kddm_global_stats {
	u64 msgs_sent;
	u64 msgs_rcvd;
	u64 bytes_sent;
	u64 bytes_rcvd;
	u64 msgs_dropped;	/* malformed, unknown type, bad sender... */
	u64 rpc_timeouts;
	u64 fences;		/* lost the majority, or declared down */
	u64 bad_hellos;		/* failed authentication */
};

void kddm_global_stats(struct kddm_global_stats *st);

/* ---- control plane (netlink.c) ---- */

int kddm_netlink_init(void);
void kddm_netlink_exit(void);

#endif /* _KDDM_INTERNAL_H */
