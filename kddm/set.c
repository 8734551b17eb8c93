// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM sets and io-linkers.
 *
 * A set's id carries its creator (manager) node in the high 32 bits. A node
 * instantiates a set it does not know either on kddm_find_set() (a
 * SET_LOOKUP rpc to the manager) or when a coherence message for it
 * arrives: the message is parked, a SET_QUERY goes to its sender (who
 * knows the set, it just used it), and the parked messages are replayed in
 * arrival order when SET_INFO comes back. Receive handlers never block.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list.h>
#include <linux/random.h>
#include <linux/wait_bit.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "coh/coh.h"
#include "set.h"
#include "transport.h"

#define SET_HASH_BITS	8
#define MAX_PARKED	1024	/* messages waiting for their set, in all */
#define MAX_PARKED_BYTES (8U << 20)	/* and their bytes */

static DEFINE_HASHTABLE(sets, SET_HASH_BITS);
static DEFINE_SPINLOCK(sets_lock);
static unsigned int nr_sets;
static atomic_t set_counter = ATOMIC_INIT(0);

static DEFINE_MUTEX(linkers_mutex);
struct linker_entry {
	const struct kddm_io_linker_ops *ops;
	struct list_head list;
};
static LIST_HEAD(linkers);

struct parked {
	struct list_head list;
	struct kddm_msg m;
	u8 buf[];
};
static LIST_HEAD(parked_msgs);		/* on the ordered wq only */
static unsigned int nr_parked;
static size_t parked_bytes;

/* ---- io-linkers ---- */

static struct linker_entry *linker_find(const char *name)
{
	struct linker_entry *e;

	list_for_each_entry(e, &linkers, list)
		if (!strcmp(e->ops->name, name))
			return e;
	return NULL;
}

int kddm_register_io_linker(const struct kddm_io_linker_ops *ops)
{
	struct linker_entry *e;
	int ret = -EEXIST;

	if (!ops->name || strlen(ops->name) >= 32)
		return -EINVAL;
	if (ops->alloc_object && (!ops->first_touch || !ops->export_object ||
				  !ops->import_object))
		return -EINVAL;
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	e->ops = ops;
	mutex_lock(&linkers_mutex);
	if (!linker_find(ops->name)) {
		list_add_tail(&e->list, &linkers);
		ret = 0;
	}
	mutex_unlock(&linkers_mutex);
	if (ret)
		kfree(e);
	return ret;
}
EXPORT_SYMBOL_GPL(kddm_register_io_linker);

/*
 * Every local set using @ops is torn down (as if destroyed here) and freed
 * before this returns: the linker's module may go right after. Sets do not
 * pin the linker's module, so that it can be unloaded with live sets.
 */
void kddm_unregister_io_linker(const struct kddm_io_linker_ops *ops)
{
	struct linker_entry *e;

	mutex_lock(&linkers_mutex);
	e = linker_find(ops->name);
	if (e && e->ops == ops) {
		list_del(&e->list);
		kfree(e);
	}
	mutex_unlock(&linkers_mutex);
	/* No new set can use it now; receive handlers using one finish. */
	kddm_transport_flush();
	kddm_sets_destroy_linker(ops);
}
EXPORT_SYMBOL_GPL(kddm_unregister_io_linker);

const struct kddm_io_linker_ops *kddm_linker_get(const char *name)
{
	const struct kddm_io_linker_ops *ops = NULL;
	struct linker_entry *e;

	mutex_lock(&linkers_mutex);
	e = linker_find(name);
	if (e)
		ops = e->ops;
	mutex_unlock(&linkers_mutex);
	return ops;
}

/* ---- the set table ---- */

static struct kddm_set *set_find_locked(u64 id)
{
	struct kddm_set *set;

	hash_for_each_possible(sets, set, hnode, id)
		if (set->id == id)
			return set;
	return NULL;
}

struct kddm_set *kddm_set_lookup(u64 id)
{
	struct kddm_set *set;

