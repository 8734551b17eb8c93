// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs inodes and directories. A node's VFS inode is a cache of the inode
 * object: attributes are read again from a read copy of the object (local
 * while no other node changed it) at each lookup, getattr and permission
 * check. Every change grabs the objects it touches, in this order: the
 * directory listings (their roots in ascending inode number, then their
 * leaves), then the inode objects (ascending), then data pages; it marks
 * them for write-back to their homes' disks (flush.c), except a new
 * inode, written before a name points to it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/compat.h>
#include <linux/namei.h>
#include <linux/posix_acl.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "kdfs.h"

/* ---- objects ---- */

/* A read copy (or with @grab the writable one) of a live inode. */
static struct kdfs_iobj *iobj_op(u64 ino, bool grab)
{
	struct kdfs_iobj *io = grab ? kddm_grab_object(kdfs_inodes, ino) :
				      kddm_get_object(kdfs_inodes, ino);

	if (IS_ERR(io))
		return ERR_PTR(kdfs_errno(PTR_ERR(io)));
	if (!io->mode) {
		kddm_put_object(kdfs_inodes, ino);
		return ERR_PTR(-ENOENT);
	}
	return io;
}

static struct kdfs_iobj *iobj_get(u64 ino)
{
	return iobj_op(ino, false);
}

struct kdfs_iobj *kdfs_iobj_grab(u64 ino)
{
	return iobj_op(ino, true);
}

void kdfs_iobj_put(u64 ino)
{
	kddm_put_object(kdfs_inodes, ino);
}

/* ---- listings ---- */

/*
 * A listing is a tree of nodes by the names' hashes (kdfs.h). Every
 * change holds the writable copy of the root, every reader a read copy:
 * the tree's shape is stable while the root is held, so the other nodes
 * are taken after the roots (of every listing held), in any order.
 */
u64 kdfs_name_hash(const char *name, unsigned int len)
{
	static const siphash_key_t key = {{ 0x6b64667364697273ULL,
					    0x706f736974696f6eULL }};

	return siphash(name, len, &key);
}

static u64 qstr_hash(const struct qstr *q)
{
	return kdfs_name_hash(q->name, q->len);
}

/* The bit of hash @h that picks a half of a node at @depth. */
static unsigned int hash_bit(u64 h, unsigned int depth)
{
	return h >> (63 - depth) & 1;
}

static struct kdfs_dirent *dir_find(struct kdfs_dobj *d, const char *name,
				    unsigned int len)
{
	struct kdfs_dirent *de;

	kdfs_for_each_dirent(d, de)
		if (de->len == len && !memcmp(de->name, name, len))
			return de;
	return NULL;
}

/* Room in @d for a name of @len bytes? */
static bool dir_fits(const struct kdfs_dobj *d, unsigned int len)
{
	return d->used + sizeof(struct kdfs_dirent) + len <= KDFS_DIR_ROOM;
}

static int dir_add(struct kdfs_dobj *d, const char *name, unsigned int len,
		   u64 ino, u8 type)
{
	struct kdfs_dirent *de;

	if (!dir_fits(d, len))
		return -ENOSPC;
	de = (struct kdfs_dirent *)(d->entries + d->used);
	de->ino = ino;
	de->type = type;
	de->len = len;
	memcpy(de->name, name, len);
	d->used += sizeof(*de) + len;
	d->count++;
	return 0;
}

static void dir_del(struct kdfs_dobj *d, struct kdfs_dirent *de)
{
	u8 *next = (u8 *)kdfs_dirent_next(de);

	memmove(de, next, d->entries + d->used - next);
	d->used -= next - (u8 *)de;
	d->count--;
}

/* Node @t of @dir's listing: a read copy, or with @write the writable one. */
static struct kdfs_dobj *lnode_op(u64 dir, u32 t, bool write)
{
	u64 id = kdfs_dir_id(dir, t);
	struct kdfs_dobj *d = write ? kddm_grab_object(kdfs_dirs, id) :
				      kddm_get_object(kdfs_dirs, id);

	return IS_ERR(d) ? ERR_PTR(kdfs_errno(PTR_ERR(d))) : d;
}

static void lnode_put(u64 dir, u32 t)
{
	kddm_put_object(kdfs_dirs, kdfs_dir_id(dir, t));
}

/*
 * Where a name is, or goes, in a listing: the leaf held, after the root.
 * @split: the first node split while held, synced after (leaf_room()).
 */
struct dname {
	u64 dir;
	u32 t;			/* the leaf: node t */
	u32 split;		/* 0, or the first node split meanwhile */
	bool own;		/* the leaf is held by this dname */
	struct kdfs_dobj *d;	/* the leaf */
};

/*
 * With @root (@dir's) held: the leaf for hash @h in @n, read (or with
 * @write, writable); @same: a dname of the same listing that may hold
 * that leaf already (then shared, not taken again).
 */
static int leaf_hold(struct dname *n, u64 dir, struct kdfs_dobj *root,
		     u64 h, bool write, const struct dname *same)
{
	struct kdfs_dobj *d = root;
	u32 t = 1;

	*n = (struct dname){ .dir = dir, .t = 1, .d = root };
	while (kdfs_dir_split(d, t)) {
		if (d != root)
			lnode_put(dir, t);
		t = 2 * t + hash_bit(h, kdfs_dir_depth(t));
		if (same && same->dir == dir && same->t == t) {
			n->t = t;
			n->d = same->d;
			return 0;
		}
		d = lnode_op(dir, t, false);
		if (IS_ERR(d))
			return PTR_ERR(d);
	}
	if (d->flags & KDFS_DIR_SPLIT) {
		if (d != root)
			lnode_put(dir, t);
		pr_warn_ratelimited("directory %llx: node %u of its listing is split below the deepest level\n",
				    dir, t);
		return -EUCLEAN;
	}
	n->t = t;
	n->d = d;
	if (t == 1)
		return 0;
	n->own = true;
	if (!write)
		return 0;
	/* a leaf while the root is held: the writable copy now */
	lnode_put(dir, t);
	d = lnode_op(dir, t, true);
	if (IS_ERR(d)) {
		n->own = false;
		return PTR_ERR(d);
	}
	n->d = d;
	return 0;
}

/* The leaf only, not the root. */
static void leaf_release(struct dname *n)
{
	if (n->own)
		lnode_put(n->dir, n->t);
	n->own = false;
}

/*
 * After a split, with nothing held: on disk. The node split first is
 * synced, which stores the new halves before it says it is split
 * (dir_sync()). What could not be written is left to the write-back.
 */
static void split_sync(struct dname *n)
{
	u64 id = kdfs_dir_id(n->dir, n->split);
	int ret;

	if (!n->split)
		return;
	n->split = 0;
	ret = kdfs_sync_dir(id);
	if (!ret)
		return;
	kdfs_dir_dirty(id);
	pr_warn_ratelimited("directory %llx: a split of its listing not written (%d), the write-back tries again\n",
			    n->dir, ret);
}

/* @dir's root and the leaf of name @q in @n. */
static int name_hold(struct dname *n, u64 dir, const struct qstr *q,
		     bool write)
{
	struct kdfs_dobj *root = lnode_op(dir, 1, write);
	int ret;

	if (IS_ERR(root))
		return PTR_ERR(root);
	ret = leaf_hold(n, dir, root, qstr_hash(q), write, NULL);
	if (ret)
		lnode_put(dir, 1);
	return ret;
}

/* What name_hold() took, and a split made meanwhile, on disk. */
static void name_release(struct dname *n)
{
	leaf_release(n);
	lnode_put(n->dir, 1);
	split_sync(n);
}

