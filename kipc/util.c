// SPDX-License-Identifier: GPL-2.0
/*
 * kipc common parts: the key tables and key locks, permissions as
 * ipc/util.c checks them, id allocation, the io-linker of kipc's plain
 * objects.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ipc.h>
#include <linux/ipc_namespace.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kipc.h"

static atomic_t next_slot = ATOMIC_INIT(0);

struct ipc_namespace *kipc_ns(void)
{
	return current->nsproxy->ipc_ns;
}

/*
 * A node that left, or one without kipc loaded (kDDM: no such io-linker
 * there): lookups and key locks skip it.
 */
static bool kipc_node_gone(long err)
{
	return err == -EHOSTDOWN || err == -ENOPKG;
}

/* kDDM errors as the IPC calls report them, for object @id. */
int kipc_id_err(int id, long err)
{
	/* An id of a node never seen is no id at all. */
	if (err == -EHOSTDOWN && !kddm_node_known(kipc_id_node(id)))
		return -EINVAL;
	return kipc_err(err);
}

/* kDDM errors as the IPC calls report them. */
int kipc_err(long err)
{
	/* An object homed on a node that left is gone for us. */
	if (err == -EHOSTDOWN || err == -EIDRM || err == -ENOPKG)
		return -EIDRM;
	if (err == -ENOENT)
		return -EINVAL;
	return err;
}

/*
 * ---- key tables ----
 *
 * Every node lists, per IPC type, the objects it created in its own key
 * table: kDDM objects of KIPC_SET_KEYS homed on it, in chunks of
 * KIPC_KEYS_PER_CHUNK entries (chunk 0 also says how many chunks are in
 * use). A node writes its own table when it creates an object; any node
 * removes an entry or clears its key (IPC_RMID), then flushes the chunk
 * back to its home, so that the home has the latest table if the writer
 * dies. Lookups read the tables of every node up: read copies, cached
 * until a change invalidates them. The tables of a node that left are
 * gone with it, as are its objects.
 *
 * Creations are serialized cluster-wide by the key locks (set
 * KIPC_SET_KEY_LOCKS, one object per type and node, homed on that node,
 * objid as chunk 0 of its table): a creator grabs the lock of every node
 * it sees up, in ascending node order, skipping the nodes kDDM reports
 * down. A creator always takes its own node's lock, so two creators of
 * which one sees the other up share a lock, whatever else they think of
 * the membership: the loss of any node never lets two creations overlap,
 * and no single node's lock is needed. A lock whose holder died is free
 * again (reload). Under the locks, the creator looks the key up again and
 * sums the tables for the namespace limits.
 *
 * An entry is only trusted once its object is checked (the caller's part
 * of kipc_keyget_next()): an entry whose object is gone or has another key
 * is stale (a removal in progress, or one whose writer died before the
 * flush) and is repaired under the locks.
 *
 * Lock order, cluster-wide: key locks (ascending node), then one chunk at
 * a time, then an object. Chunks are never held while an object is.
 */

struct kipc_key_entry {
	s32 key;
	s32 id;
	u64 amount;		/* shm: pages; sem: semaphores; msg: 0 */
};

struct kipc_key_chunk {
	u32 n;			/* entries in use */
	u32 nchunks;		/* chunk 0: chunks of the table in use */
	u64 pad;
	struct kipc_key_entry e[];
};

#define KIPC_KEYS_CHUNK_SIZE	(32U * 1024)
#define KIPC_KEYS_PER_CHUNK \
	((KIPC_KEYS_CHUNK_SIZE - sizeof(struct kipc_key_chunk)) / \
	 sizeof(struct kipc_key_entry))
/* A node has at most KIPC_SLOTS objects of a type. */
#define KIPC_KEY_CHUNKS		DIV_ROUND_UP(KIPC_SLOTS, KIPC_KEYS_PER_CHUNK)

/* Entries of @key a lookup may find stale before it gives up. */
#define KIPC_KEYGET_TRIES	64

static struct kddm_set *keys_set, *locks_set;
static unsigned long *keys_nodes;	/* nodes that may be up */

/* objid of chunk @chunk of @node's table of @type (also its key lock). */
static u64 keys_objid(enum kipc_type type, u32 node, u32 chunk)
{
	return (u64)type << 32 | node << 8 | chunk;
}

static u32 keys_objid_node(u64 objid)
{
	return (objid >> 8) & KDDM_MAX_NODE;
}