	spin_lock(&sets_lock);
	set = set_find_locked(id);
	if (set)
		kref_get(&set->ref);
	spin_unlock(&sets_lock);
	return set;
}

static void set_release(struct kref *ref)
{
	struct kddm_set *set = container_of(ref, struct kddm_set, ref);

	kddm_objs_free(set);
	kfree(set);
}

void kddm_put_set(struct kddm_set *set)
{
	if (set && !kref_put(&set->ref, set_release))
		wake_up_var(&set->ref);	/* a teardown may wait for us */
}
EXPORT_SYMBOL_GPL(kddm_put_set);

static struct kddm_set *set_alloc(u64 id, const struct kddm_wire_set *ws)
{
	char name[sizeof(ws->linker) + 1] = {};
	struct kddm_set *set;
	int i;

	memcpy(name, ws->linker, sizeof(ws->linker));
	if (!le32_to_cpu(ws->obj_size) ||
	    le32_to_cpu(ws->obj_size) > KDDM_MAX_OBJ_SIZE ||
	    le32_to_cpu(ws->policy) > KDDM_OWNER_CUSTOM ||
	    le32_to_cpu(ws->fixed_node) > KDDM_MAX_NODE ||
	    le32_to_cpu(ws->rr_max) > KDDM_MAX_NODE)
		return ERR_PTR(-EINVAL);
	set = kzalloc(sizeof(*set), GFP_KERNEL);
	if (!set)
		return ERR_PTR(-ENOMEM);
	set->linker = kddm_linker_get(name);
	if (!set->linker) {
		kfree(set);
		return ERR_PTR(-ENOPROTOOPT);
	}
	set->id = id;
	kref_init(&set->ref);
	set->obj_size = le32_to_cpu(ws->obj_size);
	set->policy = le32_to_cpu(ws->policy);
	set->fixed_node = le32_to_cpu(ws->fixed_node);
	set->rr_max = le32_to_cpu(ws->rr_max);
	xa_init(&set->objs);
	kddm_cache_init_set(set);
	for (i = 0; i < KDDM_LAT_BUCKETS; i++)
		atomic64_set(&set->lat[i], 0);
	return set;
}

/* Hashes @set (table reference) unless a twin won; returns the one in. */
static struct kddm_set *set_insert(struct kddm_set *set)
{
	struct kddm_set *old;

	spin_lock(&sets_lock);
	old = set_find_locked(set->id);
	if (old) {
		kref_get(&old->ref);
	} else {
		hash_add(sets, &set->hnode, set->id);
		set->hashed = true;
		nr_sets++;
		kref_get(&set->ref);
	}
	spin_unlock(&sets_lock);
	if (old)
		kddm_put_set(set);
	return old ?: set;
}

static void set_describe(const struct kddm_set *set, struct kddm_wire_set *ws)
{
	memset(ws, 0, sizeof(*ws));
	strscpy(ws->linker, set->linker->name, sizeof(ws->linker));
	ws->obj_size = cpu_to_le32(set->obj_size);
	ws->policy = cpu_to_le32(set->policy);
	ws->fixed_node = cpu_to_le32(set->fixed_node);
	ws->rr_max = cpu_to_le32(set->rr_max);
}

static u32 highest_node_up(void)
{
	return find_last_bit(kddm_nodes_up(), KDDM_MAX_NODE + 1);
}

/*
 * kddm_create_set - create a set managed by this node
 *
 * Return: the set (one reference, drop with kddm_put_set()) or ERR_PTR:
 * -ENOTCONN when not joined, -ENOPROTOOPT for an unknown linker, -EINVAL.
 */
struct kddm_set *kddm_create_set(const struct kddm_set_attr *attr)
{
	struct kddm_wire_set ws = {};
	struct kddm_set *set;
	u64 id;

