// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs objects: well-known kDDM sets, each homed by the node number
 * in bits 48..63 of the object id (OBJID_BITS), each with an io-linker
 * that loads an object from its home's backing store on first touch (and
 * after the loss of its only writable copy) and writes it back on sync.
 *
 *   inodes   struct kdfs_iobj, id = inode number
 *   dirs     struct kdfs_dobj (a node of a listing's tree, up to 128 KiB
 *            of names), id = kdfs_dir_id(inode, node)
 *   pages    one page of a file's data, id = kdfs_page_id() (its
 *            io-linker is in mmap.c: a copy is a struct page)
 *   spages   one page of a striped file, id = kdfs_pid(): the same
 *            io-linker, homed by bits 56..63 (CUSTOM policy)
 *   allocs   struct kdfs_aobj, id = node << 48: the next inode number
 *            (and how far the counter on disk reserves)
 *   dfs      struct kdfs_df, id = node << 48: its backing store's usage
 *            (memory only: each mounted node refreshes its own)
 *   xattrs   struct kdfs_xobj, id = inode number (io-linker in xattr.c)
 *   locks    struct kdfs_lobj, id = inode number: every node's file locks
 *            of the file (memory only; lock.c)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "kdfs.h"

struct kddm_set *kdfs_inodes, *kdfs_dirs, *kdfs_pages, *kdfs_allocs,
	*kdfs_dfs, *kdfs_xattrs, *kdfs_spages, *kdfs_locks;

/* What a call on an object of a dead, fenced or absent node gives. */
int kdfs_errno(int err)
{
	switch (err) {
	case -EHOSTDOWN:
	case -ENOLINK:
	case -ENOPKG:
	case -ENOPROTOOPT:
	case -ENODEV:
	case -EUCLEAN:
	case -EIDRM:
	case -ENOTCONN:
		return -EIO;
	}
	return err;
}

/* ---- inodes ---- */

/*
 * Inode numbers just given out here whose objects make_inode() is
 * grabbing: no file of theirs can be on disk (a number is never given
 * twice), so their first touch here (this node their home) skips the
 * backing store's lookup of a file that is not there. Best effort: with
 * every slot taken, the first touch looks, as for any other inode.
 */
#define FRESH_SLOTS	16
static DEFINE_SPINLOCK(fresh_lock);
static u64 fresh[FRESH_SLOTS];	/* 0: free */

void kdfs_fresh_mark(u64 ino)
{
	unsigned int i;

	spin_lock(&fresh_lock);
	for (i = 0; i < FRESH_SLOTS; i++) {
		if (!fresh[i]) {
			fresh[i] = ino;
			break;
		}
	}
	spin_unlock(&fresh_lock);
}

/* Whether @ino was marked fresh; the mark goes either way. */
bool kdfs_fresh_take(u64 ino)
{
	bool found = false;
	unsigned int i;

	spin_lock(&fresh_lock);
	for (i = 0; i < FRESH_SLOTS; i++) {
		if (fresh[i] == ino) {
			fresh[i] = 0;
			found = true;
			break;
		}
	}
	spin_unlock(&fresh_lock);
	return found;
}

static int inode_load(struct kddm_set *set, u64 objid, void *data)
{
	/* a fresh number's file is not there: as if looked for */
	int ret = kdfs_fresh_take(objid) ? -ENOENT :
		  kdfs_load_inode(objid, data);

	if (ret == -ENOENT) {
		memset(data, 0, sizeof(struct kdfs_iobj));
		ret = 0;
	}
	return ret;
}

/*
 * A striped file's other stripe nodes first (their data files cut and
 * durable, or gone once it is freed), then its inode: on disk, a size
 * never covers data that is not. A stripe node that fails (down) fails
 * the write-back with -EREMOTEIO, which is tried again: a freed file's
 * inode file stays until every node dropped its data file.
 */
static int inode_sync(struct kddm_set *set, u64 objid, void *data)
{
	const struct kdfs_iobj *io = data;
	int ret, stripes;

	stripes = kdfs_stripes_sync(objid, io);
	if (!io->mode)
		return stripes ?: kdfs_forget_inode(objid);
	if (S_ISREG(io->mode) || S_ISLNK(io->mode)) {
		ret = kdfs_trim_data(objid, io->size);
		if (ret)
			return ret;
	}
	ret = kdfs_store_inode(objid, io);
	return ret ?: stripes;
}

static const struct kddm_io_linker_ops inode_linker = {
	.name = "kdfs_inode",
	.owner = THIS_MODULE,
	.first_touch = inode_load,
	.sync_object = inode_sync,
	.reload_object = inode_load,
};