static bool keys_objid_ok(u64 objid, u32 chunks)
{
	return objid >> 32 < KIPC_NR_TYPES && !(objid & 0xff000000) &&
	       (objid & 0xff) < chunks &&
	       keys_objid_node(objid) == kddm_node_id();
}

static u32 keys_home(struct kddm_set *set, u64 objid,
		     const unsigned long *nodes_up)
{
	return keys_objid_node(objid);
}

/* Only the chunks of this node's own tables are created here. */
static int keys_first_touch(struct kddm_set *set, u64 objid, void *data)
{
	if (!keys_objid_ok(objid, KIPC_KEY_CHUNKS))
		return -EINVAL;
	memset(data, 0, KIPC_KEYS_CHUNK_SIZE);
	return 0;
}

static u32 chunk_n(const struct kipc_key_chunk *c)
{
	return min_t(u32, c->n, KIPC_KEYS_PER_CHUNK);
}

static int keys_export(struct kddm_set *set, u64 objid, void *data,
		       void *buf, size_t len)
{
	struct kipc_key_chunk *c = data;
	size_t size = struct_size(c, e, chunk_n(c));

	if (len < size)
		return -ENOSPC;
	memcpy(buf, data, size);
	return size;
}

static int keys_import(struct kddm_set *set, u64 objid, void *data,
		       const void *buf, size_t len)
{
	len = min_t(size_t, len, KIPC_KEYS_CHUNK_SIZE);
	memcpy(data, buf, len);
	memset(data + len, 0, KIPC_KEYS_CHUNK_SIZE - len);
	return 0;
}

/*
 * The writer of a chunk died before its flush: the home's copy is the
 * table before that writer's change, which only removed or unkeyed
 * entries. Their objects are gone or keyless: lookups see them stale.
 */
static int keys_reload(struct kddm_set *set, u64 objid, void *data)
{
	return 0;
}

static const struct kddm_io_linker_ops keys_linker = {
	.name = "kipc_keys",
	.owner = THIS_MODULE,
	.first_touch = keys_first_touch,
	.export_object = keys_export,
	.import_object = keys_import,
	.reload_object = keys_reload,
	.default_owner = keys_home,
};

static int lock_first_touch(struct kddm_set *set, u64 objid, void *data)
{
	if (!keys_objid_ok(objid, 1))
		return -EINVAL;
	memset(data, 0, sizeof(u64));
	return 0;
}

/* A lock whose holder died is free again: it carries no data. */
static const struct kddm_io_linker_ops lock_linker = {
	.name = "kipc_keylock",
	.owner = THIS_MODULE,
	.first_touch = lock_first_touch,
	.reload_object = keys_reload,
	.default_owner = keys_home,
};

static void keys_node_up(u32 node, void *arg)
{
	set_bit(node, keys_nodes);
}

static void keys_node_down(u32 node, void *arg)
{
	clear_bit(node, keys_nodes);
}

static struct kddm_node_callback keys_node_cb = {
	.node_up = keys_node_up,
	.node_down = keys_node_down,
};

/* The nodes to visit: every node seen up, this one included. */
static const unsigned long *keys_node_map(void)
{
	u32 self = kddm_node_id();

	if (self && !test_bit(self, keys_nodes))
		set_bit(self, keys_nodes);
	return keys_nodes;
}

/* Entry @e of @node's table names an object of that node. */
static bool entry_ok(const struct kipc_key_entry *e, u32 node)
{
	return e->id > 0 && kipc_id_node(e->id) == node;
}

/* A visitor of table entries: true stops the walk. */
typedef bool (*keys_fn)(const struct kipc_key_entry *e, void *arg);

/*
 * Calls @fn on every entry of @node's table of @type, in index order, on
 * read copies. Returns 1 if @fn stopped the walk, 0 when done or when the
 * node is down, -errno (as kDDM says) on failure.
 */
static int keys_walk_node(enum kipc_type type, u32 node, keys_fn fn,
			  void *arg)
{
	struct kipc_key_chunk *c;
	u32 k, i, nchunks = 1;
	bool stop = false;
	u64 objid;

	for (k = 0; k < nchunks && !stop; k++) {
		objid = keys_objid(type, node, k);
		c = kddm_get_object(keys_set, objid);
		if (IS_ERR(c))
			return kipc_node_gone(PTR_ERR(c)) ? 0 : PTR_ERR(c);
		if (!k)
			nchunks = clamp_t(u32, c->nchunks, 1, KIPC_KEY_CHUNKS);
		for (i = 0; i < chunk_n(c) && !stop; i++)
			if (entry_ok(&c->e[i], node))
				stop = fn(&c->e[i], arg);
		kddm_put_object(keys_set, objid);
	}
	return stop;
}

