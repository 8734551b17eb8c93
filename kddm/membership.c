// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM membership: which nodes are up.
 *
 * A node joins by publishing its TIPC service {KDDM_TIPC_TYPE, id}; the TIPC
 * topology server tells every node about each publication and withdrawal,
 * including the withdrawal of a node whose links went down. A node that
 * leaves fails every rpc waiting on it, its copies are forgotten by the
 * coherence layer, then client modules' node_down callbacks run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>

#include "internal.h"
#include "membership.h"
#include "msg.h"
#include "set.h"
#include "transport.h"
#include "trace.h"

static DEFINE_MUTEX(join_mutex);	/* self, joined; join and leave */
static DEFINE_SPINLOCK(map_lock);	/* the maps below */
static DECLARE_RWSEM(cb_sem);		/* callbacks */
static LIST_HEAD(callbacks);
static u32 self;
static bool joined;
static unsigned long *up_map;		/* nodes up (self included) */
static unsigned long *known_map;	/* nodes ever seen */
static u32 *tipc_of;			/* TIPC node address of each node */

u32 kddm_self(void)
{
	return READ_ONCE(self);
}

u32 kddm_node_id(void)
{
	return kddm_self();
}
EXPORT_SYMBOL_GPL(kddm_node_id);

bool kddm_joined(void)
{
	return READ_ONCE(joined);
}

bool kddm_node_is_up(u32 node)
{
	return node && node <= KDDM_MAX_NODE && test_bit(node, up_map);
}

const unsigned long *kddm_nodes_up(void)
{
	return up_map;
}

bool kddm_node_known(u32 node)
{
	return node && node <= KDDM_MAX_NODE && test_bit(node, known_map);
}
EXPORT_SYMBOL_GPL(kddm_node_known);

u32 kddm_node_tipc(u32 node)
{
	if (!node || node > KDDM_MAX_NODE)
		return 0;
	return READ_ONCE(tipc_of[node]);
}

int kddm_set_self(u32 node)
{
	int ret = 0;

	if (!node || node > KDDM_MAX_NODE)
		return -ERANGE;
	mutex_lock(&join_mutex);
	if (joined)
		ret = -EBUSY;
	else
		WRITE_ONCE(self, node);
	mutex_unlock(&join_mutex);
	return ret;
}

void kddm_register_node_callback(struct kddm_node_callback *cb)
{
	down_write(&cb_sem);
	list_add_tail(&cb->list, &callbacks);
	up_write(&cb_sem);
}
EXPORT_SYMBOL_GPL(kddm_register_node_callback);

void kddm_unregister_node_callback(struct kddm_node_callback *cb)
{
	down_write(&cb_sem);
	list_del(&cb->list);
	up_write(&cb_sem);
}
EXPORT_SYMBOL_GPL(kddm_unregister_node_callback);

static void run_callbacks(u32 node, bool up)
{
	struct kddm_node_callback *cb;

	down_read(&cb_sem);
	list_for_each_entry(cb, &callbacks, list) {
		if (up && cb->node_up)
			cb->node_up(node, cb->arg);
		else if (!up && cb->node_down)
			cb->node_down(node, cb->arg);
	}
	up_read(&cb_sem);
}

static void node_down(u32 node)
{
	spin_lock(&map_lock);
	clear_bit(node, up_map);
	spin_unlock(&map_lock);
	pr_info("node %u left\n", node);
	trace_kddm_node(node, false);
	kddm_msg_node_down(node);
	kddm_sets_node_down(node);
	run_callbacks(node, false);
}

static void node_up(u32 node, u32 tipc)
{
	spin_lock(&map_lock);
	WRITE_ONCE(tipc_of[node], tipc);
	set_bit(node, known_map);
	set_bit(node, up_map);
	spin_unlock(&map_lock);
	pr_info("node %u joined (TIPC %x)\n", node, tipc);
	trace_kddm_node(node, true);
	run_callbacks(node, true);
}