/* ---- directories ---- */

static void *dir_alloc(struct kddm_set *set, u64 objid)
{
	return kvzalloc(KDFS_DIR_SIZE, GFP_KERNEL);
}

static void dir_free(struct kddm_set *set, u64 objid, void *data)
{
	kvfree(data);
}

static int dir_load(struct kddm_set *set, u64 objid, void *data)
{
	struct kdfs_dobj *d = data;
	int ret = kdfs_load_dir(objid, d);

	if (ret == -ENOENT) {
		memset(d, 0, sizeof(*d));
		ret = 0;
	}
	return ret;
}

static u32 dir_size(struct kddm_set *set, u64 objid, void *data)
{
	const struct kdfs_dobj *d = data;

	return sizeof(*d) + d->used;
}

static int dir_export(struct kddm_set *set, u64 objid, void *data,
		      void *buf, size_t len)
{
	u32 n = dir_size(set, objid, data);

	if (n > len)
		return -EMSGSIZE;
	memcpy(buf, data, n);
	return n;
}

/*
 * A node of a listing from a peer (node t of its tree): every entry must
 * lie within it, names valid and under node t; split, only above the
 * deepest level, with no entry.
 */
static bool dir_valid(u64 objid, const struct kdfs_dobj *d, size_t len)
{
	u32 count = 0, t = kdfs_dir_node(objid);
	const u8 *p, *end;

	if (len < sizeof(*d) || d->used > len - sizeof(*d) ||
	    (d->flags & ~KDFS_DIR_SPLIT) ||
	    ((d->flags & KDFS_DIR_SPLIT) &&
	     (d->used || d->count || kdfs_dir_depth(t) >= KDFS_DIR_DEPTH)))
		return false;
	p = d->entries;
	end = d->entries + d->used;
	while (p < end) {
		const struct kdfs_dirent *de = (const void *)p;

		if (end - p < sizeof(*de) || !de->len ||
		    end - p < sizeof(*de) + de->len ||
		    !kdfs_name_valid(de->name, de->len) ||
		    !kdfs_hash_in_node(kdfs_name_hash(de->name, de->len), t))
			return false;
		p += sizeof(*de) + de->len;
		count++;
	}
	return count == d->count;
}

static int dir_import(struct kddm_set *set, u64 objid, void *data,
		      const void *buf, size_t len)
{
	struct kdfs_dobj *d = data;

	if (!dir_valid(objid, buf, len)) {
		pr_warn_ratelimited("listing node %llx: malformed copy dropped\n",
				    objid);
		memset(d, 0, sizeof(*d));
		return -EPROTO;
	}
	memcpy(data, buf, len);
	return 0;
}

/*
 * A split node's file is written once, from its leaf's text to "split",
 * under this lock: a sync that finds it split on disk finds it whole.
 */
static DEFINE_MUTEX(split_lock);

/*
 * Node @id (below one being synced) written to its file from its copy
 * here, its home: 0; or, unless @split_too, 1 if that copy is split (a
 * leaf is written from the copy that shows it a leaf). A node removed
 * meanwhile (rmdir) is not loaded again: -ENOENT.
 */
static int store_node(u64 id, bool split_too)
{
	struct kdfs_dobj *d = kddm_get_object_no_ft(kdfs_dirs, id);
	int ret = 1;

	if (IS_ERR(d))
		return kdfs_errno(PTR_ERR(d));
	if (split_too || !kdfs_dir_split(d, kdfs_dir_node(id)))
		ret = kdfs_store_dir(id, d);
	kddm_put_object(kdfs_dirs, id);
	return ret;
}

#define HALVES_DONE	BIT(31)	/* on the stack: its halves are written */

/*
 * Split node @id is to say so on disk, which it does not yet: every node
 * below it first, each split one after its halves. What their files say
 * is not trusted (a split below one not on disk may be from before a
 * crash): all are written again.
 */
static int halves_first(u64 id)
{
	u32 stack[2 * KDFS_DIR_DEPTH + 2], t, top = kdfs_dir_node(id);
	u64 ino = kdfs_dir_ino(id);
	int n = 0, ret;

	stack[n++] = 2 * top + 1;
	stack[n++] = 2 * top;
	while (n) {
		t = stack[--n];
		if (t & HALVES_DONE) {
			/* "split" already on disk never changes */
			t &= ~HALVES_DONE;
			ret = kdfs_dir_split_on_disk(kdfs_dir_id(ino, t)) ?:
			      store_node(kdfs_dir_id(ino, t), true);
			if (ret < 0)
				return ret;
			continue;
		}
		ret = store_node(kdfs_dir_id(ino, t), false);
		if (ret < 0)
			return ret;
		if (ret) {
			stack[n++] = t | HALVES_DONE;
			stack[n++] = 2 * t + 1;
			stack[n++] = 2 * t;
		}
	}
	return 0;
}