/* The same over every node up, in ascending node order. */
static int keys_walk(enum kipc_type type, keys_fn fn, void *arg)
{
	const unsigned long *map = keys_node_map();
	unsigned long node;
	int ret;

	for_each_set_bit(node, map, KDDM_MAX_NODE + 1) {
		ret = keys_walk_node(type, node, fn, arg);
		if (ret)
			return ret;
		cond_resched();
	}
	return 0;
}

struct keys_find {
	s32 key;
	u32 nth;		/* matches to skip */
	int id;
};

static bool find_key(const struct kipc_key_entry *e, void *arg)
{
	struct keys_find *f = arg;

	if (e->key != f->key)
		return false;
	if (f->nth) {
		f->nth--;
		return false;
	}
	f->id = e->id;
	return true;
}

/* The id of the @nth entry of @key (not IPC_PRIVATE), or -ENOENT. */
static int keys_lookup(enum kipc_type type, s32 key, u32 nth)
{
	struct keys_find f = { .key = key, .nth = nth };
	int ret = keys_walk(type, find_key, &f);

	if (ret < 0)
		return kipc_err(ret);
	return ret ? f.id : -ENOENT;
}

struct keys_sum {
	u32 n;
	u64 total;
};

static bool sum_entry(const struct kipc_key_entry *e, void *arg)
{
	struct keys_sum *s = arg;

	s->n++;
	s->total = e->amount > U64_MAX - s->total ? U64_MAX :
		   s->total + e->amount;
	return false;
}

/* The number of objects of @type in the cluster and their amounts. */
int kipc_keys_count(enum kipc_type type, u32 *n, u64 *total)
{
	struct keys_sum s = {};
	int ret = keys_walk(type, sum_entry, &s);

	if (ret < 0)
		return kipc_err(ret);
	*n = s.n;
	if (total)
		*total = s.total;
	return 0;
}

struct keys_index {
	u32 idx;
	int id;
};

static bool index_entry(const struct kipc_key_entry *e, void *arg)
{
	struct keys_index *x = arg;

	if (x->idx--)
		return false;
	x->id = e->id;
	return true;
}

/*
 * *_STAT and *_STAT_ANY name an object by its index: the tables of the
 * nodes up, in ascending node order, one after the other.
 */
int kipc_index_to_id(enum kipc_type type, int idx)
{
	struct keys_index x = { .idx = idx };
	int ret;

	if (idx < 0)
		return -EINVAL;
	ret = keys_walk(type, index_entry, &x);
	if (ret < 0)
		return kipc_err(ret);
	return ret ? x.id : -EINVAL;
}

struct keys_ids {
	s32 *ids;
	u32 n, size;
	int err;
};

static bool collect_id(const struct kipc_key_entry *e, void *arg)
{
	struct keys_ids *l = arg;
	s32 *ids;

	if (l->n == l->size) {
		ids = kvmalloc_array(2 * l->size, sizeof(*ids), GFP_KERNEL);
		if (!ids) {
			l->err = -ENOMEM;
			return true;
		}
		memcpy(ids, l->ids, l->size * sizeof(*ids));
		kvfree(l->ids);
		l->ids = ids;
		l->size *= 2;
	}
	l->ids[l->n++] = e->id;
	return false;
}

/*
 * The ids of every object of @type in the cluster, in index order, in
 * *@ids (kvfree() it); returns their number or -errno.
 */
int kipc_keys_ids(enum kipc_type type, s32 **ids)
{
	struct keys_ids l = { .size = 64 };
	int ret;

	l.ids = kvmalloc_array(l.size, sizeof(*l.ids), GFP_KERNEL);
	if (!l.ids)
		return -ENOMEM;
	ret = keys_walk(type, collect_id, &l);
	if (ret < 0 || l.err) {
		kvfree(l.ids);
		return ret < 0 ? kipc_err(ret) : l.err;
	}
	*ids = l.ids;
	return l.n;
}

