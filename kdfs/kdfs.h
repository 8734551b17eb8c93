/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kdfs: a symmetric cluster file system on kDDM. Every node mounts the
 * same tree; an inode, its directory listing and its data pages are kDDM
 * objects homed on the node whose number the inode carries (bits 48..63
 * of the inode number, kDDM's OBJID_BITS policy), and stored there, in a
 * directory of that node's own file system (the backing directory).
 */
#ifndef _KDFS_H
#define _KDFS_H

#include <linux/bitops.h>
#include <linux/bvec.h>
#include <linux/log2.h>
#include <linux/fs.h>
#include <linux/path.h>
#include <linux/rwsem.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <kddm/compat.h>
#include <kddm/kddm.h>

#define KDFS_MAGIC		0x6b646673	/* "kdfs" */

/* Well-known kDDM set names (kddm_open_set()). */
#define KDFS_SET_INODES		0x6b646601
#define KDFS_SET_DIRS		0x6b646602
#define KDFS_SET_PAGES		0x6b646603
#define KDFS_SET_ALLOC		0x6b646604
#define KDFS_SET_DF		0x6b646605
#define KDFS_SET_XATTRS		0x6b646606
#define KDFS_SET_SPAGES		0x6b646607
#define KDFS_SET_LOCKS		0x6b646608

/*
 * Inode numbers: node << 48 | n, n in 1..KDFS_INO_MAX. Data page objects:
 * node << 48 | n << 24 | page index, so a file has at most 2^24 pages.
 */
#define KDFS_NODE_SHIFT		48
#define KDFS_INO_BITS		24
#define KDFS_INO_MAX		((1ULL << KDFS_INO_BITS) - 1)
#define KDFS_PAGE_BITS		24
#define KDFS_MAX_FILE_SIZE	((loff_t)PAGE_SIZE << KDFS_PAGE_BITS)
#define KDFS_ROOT_N		1	/* the root is n 1 of its node */

static inline u32 kdfs_ino_node(u64 ino)
{
	return (u32)(ino >> KDFS_NODE_SHIFT);
}

static inline u64 kdfs_ino(u32 node, u64 n)
{
	return (u64)node << KDFS_NODE_SHIFT | n;
}

static inline u64 kdfs_page_id(u64 ino, pgoff_t index)
{
	return (ino & ~((1ULL << KDFS_NODE_SHIFT) - 1)) |
	       (ino & KDFS_INO_MAX) << KDFS_PAGE_BITS | index;
}

/*
 * A file striped over several nodes (kdfs.placement "stripe"): its pages
 * are in the spages set, id = home << 56 | kdfs_page_id(), where home is
 * the node holding that stripe unit (the set's CUSTOM home policy reads
 * bits 56..63). Its inode's node and its stripe nodes are 1..64.
 */
#define KDFS_STRIPE_SHIFT	56
#define KDFS_STRIPE_NODES	64
#define KDFS_STRIPE_MAX_UNIT	4096	/* pages: 16 MiB */

struct kdfs_layout {
	u64 nodes;	/* bit N-1: node N holds stripe units; 0: not striped */
	u32 unit;	/* pages per stripe unit, a power of two */
	u32 pad;
};

/*
 * The node holding page @index of striped file @ino: the units go round
 * the stripe nodes in ascending order, unit 0 on the inode's node (or the
 * next one up), so that small files spread as their inodes do.
 */
static inline u32 kdfs_stripe_node(u64 ino, const struct kdfs_layout *l,
				   u64 index)
{
	u32 home = kdfs_ino_node(ino);
	u64 m = l->nodes, k;

	if (!m || !l->unit || !home || home > KDFS_STRIPE_NODES)
		return 0;	/* no valid home: kDDM refuses it */
	k = index / l->unit + hweight64(m & (BIT_ULL(home - 1) - 1));
	k %= hweight64(m);
	while (k--)
		m &= m - 1;
	return __ffs64(m) + 1;
}

/* The home of page @index of @ino. */
static inline u32 kdfs_page_home(u64 ino, const struct kdfs_layout *l,
				 u64 index)
{
	return l->nodes ? kdfs_stripe_node(ino, l, index) : kdfs_ino_node(ino);
}

/* The page object @index of @ino, in the set kdfs_pset() gives. */
static inline u64 kdfs_pid(u64 ino, const struct kdfs_layout *l, u64 index)
{
	u64 id = kdfs_page_id(ino, index);

	if (!l->nodes)
		return id;
	return (u64)kdfs_stripe_node(ino, l, index) << KDFS_STRIPE_SHIFT | id;
}

/* A layout read from a peer or a disk: one kdfs can use. */
static inline bool kdfs_layout_valid(u64 ino, const struct kdfs_layout *l)
{
	if (!l->nodes)
		return !l->unit;
	return kdfs_ino_node(ino) >= 1 &&
	       kdfs_ino_node(ino) <= KDFS_STRIPE_NODES && l->unit &&
	       l->unit <= KDFS_STRIPE_MAX_UNIT && is_power_of_2(l->unit);
}

static inline u64 kdfs_alloc_id(u32 node)
{
	return (u64)node << KDFS_NODE_SHIFT;
}

/* An inode, as a kDDM object (native layout: one architecture). */
struct kdfs_iobj {
	u32 mode;		/* 0: no such inode */
	u32 nlink;
	u32 uid, gid;		/* initial user namespace */
	u64 size;
	s64 atime, mtime, ctime;
	u32 atime_ns, mtime_ns, ctime_ns;
	u32 rdev;
	u64 gen;		/* bumped at each change */
	u64 open_nodes;		/* bit N-1: node N has it open */
	u32 xattrs;		/* extended attributes it has */
	u32 flags;		/* KDFS_IF_*, memory only */
	struct kdfs_layout lay;	/* where its pages are: fixed at creation */
	/*
	 * Striped: nodes whose data file a cut missed (down then), and the
	 * smallest size cut to since; the file grows only once they cut.
	 */
	u64 cut_nodes;
	u64 cut_size;
};

/* Someone took a file lock of it: its locks object goes with it (lock.c). */
#define KDFS_IF_LOCKS	1U

/*
 * The layout of an inode object is one kdfs can use (it may come from a
 * peer): a regular file's, or a freed one's (its data files go).
 */
static inline bool kdfs_iobj_lay_ok(u64 ino, const struct kdfs_iobj *io)
{
	return kdfs_layout_valid(ino, &io->lay) &&
	       (!io->lay.nodes || !io->mode || S_ISREG(io->mode));
}

/*
 * The layout of an inode object; a damaged one reads as not striped
 * (kdfs_refresh() refuses such an inode: its data is never read).
 */
static inline struct kdfs_layout kdfs_lay(u64 ino, const struct kdfs_iobj *io)
{
	struct kdfs_layout none = { 0 };

	return kdfs_iobj_lay_ok(ino, io) ? io->lay : none;
}

/*
 * A directory listing: a binary tree of objects of the dirs set, split by
 * the top bits of the names' hashes. Node t (1 the root; 2t and 2t + 1
 * its halves, for hash bit 0 and 1 at its depth) has the id
 * kdfs_dir_id(ino, t). A node is a leaf, its entries packed after the
 * header, or split (KDFS_DIR_SPLIT: no entries). A full leaf splits in
 * two; nodes never merge.
 */
struct kdfs_dirent {
	u64 ino;
	u8 type;		/* DT_* */
	u8 len;
	char name[];
} __packed;

struct kdfs_dobj {
	u32 used;		/* bytes of entries */
	u16 count;		/* entries in this node (11915 at most) */
	u16 flags;		/* KDFS_DIR_SPLIT */
	u8 entries[];
};

#define KDFS_DIR_SPLIT		1U
#define KDFS_DIR_SIZE		(128U << 10)
#define KDFS_DIR_ROOM		(KDFS_DIR_SIZE - sizeof(struct kdfs_dobj))
/* nodes 1 .. 2^24 - 1: depth 0 (the root) to 23 */
#define KDFS_DIR_DEPTH		23

static inline u64 kdfs_dir_id(u64 ino, u32 t)
{
	return ino | (u64)(t - 1) << KDFS_INO_BITS;
}

/* The directory of listing node @id, and which node of its tree it is. */
static inline u64 kdfs_dir_ino(u64 id)
{
	return id & ~(KDFS_INO_MAX << KDFS_INO_BITS);
}

static inline u32 kdfs_dir_node(u64 id)
{
	return ((id >> KDFS_INO_BITS) & KDFS_INO_MAX) + 1;
}

static inline unsigned int kdfs_dir_depth(u32 t)
{
	return fls(t) - 1;
}

/* Is @d, node @t of a listing, split (a flag below the deepest: not)? */
static inline bool kdfs_dir_split(const struct kdfs_dobj *d, u32 t)
{
	return (d->flags & KDFS_DIR_SPLIT) && kdfs_dir_depth(t) < KDFS_DIR_DEPTH;
}

/* Does a name of hash @h belong under node @t (its path from the root)? */
static inline bool kdfs_hash_in_node(u64 h, u32 t)
{
	unsigned int depth = kdfs_dir_depth(t);

	return !depth || h >> (64 - depth) == t - (1U << depth);
}

u64 kdfs_name_hash(const char *name, unsigned int len);
void kdfs_listing_remove(u64 dir);
int kdfs_dir_sync(u64 id);
int kdfs_dir_split_on_disk(u64 id);
int kdfs_dir_unsplit_above(u64 ino, u32 t, u32 *a);

static inline struct kdfs_dirent *kdfs_dirent_next(const struct kdfs_dirent *de)
{
	return (void *)de + sizeof(*de) + de->len;
}

/* A name a directory may hold: no '/', no NUL, not "." or "..". */
static inline bool kdfs_name_valid(const char *name, unsigned int len)
{
	if (!len || memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	return !(name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')));
}

#define kdfs_for_each_dirent(d, de)					\
	for (de = (struct kdfs_dirent *)(d)->entries;			\
	     (u8 *)de < (d)->entries + (d)->used;			\
	     de = kdfs_dirent_next(de))

/*
 * Extended attributes of an inode (set xattrs, id = inode number): the
 * packed entries in a buffer of their own size.
 */
struct kdfs_xent {
	u8 nlen;
	u8 pad[3];
	u32 vlen;
	char name[];		/* nlen bytes, then vlen bytes of value */
} __packed;

#define KDFS_XATTR_ROOM		(64U << 10)

static inline u32 kdfs_xent_size(const struct kdfs_xent *xe)
{
	return sizeof(*xe) + xe->nlen + xe->vlen;
}

#define kdfs_for_each_xent(buf, len, off, xe)				\
	for (off = 0; off < (len) &&					\
	     (xe = (const struct kdfs_xent *)((buf) + off), true);	\
	     off += kdfs_xent_size(xe))

struct kdfs_xobj {
	u32 len;		/* bytes of entries */
	u32 count;
	u8 *buf;		/* kvmalloc'ed, len bytes */
};

/* The per-allocator-node object: the next inode n to give out. */
struct kdfs_aobj {
	u64 next;	/* the next number to give out */
	u64 limit;	/* numbers below it are being reserved on disk */
	u64 durable;	/* numbers below it are reserved on disk */
	u64 epoch;	/* new at each load from disk */
};

#define KDFS_INO_BATCH	1024	/* numbers reserved on disk at a time */

/* A node's backing file system usage, in its own object (id node << 48). */
struct kdfs_df {
	u64 blocks, bfree, bavail;	/* bytes */
	u64 files, ffree;
	u32 mounted;
	u32 pad;
	u64 epoch;	/* its mount (kdfs_sb.epoch) */
};

/*
 * A file lock of some node, in the locks object of its inode (set locks,
 * id = inode number, memory only): lock.c.
 */
struct kdfs_lent {
	u64 owner;	/* a token of the lock's owner, on its node */
	s64 start, end;	/* bytes, inclusive */
	u64 epoch;	/* its node's mount */
	u32 node;
	s32 pid;	/* the owner's process, on its node */
	u32 lent;	/* a node it moves to (migration), or 0 */
	u8 flock;	/* flock(), else fcntl() (POSIX or OFD) */
	u8 type;	/* F_RDLCK or F_WRLCK */
	u8 pad[2];
};

#define KDFS_LOCKS_MAX	84	/* locks of one file, all nodes (a page) */

struct kdfs_lobj {
	u32 count;
	u32 pad;
	struct kdfs_lent ent[KDFS_LOCKS_MAX];
};

/* The mount of this node (one per node). */
struct kdfs_sb {
	struct path backing;	/* BACKING/kdfs */
	struct path sub[4];	/* its i, d, f and x */
	const struct cred *cred;	/* for backing I/O */
	u32 node;		/* this node */
	u32 root_node;		/* the root directory's home */
	u32 place;		/* 0: creating node; else a fixed node */
	u64 epoch;		/* random, this mount's (its file locks') */
	struct super_block *sb;
	struct delayed_work df_work;	/* refreshes our kdfs_df */
};

extern struct kddm_set *kdfs_inodes, *kdfs_dirs, *kdfs_pages, *kdfs_allocs,
	*kdfs_dfs, *kdfs_xattrs, *kdfs_spages, *kdfs_locks;

/* The set of a file's pages. */
static inline struct kddm_set *kdfs_pset(const struct kdfs_layout *l)
{
	return l->nodes ? kdfs_spages : kdfs_pages;
}

extern const struct kddm_io_linker_ops kdfs_page_linker, kdfs_spage_linker;

/* The inode number and the index of page object @objid of @set. */
static inline u64 kdfs_page_ino(const struct kddm_set *set, u64 objid)
{
	u32 node = (u32)(objid >> KDFS_NODE_SHIFT);

	if (kddm_set_uses(set, &kdfs_spage_linker))
		node &= (1U << (KDFS_STRIPE_SHIFT - KDFS_NODE_SHIFT)) - 1;
	return kdfs_ino(node, (objid >> KDFS_PAGE_BITS) & KDFS_INO_MAX);
}

static inline pgoff_t kdfs_page_index(u64 objid)
{
	return objid & ((1ULL << KDFS_PAGE_BITS) - 1);
}

/* The home of page object @objid of @set. */
static inline u32 kdfs_page_obj_home(const struct kddm_set *set, u64 objid)
{
	if (kddm_set_uses(set, &kdfs_spage_linker))
		return (u32)(objid >> KDFS_STRIPE_SHIFT);
	return (u32)(objid >> KDFS_NODE_SHIFT);
}
extern struct kdfs_sb *kdfs_this;	/* the mount of this node, or NULL */
extern struct rw_semaphore kdfs_mount_sem;	/* write: kdfs_this changes */

/* backing.c: the node's own store, under BACKING/kdfs. */
int kdfs_backing_open(struct kdfs_sb *s, const char *dir);
void kdfs_backing_close(struct kdfs_sb *s);
int kdfs_store_inode(u64 ino, const struct kdfs_iobj *io);
int kdfs_write_inode(u64 ino, const struct kdfs_iobj *io, bool sync);
bool kdfs_store_roomy(void);
int kdfs_cut_data(u64 ino, struct kdfs_iobj *io, u64 size);
int kdfs_cut_pending(u64 ino, struct kdfs_iobj *io);
int kdfs_stripes_sync(u64 ino, const struct kdfs_iobj *io);

/* Pages a home stores with one write. */
#define KDFS_STORE_RUN	64
/*
 * Pages one kdfs_call has their home store (in runs of KDFS_STORE_RUN):
 * a write-behind chunk, one round trip behind the data it follows (the
 * home holds those pages already; fsync's calls, which may make the home
 * fetch pages from other nodes, name KDFS_STORE_RUN at most).
 */
#define KDFS_STORE_CALL	512

/*
 * The argument of a kddm_call_home() on a page object's id: page 0 of a
 * file in the pages set; in the spages set, any id whose home bits name
 * the node called (for a store, the first page's).
 */
enum {
	KDFS_CALL_CUT = 1,	/* cut the data file to @arg bytes */
	KDFS_CALL_STORE,	/* store pages @arg..@arg+@count-1 */
	KDFS_CALL_FORGET,	/* the file is freed: its data file goes */
	KDFS_CALL_WRITE,	/* pages @arg..@arg+@count-1 take the data
				 * that follows (a push: see write_push())
				 */
};

/* Pages one push (a KDFS_CALL_WRITE) carries: one TIPC datagram. */
#define KDFS_PUSH_PAGES	(KDDM_CALL_DATA_MAX / PAGE_SIZE)

struct kdfs_call {
	__le32 op;
	__le32 count;
	__le64 arg;
};

int kdfs_store_range(struct kddm_set *set, u64 id, unsigned int n,
		     struct bio_vec *bv);
int kdfs_call(struct kddm_set *set, u64 id, const struct kdfs_call *c);
int kdfs_load_inode(u64 ino, struct kdfs_iobj *io);
void kdfs_fresh_mark(u64 ino);
bool kdfs_fresh_take(u64 ino);
int kdfs_store_dir(u64 ino, const struct kdfs_dobj *d);
int kdfs_load_dir(u64 ino, struct kdfs_dobj *d);
int kdfs_store_page(u64 ino, pgoff_t index, const void *page);
int kdfs_store_pagev(u64 ino, pgoff_t index, struct bio_vec *bv,
		     unsigned int nr);
int kdfs_load_page(u64 ino, pgoff_t index, void *page);
int kdfs_store_alloc(u32 node, const struct kdfs_aobj *a);
int kdfs_load_alloc(u32 node, struct kdfs_aobj *a);
int kdfs_forget_inode(u64 ino);
int kdfs_trim_data(u64 ino, loff_t size);
int kdfs_forget_data(u64 ino);
int kdfs_store_xattrs(u64 ino, const u8 *xb, u32 len);
int kdfs_load_xattrs(u64 ino, u8 *xb);

/* objects.c: the io-linkers and sets. */
int kdfs_objects_init(void);
int kdfs_sets_open(void);
void kdfs_sets_close(void);
void kdfs_objects_exit(void);
int kdfs_errno(int err);

/* A node's VFS inode of kdfs. */
struct kdfs_wb;

struct kdfs_inode {
	struct inode vfs;
	struct mutex open_lock;
	unsigned int opens;	/* open files of this node */
	bool dirty;		/* written here since the last sync */
	struct xarray dirty_pages;	/* indexes written here since (KDFS_*) */
	u64 open_nodes;		/* as the inode object said last */
	bool all_dirty;		/* fsync: every page (a mark was lost) */
	u32 xattrs;		/* as the inode object said last */
	pgoff_t ra_next;	/* read-ahead asked for pages below it */
	loff_t wb_pos;		/* where the last write ended */
	struct kdfs_wb *wb;	/* write-behind (file.c), made on use */
	struct kdfs_layout lay;	/* where its pages are (checked) */
	bool locked;		/* KDFS_IF_LOCKS known set */
};

/*
 * dirty_pages values: written here; written here and sent home since;
 * and being stored there by write-behind (file.c)
 */
#define KDFS_WRITTEN	xa_mk_value(1)
#define KDFS_PUSHED	xa_mk_value(2)
#define KDFS_STORING	xa_mk_value(3)

static inline struct kdfs_inode *KDFS_I(struct inode *inode)
{
	return container_of(inode, struct kdfs_inode, vfs);
}

/* inode.c */
struct kdfs_iobj *kdfs_iobj_grab(u64 ino);
void kdfs_iobj_put(u64 ino);
int kdfs_sync_meta(u64 ino);
int kdfs_sync_dir(u64 ino);
int kdfs_init_dir(u64 ino);
void kdfs_touch(struct kdfs_iobj *io, bool mtime);
void kdfs_fill_inode(struct inode *inode, const struct kdfs_iobj *io);
struct inode *kdfs_iget(struct super_block *sb, u64 ino);
int kdfs_refresh(struct inode *inode);
int kdfs_relink(struct file *file);
int kdfs_new_ino(struct kdfs_sb *s, u32 node, u64 *ino);
/* flush.c: metadata write-back */
int kdfs_meta_dirty(u64 ino);
int kdfs_meta_late(u64 ino);
int kdfs_dir_dirty(u64 ino);
int kdfs_meta_flush(void);
int kdfs_sync_many(struct kddm_set *set, const u64 *ids, unsigned int n,
		   int *errs);
void kdfs_flush_start(void);
void kdfs_flush_stop(void);
/* file.c */
int kdfs_truncate_pages(u64 ino, const struct kdfs_layout *l, u64 from,
			u64 to);
void kdfs_wb_free(struct inode *inode);
void kdfs_opens_lost(u64 ino, u64 dead);
int kdfs_fsync_inode(struct inode *inode);
void kdfs_page_written(struct inode *inode, pgoff_t index);
/* xattr.c */
struct posix_acl;
extern const struct kddm_io_linker_ops kdfs_xattr_linker;
extern const struct xattr_handler *kdfs_xattr_handlers[];
void kdfs_xattrs_drop(u64 ino);
ssize_t kdfs_listxattr(struct dentry *dentry, char *list, size_t size);
struct posix_acl *kdfs_get_acl(struct inode *inode, int type, bool rcu);
int kdfs_set_acl(struct kddm_idmap *idmap, struct kddm_acl_target *target,
		 struct posix_acl *acl, int type);
int kdfs_init_acl(struct inode *inode, struct posix_acl *def,
		  struct posix_acl *acl);
u32 kdfs_dir_placement(struct inode *dir, u32 dflt, struct kdfs_layout *lay);
int kdfs_inherit_placement(struct inode *dir, struct inode *inode);
/* super.c */
bool kdfs_node_mounted(u32 node);
/* lock.c */
extern const struct kddm_io_linker_ops kdfs_lock_linker;
int kdfs_lock(struct file *file, int cmd, struct file_lock *fl);
int kdfs_flock(struct file *file, int cmd, struct file_lock *fl);
void kdfs_locks_drop(u64 ino, const struct kdfs_iobj *io);
void kdfs_lock_init(void);
extern const struct proc_ops kdfs_locks_proc_ops;
/* mmap.c */
int kdfs_file_mmap(struct file *file, struct vm_area_struct *vma);
void kdfs_page_protect(struct kddm_set *set, u64 objid, void *data);
void kdfs_mmap_forget(struct inode *inode);
void kdfs_mmap_drain(void);
int kdfs_mmap_init(void);
void kdfs_mmap_exit(void);

extern const struct inode_operations kdfs_file_iops, kdfs_dir_iops,
	kdfs_symlink_iops;
extern const struct file_operations kdfs_file_fops, kdfs_dir_fops;
extern const struct dentry_operations kdfs_dops;

#endif /* _KDFS_H */