/*
 * At the home. A split node says so on disk only after its halves are
 * there (kdfs_load_dir() trusts it); once it does, it never changes.
 */
static int dir_sync(struct kddm_set *set, u64 objid, void *data)
{
	const struct kdfs_dobj *d = data;
	int ret;

	if (!(d->flags & KDFS_DIR_SPLIT))
		return kdfs_store_dir(objid, d);
	mutex_lock(&split_lock);
	ret = kdfs_dir_split_on_disk(objid);
	if (!ret)
		ret = halves_first(objid) ?: kdfs_store_dir(objid, d);
	mutex_unlock(&split_lock);
	return ret < 0 ? ret : 0;
}

/*
 * At the home, nothing held: node @objid synced. A node above it that is
 * split but not on disk yet (its file is ignored till then) is synced
 * first, the topmost first, which writes everything below it.
 */
static int dir_call(struct kddm_set *set, u64 objid, const void *arg,
		    size_t len)
{
	u64 ino = kdfs_dir_ino(objid);
	u32 t = kdfs_dir_node(objid), a;
	int ret;

	if (len)
		return -EINVAL;
	for (;;) {
		ret = kdfs_dir_unsplit_above(ino, t, &a) ?:
		      kddm_sync_object(set, kdfs_dir_id(ino, a));
		if (ret || a == t)
			return ret;
		/* still not split there: a leaf, @objid is not under it */
		ret = kdfs_dir_split_on_disk(kdfs_dir_id(ino, a));
		if (ret <= 0)
			return ret;
	}
}

/*
 * kdfs_dir_sync - kddm_sync_object() of listing node @id, through its
 * home's dir_call() below the root. Return: 0 or kDDM's -errno.
 */
int kdfs_dir_sync(u64 id)
{
	if (kdfs_dir_node(id) == 1)
		return kddm_sync_object(kdfs_dirs, id);
	return kddm_call_home(kdfs_dirs, id, NULL, 0);
}

static const struct kddm_io_linker_ops dir_linker = {
	.name = "kdfs_dir",
	.owner = THIS_MODULE,
	.alloc_object = dir_alloc,
	.free_object = dir_free,
	.first_touch = dir_load,
	.export_object = dir_export,
	.export_size = dir_size,
	.import_object = dir_import,
	.sync_object = dir_sync,
	.reload_object = dir_load,
	.home_call = dir_call,
};

/* ---- inode number allocators ---- */

static int alloc_load(struct kddm_set *set, u64 objid, void *data)
{
	struct kdfs_aobj *a = data;
	int ret = kdfs_load_alloc(kdfs_ino_node(objid), a);

	if (ret == -ENOENT) {
		a->next = KDFS_ROOT_N + 1;
		a->limit = a->next;
		a->durable = a->next;	/* none reserved yet */
		ret = 0;
	}
	a->epoch = get_random_u64();
	return ret;
}

static int alloc_sync(struct kddm_set *set, u64 objid, void *data)
{
	return kdfs_store_alloc(kdfs_ino_node(objid), data);
}

static const struct kddm_io_linker_ops alloc_linker = {
	.name = "kdfs_alloc",
	.owner = THIS_MODULE,
	.first_touch = alloc_load,
	.sync_object = alloc_sync,
	.reload_object = alloc_load,
};

/* ---- usage ---- */

static const struct kddm_io_linker_ops df_linker = {
	.name = "kdfs_df",
	.owner = THIS_MODULE,
};

/* ---- the bound on the pages kept here ---- */

/*
 * The file pages this node keeps copies of, at most (kDDM writes back and
 * drops the least recently used past it): cache_mb MiB, or with 0 a
 * quarter of the memory.
 */
static unsigned int cache_mb;
static DEFINE_MUTEX(cache_lock);	/* cache_mb applied to the page sets */

static unsigned long cache_pages(void)
{
	if (cache_mb)
		return (unsigned long)cache_mb << (20 - PAGE_SHIFT);
	return max(totalram_pages() / 4, 1024UL);
}