/*
 * Changes the entry of @id in its node's table: removes it (@del) or sets
 * its key. Any node may do it; the chunk goes back to its home at once.
 * Returns 0 (also when there is no such entry) or -errno.
 */
static int keys_change(enum kipc_type type, int id, bool del, s32 key)
{
	u32 node = kipc_id_node(id), k, i, nchunks = 1;
	struct kipc_key_chunk *c;
	int at = -1;
	u64 objid;

	if (id <= 0 || !node)
		return 0;
	/* Which chunk: entries never move from one chunk to another. */
	for (k = 0; k < nchunks && at < 0; k++) {
		objid = keys_objid(type, node, k);
		c = kddm_get_object(keys_set, objid);
		if (IS_ERR(c))
			return kipc_node_gone(PTR_ERR(c)) ? 0 : PTR_ERR(c);
		if (!k)
			nchunks = clamp_t(u32, c->nchunks, 1, KIPC_KEY_CHUNKS);
		for (i = 0; i < chunk_n(c); i++)
			if (c->e[i].id == id)
				at = k;
		kddm_put_object(keys_set, objid);
	}
	if (at < 0)
		return 0;
	objid = keys_objid(type, node, at);
	c = kddm_grab_object(keys_set, objid);
	if (IS_ERR(c))
		return kipc_node_gone(PTR_ERR(c)) ? 0 : PTR_ERR(c);
	for (i = 0; i < chunk_n(c); i++) {
		if (c->e[i].id != id)
			continue;
		if (del) {
			c->n = chunk_n(c) - 1;
			c->e[i] = c->e[c->n];
			memset(&c->e[c->n], 0, sizeof(c->e[0]));
		} else {
			c->e[i].key = key;
		}
		break;
	}
	kddm_put_object(keys_set, objid);
	/*
	 * Back to the home now. If a local reader holds it (-EBUSY), the
	 * writable copy stays here, coherent; only this node's death before
	 * it moves on leaves a stale entry at the home.
	 */
	if (node != kddm_node_id())
		kddm_flush_object(keys_set, objid);
	return 0;
}

/* The object @id is gone: its entry goes (IPC_RMID, last detach). */
void kipc_keys_forget(enum kipc_type type, int id)
{
	keys_change(type, id, true, IPC_PRIVATE);
}

/* IPC_RMID of an object still in use: its key is free for a new one. */
void kipc_unkey(enum kipc_type type, int id)
{
	keys_change(type, id, false, IPC_PRIVATE);
}

/* Grabs the key lock of every node up, in ascending node order. */
static int keys_lock(struct kipc_keyget *g)
{
	const unsigned long *map = keys_node_map();
	u32 n = 0, i, max = bitmap_weight(map, KDDM_MAX_NODE + 1);
	unsigned long node;
	void *lock;
	int ret = 0;

	g->held = kmalloc_array(max_t(u32, max, 1), sizeof(*g->held),
				GFP_KERNEL);
	if (!g->held)
		return -ENOMEM;
	/* a snapshot: nodes that come up meanwhile see us */
	for_each_set_bit(node, map, KDDM_MAX_NODE + 1) {
		if (n == max)
			break;
		g->held[n++] = node;
	}
	g->nr_held = 0;
	for (i = 0; i < n; i++) {
		lock = kddm_grab_object(locks_set,
					keys_objid(g->type, g->held[i], 0));
		if (IS_ERR(lock) && kipc_node_gone(PTR_ERR(lock)))
			continue;
		if (IS_ERR(lock)) {
			ret = kipc_err(PTR_ERR(lock));
			break;
		}
		g->held[g->nr_held++] = g->held[i];
	}
	g->locked = true;
	return ret;
}

static void keys_unlock(struct kipc_keyget *g)
{
	u32 i;

	for (i = g->nr_held; i-- > 0; )
		kddm_put_object(locks_set, keys_objid(g->type, g->held[i], 0));
	kfree(g->held);
	g->held = NULL;
	g->nr_held = 0;
	g->locked = false;
}

void kipc_keyget_init(struct kipc_keyget *g, enum kipc_type type, s32 key,
		      int flg)
{
	memset(g, 0, sizeof(*g));
	g->type = type;
	g->key = key;
	g->flg = flg;
}