/* The id of @n's leaf, for its write-back. */
static u64 name_id(const struct dname *n)
{
	return kdfs_dir_id(n->dir, n->t);
}

/*
 * @n's leaf is full: split into two halves (made empty: a file left by a
 * split that never reached the disk is not read), and @n now holds the
 * half for hash @h.
 */
static int leaf_split(struct dname *n, u64 h)
{
	unsigned int depth = kdfs_dir_depth(n->t), side = hash_bit(h, depth);
	struct kdfs_dobj *half[2], *d = n->d;
	struct kdfs_dirent *de;
	u32 c = 2 * n->t;
	int i;

	if (depth >= KDFS_DIR_DEPTH || (n->t != 1 && !n->own))
		return -ENOSPC;
	for (i = 0; i < 2; i++) {
		half[i] = lnode_op(n->dir, c + i, true);
		if (IS_ERR(half[i])) {
			if (i)
				lnode_put(n->dir, c);
			return PTR_ERR(half[i]);
		}
		memset(half[i], 0, sizeof(*half[i]));
	}
	/* each half holds at most what the leaf held: no room to check */
	kdfs_for_each_dirent(d, de) {
		u64 dh = kdfs_name_hash(de->name, de->len);

		dir_add(half[hash_bit(dh, depth)], de->name, de->len, de->ino,
			de->type);
	}
	d->used = 0;
	d->count = 0;
	d->flags = KDFS_DIR_SPLIT;
	lnode_put(n->dir, c + !side);
	leaf_release(n);
	if (!n->split)
		n->split = n->t;
	n->t = c + side;
	n->d = half[side];
	n->own = true;
	return 0;
}