static int cache_apply(void)
{
	int ret = 0;

	mutex_lock(&cache_lock);
	if (!IS_ERR_OR_NULL(kdfs_pages))
		ret = kddm_set_cache_limit(kdfs_pages, cache_pages());
	if (!ret && !IS_ERR_OR_NULL(kdfs_spages))
		ret = kddm_set_cache_limit(kdfs_spages, cache_pages());
	mutex_unlock(&cache_lock);
	return ret;
}

static int cache_mb_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_uint(val, kp);

	return ret ?: cache_apply();
}

static const struct kernel_param_ops cache_mb_ops = {
	.set = cache_mb_set,
	.get = param_get_uint,
};

module_param_cb(cache_mb, &cache_mb_ops, &cache_mb, 0644);
MODULE_PARM_DESC(cache_mb, "file pages kept in memory per node, MiB (0: a quarter of the memory)");

/* ---- sets ---- */

static const struct kddm_io_linker_ops *const linkers[] = {
	&inode_linker, &dir_linker, &kdfs_page_linker, &alloc_linker,
	&df_linker, &kdfs_xattr_linker, &kdfs_spage_linker, &kdfs_lock_linker,
};

static struct kddm_set *open_set(u32 name, const char *linker, u32 size,
				 enum kddm_owner_policy policy)
{
	struct kddm_set_attr attr = {
		.linker = linker,
		.obj_size = size,
		.policy = policy,
	};

	return kddm_open_set(name, &attr);
}

static struct kddm_set **const sets[] = {
	&kdfs_inodes, &kdfs_dirs, &kdfs_pages, &kdfs_allocs, &kdfs_dfs,
	&kdfs_xattrs, &kdfs_spages, &kdfs_locks,
};

/* Opens the sets (at mount); 0 or -errno. */
int kdfs_sets_open(void)
{
	static const struct {
		u32 name;
		const struct kddm_io_linker_ops *linker;
		u32 size;
		enum kddm_owner_policy policy;
	} def[] = {
		{ KDFS_SET_INODES, &inode_linker, sizeof(struct kdfs_iobj) },
		{ KDFS_SET_DIRS, &dir_linker, KDFS_DIR_SIZE },
		{ KDFS_SET_PAGES, &kdfs_page_linker, PAGE_SIZE },
		{ KDFS_SET_ALLOC, &alloc_linker, sizeof(struct kdfs_aobj) },
		{ KDFS_SET_DF, &df_linker, sizeof(struct kdfs_df) },
		{ KDFS_SET_XATTRS, &kdfs_xattr_linker,
		  sizeof(u32) + KDFS_XATTR_ROOM },
		{ KDFS_SET_SPAGES, &kdfs_spage_linker, PAGE_SIZE,
		  KDDM_OWNER_CUSTOM },
		{ KDFS_SET_LOCKS, &kdfs_lock_linker, sizeof(struct kdfs_lobj) },
	};
	int i, ret = 0;

	BUILD_BUG_ON(ARRAY_SIZE(def) != ARRAY_SIZE(sets));
	for (i = 0; i < ARRAY_SIZE(def) && !ret; i++) {
		*sets[i] = open_set(def[i].name, def[i].linker->name,
				    def[i].size,
				    def[i].policy ?: KDDM_OWNER_OBJID_BITS);
		ret = PTR_ERR_OR_ZERO(*sets[i]);
	}
	ret = ret ?: cache_apply();
	if (ret)
		kdfs_sets_close();
	return ret;
}

void kdfs_sets_close(void)
{
	int i;

	/* under cache_lock: a write of cache_mb finds the pages set gone */
	mutex_lock(&cache_lock);
	if (!IS_ERR_OR_NULL(kdfs_pages))
		kddm_set_cache_limit(kdfs_pages, 0);
	if (!IS_ERR_OR_NULL(kdfs_spages))
		kddm_set_cache_limit(kdfs_spages, 0);

	for (i = 0; i < ARRAY_SIZE(sets); i++) {
		if (!IS_ERR_OR_NULL(*sets[i]))
			kddm_put_set(*sets[i]);
		*sets[i] = NULL;
	}
	mutex_unlock(&cache_lock);
}

int kdfs_objects_init(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(linkers); i++) {
		ret = kddm_register_io_linker(linkers[i]);
		if (ret)
			goto undo;
	}
	return 0;
undo:
	while (i--)
		kddm_unregister_io_linker(linkers[i]);
	return ret;
}

void kdfs_objects_exit(void)
{
	int i = ARRAY_SIZE(linkers);

	while (i--)
		kddm_unregister_io_linker(linkers[i]);
}