/*
 * The next step of a *get(key, flg):
 *   KIPC_KEY_FOUND   g->id is the object the key names, if it checks out:
 *                    the caller checks that it exists with that key, and
 *                    either uses it or calls kipc_keyget_stale();
 *   KIPC_KEY_CREATE  a new object must be made: the key locks are held,
 *                    g->count and g->total are the cluster's; the caller
 *                    creates it and kipc_keys_add()s it;
 *   -errno           the answer (-ENOENT: no such key, no IPC_CREAT).
 * kipc_keyget_end() in every case.
 */
int kipc_keyget_next(struct kipc_keyget *g)
{
	struct keys_sum s = {};
	int id, ret;

	for (;;) {
		if (g->tries++ >= KIPC_KEYGET_TRIES)
			return -EAGAIN;
		if (g->key != IPC_PRIVATE) {
			id = keys_lookup(g->type, g->key, g->nth);
			if (id >= 0) {
				g->id = id;
				return KIPC_KEY_FOUND;
			}
			if (id != -ENOENT)
				return id;
			if (!(g->flg & IPC_CREAT))
				return -ENOENT;
		}
		if (g->locked)
			break;
		ret = keys_lock(g);
		if (ret)
			return ret;
		/* Under the locks, from the first entry of the key again. */
		g->nth = 0;
	}
	ret = keys_walk(g->type, sum_entry, &s);
	if (ret < 0)
		return kipc_err(ret);
	g->count = s.n;
	g->total = s.total;
	return KIPC_KEY_CREATE;
}

/*
 * The object g->id named by the key is not there: @err is the error
 * getting it, or 0 if it exists with the key @key now. Under the locks the
 * entry is repaired; otherwise the lookup goes on with the next entry of
 * the key. Returns 0 to go on, or the error to return.
 */
int kipc_keyget_stale(struct kipc_keyget *g, long err, s32 key)
{
	if (err && err != -EINVAL && err != -EIDRM)
		return err;
	/* -EIDRM: its node is down, its table with it */
	if (g->locked && err != -EIDRM &&
	    !keys_change(g->type, g->id, err != 0, key))
		return 0;
	g->nth++;
	return 0;
}

/*
 * Enters the new object @id (homed here) with @amount in this node's
 * table, under the key locks. Returns 0 or -errno.
 */
int kipc_keys_add(struct kipc_keyget *g, int id, u64 amount)
{
	u32 node = kddm_node_id(), k, i, nchunks = 1, room = U32_MAX;
	struct kipc_key_chunk *c;
	int at = -1, ret;
	u64 objid;

	if (!g->locked || kipc_id_node(id) != node)
		return -EINVAL;
	/*
	 * A chunk with room, or the one with a stale entry of @id (a slot
	 * used again), which is then overwritten.
	 */
	for (k = 0; k < nchunks && at < 0; k++) {
		objid = keys_objid(g->type, node, k);
		c = kddm_get_object(keys_set, objid);
		if (IS_ERR(c))
			return kipc_err(PTR_ERR(c));
		if (!k)
			nchunks = clamp_t(u32, c->nchunks, 1, KIPC_KEY_CHUNKS);
		if (chunk_n(c) < KIPC_KEYS_PER_CHUNK && room == U32_MAX)
			room = k;
		for (i = 0; i < chunk_n(c); i++)
			if (c->e[i].id == id)
				at = k;
		kddm_put_object(keys_set, objid);
	}
	if (at < 0)
		at = room != U32_MAX ? room : nchunks;
	if (at >= KIPC_KEY_CHUNKS)
		return -ENOSPC;
	if (at >= nchunks) {
		/* a new chunk: readers look at it from now on */
		objid = keys_objid(g->type, node, 0);
		c = kddm_grab_object(keys_set, objid);
		if (IS_ERR(c))
			return kipc_err(PTR_ERR(c));
		c->nchunks = max_t(u32, c->nchunks, at + 1);
		kddm_put_object(keys_set, objid);
	}
	objid = keys_objid(g->type, node, at);
	c = kddm_grab_object(keys_set, objid);
	if (IS_ERR(c))
		return kipc_err(PTR_ERR(c));
	ret = -ENOSPC;
	for (i = 0; i < chunk_n(c); i++)
		if (c->e[i].id == id)
			break;
	if (i < KIPC_KEYS_PER_CHUNK) {
		c->e[i] = (struct kipc_key_entry) {
			.key = g->key, .id = id, .amount = amount,
		};
		c->n = max_t(u32, chunk_n(c), i + 1);
		ret = 0;
	}
	kddm_put_object(keys_set, objid);
	return ret;
}