	if (!kddm_joined())
		return ERR_PTR(-ENOTCONN);
	if (!attr->linker || strlen(attr->linker) >= sizeof(ws.linker))
		return ERR_PTR(-EINVAL);
	strscpy(ws.linker, attr->linker, sizeof(ws.linker));
	ws.obj_size = cpu_to_le32(attr->obj_size);
	ws.policy = cpu_to_le32(attr->policy);
	ws.fixed_node = cpu_to_le32(attr->fixed_node ?: kddm_self());
	ws.rr_max = cpu_to_le32(highest_node_up());
	id = (u64)kddm_self() << 32 | (u32)atomic_inc_return(&set_counter);
	set = set_alloc(id, &ws);
	if (IS_ERR(set))
		return set;
	return set_insert(set);
}
EXPORT_SYMBOL_GPL(kddm_create_set);

/*
 * kddm_open_set - a well-known set, the same on every node
 * @name: its id (1..U32_MAX; the manager part of the id is 0)
 * @attr: its attributes, identical on every node that opens it
 *
 * For services whose sets every node must agree on without asking anyone
 * (kipc's registries). A node that has not opened it yet learns it from
 * the first message about it. ROUND_ROBIN is refused (no creator).
 * Return: the set (one reference) or ERR_PTR: -EINVAL, -ENOPROTOOPT,
 * -EEXIST if it exists here with other attributes.
 */
struct kddm_set *kddm_open_set(u32 name, const struct kddm_set_attr *attr)
{
	struct kddm_wire_set ws = {};
	struct kddm_set *set;

	if (!name || !attr->linker || attr->policy == KDDM_OWNER_ROUND_ROBIN ||
	    strlen(attr->linker) >= sizeof(ws.linker))
		return ERR_PTR(-EINVAL);
	strscpy(ws.linker, attr->linker, sizeof(ws.linker));
	ws.obj_size = cpu_to_le32(attr->obj_size);
	ws.policy = cpu_to_le32(attr->policy);
	ws.fixed_node = cpu_to_le32(attr->fixed_node);
	set = set_alloc(name, &ws);
	if (IS_ERR(set))
		return set;
	set = set_insert(set);
	if (set->obj_size != attr->obj_size || set->policy != attr->policy ||
	    set->fixed_node != attr->fixed_node ||
	    strcmp(set->linker->name, attr->linker)) {
		kddm_put_set(set);
		return ERR_PTR(-EEXIST);
	}
	return set;
}
EXPORT_SYMBOL_GPL(kddm_open_set);

/*
 * kddm_find_set - the set @set_id, asking its manager if needed
 *
 * Return: the set (one reference) or ERR_PTR: -ENOENT (no such set),
 * -EHOSTDOWN (manager gone), -ENOPROTOOPT (linker not loaded here).
 */
struct kddm_set *kddm_find_set(u64 set_id)
{
	u32 manager = set_id >> 32;
	struct kddm_wire_set ws;
	struct kddm_set *set;
	int ret;

	set = kddm_set_lookup(set_id);
	if (set)
		return set;
	if (!kddm_joined())
		return ERR_PTR(-ENOTCONN);
	if (manager == kddm_self())
		return ERR_PTR(-ENOENT);
	ret = kddm_rpc_call(manager, KDDM_MSG_SET_LOOKUP, set_id, 0, NULL, 0,
			    &ws, sizeof(ws), 5 * HZ);
	if (ret < 0)
		return ERR_PTR(ret);
	if (ret != sizeof(ws))
		return ERR_PTR(-EPROTO);
	set = set_alloc(set_id, &ws);
	if (IS_ERR(set))
		return set;
	return set_insert(set);
}
EXPORT_SYMBOL_GPL(kddm_find_set);

u64 kddm_set_id(const struct kddm_set *set)
{
	return set->id;
}
EXPORT_SYMBOL_GPL(kddm_set_id);

u32 kddm_set_obj_size(const struct kddm_set *set)
{
	return set->obj_size;
}
EXPORT_SYMBOL_GPL(kddm_set_obj_size);

/* Is @set one of @ops's sets? An io-linker touches only its own objects. */
bool kddm_set_uses(const struct kddm_set *set,
		   const struct kddm_io_linker_ops *ops)
{
	return set->linker == ops;
}
EXPORT_SYMBOL_GPL(kddm_set_uses);

