// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM membership: which nodes are up, and who may speak for them.
 *
 * A node publishes its TIPC service {KDDM_TIPC_TYPE, id} from its data
 * socket; the TIPC topology server tells every node about each publication
 * and withdrawal, including those of a node whose links went down. Any
 * local user may publish the same name, so a publication only names a
 * candidate port. Each side sends every candidate port a HELLO signed with
 * the cluster key (HMAC-SHA256 over both ports, both ids and the sender's
 * incarnation); a port becomes node @id when its publication and a valid
 * HELLO from it are both seen. From then on messages go to that port only
 * and are accepted from that port only, with the incarnations in every
 * header (msg.c), and only its withdrawal takes the node down.
 *
 * Incarnations and fencing. Every (re)join opens a new data socket with a
 * new random incarnation. The known nodes are those up at some time since
 * this node joined (less those that left on purpose). A node that sees
 * fewer than a strict majority of the known nodes up (a tie goes to the
 * side with the lowest known id) is fenced: it closes its socket, every
 * object it holds is reset (its waiters fail with -ENOLINK), and it opens
 * a new socket, a new incarnation, at once; its calls fail with -ENOLINK
 * until it sees a majority again. So two sides of a partition never both
 * go on, and a node declared down never comes back with the state it had.
 *
 * Where both sides keep their majority (only some links broke, or a
 * message was lost while both stayed up), the higher id of the pair
 * resets and rejoins; the lower one waits for it. A lost message is a
 * broken link: its sender declares the peer down and tells it (BYE).
 *
 * Every membership change runs on the receive thread, in order.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <crypto/hash.h>
#include <linux/bitmap.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tipc.h>
#include <linux/wait.h>

#include "internal.h"
#include "membership.h"
#include "msg.h"
#include "set.h"
#include "transport.h"
#include "trace.h"

/* Candidate ports remembered at most (publications and early HELLOs). */
#define MAX_PUBS	1024
#define JOIN_SETTLE_MS	2000

struct kddm_peer {
	u32 tipc, ref, inc;		/* the port and incarnation of the node */
	u32 dead_tipc, dead_ref, dead_inc;	/* the one we declared down */
};

struct kddm_pub {
	struct list_head list;
	u32 id, tipc, ref, inc;
	bool published;			/* seen in the topology */
	bool hello_ok;			/* a valid HELLO came from it */
};

enum kddm_mstate {
	MS_OUT,		/* not joined */
	MS_JOINING,	/* published, not (yet) a majority */
	MS_ACTIVE,	/* a member of the majority */
	MS_FENCED,	/* socket closed; reopened at once (rejoin()) */
};

static DEFINE_MUTEX(join_mutex);	/* self, joined; join and leave */
static DEFINE_SPINLOCK(map_lock);	/* the maps and peers below */
static DECLARE_RWSEM(cb_sem);		/* callbacks */
static LIST_HEAD(callbacks);
static u32 self;
static bool joined;
static int mstate = MS_OUT;
static u32 self_inc;
static unsigned long *up_map;		/* nodes up (self included) */
static unsigned long *known_map;	/* nodes counted for the majority */
static unsigned long *seen_map;		/* nodes ever seen */
static struct kddm_peer *peers;
static LIST_HEAD(pubs);			/* changed on the receive thread */
static DEFINE_SPINLOCK(pubs_lock);	/* changes, and readers elsewhere */
static unsigned int nr_pubs;
static DECLARE_WAIT_QUEUE_HEAD(settle_wq);

/*
 * The cluster's size, if the admin says it: a majority is then counted
 * against at least this many nodes, so that a node that joins while cut
 * off from the others is no majority of one.
 */
static unsigned int expect_nodes;
module_param(expect_nodes, uint, 0444);
MODULE_PARM_DESC(expect_nodes,
		 "nodes in the cluster: a majority counts at least these (0: the nodes seen)");

static struct crypto_shash *hmac;
static bool have_key;
static atomic64_t n_fences, n_bad_hellos;

/* Lost peers reported from any context, handled on the receive thread. */
static DEFINE_SPINLOCK(lost_lock);
static unsigned long *lost_map;
static struct kthread_work lost_work;

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

/* A member of the majority: objects may be used. */
bool kddm_active(void)
{
	return READ_ONCE(mstate) == MS_ACTIVE;
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
	return node && node <= KDDM_MAX_NODE && test_bit(node, seen_map);
}
EXPORT_SYMBOL_GPL(kddm_node_known);