/* Room in @n's leaf for name @q: split as often as it takes. */
static int leaf_room(struct dname *n, const struct qstr *q)
{
	u64 h = qstr_hash(q);
	int ret;

	while (!dir_fits(n->d, q->len)) {
		ret = leaf_split(n, h);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Calls @fn on every node of @dir's listing, each after its parent; @root:
 * the root, held by the caller, or NULL (then each node is read, and
 * put before @fn runs).
 */
static int listing_each(u64 dir, const struct kdfs_dobj *root,
			int (*fn)(u64 dir, u32 t, u32 count))
{
	u32 stack[KDFS_DIR_DEPTH + 2], t, count;
	const struct kdfs_dobj *d;
	int n = 0, ret;
	bool split;

	stack[n++] = 1;
	while (n) {
		t = stack[--n];
		d = t == 1 && root ? root : lnode_op(dir, t, false);
		if (IS_ERR(d))
			return PTR_ERR(d);
		split = kdfs_dir_split(d, t);
		count = d->count;
		if (d != root)
			lnode_put(dir, t);
		ret = fn(dir, t, count);
		if (ret)
			return ret;
		if (split) {
			stack[n++] = 2 * t + 1;
			stack[n++] = 2 * t;
		}
	}
	return 0;
}

static int node_empty(u64 dir, u32 t, u32 count)
{
	return count ? -ENOTEMPTY : 0;
}

/* @root (@dir's) held: 0 if no node of the listing has a name. */
static int listing_empty(u64 dir, const struct kdfs_dobj *root)
{
	return listing_each(dir, root, node_empty);
}

static int node_remove(u64 dir, u32 t, u32 count)
{
	kddm_remove_object(kdfs_dirs, kdfs_dir_id(dir, t));
	return 0;
}

/* A removed directory's (empty) listing goes, every node of it. */
void kdfs_listing_remove(u64 dir)
{
	if (listing_each(dir, NULL, node_remove))
		kddm_remove_object(kdfs_dirs, dir);
}

static int node_sync(u64 dir, u32 t, u32 count)
{
	int ret = kdfs_sync_dir(kdfs_dir_id(dir, t));

	return ret == -ENOENT ? 0 : ret;
}

/* Durable at the homes: 0 or the first error. */
/*
 * -EIO also when a stripe node could not cut or sync its share of a
 * striped file (-EREMOTEIO, which the write-back tries again).
 */
int kdfs_sync_meta(u64 ino)
{
	int ret = kdfs_errno(kddm_sync_object(kdfs_inodes, ino));

	return ret == -EREMOTEIO ? -EIO : ret;
}

int kdfs_sync_dir(u64 id)
{
	return kdfs_errno(kdfs_dir_sync(id));
}

/*
 * A new directory's listing: empty (on disk at the next flush; until then
 * its home loads an absent listing as an empty one).
 */
int kdfs_init_dir(u64 ino)
{
	struct kdfs_dobj *d = lnode_op(ino, 1, true);

	if (IS_ERR(d))
		return PTR_ERR(d);
	memset(d, 0, sizeof(*d));
	lnode_put(ino, 1);
	return kdfs_dir_dirty(ino);
}

void kdfs_touch(struct kdfs_iobj *io, bool mtime)
{
	struct timespec64 now;

	ktime_get_real_ts64(&now);
	io->ctime = now.tv_sec;
	io->ctime_ns = now.tv_nsec;
	if (mtime) {
		io->mtime = now.tv_sec;
		io->mtime_ns = now.tv_nsec;
	}
	io->gen++;
}

/* ---- VFS inodes ---- */

void kdfs_fill_inode(struct inode *inode, const struct kdfs_iobj *io)
{
	inode->i_mode = io->mode;
	inode->i_uid = make_kuid(&init_user_ns, io->uid);
	inode->i_gid = make_kgid(&init_user_ns, io->gid);
	set_nlink(inode, io->nlink);
	i_size_write(inode, io->size);
	kddm_inode_set_times(inode,
			     (struct timespec64){ io->atime, io->atime_ns },
			     (struct timespec64){ io->mtime, io->mtime_ns },
			     (struct timespec64){ io->ctime, io->ctime_ns });
	inode->i_rdev = new_decode_dev(io->rdev);
	inode->i_blocks = (io->size + 511) >> 9;
	KDFS_I(inode)->open_nodes = io->open_nodes;
	KDFS_I(inode)->xattrs = io->xattrs;
	KDFS_I(inode)->lay = kdfs_lay(inode->i_ino, io);
}

/* Reads the attributes again from the inode object. */
int kdfs_refresh(struct inode *inode)
{
	struct kdfs_iobj *io = iobj_get(inode->i_ino);

	if (IS_ERR(io))
		return PTR_ERR(io);
	if ((io->mode ^ inode->i_mode) & S_IFMT) {
		kdfs_iobj_put(inode->i_ino);
		return -ESTALE;
	}
	if (!kdfs_iobj_lay_ok(inode->i_ino, io)) {
		kdfs_iobj_put(inode->i_ino);
		return -EIO;	/* a damaged layout: its data is nowhere known */
	}
	kdfs_fill_inode(inode, io);
	kdfs_iobj_put(inode->i_ino);
	return 0;
}

static void set_ops(struct inode *inode)
{
	switch (inode->i_mode & S_IFMT) {
	case S_IFDIR:
		inode->i_op = &kdfs_dir_iops;
		inode->i_fop = &kdfs_dir_fops;
		break;
	case S_IFREG:
		inode->i_op = &kdfs_file_iops;
		inode->i_fop = &kdfs_file_fops;
		break;
	case S_IFLNK:
		inode->i_op = &kdfs_symlink_iops;
		break;
	default:
		inode->i_op = &kdfs_file_iops;
		init_special_inode(inode, inode->i_mode, inode->i_rdev);
		break;
	}
}

struct inode *kdfs_iget(struct super_block *sb, u64 ino)
{
	struct kdfs_iobj *io;
	struct inode *inode;

	inode = iget_locked(sb, ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW)) {
		int ret = kdfs_refresh(inode);

		if (ret) {
			iput(inode);
			return ERR_PTR(ret);
		}
		return inode;
	}
	io = iobj_get(ino);
	if (IS_ERR(io)) {
		iget_failed(inode);
		return ERR_CAST(io);
	}
	if (!kdfs_iobj_lay_ok(ino, io)) {
		kdfs_iobj_put(ino);
		iget_failed(inode);
		return ERR_PTR(-EIO);
	}
	kdfs_fill_inode(inode, io);
	kdfs_iobj_put(ino);
	set_ops(inode);
	/* ACLs may change on another node: never cached here */
	inode->i_acl = ACL_DONT_CACHE;
	inode->i_default_acl = ACL_DONT_CACHE;
	unlock_new_inode(inode);
	return inode;
}

/*
 * A new inode number, from @node's range. Numbers are given out below
 * what the counter on disk says (a->durable): a number is never given
 * twice, even after a crash. The counter moves KDFS_INO_BATCH at a time
 * (a reboot skips what was left), written with no object held.
 */
int kdfs_new_ino(struct kdfs_sb *s, u32 node, u64 *ino)
{
	u64 id = kdfs_alloc_id(node), want = 0, epoch = 0;
	struct kdfs_aobj *a;
	int ret;

	for (;;) {
		a = kddm_grab_object(kdfs_allocs, id);
		if (IS_ERR(a))
			return kdfs_errno(PTR_ERR(a));
		/*
		 * Not loaded again since our write began: the limit only grew,
		 * so the disk holds @want at least.
		 */
		if (want && a->epoch == epoch && a->limit >= want &&
		    a->durable < want)
			a->durable = want;
		want = 0;
		ret = 0;
		if (a->next > KDFS_INO_MAX) {
			ret = -ENOSPC;
		} else if (a->next < a->durable) {
			*ino = kdfs_ino(node, a->next++);
			ret = 1;
		} else {
			if (a->limit <= a->next)
				a->limit = min_t(u64, a->next + KDFS_INO_BATCH,
						 KDFS_INO_MAX + 1);
			want = a->limit;
			epoch = a->epoch;
		}
		kddm_put_object(kdfs_allocs, id);
		if (ret)
			return ret < 0 ? ret : 0;
		ret = kdfs_errno(kddm_sync_object(kdfs_allocs, id));
		if (ret)
			return ret;
	}
}

/* The node that gets a new inode made in @dir. */
/* The directory's kdfs.placement, else the mount's place=, else here. */
static u32 placement(struct kdfs_sb *s, struct inode *dir,
		     struct kdfs_layout *lay)
{
	return kdfs_dir_placement(dir, s->place ?: s->node, lay);
}

/* ---- lookup ---- */

/* Whether @ino's node gave that number out already (its counter). */
static bool ino_given(u64 ino)
{
	u32 node = kdfs_ino_node(ino);
	u64 id = kdfs_alloc_id(node);
	struct kdfs_aobj *a;
	bool given;

	a = kddm_get_object(kdfs_allocs, id);
	if (IS_ERR(a))
		return false;
	given = ino - kdfs_ino(node, 0) < a->next;
	kddm_put_object(kdfs_allocs, id);
	return given;
}

/*
 * A name whose inode was freed: on disk only (a listing loaded again
 * after its only writable copy was lost, or a crash, put back a name
 * whose inode's free had been written first). Inode numbers are never
 * given twice, so the name is dead: it goes. A number its node never
 * gave out (a backing directory restored from an older copy) is not
 * taken for a freed inode: the name stays, its lookup fails.
 */
static int drop_dangling(struct inode *dir, const struct qstr *q, u64 ino)
{
	struct kdfs_dirent *de;
	struct kdfs_iobj *io;
	struct dname n;
	bool freed = false, named;
	int ret;

	ret = name_hold(&n, dir->i_ino, q, true);
	if (ret)
		return ret;
	de = dir_find(n.d, q->name, q->len);
	named = de && de->ino == ino;
	if (named) {
		io = kddm_get_object(kdfs_inodes, ino);
		freed = !IS_ERR(io) && !io->mode;
		if (!IS_ERR(io))
			kdfs_iobj_put(ino);
		freed = freed && ino_given(ino);
		if (freed)
			dir_del(n.d, de);
	}
	name_release(&n);
	if (!freed)
		return named ? -EIO : 0;
	pr_info("directory %lx: name %.*s of freed inode %llx dropped\n",
		dir->i_ino, q->len, q->name, ino);
	return kdfs_dir_dirty(name_id(&n));
}

static struct dentry *kdfs_lookup(struct inode *dir, struct dentry *dentry,
				  unsigned int flags)
{
	struct kdfs_dirent *de;
	struct inode *inode = NULL;
	struct dname n;
	u64 ino = 0;
	int ret;

	if (dentry->d_name.len > NAME_MAX)
		return ERR_PTR(-ENAMETOOLONG);
	ret = name_hold(&n, dir->i_ino, &dentry->d_name, false);
	if (ret)
		return ERR_PTR(ret);
	de = dir_find(n.d, dentry->d_name.name, dentry->d_name.len);
	if (de)
		ino = de->ino;
	name_release(&n);
	if (ino) {
		inode = kdfs_iget(dir->i_sb, ino);
		if (PTR_ERR(inode) == -ENOENT) {
			int ret = drop_dangling(dir, &dentry->d_name, ino);

			if (ret)
				return ERR_PTR(ret);
			inode = NULL;
		} else if (IS_ERR(inode)) {
			return ERR_CAST(inode);
		}
	}
	return d_splice_alias(inode, dentry);
}

/*
 * A negative dentry that a create or link of this node is making a name
 * of (under the directory's lock) has d_fsdata KDFS_MAKING. The lookups
 * that revalidate it take no lock: one that finds the new name in the
 * listing before the dentry gets its inode must not drop it (the dentry
 * would get its inode unhashed: every open file of it would look deleted,
 * to d_path() and to CRIU).
 */
#define KDFS_MAKING	((void *)1UL)

static void making(struct dentry *dentry, bool on)
{
	if (on) {
		WRITE_ONCE(dentry->d_fsdata, KDFS_MAKING);
		smp_mb();	/* before the listing changes */
	} else {
		/* after d_instantiate()'s d_inode store */
		smp_store_release(&dentry->d_fsdata, NULL);
	}
}

/* A negative @dentry whose name now says @ino: is it ours, being made? */
static bool being_made(struct dentry *dentry, u64 ino)
{
	struct inode *inode;

	/* pairs with making()'s release: a NULL seen, d_inode is set */
	if (smp_load_acquire(&dentry->d_fsdata) == KDFS_MAKING)
		return true;
	inode = READ_ONCE(dentry->d_inode);
	return inode && inode->i_ino == ino;
}

/*
 * A cached name is valid while the listing still says the same. An error
 * reading the listing or the inode fails the lookup, but leaves the name
 * hashed: dropping it would make every open file of it look deleted
 * (" (deleted)" in /proc/PID/fd, which CRIU believes).
 */
static int kdfs_d_revalidate(struct dentry *dentry, unsigned int flags)
{
	struct kdfs_dirent *de;
	struct dentry *parent;
	struct dname n;
	u64 want, dir;
	int ret, err;

	if (flags & LOOKUP_RCU)
		return -ECHILD;
	parent = dget_parent(dentry);
	dir = d_inode(parent)->i_ino;
	dput(parent);
	want = d_really_is_positive(dentry) ? d_inode(dentry)->i_ino : 0;
	ret = name_hold(&n, dir, &dentry->d_name, false);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	de = dir_find(n.d, dentry->d_name.name, dentry->d_name.len);
	ret = (de ? de->ino : 0) == want;
	if (!ret && !want && de && being_made(dentry, de->ino))
		ret = 1;
	name_release(&n);
	if (!ret || !want)
		return ret;
	err = kdfs_refresh(d_inode(dentry));
	if (err == -ENOENT || err == -ESTALE)
		return 0;	/* freed, or another file now */
	return err ?: 1;
}

const struct dentry_operations kdfs_dops = {
	.d_revalidate = kdfs_d_revalidate,
};

/* ---- making inodes ---- */

struct newinfo {
	umode_t mode;
	dev_t rdev;
	const char *link;	/* symlink target */
};

static void init_iobj(struct kdfs_iobj *io, struct inode *dir,
		      const struct newinfo *ni)
{
	memset(io, 0, sizeof(*io));
	io->mode = ni->mode;
	io->uid = from_kuid(&init_user_ns, current_fsuid());
	io->gid = from_kgid(&init_user_ns, current_fsgid());
	if (dir->i_mode & S_ISGID) {
		io->gid = from_kgid(&init_user_ns, dir->i_gid);
		if (S_ISDIR(ni->mode))
			io->mode |= S_ISGID;
	}
	io->nlink = S_ISDIR(ni->mode) ? 2 : 1;
	io->rdev = new_encode_dev(ni->rdev);
	io->size = ni->link ? strlen(ni->link) : 0;
	kdfs_touch(io, true);
	io->atime = io->mtime;
	io->atime_ns = io->mtime_ns;
}

/* The symlink target in page 0 of the new inode. */
static int write_link(u64 ino, const char *link)
{
	u64 id = kdfs_page_id(ino, 0);
	void *page = kddm_grab_object(kdfs_pages, id);

	if (IS_ERR(page))
		return kdfs_errno(PTR_ERR(page));
	memset(page, 0, PAGE_SIZE);
	memcpy(page, link, strlen(link));
	kddm_put_object(kdfs_pages, id);
	return kdfs_errno(kddm_sync_object(kdfs_pages, id));
}

/* The parent's times (and link count for a subdirectory). */
static int parent_changed(u64 dir, int dlinks)
{
	struct kdfs_iobj *io = kdfs_iobj_grab(dir);

	if (IS_ERR(io))
		return PTR_ERR(io);
	io->nlink += dlinks;
	kdfs_touch(io, true);
	kdfs_iobj_put(dir);
	return 0;
}

/* The name exists after all (made on another node): open what is there. */
static int found(struct inode *dir, struct dentry *dentry, u64 ino)
{
	struct inode *inode = kdfs_iget(dir->i_sb, ino);

	if (IS_ERR(inode))
		return PTR_ERR(inode);
	d_instantiate(dentry, inode);
	return 1;
}

/*
 * Makes @dentry in @dir. If the name exists (another node made it since
 * our lookup): -EEXIST with @excl, else the dentry gets that inode and
 * 1 is returned. 0: made.
 */
/* A new inode that no name points to (its store failed) is freed. */
static void forget_new(u64 ino, const struct newinfo *ni)
{
	struct kdfs_iobj *io = kdfs_iobj_grab(ino);

	if (!IS_ERR(io)) {
		io->mode = 0;
		kdfs_iobj_put(ino);
	}
	if (S_ISDIR(ni->mode))
		kddm_remove_object(kdfs_dirs, ino);	/* a root only */
	if (ni->link)
		kddm_remove_object(kdfs_pages, kdfs_page_id(ino, 0));
	kdfs_sync_meta(ino);
}

/* The name @q of @ino in @dir is taken back (its store failed). */
static void unadd(struct inode *dir, const struct qstr *q, u64 ino,
		  const struct newinfo *ni)
{
	struct kdfs_dirent *de;
	struct dname n;

	if (name_hold(&n, dir->i_ino, q, true))
		return;
	de = dir_find(n.d, q->name, q->len);
	if (de && de->ino == ino) {
		dir_del(n.d, de);
		parent_changed(dir->i_ino, -S_ISDIR(ni->mode));
	}
	name_release(&n);
	kdfs_sync_dir(name_id(&n));
	kdfs_sync_meta(dir->i_ino);
}

/*
 * The new inode's file is made at its home before a name points to it,
 * and the name is taken back if it cannot be marked for write-back: a
 * create that fails (a full or failing backing store) leaves nothing
 * behind.
 */
static int make_inode(struct inode *dir, struct dentry *dentry,
		      const struct newinfo *ni, bool excl,
		      struct posix_acl *def, struct posix_acl *acl)
{
	struct kdfs_sb *s = dir->i_sb->s_fs_info;
	const struct qstr *q = &dentry->d_name;
	struct kdfs_dirent *de;
	struct kdfs_iobj *io;
	struct dname n;
	struct kdfs_layout lay = { 0 };
	struct inode *inode;
	u64 ino, there;
	bool local;
	int ret;

	if (ni->link && strlen(ni->link) >= PAGE_SIZE)
		return -ENAMETOOLONG;
	ret = kdfs_new_ino(s, placement(s, dir, S_ISREG(ni->mode) ? &lay :
					NULL), &ino);
	if (ret)
		return ret;
	if (ni->link) {
		ret = write_link(ino, ni->link);
		if (ret)
			goto forget;
	}
	ret = name_hold(&n, dir->i_ino, q, true);
	if (ret)
		goto forget;
	de = dir_find(n.d, q->name, q->len);
	if (de) {
		there = de->ino;
		name_release(&n);
		forget_new(ino, ni);
		return excl ? -EEXIST : found(dir, dentry, there);
	}
	ret = leaf_room(&n, q);
	if (ret)
		goto out_dir;
	kdfs_fresh_mark(ino);
	io = kddm_grab_object(kdfs_inodes, ino);
	kdfs_fresh_take(ino);	/* first touched elsewhere, or not at all */
	ret = kdfs_errno(PTR_ERR_OR_ZERO(io));
	if (ret)
		goto out_dir;
	init_iobj(io, dir, ni);
	if (kdfs_layout_valid(ino, &lay))
		io->lay = lay;
	/*
	 * A new inode homed here is written by the next write-back, which
	 * writes inodes before the listings that name them (a name whose
	 * inode never reached the disk is dropped at lookup); if the store is
	 * nearly full, its file is made now, so that a full store fails the
	 * create. One homed elsewhere is written there at once.
	 */
	local = kdfs_ino_node(ino) == kdfs_this->node;
	if (local && !kdfs_store_roomy())
		ret = kdfs_write_inode(ino, io, false);
	kdfs_iobj_put(ino);
	if (!ret)
		ret = local ? kdfs_meta_dirty(ino) : kdfs_sync_meta(ino);
	if (!ret && S_ISDIR(ni->mode))
		ret = kdfs_init_dir(ino);
	if (!ret)
		ret = dir_add(n.d, q->name, q->len, ino, S_DT(ni->mode));
	if (!ret) {
		ret = parent_changed(dir->i_ino, S_ISDIR(ni->mode));
		if (ret)	/* the name goes again with the inode */
			dir_del(n.d, dir_find(n.d, q->name, q->len));
	}
out_dir:
	name_release(&n);
	if (ret)
		goto forget;
	ret = kdfs_dir_dirty(name_id(&n)) ?: kdfs_meta_dirty(dir->i_ino);
	if (ret) {
		unadd(dir, q, ino, ni);
		goto forget;
	}
	inode = kdfs_iget(dir->i_sb, ino);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	ret = kdfs_init_acl(inode, def, acl);
	if (!ret && S_ISDIR(ni->mode))
		ret = kdfs_inherit_placement(dir, inode);
	if (ret) {
		iput(inode);	/* the name stays, with the mode it got */
		return ret;
	}
	d_instantiate(dentry, inode);
	return 0;
forget:
	forget_new(ino, ni);
	return ret;
}

/*
 * Makes @dentry in @dir, with the mode and ACLs that the directory's
 * default ACL (or else the umask) gives it.
 */
static int kdfs_new(struct inode *dir, struct dentry *dentry,
		    const struct newinfo *ni, bool excl)
{
	struct posix_acl *def = NULL, *acl = NULL;
	struct newinfo n = *ni;
	int ret;

	ret = posix_acl_create(dir, &n.mode, &def, &acl);
	if (ret)
		return ret;
	making(dentry, true);
	ret = make_inode(dir, dentry, &n, excl, def, acl);
	making(dentry, false);
	posix_acl_release(def);
	posix_acl_release(acl);
	return ret;
}

static int kdfs_create(struct kddm_idmap *idmap, struct inode *dir,
		       struct dentry *dentry, umode_t mode, bool excl)
{
	struct newinfo ni = { .mode = (mode & ~S_IFMT) | S_IFREG };

	return kdfs_new(dir, dentry, &ni, true);
}

/*
 * open(O_CREAT) as one step: another node may make the name between our
 * lookup and our create; without O_EXCL that open opens what it made.
 */
static int kdfs_atomic_open(struct inode *dir, struct dentry *dentry,
			    struct file *file, unsigned int flags,
			    umode_t mode)
{
	struct newinfo ni = { .mode = (mode & ~S_IFMT) | S_IFREG };
	struct dentry *res = NULL;
	int ret;

	if (d_in_lookup(dentry)) {
		res = kdfs_lookup(dir, dentry, 0);
		if (IS_ERR(res))
			return PTR_ERR(res);
		if (res)
			dentry = res;
	}
	if (!(flags & O_CREAT) || d_really_is_positive(dentry))
		return finish_no_open(file, res);
	ret = kdfs_new(dir, dentry, &ni, flags & O_EXCL);
	if (ret > 0)
		return finish_no_open(file, res);	/* it was there */
	if (!ret) {
		file->f_mode |= FMODE_CREATED;
		ret = finish_open(file, dentry, NULL);
	}
	dput(res);
	return ret;
}

static int kdfs_mkdir(struct kddm_idmap *idmap, struct inode *dir,
		      struct dentry *dentry, umode_t mode)
{
	struct newinfo ni = { .mode = (mode & ~S_IFMT) | S_IFDIR };

	return kdfs_new(dir, dentry, &ni, true);
}

static int kdfs_mknod(struct kddm_idmap *idmap, struct inode *dir,
		      struct dentry *dentry, umode_t mode, dev_t rdev)
{
	struct newinfo ni = { .mode = mode, .rdev = rdev };

	return kdfs_new(dir, dentry, &ni, true);
}

static int kdfs_symlink(struct kddm_idmap *idmap, struct inode *dir,
			struct dentry *dentry, const char *target)
{
	struct newinfo ni = { .mode = S_IFLNK | 0777, .link = target };

	return kdfs_new(dir, dentry, &ni, true);
}

/* ---- removing and linking ---- */

/* Drops pages 0.. of a freed inode from the cluster. */
static void drop_pages(u64 ino, const struct kdfs_iobj *io)
{
	struct kdfs_layout l = kdfs_lay(ino, io);
	pgoff_t i, n = DIV_ROUND_UP(io->size, PAGE_SIZE);

	for (i = 0; i < n; i++)
		kddm_remove_object(kdfs_pset(&l), kdfs_pid(ino, &l, i));
}

/*
 * One link of @ino less (@dir: it was a directory). Frees the inode when
 * no link and no open file is left anywhere. Called with no object held.
 * A freed file's pages go while the inode is held: once another node
 * can see it freed, its write-back may delete the data file, which no
 * page's store may make again.
 */
static int unlinked(u64 ino, bool dir)
{
	struct kdfs_iobj *io = kdfs_iobj_grab(ino);
	bool gone;

	if (IS_ERR(io))
		return PTR_ERR(io);
	io->nlink = dir || io->nlink <= 1 ? 0 : io->nlink - 1;
	kdfs_touch(io, false);
	gone = !io->nlink && !io->open_nodes;
	if (gone) {
		if (!dir)
			drop_pages(ino, io);
		io->mode = 0;
		if (io->xattrs)
			kdfs_xattrs_drop(ino);
		kdfs_locks_drop(ino, io);
	}
	kdfs_iobj_put(ino);
	if (gone && dir)
		kdfs_listing_remove(ino);	/* its empty listing */
	return kdfs_meta_late(ino);	/* a link less: after the listing */
}

/*
 * Listings held at once (a parent and the directory it loses, a rename's
 * two parents and the directory it replaces): their roots taken in
 * ascending inode order, as every path does, so that two nodes never wait
 * for each other; then the leaves.
 */
struct held_dirs {
	u64 ino[3];
	bool write[3];
	struct kdfs_dobj *d[3];
	int n;
};

static void dirs_add(struct held_dirs *h, u64 ino, bool write)
{
	int i, j;

	for (i = 0; i < h->n; i++) {
		if (h->ino[i] == ino) {
			h->write[i] |= write;
			return;
		}
	}
	for (i = h->n; i > 0 && h->ino[i - 1] > ino; i--)
		;
	for (j = h->n; j > i; j--) {
		h->ino[j] = h->ino[j - 1];
		h->write[j] = h->write[j - 1];
	}
	h->ino[i] = ino;
	h->write[i] = write;
	h->n++;
}

static void dirs_release(struct held_dirs *h, int upto)
{
	while (upto--)
		lnode_put(h->ino[upto], 1);
}

static int dirs_hold(struct held_dirs *h)
{
	int i;

	for (i = 0; i < h->n; i++) {
		h->d[i] = lnode_op(h->ino[i], 1, h->write[i]);
		if (IS_ERR(h->d[i])) {
			int ret = PTR_ERR(h->d[i]);

			dirs_release(h, i);
			return ret;
		}
	}
	return 0;
}

static struct kdfs_dobj *dirs_obj(struct held_dirs *h, u64 ino)
{
	int i;

	for (i = 0; i < h->n; i++)
		if (h->ino[i] == ino)
			return h->d[i];
	return NULL;
}

static int remove_name(struct inode *dir, struct dentry *dentry, bool isdir)
{
	const struct qstr *q = &dentry->d_name;
	u64 ino = d_inode(dentry)->i_ino;
	struct held_dirs h = {};
	struct kdfs_dirent *de;
	struct dname n;
	int ret;

	dirs_add(&h, dir->i_ino, true);
	if (isdir)
		dirs_add(&h, ino, false);	/* must stay empty meanwhile */
	ret = dirs_hold(&h);
	if (ret)
		return ret;
	ret = leaf_hold(&n, dir->i_ino, dirs_obj(&h, dir->i_ino),
			qstr_hash(q), true, NULL);
	if (ret)
		goto out;
	de = dir_find(n.d, q->name, q->len);
	ret = -ENOENT;
	if (!de || de->ino != ino)
		goto out_leaf;
	if (isdir) {
		ret = listing_empty(ino, dirs_obj(&h, ino));
		if (ret)
			goto out_leaf;
	}
	dir_del(n.d, de);
	ret = parent_changed(dir->i_ino, isdir ? -1 : 0);
out_leaf:
	leaf_release(&n);
out:
	dirs_release(&h, h.n);
	if (ret)
		return ret;
	ret = unlinked(ino, isdir) ?: kdfs_dir_dirty(name_id(&n)) ?:
	      kdfs_meta_dirty(dir->i_ino);
	kdfs_refresh(dir);
	if (isdir || kdfs_refresh(d_inode(dentry)))
		clear_nlink(d_inode(dentry));	/* gone (or unreachable) */
	return ret;
}

static int kdfs_unlink(struct inode *dir, struct dentry *dentry)
{
	return remove_name(dir, dentry, false);
}

static int kdfs_rmdir(struct inode *dir, struct dentry *dentry)
{
	return remove_name(dir, dentry, true);
}

/*
 * A directory that takes a new name: not removed (its inode object may
 * still be there, with no link, while it is open somewhere).
 */
static int dir_alive(u64 dir)
{
	struct kdfs_iobj *io = iobj_op(dir, false);
	bool alive;

	if (IS_ERR(io))
		return PTR_ERR(io);
	alive = io->nlink;
	kddm_put_object(kdfs_inodes, dir);
	return alive ? 0 : -ENOENT;
}

/* The listing @d held: link_entry()'s name and link of @ino go again. */
static void link_undo(struct kdfs_dobj *d, const struct qstr *q, u64 ino)
{
	struct kdfs_dirent *de = dir_find(d, q->name, q->len);
	struct kdfs_iobj *io;

	if (de && de->ino == ino)
		dir_del(d, de);
	io = kdfs_iobj_grab(ino);
	if (IS_ERR(io))
		return;
	if (io->nlink)
		io->nlink--;
	kdfs_iobj_put(ino);
}

/*
 * @inode gets name @q in @dir: the listing and the link count. With
 * @orphan, an inode with no link left (open somewhere) may get one again.
 */
static int link_entry(struct inode *inode, struct inode *dir,
		      const struct qstr *q, bool orphan)
{
	struct kdfs_iobj *io;
	struct dname n;
	int ret;

	ret = name_hold(&n, dir->i_ino, q, true);
	if (ret)
		return ret;
	ret = -EEXIST;
	if (dir_find(n.d, q->name, q->len))
		goto out;
	ret = dir_alive(dir->i_ino) ?: leaf_room(&n, q);
	if (ret)
		goto out;
	io = kdfs_iobj_grab(inode->i_ino);
	ret = PTR_ERR_OR_ZERO(io);
	if (ret)
		goto out;
	if (!io->nlink && !orphan) {
		ret = -ENOENT;
	} else {
		ret = dir_add(n.d, q->name, q->len, inode->i_ino,
			      S_DT(io->mode));
		if (!ret) {
			io->nlink++;
			kdfs_touch(io, false);
		}
	}
	kdfs_iobj_put(inode->i_ino);
	if (!ret) {
		ret = parent_changed(dir->i_ino, 0);
		if (ret)	/* the name goes again, and the link */
			link_undo(n.d, q, inode->i_ino);
	}
out:
	name_release(&n);
	if (ret)
		return ret;
	ret = kdfs_meta_dirty(inode->i_ino) ?: kdfs_dir_dirty(name_id(&n)) ?:
	      kdfs_meta_dirty(dir->i_ino);
	if (!ret)
		kdfs_refresh(inode);
	return ret;
}

static int link_name(struct dentry *old, struct inode *dir,
		     struct dentry *dentry)
{
	struct inode *inode = d_inode(old);
	int ret;

	ret = link_entry(inode, dir, &dentry->d_name, false);
	if (ret)
		return ret;
	ihold(inode);
	d_instantiate(dentry, inode);
	return 0;
}

static int kdfs_link(struct dentry *old, struct inode *dir,
		     struct dentry *dentry)
{
	int ret;

	making(dentry, true);
	ret = link_name(old, dir, dentry);
	making(dentry, false);
	return ret;
}

/* The parent of @dentry, locked (it stays its parent meanwhile). */
static struct dentry *lock_parent_of(struct dentry *dentry)
{
	struct dentry *parent;

	for (;;) {
		parent = dget_parent(dentry);
		inode_lock_nested(d_inode(parent), I_MUTEX_PARENT);
		if (likely(READ_ONCE(dentry->d_parent) == parent))
			return parent;
		inode_unlock(d_inode(parent));	/* renamed meanwhile */
		dput(parent);
	}
}

/* Does the listing of @dir say that @q is @ino? -EEXIST if so. */
static int names(struct inode *dir, const struct qstr *q, u64 ino)
{
	struct kdfs_dirent *de;
	struct dname n;
	int ret;

	ret = name_hold(&n, dir->i_ino, q, false);
	if (ret)
		return ret;
	de = dir_find(n.d, q->name, q->len);
	ret = de && de->ino == ino ? -EEXIST : 0;
	name_release(&n);
	return ret;
}

/*
 * KDFS_IOC_RELINK: an open regular file whose name was removed gets it
 * back (the dentry it was opened by is hashed again), in the directory
 * that held it, if that is still there and the name free. kddm-migrated
 * does this for the unlinked files of a process it moves, so that CRIU
 * opens the same file on the destination (not a copy of its data), and
 * removes the name once the move is over.
 */
int kdfs_relink(struct file *file)
{
	struct dentry *dentry = file->f_path.dentry, *parent, *other;
	struct inode *inode = file_inode(file), *dir;
	struct name_snapshot name;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	ret = mnt_want_write_file(file);
	if (ret)
		return ret;
	parent = lock_parent_of(dentry);
	dir = d_inode(parent);
	take_dentry_name_snapshot(&name, dentry);
	ret = -ENOENT;
	if (IS_DEADDIR(dir) || d_unhashed(parent))
		goto unlock;
	if (!d_unhashed(dentry)) {
		/* the name may have gone on another node, unseen here */
		ret = names(dir, &name.name, inode->i_ino);
		if (ret)
			goto unlock;	/* it has its name (-EEXIST) */
		d_drop(dentry);
	}
	other = lookup_one_len(name.name.name, parent, name.name.len);
	ret = PTR_ERR_OR_ZERO(other);
	if (ret)
		goto unlock;
	ret = -EEXIST;
	if (d_really_is_negative(other)) {
		inode_lock(inode);
		ret = link_entry(inode, dir, &name.name, true);
		inode_unlock(inode);
	}
	if (!ret) {
		d_drop(other);
		spin_lock(&dentry->d_lock);
		dentry->d_flags &= ~DCACHE_CANT_MOUNT;	/* unlink's */
		spin_unlock(&dentry->d_lock);
		d_rehash(dentry);
	}
	dput(other);
unlock:
	inode_unlock(dir);
	release_dentry_name_snapshot(&name);
	dput(parent);
	mnt_drop_write_file(file);
	return ret;
}

/* ---- rename ---- */

struct rename {
	u64 odir, ndir, ino, victim;
	bool isdir;
	const struct qstr *oname, *nname;
	struct dname ol, nl;	/* the old and new names' leaves */
};

/*
 * The roots held: the leaf of the new name, with room for it (split
 * before the old name's leaf is taken, which may be the same), then the
 * old name's.
 */
static int rename_leaves(struct rename *r, struct held_dirs *h)
{
	int ret;

	ret = leaf_hold(&r->nl, r->ndir, dirs_obj(h, r->ndir),
			qstr_hash(r->nname), true, NULL);
	if (!ret)
		ret = leaf_room(&r->nl, r->nname);
	if (ret) {
		leaf_release(&r->nl);
		return ret;
	}
	ret = leaf_hold(&r->ol, r->odir, dirs_obj(h, r->odir),
			qstr_hash(r->oname), true, &r->nl);
	if (ret)
		leaf_release(&r->nl);
	return ret;
}

/* The listings held: checks and moves the entry. */
static int rename_entries(struct rename *r, struct held_dirs *h,
			  unsigned int flags)
{
	struct kdfs_dobj *od = r->ol.d, *nd = r->nl.d;
	struct kdfs_dirent *de, *ne;
	int ret;
	u8 type;

	de = dir_find(od, r->oname->name, r->oname->len);
	if (!de || de->ino != r->ino)
		return -ENOENT;
	type = de->type;
	ne = dir_find(nd, r->nname->name, r->nname->len);
	if (ne && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if ((ne ? ne->ino : 0) != r->victim)
		return -ESTALE;	/* the VFS saw another target: retry */
	if (ne && ne->ino == r->ino)
		return 0;	/* two links of one inode: nothing to do */
	if (ne) {
		if (r->isdir != (ne->type == DT_DIR))
			return r->isdir ? -ENOTDIR : -EISDIR;
		if (ne->type == DT_DIR) {
			struct kdfs_dobj *vd = dirs_obj(h, ne->ino);

			if (!vd)
				return -ESTALE;	/* not the VFS's victim */
			ret = listing_empty(ne->ino, vd);
			if (ret)
				return ret;
		}
		dir_del(nd, ne);
		/* an entry before @de moved it down in the same listing */
		if (od == nd)
			de = dir_find(od, r->oname->name, r->oname->len);
	}
	dir_del(od, de);
	return dir_add(nd, r->nname->name, r->nname->len, r->ino, type);
}

static int kdfs_rename(struct kddm_idmap *idmap, struct inode *odir,
		       struct dentry *odentry, struct inode *ndir,
		       struct dentry *ndentry, unsigned int flags)
{
	struct rename r = {
		.odir = odir->i_ino, .ndir = ndir->i_ino,
		.ino = d_inode(odentry)->i_ino,
		.victim = d_really_is_positive(ndentry) ?
			  d_inode(ndentry)->i_ino : 0,
		.isdir = d_is_dir(odentry),
		.oname = &odentry->d_name, .nname = &ndentry->d_name,
	};
	struct held_dirs h = {};
	int ret, links;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	dirs_add(&h, r.odir, true);
	dirs_add(&h, r.ndir, true);
	if (r.victim && d_is_dir(ndentry))
		dirs_add(&h, r.victim, false);	/* must stay empty */
	ret = dirs_hold(&h);
	if (ret)
		return ret;
	ret = rename_leaves(&r, &h);
	if (ret)
		goto out;
	ret = rename_entries(&r, &h, flags);
	links = r.isdir && r.odir != r.ndir;
	if (!ret && r.victim && r.victim != r.ino &&
	    d_is_dir(ndentry))
		links--;	/* the replaced directory's ".." */
	if (!ret)
		ret = parent_changed(r.ndir, links);
	if (!ret && r.odir != r.ndir)
		ret = parent_changed(r.odir, r.isdir ? -1 : 0);
	leaf_release(&r.ol);
	leaf_release(&r.nl);
out:
	dirs_release(&h, h.n);
	split_sync(&r.nl);
	if (ret)
		return ret;
	/*
	 * Across directories (or leaves of one listing), the new name is on
	 * disk before the old one can go (else a crash in between could leave
	 * the inode with no name); if that write fails, the next flush tries
	 * again.
	 */
	if ((r.odir != r.ndir || r.nl.t != r.ol.t) &&
	    kdfs_sync_dir(name_id(&r.nl)))
		kdfs_dir_dirty(name_id(&r.nl));
	if (r.victim && r.victim != r.ino)
		ret = unlinked(r.victim, d_is_dir(ndentry));
	ret = ret ?: kdfs_dir_dirty(name_id(&r.ol));
	ret = ret ?: kdfs_meta_dirty(r.odir);
	if (!ret && r.odir != r.ndir)
		ret = kdfs_meta_dirty(r.ndir);
	kdfs_refresh(odir);
	if (ndir != odir)
		kdfs_refresh(ndir);
	return ret;
}

/* ---- attributes ---- */

static int kdfs_getattr(struct kddm_idmap *idmap, const struct path *path,
			struct kstat *stat, u32 mask, unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	int ret = kdfs_refresh(inode);

	if (ret)
		return ret;
	kddm_fillattr(inode, mask, stat);
	stat->blksize = PAGE_SIZE;
	return 0;
}

static int kdfs_permission(struct kddm_idmap *idmap, struct inode *inode,
			   int mask)
{
	if (!(mask & MAY_NOT_BLOCK)) {
		int ret = kdfs_refresh(inode);

		if (ret)
			return ret;
	}
	return generic_permission(KDDM_NOP_IDMAP, inode, mask);
}

static int kdfs_setattr(struct kddm_idmap *idmap, struct dentry *dentry,
			struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	struct kdfs_iobj *io;
	int ret, cut = 0;

	ret = kdfs_refresh(inode) ?: setattr_prepare(KDDM_NOP_IDMAP, dentry,
						     attr);
	if (ret)
		return ret;
	if ((attr->ia_valid & ATTR_SIZE) &&
	    attr->ia_size > KDFS_MAX_FILE_SIZE)
		return -EFBIG;
	io = kdfs_iobj_grab(inode->i_ino);
	if (IS_ERR(io))
		return PTR_ERR(io);
	if (attr->ia_valid & ATTR_MODE)
		io->mode = (io->mode & S_IFMT) | (attr->ia_mode & ~S_IFMT);
	if (attr->ia_valid & ATTR_UID)
		io->uid = from_kuid(&init_user_ns, attr->ia_uid);
	if (attr->ia_valid & ATTR_GID)
		io->gid = from_kgid(&init_user_ns, attr->ia_gid);
	if (attr->ia_valid & ATTR_ATIME) {
		io->atime = attr->ia_atime.tv_sec;
		io->atime_ns = attr->ia_atime.tv_nsec;
	}
	if (attr->ia_valid & ATTR_MTIME) {
		io->mtime = attr->ia_mtime.tv_sec;
		io->mtime_ns = attr->ia_mtime.tv_nsec;
	}
	if (attr->ia_valid & ATTR_SIZE) {
		/*
		 * The cut pages go, then the home cuts the data file (it
		 * holds the pages the cache bound dropped): no node can
		 * grow the file and read them meanwhile (the inode is held).
		 */
		if (attr->ia_size < io->size) {
			struct kdfs_layout l = kdfs_lay(inode->i_ino, io);

			ret = kdfs_truncate_pages(inode->i_ino, &l,
						  attr->ia_size, io->size);
			/* the pages are gone: the size follows even if the
			 * cut fails (the inode's write-back cuts then)
			 */
			if (!ret) {
				io->size = attr->ia_size;
				cut = kdfs_cut_data(inode->i_ino, io,
						    attr->ia_size);
			}
		} else if (attr->ia_size > io->size) {
			ret = kdfs_cut_pending(inode->i_ino, io);
			if (!ret)
				io->size = attr->ia_size;
		}
	}
	if (!ret) {
		kdfs_touch(io, (attr->ia_valid & ATTR_SIZE) &&
			       !(attr->ia_valid & ATTR_MTIME));
		if (attr->ia_valid & ATTR_CTIME) {
			io->ctime = attr->ia_ctime.tv_sec;
			io->ctime_ns = attr->ia_ctime.tv_nsec;
		}
	}
	kdfs_iobj_put(inode->i_ino);
	if (!ret)
		ret = kdfs_meta_dirty(inode->i_ino);
	kdfs_refresh(inode);
	if (!ret && (attr->ia_valid & ATTR_MODE))
		ret = posix_acl_chmod(KDDM_NOP_IDMAP, kddm_acl_of(dentry),
				      inode->i_mode);
	return ret ?: cut;
}

/* ---- symlinks ---- */

static const char *kdfs_get_link(struct dentry *dentry, struct inode *inode,
				 struct delayed_call *done)
{
	u64 id;
	char *buf, *page;

	if (!dentry)
		return ERR_PTR(-ECHILD);
	id = kdfs_page_id(inode->i_ino, 0);
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	page = kddm_get_object(kdfs_pages, id);
	if (IS_ERR(page)) {
		kfree(buf);
		return ERR_PTR(kdfs_errno(PTR_ERR(page)));
	}
	memcpy(buf, page, PAGE_SIZE - 1);
	kddm_put_object(kdfs_pages, id);
	set_delayed_call(done, kfree_link, buf);
	return buf;
}

const struct inode_operations kdfs_symlink_iops = {
	.get_link = kdfs_get_link,
	.getattr = kdfs_getattr,
	.setattr = kdfs_setattr,
	.listxattr = kdfs_listxattr,
};

const struct inode_operations kdfs_file_iops = {
	.getattr = kdfs_getattr,
	.setattr = kdfs_setattr,
	.permission = kdfs_permission,
	.listxattr = kdfs_listxattr,
	.KDDM_IOP_GET_INODE_ACL = kdfs_get_acl,
	.set_acl = kdfs_set_acl,
};

const struct inode_operations kdfs_dir_iops = {
	.lookup = kdfs_lookup,
	.create = kdfs_create,
	.atomic_open = kdfs_atomic_open,
	.mkdir = kdfs_mkdir,
	.mknod = kdfs_mknod,
	.symlink = kdfs_symlink,
	.unlink = kdfs_unlink,
	.rmdir = kdfs_rmdir,
	.link = kdfs_link,
	.rename = kdfs_rename,
	.listxattr = kdfs_listxattr,
	.KDDM_IOP_GET_INODE_ACL = kdfs_get_acl,
	.set_acl = kdfs_set_acl,
	.getattr = kdfs_getattr,
	.setattr = kdfs_setattr,
	.permission = kdfs_permission,
};

/* ---- readdir ---- */

/*
 * Directory positions: an entry's position is a hash of its name, and
 * readdir returns the entries in hash order, so that a position stays
 * valid while entries come and go (rm -r unlinks as it reads): every
 * entry present from the first read to the last is returned once. Two
 * names of one hash (2^-62; 2^-30 for 32-bit callers) may lose one of
 * them at a buffer boundary.
 * The leaves of a listing hold ranges of hashes in order: a readdir goes
 * from the leaf of its position to the next ones.
 */
struct dpos {
	loff_t pos;
	const struct kdfs_dirent *de;
};

/* 32-bit callers get 31 bits */
static unsigned int pos_shift(void)
{
	return in_compat_syscall() ? 34 : 2;
}

/* 2 and up ("." and ".." are 0 and 1) */
static loff_t hash_pos(u64 h)
{
	return 2 + (h >> pos_shift());
}

/* The end: after every position. */
static loff_t pos_end(void)
{
	return hash_pos(U64_MAX) + 1;
}

static int dpos_cmp(const void *a, const void *b)
{
	loff_t x = ((const struct dpos *)a)->pos;
	loff_t y = ((const struct dpos *)b)->pos;

	return x < y ? -1 : x > y;
}

/* The entries of @d from @from to before @to, in position order. */
static struct dpos *dir_order(const struct kdfs_dobj *d, loff_t from,
			      loff_t to, u32 *n)
{
	const struct kdfs_dirent *de;
	struct dpos *v;

	v = kvmalloc_array(max_t(u32, d->count, 1), sizeof(*v), GFP_KERNEL);
	if (!v)
		return NULL;
	*n = 0;
	kdfs_for_each_dirent(d, de) {
		loff_t pos = hash_pos(kdfs_name_hash(de->name, de->len));

		if (pos >= from && pos < to && *n < d->count)
			v[(*n)++] = (struct dpos){ pos, de };
	}
	sort(v, *n, sizeof(*v), dpos_cmp, NULL);
	return v;
}

/*
 * A copy of the leaf of @dir's listing where position @pos is; *@next:
 * the position after that leaf's range (pos_end() after the last).
 */
static struct kdfs_dobj *leaf_snapshot(u64 dir, loff_t pos, loff_t *next)
{
	u64 h = (u64)(pos - 2) << pos_shift(), last;
	struct kdfs_dobj *root, *snap;
	unsigned int depth;
	struct dname n;
	int ret;

	/* a leaf's range ends on a position: 32-bit ones drop 34 bits */
	BUILD_BUG_ON(KDFS_DIR_DEPTH > 30);
	root = lnode_op(dir, 1, false);
	if (IS_ERR(root))
		return root;
	ret = leaf_hold(&n, dir, root, h, false, NULL);
	if (ret) {
		lnode_put(dir, 1);
		return ERR_PTR(ret);
	}
	/* emitting may fault: from a copy, the listing put */
	snap = kvmalloc(sizeof(*n.d) + n.d->used, GFP_KERNEL);
	if (snap)
		memcpy(snap, n.d, sizeof(*n.d) + n.d->used);
	name_release(&n);
	if (!snap)
		return ERR_PTR(-ENOMEM);
	depth = kdfs_dir_depth(n.t);
	last = depth ? h | (U64_MAX >> depth) : U64_MAX;
	*next = last == U64_MAX ? pos_end() : hash_pos(last + 1);
	return snap;
}

static int kdfs_iterate(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	loff_t next = 0;
	struct kdfs_dobj *snap;
	struct dpos *v;
	u32 i, n;

	if (!dir_emit_dots(file, ctx))
		return 0;
	while (ctx->pos < pos_end()) {
		snap = leaf_snapshot(dir->i_ino, ctx->pos, &next);
		if (IS_ERR(snap))
			return PTR_ERR(snap);
		v = dir_order(snap, ctx->pos, next, &n);
		if (!v) {
			kvfree(snap);
			return -ENOMEM;
		}
		for (i = 0; i < n; i++) {
			ctx->pos = v[i].pos;
			if (!dir_emit(ctx, v[i].de->name, v[i].de->len,
				      v[i].de->ino, v[i].de->type))
				break;
			ctx->pos = v[i].pos + 1;
		}
		kvfree(v);
		kvfree(snap);
		if (i < n)
			return 0;
		ctx->pos = max(ctx->pos, next);
	}
	return 0;
}

/*
 * The listing (every node of it) and the directory's inode, as they are
 * now (whichever node changed them), and every change marked on this
 * node, on disk.
 */
static int kdfs_dir_fsync(struct file *file, loff_t start, loff_t end,
			  int datasync)
{
	u64 ino = file_inode(file)->i_ino;
	int ret = listing_each(ino, NULL, node_sync), err;

	if (ret == -ENOENT)
		ret = 0;
	err = kdfs_sync_meta(ino);
	ret = ret ?: err;
	err = kdfs_meta_flush();
	return ret ?: err;
}

/* Positions are hashes: any up to LLONG_MAX may be asked for. */
static loff_t kdfs_dir_llseek(struct file *file, loff_t offset, int whence)
{
	return generic_file_llseek_size(file, offset, whence, LLONG_MAX,
					LLONG_MAX);
}

const struct file_operations kdfs_dir_fops = {
	.owner = THIS_MODULE,
	.llseek = kdfs_dir_llseek,
	.read = generic_read_dir,
	.iterate_shared = kdfs_iterate,
	.fsync = kdfs_dir_fsync,
};