void *kddm_set_private(const struct kddm_set *set)
{
	return set->private;
}
EXPORT_SYMBOL_GPL(kddm_set_private);

void kddm_set_set_private(struct kddm_set *set, void *priv)
{
	set->private = priv;
}
EXPORT_SYMBOL_GPL(kddm_set_set_private);

/* Takes @set out of the table (drops the table's reference). */
static bool set_unhash(struct kddm_set *set)
{
	bool was;

	spin_lock(&sets_lock);
	was = set->hashed;
	if (was) {
		hash_del(&set->hnode);
		set->hashed = false;
		nr_sets--;
	}
	spin_unlock(&sets_lock);
	if (was) {
		kddm_objs_wake(set);
		kddm_put_set(set);
	}
	return was;
}

/*
 * kddm_destroy_set - destroy a set on every node
 *
 * The set is gone locally at once; every node up is told. Callers still
 * holding references get -EIDRM from every object call.
 */
int kddm_destroy_set(struct kddm_set *set)
{
	unsigned long n;

	if (!set_unhash(set))
		return -EIDRM;
	for_each_set_bit(n, kddm_nodes_up(), KDDM_MAX_NODE + 1)
		if (n != kddm_self())
			kddm_msg_send(n, KDDM_MSG_SET_DESTROY, set->id, 0,
				      NULL, 0, NULL, 0);
	return 0;
}
EXPORT_SYMBOL_GPL(kddm_destroy_set);

unsigned int kddm_sets_count(void)
{
	return READ_ONCE(nr_sets);
}

/* Collects the sets matching @match into an array of references. */
static bool match_all(struct kddm_set *set, const void *arg)
{
	return true;
}

static bool match_linker(struct kddm_set *set, const void *arg)
{
	return set->linker == arg;
}

static void park_node_down(u32 node);

void kddm_sets_node_down(u32 node)
{
	struct kddm_set *set;
	u64 cursor = 0;

	park_node_down(node);
	while ((set = kddm_set_next(&cursor))) {
		kddm_obj_node_down(set, node);
		kddm_put_set(set);
	}
}

/* This node was fenced: the objects of every set go. */
void kddm_sets_reset(void)
{
	struct kddm_set *set;
	u64 cursor = 0;

	while ((set = kddm_set_next(&cursor))) {
		kddm_obj_reset(set);
		kddm_put_set(set);
	}
}

/*
 * This node closes @set (its io-linker goes): the others forget what
 * they knew of this node in it (its copies, the objects it is the home
 * of), as if it had left the cluster; it may open the set again later.
 */
static void set_leave_send(struct kddm_set *set)
{
	unsigned long n;

	for_each_set_bit(n, kddm_nodes_up(), KDDM_MAX_NODE + 1)
		if (n != kddm_self())
			kddm_msg_send(n, KDDM_MSG_SET_LEAVE, set->id, 0,
				      NULL, 0, NULL, 0);
}

/*
 * Waits until we hold the last reference to @set, which is unhashed. A
 * holder that never lets go (a bug in an io-linker) would leave the
 * caller in D state for good: say so every 10 s, which also keeps the
 * hung-task detector from taking it for a kernel hang.
 */
static void set_wait_unused(struct kddm_set *set)
{
	while (!wait_var_event_timeout(&set->ref, kref_read(&set->ref) == 1,
				       10 * HZ))
		pr_warn("set %llx: still used by %u holders, waiting\n",
			set->id, kref_read(&set->ref) - 1);
}

/*
 * Unhashes every set @match accepts and returns only when nobody else
 * holds one any more: their objects are freed through the linker, which
 * may be about to go away.
 */