void kipc_keyget_end(struct kipc_keyget *g)
{
	if (g->locked)
		keys_unlock(g);
}

/* ---- permissions, as ipc/util.c ---- */

int kipc_perms(const struct kipc_perm *p, short flag)
{
	kuid_t euid = current_euid();
	int requested = (flag >> 6) | (flag >> 3) | flag;
	int granted = p->mode;

	if (uid_eq(euid, make_kuid(&init_user_ns, p->cuid)) ||
	    uid_eq(euid, make_kuid(&init_user_ns, p->uid)))
		granted >>= 6;
	else if (in_group_p(make_kgid(&init_user_ns, p->cgid)) ||
		 in_group_p(make_kgid(&init_user_ns, p->gid)))
		granted >>= 3;
	if ((requested & ~granted & 0007) &&
	    !ns_capable(kipc_ns()->user_ns, CAP_IPC_OWNER))
		return -EACCES;
	return 0;
}

/* Owner, creator or CAP_SYS_ADMIN may change or remove (ipcctl_obtain_check). */
bool kipc_owner(const struct kipc_perm *p)
{
	kuid_t euid = current_euid();

	return uid_eq(euid, make_kuid(&init_user_ns, p->cuid)) ||
	       uid_eq(euid, make_kuid(&init_user_ns, p->uid)) ||
	       ns_capable(kipc_ns()->user_ns, CAP_SYS_ADMIN);
}

/* Owner fields as the caller's user namespace sees them (ipc/shm.c fill). */
void kipc_perm_out(struct ipc64_perm *out, const struct kipc_perm *p)
{
	struct user_namespace *ns = current_user_ns();

	out->uid = from_kuid_munged(ns, make_kuid(&init_user_ns, p->uid));
	out->gid = from_kgid_munged(ns, make_kgid(&init_user_ns, p->gid));
	out->cuid = from_kuid_munged(ns, make_kuid(&init_user_ns, p->cuid));
	out->cgid = from_kgid_munged(ns, make_kgid(&init_user_ns, p->cgid));
	out->mode = p->mode;
}

/*
 * The owner IPC_SET asks for, from the caller's user namespace into the
 * stored (initial namespace) ids; -EINVAL if it has no mapping, as
 * ipc_update_perm().
 */
int kipc_perm_in(const struct ipc64_perm *in, u32 *uid, u32 *gid)
{
	kuid_t kuid = make_kuid(current_user_ns(), in->uid);
	kgid_t kgid = make_kgid(current_user_ns(), in->gid);

	if (!uid_valid(kuid) || !gid_valid(kgid))
		return -EINVAL;
	*uid = from_kuid(&init_user_ns, kuid);
	*gid = from_kgid(&init_user_ns, kgid);
	return 0;
}

/* Fills the owner fields of a new object for the calling task. */
void kipc_perm_init(struct kipc_perm *p, int flg)
{
	p->uid = from_kuid(&init_user_ns, current_euid());
	p->cuid = p->uid;
	p->gid = from_kgid(&init_user_ns, current_egid());
	p->cgid = p->gid;
	p->mode = flg & 0777;
}

/* Grabs object @id of @set: 1 if free (kept grabbed), 0 if taken. */
static int try_id(struct kddm_set *set, int id, void **obj)
{
	*obj = kddm_grab_object(set, id);
	if (IS_ERR(*obj))
		return PTR_ERR(*obj);
	if (!*(u32 *)*obj)
		return 1;
	kddm_put_object(set, id);
	return 0;
}

/*
 * The id a writer of /proc/sys/kernel/{shm,msg,sem}_next_id asked for
 * (CRIU restores objects with it), read once as the kernel does: its slot
 * if it names this node (ids carry their node), else -1.
 */
static int wanted_id(enum kipc_type type)
{
	/* ipc/util.h's IPC_SEM_IDS, IPC_MSG_IDS, IPC_SHM_IDS */
	static const int ids_of[KIPC_NR_TYPES] = {
		[KIPC_SHM] = 2, [KIPC_MSG] = 1, [KIPC_SEM] = 0,
	};
	int want = xchg(&kipc_ns()->ids[ids_of[type]].next_id, -1);

	if (want < 0)
		return -1;
	if (kipc_id_node(want) != kddm_node_id()) {
		pr_info_ratelimited("kipc: next id %d names node %u, not this one: not used\n",
				    want, kipc_id_node(want));
		return -1;
	}
	return want & (KIPC_SLOTS - 1);
}