u32 kddm_node_tipc(u32 node)
{
	if (!node || node > KDDM_MAX_NODE)
		return 0;
	return READ_ONCE(peers[node].tipc);
}

u32 kddm_self_inc(void)
{
	return READ_ONCE(self_inc);
}

/* The port and incarnation of node @node, up (or self). */
int kddm_peer_addr(u32 node, u32 *tipc, u32 *ref, u32 *inc)
{
	int ret = -EHOSTUNREACH;

	if (!node || node > KDDM_MAX_NODE)
		return -EHOSTUNREACH;
	spin_lock(&map_lock);
	if (test_bit(node, up_map) && peers[node].ref) {
		*tipc = peers[node].tipc;
		*ref = peers[node].ref;
		*inc = peers[node].inc;
		ret = 0;
	}
	spin_unlock(&map_lock);
	return ret;
}

/* A message from port @tipc:@ref says it is node @node's @src_inc. */
bool kddm_peer_ok(u32 node, u32 tipc, u32 ref, u32 src_inc, u32 dst_inc)
{
	bool ok;

	if (!node || node > KDDM_MAX_NODE || dst_inc != kddm_self_inc())
		return false;
	spin_lock(&map_lock);
	ok = test_bit(node, up_map) && peers[node].ref &&
	     peers[node].tipc == tipc && peers[node].ref == ref &&
	     peers[node].inc == src_inc;
	spin_unlock(&map_lock);
	return ok;
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

/*
 * @cb->node_up runs at once for every other node up now, then @cb sees
 * every change (a module loaded after the others joined knows them too).
 */
void kddm_register_node_callback(struct kddm_node_callback *cb)
{
	unsigned long n;

	down_write(&cb_sem);
	list_add_tail(&cb->list, &callbacks);
	if (cb->node_up)
		for_each_set_bit(n, up_map, KDDM_MAX_NODE + 1)
			if (n != kddm_self())
				cb->node_up(n, cb->arg);
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

/* ---- the cluster key and HELLO ---- */

/* Sets the cluster key (may be empty: no authentication). Not joined. */
int kddm_set_key(const void *key, unsigned int len)
{
	int ret;

	mutex_lock(&join_mutex);
	ret = -EBUSY;
	if (joined)
		goto out;
	ret = crypto_shash_setkey(hmac, key, len);
	if (!ret)
		have_key = len > 0;
out:
	mutex_unlock(&join_mutex);
	return ret;
}

/*
 * kddm_user_mac - HMAC of "KDDMUSER" followed by @data, under the cluster key
 *
 * For root's user-space services (KDDM_CMD_MAC). The tag keeps every such
 * MAC apart from a HELLO's ("KDDMHELO").
 *
 * Return: 0, or -ENOKEY when the cluster has no key.
 */
int kddm_user_mac(const void *data, unsigned int len, u8 *mac)
{
	SHASH_DESC_ON_STACK(desc, hmac);
	int ret;

	if (!READ_ONCE(have_key))
		return -ENOKEY;
	/* the key changes only while not joined */
	if (!kddm_joined())
		return -ENOTCONN;
	desc->tfm = hmac;
	ret = crypto_shash_init(desc) ?:
	      crypto_shash_update(desc, "KDDMUSER", 8) ?:
	      crypto_shash_finup(desc, data, len, mac);
	shash_desc_zero(desc);
	return ret;
}

/* What a HELLO from @from to @to signs. */
struct hello_data {
	char tag[8];
	__le32 from, from_tipc, from_ref, from_inc;
	__le32 to, to_tipc, to_ref;
};

static int hello_mac(u32 from, u32 from_tipc, u32 from_ref, u32 from_inc,
		     u32 to, u32 to_tipc, u32 to_ref, u8 *mac)
{
	struct hello_data d = {
		.tag = "KDDMHELO",
		.from = cpu_to_le32(from),
		.from_tipc = cpu_to_le32(from_tipc),
		.from_ref = cpu_to_le32(from_ref),
		.from_inc = cpu_to_le32(from_inc),
		.to = cpu_to_le32(to),
		.to_tipc = cpu_to_le32(to_tipc),
		.to_ref = cpu_to_le32(to_ref),
	};
	SHASH_DESC_ON_STACK(desc, hmac);
	int ret;

	desc->tfm = hmac;
	ret = crypto_shash_digest(desc, (u8 *)&d, sizeof(d), mac);
	shash_desc_zero(desc);
	return ret;
}

static void hello_send(const struct kddm_pub *p)
{
	struct kddm_wire_hello h = {};
	u32 tipc, ref;

	tipc = kddm_transport_port(&ref);
	if (!tipc || hello_mac(self, tipc, ref, self_inc, p->id, p->tipc,
			       p->ref, h.mac))
		return;
	kddm_msg_send_port(p->tipc, p->ref, p->id, 0, KDDM_MSG_HELLO, &h,
			   sizeof(h));
}

/* ---- candidate ports ---- */

static struct kddm_pub *pub_find(u32 id, u32 tipc, u32 ref)
{
	struct kddm_pub *p;

	list_for_each_entry(p, &pubs, list)
		if (p->id == id && p->tipc == tipc && p->ref == ref)
			return p;
	return NULL;
}

static void pub_del(struct kddm_pub *p);

/*
 * The table is full (a local user may publish kDDM's type 1024 times):
 * the oldest port that never proved an id makes room; proven ones stay.
 */
static bool pub_evict(void)
{
	struct kddm_pub *p;

	list_for_each_entry(p, &pubs, list) {
		if (!p->hello_ok) {
			pub_del(p);
			return true;
		}
	}
	return false;
}

static struct kddm_pub *pub_get(u32 id, u32 tipc, u32 ref)
{
	struct kddm_pub *p = pub_find(id, tipc, ref);

	if (p)
		return p;
	if (nr_pubs >= MAX_PUBS && !pub_evict()) {
		pr_warn_ratelimited("too many kDDM ports published: %x:%u ignored\n",
				    tipc, ref);
		return NULL;
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return NULL;
	p->id = id;
	p->tipc = tipc;
	p->ref = ref;
	spin_lock(&pubs_lock);
	list_add_tail(&p->list, &pubs);
	nr_pubs++;
	spin_unlock(&pubs_lock);
	return p;
}

static void pub_del(struct kddm_pub *p)
{
	spin_lock(&pubs_lock);
	list_del(&p->list);
	nr_pubs--;
	spin_unlock(&pubs_lock);
	kfree(p);
}

static void pubs_free(void)
{
	struct kddm_pub *p, *tmp;

	list_for_each_entry_safe(p, tmp, &pubs, list)
		pub_del(p);
}

/* Candidates that published but have not (yet) proved themselves. */
static bool pubs_settled(void)
{
	struct kddm_pub *p;
	bool ret = true;

	spin_lock(&pubs_lock);
	list_for_each_entry(p, &pubs, list)
		if (READ_ONCE(p->published) && !READ_ONCE(p->hello_ok))
			ret = false;
	spin_unlock(&pubs_lock);
	return ret;
}

/* ---- up, down, majority ---- */

/* The nodes a majority is counted against. */
static unsigned int known_count(void)
{
	return max(bitmap_weight(known_map, KDDM_MAX_NODE + 1),
		   READ_ONCE(expect_nodes));
}

/*
 * A strict majority of the known nodes; a tie goes to the side holding
 * the lowest id, which both sides must name alike: with expect_nodes,
 * only while this node knows exactly that many nodes (a node rebooted
 * during a partition knows fewer, one more than the cluster's size means
 * a stale expect_nodes: neither may break a tie).
 */
static bool majority(const unsigned long *with, unsigned int n)
{
	unsigned int seen = bitmap_weight(known_map, KDDM_MAX_NODE + 1);
	unsigned int expect = READ_ONCE(expect_nodes);
	unsigned int known = max(seen, expect);
	unsigned long lowest = find_first_bit(known_map, KDDM_MAX_NODE + 1);

	if (2 * n != known)
		return 2 * n > known;
	if (expect && seen != expect)
		return false;
	return lowest <= KDDM_MAX_NODE && test_bit(lowest, with);
}

static void node_down(u32 node)
{
	spin_lock(&map_lock);
	clear_bit(node, up_map);
	peers[node].dead_tipc = peers[node].tipc;
	peers[node].dead_ref = peers[node].ref;
	peers[node].dead_inc = peers[node].inc;
	spin_unlock(&map_lock);
	pr_info("node %u left\n", node);
	trace_kddm_node(node, false);
	kddm_msg_node_down(node);
	kddm_sets_node_down(node);
	run_callbacks(node, false);
}

static void node_up(const struct kddm_pub *p)
{
	spin_lock(&map_lock);
	peers[p->id].tipc = p->tipc;
	peers[p->id].ref = p->ref;
	peers[p->id].inc = p->inc;
	set_bit(p->id, known_map);
	set_bit(p->id, seen_map);
	set_bit(p->id, up_map);
	spin_unlock(&map_lock);
	if (READ_ONCE(expect_nodes) &&
	    bitmap_weight(known_map, KDDM_MAX_NODE + 1) > expect_nodes)
		pr_warn_ratelimited("node %u makes more nodes than expect_nodes=%u: no tie is broken until it is raised\n",
				    p->id, expect_nodes);
	kddm_object_node_seen(p->id);
	pr_info("node %u joined (TIPC %x)\n", p->id, p->tipc);
	trace_kddm_node(p->id, true);
	run_callbacks(p->id, true);
}

static void fence(const char *why);

static void check_majority(void)
{
	unsigned int up = bitmap_weight(up_map, KDDM_MAX_NODE + 1);
	unsigned int known = known_count();
	bool ok = majority(up_map, up);

	if (mstate == MS_JOINING && ok) {
		WRITE_ONCE(mstate, MS_ACTIVE);
		pr_info("member of the majority: %u of %u nodes up\n", up,
			known);
	} else if (mstate == MS_ACTIVE && !ok) {
		pr_warn("lost the majority: %u of %u nodes up\n", up, known);
		fence("no majority");
	}
}

static void bye_send(u32 tipc, u32 ref, u32 node, u32 inc, u32 flags);

/* A BYE may be lost like any message: said again, at most 10 a second. */
static DEFINE_RATELIMIT_STATE(bye_rs, HZ, 10);

static void bye_again(u32 node, u32 tipc, u32 ref, u32 inc)
{
	if (__ratelimit(&bye_rs))
		bye_send(tipc, ref, node, inc, 0);
}

/*
 * A datagram from a port that is no member's, on the receive thread: if
 * it is the incarnation of @node we declared down, that node missed our
 * BYE (it still sends as a member): tell it again.
 */
void kddm_dead_sender(u32 node, u32 tipc, u32 ref, u32 inc)
{
	bool dead;

	if (!node || node > KDDM_MAX_NODE || node == kddm_self())
		return;
	spin_lock(&map_lock);
	dead = !test_bit(node, up_map) && peers[node].dead_inc &&
	       peers[node].dead_tipc == tipc && peers[node].dead_ref == ref &&
	       peers[node].dead_inc == inc;
	spin_unlock(&map_lock);
	if (dead)
		bye_again(node, tipc, ref, inc);
}

/* A node @id we declared down is back with the same incarnation. */
static bool stale_return(const struct kddm_pub *p)
{
	const struct kddm_peer *d = &peers[p->id];

	if (d->dead_tipc != p->tipc || d->dead_ref != p->ref ||
	    d->dead_inc != p->inc)
		return false;
	if (self < p->id) {
		pr_info_ratelimited("node %u is back with the incarnation we declared down: waiting for it to rejoin\n",
				    p->id);
		bye_again(p->id, p->tipc, p->ref, p->inc);
		return true;
	}
	pr_warn("node %u declared us down while we saw it down: rejoining as a new incarnation\n",
		p->id);
	fence("declared down by a peer");
	return true;
}

static void try_up(struct kddm_pub *p)
{
	if (mstate == MS_OUT || mstate == MS_FENCED ||
	    !p->published || !p->hello_ok)
		return;
	if (test_bit(p->id, up_map)) {
		if (peers[p->id].tipc != p->tipc || peers[p->id].ref != p->ref)
			pr_err("node id %u is also used by TIPC node %x\n",
			       p->id, p->tipc);
		return;
	}
	if (stale_return(p))
		return;
	node_up(p);
	check_majority();
}

/* ---- fencing and rejoining ---- */

/* Forgets the incarnations declared down (a new one of ours). map_lock. */
static void clear_dead(void)
{
	u32 n;

	for (n = 1; n <= KDDM_MAX_NODE; n++) {
		peers[n].dead_tipc = 0;
		peers[n].dead_ref = 0;
		peers[n].dead_inc = 0;
	}
}

/* Our own port and incarnation, as a peer's (messages to ourselves). */
static void self_port(void)
{
	u32 tipc, ref;

	tipc = kddm_transport_port(&ref);
	spin_lock(&map_lock);
	peers[self].tipc = tipc;
	peers[self].ref = ref;
	peers[self].inc = self_inc;
	spin_unlock(&map_lock);
}

/*
 * A fenced node publishes again at once, as a new incarnation with no
 * state: it is a member of the majority (MS_ACTIVE) only once it sees
 * one, through HELLOs. (Waiting to see a majority published before
 * publishing would never end where every node of a cut-off group, or of
 * the whole cluster after a switch reboot, was fenced.)
 */
static void rejoin(void)
{
	struct kddm_pub *p;
	int ret;

	if (mstate != MS_FENCED)
		return;
	WRITE_ONCE(self_inc, get_random_u32() | 1);
	ret = kddm_transport_open_data(self);
	if (ret) {
		pr_err("fenced: no new socket for a new incarnation: %d\n", ret);
		return;
	}
	WRITE_ONCE(mstate, MS_JOINING);
	self_port();
	pr_info("rejoining the cluster as a new incarnation\n");
	list_for_each_entry(p, &pubs, list) {
		p->hello_ok = false;
		if (p->published)
			hello_send(p);
	}
	check_majority();
}

/*
 * This node may hold state the others consider gone: forget all of it,
 * leave (our publication is withdrawn, so every node still linked to us
 * sees us go) and rejoin as a new incarnation.
 */
static void fence(const char *why)
{
	unsigned long n;

	WRITE_ONCE(mstate, MS_FENCED);
	atomic64_inc(&n_fences);
	kddm_transport_close_data();
	for_each_set_bit(n, up_map, KDDM_MAX_NODE + 1)
		if (n != self)
			node_down(n);
	kddm_msg_node_down(self);
	kddm_sets_reset();
	spin_lock(&map_lock);
	clear_dead();
	spin_unlock(&map_lock);
	pr_warn("fenced (%s): objects fail with ENOLINK until this node rejoins\n",
		why);
	rejoin();
}

/* Transport callback, on the receive thread. */
static void node_event(u32 id, u32 tipc, u32 ref, bool up)
{
	u32 own_ref, own = kddm_transport_port(&own_ref);
	struct kddm_pub *p;

	if (!id || id > KDDM_MAX_NODE) {
		pr_warn_ratelimited("ignoring node id %u from TIPC %x\n",
				    id, tipc);
		return;
	}
	if (tipc == own || (mstate == MS_FENCED && tipc == peers[self].tipc)) {
		if (up && ref != own_ref)
			pr_warn_ratelimited("a local socket (port %u) publishes kDDM node %u: not ours, ignored\n",
					    ref, id);
		return;
	}
	if (up) {
		p = pub_get(id, tipc, ref);
		if (!p)
			return;
		p->published = true;
		if (mstate == MS_JOINING || mstate == MS_ACTIVE)
			hello_send(p);
		try_up(p);
		rejoin();
		return;
	}
	p = pub_find(id, tipc, ref);
	if (p)
		pub_del(p);
	if (test_bit(id, up_map) && peers[id].tipc == tipc &&
	    peers[id].ref == ref) {
		node_down(id);
		check_majority();
	}
	wake_up_all(&settle_wq);
}

/* KDDM_MSG_HELLO: a port proves it is node m->src's kDDM. */
static void hello_recv(struct kddm_msg *m)
{
	const struct kddm_wire_hello *h = m->data;
	u8 mac[KDDM_HELLO_MAC];
	u32 own_ref, own = kddm_transport_port(&own_ref);
	struct kddm_pub *p;

	if (m->len != sizeof(*h) || !m->src || m->src > KDDM_MAX_NODE ||
	    m->src == self || m->tipc == own || m->dst_inc || !m->src_inc ||
	    mstate == MS_OUT || mstate == MS_FENCED)
		goto bad;
	if (hello_mac(m->src, m->tipc, m->ref, m->src_inc, self, own, own_ref,
		      mac) || crypto_memneq(mac, h->mac, sizeof(mac)))
		goto bad;
	p = pub_get(m->src, m->tipc, m->ref);
	if (!p)
		return;
	if (p->hello_ok && p->inc != m->src_inc)
		goto bad;
	/*
	 * Only kDDM holds the key, and it publishes its port before its
	 * first HELLO: an entry made here (evicted, or its publication
	 * still queued) stands for a published port.
	 */
	p->published = true;
	p->hello_ok = true;
	p->inc = m->src_inc;
	try_up(p);
	wake_up_all(&settle_wq);
	return;
bad:
	atomic64_inc(&n_bad_hellos);
	kddm_msg_count_drop();
	pr_warn_ratelimited("refused a HELLO for node %u from %x:%u\n",
			    m->src, m->tipc, m->ref);
}

/* The link to up node @node broke: it is down to us; the higher id resets. */
static void link_broken(u32 node)
{
	node_down(node);
	if (self > node && (mstate == MS_ACTIVE || mstate == MS_JOINING))
		fence("a link to a lower node broke");
	else
		check_majority();
}

/* KDDM_MSG_BYE: the sender declared us down (or leaves for good). */
static void bye_recv(struct kddm_msg *m)
{
	const struct kddm_wire_bye *b = m->data;
	u32 node = m->src;

	if (m->len != sizeof(*b) || !test_bit(node, up_map)) {
		kddm_msg_count_drop();
		return;
	}
	if (le32_to_cpu(b->flags) & KDDM_BYE_LEAVING) {
		node_down(node);
		clear_bit(node, known_map);
		check_majority();
		return;
	}
	pr_warn("node %u lost a message from or to us\n", node);
	link_broken(node);
}

/*
 * A message to or from up node @node was lost (a send failed, or TIPC
 * returned it): the link is broken. Any context.
 */
void kddm_peer_lost(u32 node)
{
	if (!node || node > KDDM_MAX_NODE || node == kddm_self())
		return;
	spin_lock(&lost_lock);
	set_bit(node, lost_map);
	spin_unlock(&lost_lock);
	kddm_transport_queue(&lost_work);
}

/* Fault injection (debugfs lose_bye): the next BYE is not sent. */
u32 kddm_lose_bye;

static void bye_send(u32 tipc, u32 ref, u32 node, u32 inc, u32 flags)
{
	struct kddm_wire_bye b = { .flags = cpu_to_le32(flags) };

	if (unlikely(READ_ONCE(kddm_lose_bye)) &&
	    cmpxchg(&kddm_lose_bye, 1, 0) == 1)
		return;

	kddm_msg_send_port(tipc, ref, node, inc, KDDM_MSG_BYE, &b, sizeof(b));
}

static void lost_work_fn(struct kthread_work *w)
{
	unsigned long node;

	for (;;) {
		spin_lock(&lost_lock);
		node = find_first_bit(lost_map, KDDM_MAX_NODE + 1);
		if (node <= KDDM_MAX_NODE)
			clear_bit(node, lost_map);
		spin_unlock(&lost_lock);
		if (node > KDDM_MAX_NODE)
			return;
		if ((mstate != MS_ACTIVE && mstate != MS_JOINING) ||
		    !test_bit(node, up_map))
			continue;
		pr_warn("a message to or from node %lu was lost: link broken\n",
			node);
		/* the lower id tells the higher, which resets */
		if (self < node)
			bye_send(peers[node].tipc, peers[node].ref, node,
				 peers[node].inc, 0);
		link_broken(node);
	}
}

/*
 * TIPC returned a datagram. A port that is gone is a peer leaving (its
 * withdrawal follows); an overloaded one lost our message.
 */
static void returned(u32 tipc, u32 ref, u32 err)
{
	unsigned long n;

	pr_warn_ratelimited("a message to %x:%u came back undelivered (%u)\n",
			    tipc, ref, err);
	if (err != TIPC_ERR_OVERLOAD)
		return;
	for_each_set_bit(n, up_map, KDDM_MAX_NODE + 1)
		if (n != self && peers[n].tipc == tipc && peers[n].ref == ref)
			kddm_peer_lost(n);
}

static const struct kddm_transport_ops transport_ops = {
	.recv = kddm_msg_recv,
	.node_event = node_event,
	.returned = returned,
	.drained = kddm_msg_flush_all,
};

/* Waits (a little) for every node published now to prove itself. */
static void join_settle(void)
{
	kddm_transport_flush();
	if (!wait_event_timeout(settle_wq, pubs_settled(),
				msecs_to_jiffies(JOIN_SETTLE_MS)))
		pr_warn("ports that publish kDDM nodes did not authenticate\n");
}

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
	if (!have_key)
		pr_warn("no cluster key: any local user of a member node can speak for it (see kddm join --key-file)\n");
	WRITE_ONCE(self_inc, get_random_u32() | 1);
	spin_lock(&map_lock);
	clear_dead();
	bitmap_zero(known_map, KDDM_MAX_NODE + 1);
	set_bit(self, known_map);
	set_bit(self, seen_map);
	set_bit(self, up_map);
	spin_unlock(&map_lock);
	kddm_object_set_self(self);
	WRITE_ONCE(mstate, MS_JOINING);
	ret = kddm_transport_start(self, &transport_ops);
	if (ret) {
		WRITE_ONCE(mstate, MS_OUT);
		clear_bit(self, up_map);
		goto out;
	}
	self_port();
	WRITE_ONCE(joined, true);
	join_settle();
	pr_info("node %u joined the cluster\n", self);
out:
	mutex_unlock(&join_mutex);
	return ret;
}

static void leave_work_fn(struct kthread_work *w)
{
	unsigned long n;

	for_each_set_bit(n, up_map, KDDM_MAX_NODE + 1)
		if (n != self)
			bye_send(peers[n].tipc, peers[n].ref, n, peers[n].inc,
				 KDDM_BYE_LEAVING);
}

/*
 * After the sockets closed, on the receive thread too: a loss reported
 * meanwhile (lost_work_fn) runs before or after it, never at once.
 */
static void left_work_fn(struct kthread_work *w)
{
	unsigned long n;

	WRITE_ONCE(mstate, MS_OUT);
	clear_bit(self, up_map);
	for_each_set_bit(n, up_map, KDDM_MAX_NODE + 1)
		node_down(n);
	kddm_msg_node_down(self);	/* a long message of our own, if any */
	pubs_free();
}

/* Leaving with sets in use is refused; peers see us as a node that left. */
int kddm_leave(void)
{
	struct kthread_work w;
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
	/* on the receive thread, where the peers change */
	kthread_init_work(&w, leave_work_fn);
	kddm_transport_queue(&w);
	kddm_transport_flush();
	kddm_transport_stop();
	kthread_init_work(&w, left_work_fn);
	kddm_transport_queue(&w);
	kddm_transport_flush();
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

	for (n = find_next_bit(seen_map, KDDM_MAX_NODE + 1, start ?: 1);
	     n <= KDDM_MAX_NODE;
	     n = find_next_bit(seen_map, KDDM_MAX_NODE + 1, n + 1)) {
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

void kddm_membership_stats(u64 *fences, u64 *bad_hellos)
{
	*fences = atomic64_read(&n_fences);
	*bad_hellos = atomic64_read(&n_bad_hellos);
}

int kddm_membership_init(void)
{
	int ret = -ENOMEM;

	kthread_init_work(&lost_work, lost_work_fn);
	up_map = bitmap_zalloc(KDDM_MAX_NODE + 1, GFP_KERNEL);
	known_map = bitmap_zalloc(KDDM_MAX_NODE + 1, GFP_KERNEL);
	seen_map = bitmap_zalloc(KDDM_MAX_NODE + 1, GFP_KERNEL);
	lost_map = bitmap_zalloc(KDDM_MAX_NODE + 1, GFP_KERNEL);
	peers = kvcalloc(KDDM_MAX_NODE + 1, sizeof(*peers), GFP_KERNEL);
	if (!up_map || !known_map || !seen_map || !lost_map || !peers)
		goto err;
	hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(hmac)) {
		ret = PTR_ERR(hmac);
		hmac = NULL;
		goto err;
	}
	ret = crypto_shash_setkey(hmac, NULL, 0);
	if (ret)
		goto err;
	kddm_msg_register(KDDM_MSG_HELLO, sizeof(struct kddm_wire_hello),
			  hello_recv);
	kddm_msg_register(KDDM_MSG_BYE, sizeof(struct kddm_wire_bye),
			  bye_recv);
	return 0;
err:
	kddm_membership_exit();
	return ret;
}

void kddm_membership_exit(void)
{
	if (hmac)
		crypto_free_shash(hmac);
	hmac = NULL;
	pubs_free();
	bitmap_free(up_map);
	bitmap_free(known_map);
	bitmap_free(seen_map);
	bitmap_free(lost_map);
	kvfree(peers);
}