static void sets_unhash_matching(bool (*match)(struct kddm_set *,
					       const void *),
				 const void *arg)
{
	struct kddm_set *set;
	LIST_HEAD(gone);
	u64 cursor = 0;

	while ((set = kddm_set_next(&cursor))) {
		if (match(set, arg) && set_unhash(set)) {
			list_add(&set->teardown, &gone);
			set_leave_send(set);
		} else {
			kddm_put_set(set);
		}
	}
	/* Handlers that looked a set up before the unhash are done after. */
	kddm_transport_flush();
	while (!list_empty(&gone)) {
		set = list_first_entry(&gone, struct kddm_set, teardown);
		list_del(&set->teardown);
		set_wait_unused(set);
		kddm_put_set(set);
	}
}

void kddm_sets_destroy_linker(const struct kddm_io_linker_ops *ops)
{
	sets_unhash_matching(match_linker, ops);
}

/* Module unload: every set goes, whoever still uses it. */
void kddm_sets_shutdown(void)
{
	sets_unhash_matching(match_all, NULL);
}

/* ---- messages ---- */

static void set_lookup(struct kddm_msg *m)
{
	struct kddm_set *set = kddm_set_lookup(m->set_id);
	struct kddm_wire_set ws;

	if (!set) {
		kddm_rpc_reply(m, -ENOENT, NULL, 0);
		return;
	}
	set_describe(set, &ws);
	kddm_put_set(set);
	kddm_rpc_reply(m, 0, &ws, sizeof(ws));
}

static void set_query(struct kddm_msg *m)
{
	struct kddm_set *set = kddm_set_lookup(m->set_id);
	struct kddm_wire_set ws;

	if (!set) {
		kddm_msg_send(m->src, KDDM_MSG_SET_INFO, m->set_id, 0, NULL, 0,
			      NULL, 0);
		return;
	}
	set_describe(set, &ws);
	kddm_put_set(set);
	kddm_msg_send(m->src, KDDM_MSG_SET_INFO, m->set_id, 0, &ws,
		      sizeof(ws), NULL, 0);
}

/* The first message parked for @set_id: its sender was asked. */
static struct parked *parked_first(u64 set_id)
{
	struct parked *p;

	list_for_each_entry(p, &parked_msgs, list)
		if (p->m.set_id == set_id)
			return p;
	return NULL;
}

static bool parked_for(u64 set_id)
{
	return parked_first(set_id);
}

static void park(struct kddm_msg *m)
{
	bool asked = parked_for(m->set_id);
	struct parked *p;

	if (nr_parked >= MAX_PARKED ||
	    parked_bytes + m->len > MAX_PARKED_BYTES) {
		kddm_msg_count_drop();
		pr_warn_ratelimited("too many messages for unknown sets\n");
		return;
	}
	p = kvmalloc(struct_size(p, buf, m->len), GFP_KERNEL);
	if (!p) {
		kddm_msg_count_drop();
		return;
	}
	p->m = *m;
	memcpy(p->buf, m->data, m->len);
	p->m.data = p->buf;
	list_add_tail(&p->list, &parked_msgs);
	nr_parked++;
	parked_bytes += m->len;
	if (!asked)
		kddm_msg_send(m->src, KDDM_MSG_SET_QUERY, m->set_id, 0, NULL, 0,
			      NULL, 0);
}

/*
 * A request parked for a set this node cannot have: its requester gets
 * the error @err instead of waiting for an answer that never comes.
 */
static void refuse(const struct kddm_msg *m, int err)
{
	const struct kddm_wire_coh *w = m->data;
	struct kddm_wire_coh r = {};
	u16 type;

	if (m->type != KDDM_MSG_COH || m->len < sizeof(*w))
		return;
	type = le16_to_cpu(w->type);
	if (type != COH_MSG_REQ_READ && type != COH_MSG_REQ_WRITE &&
	    type != COH_MSG_REQ_REMOVE)
		return;
	/* A request only ever comes from its requester. */
	if (le32_to_cpu(w->requester) != m->src)
		return;
	r.type = cpu_to_le16(COH_MSG_ERROR);
	r.requester = w->requester;
	r.req = w->req;
	r.err = cpu_to_le32(-err);
	kddm_msg_send(m->src, KDDM_MSG_COH, m->set_id, m->obj_id, &r,
		      sizeof(r), NULL, 0);
}