/*
 * A fresh id of @type homed on this node, its object in @set grabbed:
 * objects of kipc start with a u32 "exists" field. With a next id set,
 * the first free slot from it, as the kernel's idr_alloc() from it.
 */
int kipc_new_id(struct kddm_set *set, enum kipc_type type, void **obj)
{
	int tries, id, ret, want = wanted_id(type);
	u32 slot;

	for (tries = 0; tries < KIPC_SLOTS; tries++) {
		if (want >= 0 && want + tries >= KIPC_SLOTS)
			break;
		if (want >= 0)
			slot = want + tries;
		else
			slot = (u32)atomic_inc_return(&next_slot) % KIPC_SLOTS;
		id = (int)(kddm_node_id() << KIPC_SLOT_BITS | slot);
		ret = try_id(set, id, obj);
		if (ret < 0)
			return ret;
		if (ret)
			return id;
	}
	return -ENOSPC;
}

/* ---- kDDM sets of kipc's plain objects ---- */

static u32 obj_home(struct kddm_set *set, u64 objid,
		    const unsigned long *nodes_up)
{
	return kipc_id_node((int)objid);
}

static const struct kddm_io_linker_ops obj_linker = {
	.name = "kipc_obj",
	.owner = THIS_MODULE,
	.default_owner = obj_home,
};

/* A well-known set of plain objects homed on their creator node. */
struct kddm_set *kipc_open_obj_set(u32 name, u32 obj_size)
{
	struct kddm_set_attr attr = {
		.linker = "kipc_obj",
		.obj_size = obj_size,
		.policy = KDDM_OWNER_CUSTOM,
	};

	return kddm_open_set(name, &attr);
}

int kipc_util_init(void)
{
	struct kddm_set_attr keys = {
		.linker = "kipc_keys",
		.obj_size = KIPC_KEYS_CHUNK_SIZE,
		.policy = KDDM_OWNER_CUSTOM,
	};
	struct kddm_set_attr locks = {
		.linker = "kipc_keylock",
		.obj_size = sizeof(u64),
		.policy = KDDM_OWNER_CUSTOM,
	};
	u32 node;
	int ret;

	BUILD_BUG_ON(KIPC_KEYS_CHUNK_SIZE > KDDM_MAX_OBJ_SIZE);
	BUILD_BUG_ON(KIPC_KEY_CHUNKS > 0xff);
	keys_nodes = bitmap_zalloc(KDDM_MAX_NODE + 1, GFP_KERNEL);
	if (!keys_nodes)
		return -ENOMEM;
	/* the callback first: a node that comes up meanwhile is not lost */
	kddm_register_node_callback(&keys_node_cb);
	for (node = 1; node <= KDDM_MAX_NODE; node++)
		if (kddm_node_known(node))
			set_bit(node, keys_nodes);
	ret = kddm_register_io_linker(&obj_linker);
	if (ret)
		goto err_cb;
	ret = kddm_register_io_linker(&keys_linker);
	if (ret)
		goto err_obj;
	ret = kddm_register_io_linker(&lock_linker);
	if (ret)
		goto err_keys;
	keys_set = kddm_open_set(KIPC_SET_KEYS, &keys);
	ret = PTR_ERR_OR_ZERO(keys_set);
	if (ret)
		goto err_lock;
	locks_set = kddm_open_set(KIPC_SET_KEY_LOCKS, &locks);
	ret = PTR_ERR_OR_ZERO(locks_set);
	if (ret)
		goto err_set;
	return 0;

err_set:
	kddm_put_set(keys_set);
err_lock:
	kddm_unregister_io_linker(&lock_linker);
err_keys:
	kddm_unregister_io_linker(&keys_linker);
err_obj:
	kddm_unregister_io_linker(&obj_linker);
err_cb:
	kddm_unregister_node_callback(&keys_node_cb);
	bitmap_free(keys_nodes);
	return ret;
}

void kipc_util_exit(void)
{
	kddm_put_set(locks_set);
	kddm_put_set(keys_set);
	kddm_unregister_io_linker(&lock_linker);
	kddm_unregister_io_linker(&keys_linker);
	kddm_unregister_io_linker(&obj_linker);
	kddm_unregister_node_callback(&keys_node_cb);
	bitmap_free(keys_nodes);
}