/* Transport callback, on the receive thread. */
static void node_event(u32 node, u32 tipc, bool up)
{
	if (!node || node > KDDM_MAX_NODE) {
		pr_warn_ratelimited("ignoring node id %u from TIPC %x\n",
				    node, tipc);
		return;
	}
	if (node == kddm_self()) {
		if (tipc != kddm_transport_tipc_addr())
			pr_err("node id %u is also used by TIPC node %x\n",
			       node, tipc);
		return;
	}
	if (up && test_bit(node, up_map)) {
		if (tipc != kddm_node_tipc(node))
			pr_err("node id %u is also used by TIPC node %x\n",
			       node, tipc);
		return;
	}
	if (!up && (!test_bit(node, up_map) || tipc != kddm_node_tipc(node)))
		return;
	if (up)
		node_up(node, tipc);
	else
		node_down(node);
}

static const struct kddm_transport_ops transport_ops = {
	.recv = kddm_msg_recv,
	.node_event = node_event,
};

int kddm_join(void)
{
	int ret;

	mutex_lock(&join_mutex);
	ret = -EALREADY;
	if (joined)
		goto out;
	ret = -EINVAL;
	if (!self)
		goto out;
	spin_lock(&map_lock);
	WRITE_ONCE(tipc_of[self], 0);
	set_bit(self, known_map);
	set_bit(self, up_map);
	spin_unlock(&map_lock);
	kddm_object_set_self(self);
	ret = kddm_transport_start(self, &transport_ops);
	if (ret) {
		clear_bit(self, up_map);
		goto out;
	}
	WRITE_ONCE(tipc_of[self], kddm_transport_tipc_addr());
	WRITE_ONCE(joined, true);
	pr_info("node %u joined the cluster\n", self);
out:
	mutex_unlock(&join_mutex);
	return ret;
}

/* Leaving with sets in use is refused; peers see us as a node that left. */
int kddm_leave(void)
{
	unsigned long n;
	int ret = 0;

	mutex_lock(&join_mutex);
	if (!joined) {
		ret = -ENOTCONN;
		goto out;
	}
	if (kddm_sets_count()) {
		ret = -EBUSY;
		goto out;
	}
	kddm_transport_stop();
	clear_bit(self, up_map);
	for_each_set_bit(n, up_map, KDDM_MAX_NODE + 1)
		node_down(n);
	kddm_msg_node_down(self);	/* a long message of our own, if any */
	WRITE_ONCE(joined, false);
	pr_info("node %u left the cluster\n", self);
out:
	mutex_unlock(&join_mutex);
	return ret;
}

int kddm_nodes_walk(u32 start, kddm_node_fn fn, void *arg)
{
	enum kddm_node_state st;
	unsigned long n;
	int ret;

	for (n = find_next_bit(known_map, KDDM_MAX_NODE + 1, start ?: 1);
	     n <= KDDM_MAX_NODE;
	     n = find_next_bit(known_map, KDDM_MAX_NODE + 1, n + 1)) {
		if (n == kddm_self())
			st = KDDM_NODE_SELF;
		else
			st = test_bit(n, up_map) ? KDDM_NODE_UP : KDDM_NODE_DOWN;
		ret = fn(n, st, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int kddm_membership_init(void)
{
	up_map = bitmap_zalloc(KDDM_MAX_NODE + 1, GFP_KERNEL);
	known_map = bitmap_zalloc(KDDM_MAX_NODE + 1, GFP_KERNEL);
	tipc_of = kvcalloc(KDDM_MAX_NODE + 1, sizeof(*tipc_of), GFP_KERNEL);
	if (!up_map || !known_map || !tipc_of) {
		kddm_membership_exit();
		return -ENOMEM;
	}
	return 0;
}

void kddm_membership_exit(void)
{
	bitmap_free(up_map);
	bitmap_free(known_map);
	kvfree(tipc_of);
}