/*
 * Replays (set known) or refuses with @err (set gone or not possible
 * here) what waited for @set_id; a message whose sender left meanwhile is
 * dropped: the engine must never see a node's messages after its
 * node_down.
 */
static void unpark(u64 set_id, struct kddm_set *set, int err)
{
	struct parked *p, *tmp;

	list_for_each_entry_safe(p, tmp, &parked_msgs, list) {
		if (p->m.set_id != set_id)
			continue;
		list_del(&p->list);
		nr_parked--;
		parked_bytes -= p->m.len;
		if (kddm_node_is_up(p->m.src)) {
			if (set)
				kddm_coh_recv(set, &p->m);
			else if (err)
				refuse(&p->m, err);
		}
		kvfree(p);
	}
}

/*
 * @node left: its parked messages go; a set whose query went to it is
 * asked again of the next parked sender.
 */
static void park_node_down(u32 node)
{
	struct parked *p, *tmp, *first;
	LIST_HEAD(requery);

	list_for_each_entry_safe(p, tmp, &parked_msgs, list) {
		if (p->m.src != node)
			continue;
		if (parked_first(p->m.set_id) == p)
			list_move_tail(&p->list, &requery);
		else
			list_del_init(&p->list);
		nr_parked--;
		parked_bytes -= p->m.len;
		if (list_empty(&p->list))
			kvfree(p);
	}
	list_for_each_entry_safe(p, tmp, &requery, list) {
		first = parked_first(p->m.set_id);
		if (first)
			kddm_msg_send(first->m.src, KDDM_MSG_SET_QUERY,
				      first->m.set_id, 0, NULL, 0, NULL, 0);
		list_del(&p->list);
		kvfree(p);
	}
}

static void set_info(struct kddm_msg *m)
{
	struct parked *first = parked_first(m->set_id);
	struct kddm_set *set;

	/* Only the node we asked answers; nobody tells a manager its sets. */
	if (!first || first->m.src != m->src ||
	    m->set_id >> 32 == kddm_self()) {
		kddm_msg_count_drop();
		return;
	}
	if (m->len != sizeof(struct kddm_wire_set)) {
		unpark(m->set_id, NULL, -EIDRM);	/* the set is gone */
		return;
	}
	set = kddm_set_lookup(m->set_id);
	if (!set) {
		set = set_alloc(m->set_id, m->data);
		if (IS_ERR(set)) {
			pr_warn_ratelimited("cannot instantiate set %llx: %ld\n",
					    m->set_id, PTR_ERR(set));
			/* No such io-linker here: the module is not loaded. */
			unpark(m->set_id, NULL, PTR_ERR(set) == -ENOPROTOOPT ?
			       -ENOPKG : (int)PTR_ERR(set));
			return;
		}
		set = set_insert(set);
	}
	unpark(m->set_id, set, 0);
	kddm_put_set(set);
}

static void set_destroy_msg(struct kddm_msg *m)
{
	struct kddm_set *set = kddm_set_lookup(m->set_id);

	if (m->set_id >> 32 != m->src && set) {
		/* Only the manager destroys, or the creator's node. */
		pr_warn_ratelimited("node %u may not destroy set %llx\n",
				    m->src, m->set_id);
	} else if (set) {
		set_unhash(set);
	}
	kddm_put_set(set);
}

static void set_leave_msg(struct kddm_msg *m)
{
	struct kddm_set *set = kddm_set_lookup(m->set_id);

	if (set)
		kddm_obj_node_down(set, m->src);
	kddm_put_set(set);
}

static void coh_msg(struct kddm_msg *m)
{
	struct kddm_set *set = kddm_set_lookup(m->set_id);

	if (!set) {
		park(m);
		return;
	}
	/* The set came by another way (a lookup): replay what waited. */
	if (parked_for(m->set_id))
		unpark(m->set_id, set, 0);
	kddm_coh_recv(set, m);
	kddm_put_set(set);
}

/* ---- netlink views ---- */

static void set_info_fill(struct kddm_set *set, struct kddm_set_info *info)
{
	struct kddm_set_stats *st = &info->stats;
	int i;

	memset(info, 0, sizeof(*info));
	info->id = set->id;
	strscpy(info->linker, set->linker->name, sizeof(info->linker));
	info->obj_size = set->obj_size;
	info->policy = set->policy;
	info->manager = set->id >> 32;
	info->nr_objects = kddm_set_nr_objects(set);
	st->gets = atomic64_read(&set->gets);
	st->grabs = atomic64_read(&set->grabs);
	st->invalidations = atomic64_read(&set->invalidations);
	st->copies = READ_ONCE(set->lru_nr);
	st->cache_max = READ_ONCE(set->cache_max);
	st->evictions = atomic64_read(&set->evictions);
	st->msgs_sent = atomic64_read(&set->msgs_sent);
	st->msgs_rcvd = atomic64_read(&set->msgs_rcvd);
	st->bytes_sent = atomic64_read(&set->bytes_sent);
	st->bytes_rcvd = atomic64_read(&set->bytes_rcvd);
	for (i = 0; i < KDDM_LAT_BUCKETS; i++)
		st->lat[i] = atomic64_read(&set->lat[i]);
}

int kddm_set_info_get(u64 id, struct kddm_set_info *info)
{
	struct kddm_set *set = kddm_set_lookup(id);

	if (!set)
		return -ENOENT;
	set_info_fill(set, info);
	kddm_put_set(set);
	return 0;
}

struct kddm_set *kddm_set_next(u64 *cursor)
{
	struct kddm_set *set, *best = NULL;
	int b;

	spin_lock(&sets_lock);
	hash_for_each(sets, b, set, hnode)
		if (set->id > *cursor && (!best || set->id < best->id))
			best = set;
	if (best) {
		kref_get(&best->ref);
		*cursor = best->id;
	}
	spin_unlock(&sets_lock);
	return best;
}

int kddm_set_info_next(u64 *cursor, struct kddm_set_info *info)
{
	struct kddm_set *set = kddm_set_next(cursor);

	if (!set)
		return -ENOENT;
	set_info_fill(set, info);
	kddm_put_set(set);
	return 0;
}

void kddm_global_stats(struct kddm_global_stats *st)
{
	kddm_msg_stats(&st->msgs_sent, &st->msgs_rcvd, &st->bytes_sent,
		       &st->bytes_rcvd, &st->msgs_dropped, &st->rpc_timeouts);
	st->msgs_dropped += kddm_coh.stats.dropped;
	kddm_membership_stats(&st->fences, &st->bad_hellos);
}

int kddm_set_init(void)
{
	/*
	 * Set ids of this incarnation start at a random point, so that a
	 * manager that restarts does not reuse ids its peers still know.
	 */
	atomic_set(&set_counter, get_random_u32() & 0xfff00000);
	kddm_msg_register(KDDM_MSG_SET_LOOKUP, 0, set_lookup);
	kddm_msg_register(KDDM_MSG_SET_QUERY, 0, set_query);
	kddm_msg_register(KDDM_MSG_SET_INFO, sizeof(struct kddm_wire_set),
			  set_info);
	kddm_msg_register(KDDM_MSG_SET_DESTROY, 0, set_destroy_msg);
	kddm_msg_register(KDDM_MSG_SET_LEAVE, 0, set_leave_msg);
	kddm_msg_register(KDDM_MSG_COH, sizeof(struct kddm_wire_coh) +
			  KDDM_MAX_OBJ_SIZE, coh_msg);
	return 0;
}

void kddm_set_exit(void)
{
	unpark(0, NULL, 0);
	while (!list_empty(&parked_msgs)) {
		struct parked *p = list_first_entry(&parked_msgs,
						    struct parked, list);

		list_del(&p->list);
		kvfree(p);
	}
	nr_parked = 0;
	parked_bytes = 0;
}
