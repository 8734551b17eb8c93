// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs metadata write-back. A name change, an attribute change or a freed
 * inode is marked on the node that made it and written back to the homes'
 * disks later, as a local file system commits its journal: every
 * flush_ms (module parameter, 5000 ms; at once past FLUSH_BATCH marks),
 * at fsync of a file or a directory, at syncfs (sync) and at unmount.
 *
 * What must be on disk before a name points to it is written at once: a
 * new inode, a symbolic link's target, the inode number counter, and the
 * new directory's listing of a rename across directories. A flush writes
 * the changed inodes, then the listings, then the inodes that lost a link
 * (or were freed) before it began, the last only if every listing was
 * written: on disk, a name always points to an inode, and a link count
 * never falls short of the names. Until then the change lives in the
 * kDDM objects, seen by every node; a node that dies takes its unwritten
 * changes of objects only it held with it (their homes load them from
 * disk again), as a crashed local file system loses what it had not
 * committed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "kdfs.h"

static unsigned int flush_ms = 5000;
module_param(flush_ms, uint, 0644);
MODULE_PARM_DESC(flush_ms, "metadata write-back interval (ms)");

#define FLUSH_BATCH	1024	/* marks that start a flush at once */

/* MARK_LATE: written after the listings (a link less, or freed) */
enum { MARK_CHANGED = 1, MARK_LATE = 2 };

/* Inode number -> MARK_*; listings; both under xa_lock. */
static DEFINE_XARRAY(dirty_inodes);
static DEFINE_XARRAY(dirty_dirs);
static atomic_t marks = ATOMIC_INIT(0);
static bool backoff;	/* the last flush failed: no flush at once */
static DEFINE_MUTEX(flush_lock);	/* one flush at a time */
static bool flush_on;			/* the flusher may be queued */
static void flush_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(meta_work, flush_fn);

static void kick(void)
{
	unsigned long delay = msecs_to_jiffies(flush_ms);

	if (!READ_ONCE(flush_on))
		return;
	if (atomic_read(&marks) >= FLUSH_BATCH && !READ_ONCE(backoff))
		mod_delayed_work(system_unbound_wq, &meta_work, 0);
	else
		queue_delayed_work(system_unbound_wq, &meta_work, delay);
}

/* 0, or -errno when no mark could be kept (then it is written now). */
static int mark(struct xarray *xa, u64 id, unsigned long how)
{
	void *old, *cur;

	BUILD_BUG_ON(sizeof(unsigned long) < sizeof(u64));
	xa_lock(xa);
	cur = xa_load(xa, id);
	do {
		old = cur;
		if (old && xa_to_value(old) >= how) {
			xa_unlock(xa);
			return 0;
		}
		/* may drop the lock to allocate: a stronger mark may come */
		cur = __xa_cmpxchg(xa, id, old, xa_mk_value(how), GFP_NOFS);
	} while (cur != old && !xa_is_err(cur));
	xa_unlock(xa);
	if (xa_is_err(cur))
		return xa_err(cur);
	if (!old)
		atomic_inc(&marks);
	kick();
	return 0;
}

/* Inode @ino changed here: written back at the next flush. */
int kdfs_meta_dirty(u64 ino)
{
	return mark(&dirty_inodes, ino, MARK_CHANGED) ? kdfs_sync_meta(ino) : 0;
}

/*
 * Inode @ino lost a link (or was freed) here: written after the listings
 * that dropped the names are out.
 */
int kdfs_meta_late(u64 ino)
{
	return mark(&dirty_inodes, ino, MARK_LATE) ? kdfs_sync_meta(ino) : 0;
}

/* The listing of @ino changed here. */
int kdfs_dir_dirty(u64 ino)
{
	return mark(&dirty_dirs, ino, MARK_CHANGED) ? kdfs_sync_dir(ino) : 0;
}

/*
 * Writing back many objects: each write is a round trip to its home (and
 * from the home to the owner of the copy), so KDFS_SYNC_LANES of them run
 * at once instead of one after the other.
 */
#define KDFS_SYNC_LANES	16

struct sync_batch {
	struct kddm_set *set;
	const u64 *ids;
	int *errs;		/* per object */
	unsigned int n;
	atomic_t next;
	atomic_t err;		/* the first error */
};

struct sync_lane {
	struct work_struct work;
	struct sync_batch *b;
};

static void lane_fn(struct work_struct *work)
{
	struct sync_batch *b = container_of(work, struct sync_lane, work)->b;
	unsigned int i;
	int err;

	while ((i = atomic_inc_return(&b->next) - 1) < b->n) {
		int tries = 5;

		/* -EBUSY: the home has too many write-backs queued */
		while ((err = b->set == kdfs_dirs ? kdfs_dir_sync(b->ids[i]) :
			      kddm_sync_object(b->set, b->ids[i])) == -EBUSY &&
		       --tries)
			msleep(20);
		err = kdfs_errno(err);
		b->errs[i] = err;
		if (err && err != -ENOENT)	/* -ENOENT: a hole, or freed */
			atomic_cmpxchg(&b->err, 0, err);
	}
}

/*
 * kdfs_sync_many - kddm_sync_object() of @n objects of @set, at once
 * @errs: each object's result
 *
 * Return: 0, or the first error other than -ENOENT.
 */
int kdfs_sync_many(struct kddm_set *set, const u64 *ids, unsigned int n,
		   int *errs)
{
	struct sync_batch b = { .set = set, .ids = ids, .errs = errs, .n = n };
	unsigned int i, k = min_t(unsigned int, n, KDFS_SYNC_LANES);
	struct sync_lane one, *lanes;

	atomic_set(&b.next, 0);
	atomic_set(&b.err, 0);
	lanes = n > 1 ? kmalloc_array(k, sizeof(*lanes), GFP_KERNEL) : NULL;
	if (!lanes) {	/* one object (or no memory): here, one at a time */
		one.b = &b;
		lane_fn(&one.work);
		return atomic_read(&b.err);
	}
	for (i = 0; i < k; i++) {
		lanes[i].b = &b;
		INIT_WORK(&lanes[i].work, lane_fn);
		queue_work(system_unbound_wq, &lanes[i].work);
	}
	for (i = 0; i < k; i++)
		flush_work(&lanes[i].work);
	kfree(lanes);
	return atomic_read(&b.err);
}

/* Moves every mark of @from into @to (empty): what this flush writes. */
static void take_marks(struct xarray *from, struct xarray *to)
{
	unsigned long id;
	void *entry;

	xa_lock(from);
	xa_for_each(from, id, entry) {
		__xa_erase(from, id);
		atomic_dec(&marks);
		/* no room to hold it: the next flush writes it */
		if (xa_is_err(xa_store(to, id, entry, GFP_ATOMIC))) {
			__xa_store(from, id, entry, GFP_ATOMIC);
			atomic_inc(&marks);
			break;
		}
	}
	xa_unlock(from);
}

#define WRITE_CHUNK	256	/* objects written back at once */

static int write_chunk(struct kddm_set *set, struct xarray *live,
		       const u64 *ids, int *errs, unsigned int n,
		       unsigned long how)
{
	unsigned int i;
	int ret;

	ret = kdfs_sync_many(set, ids, n, errs);
	if (!ret)
		return 0;
	for (i = 0; i < n; i++) {
		if (!errs[i] || errs[i] == -ENOENT)
			continue;	/* written, or gone since */
		if (errs[i] != -EIO)
			mark(live, ids[i], how);
		pr_warn_ratelimited("writing back %s %llx failed (%d)\n",
				    set == kdfs_dirs ? "listing" : "inode",
				    ids[i], errs[i]);
	}
	return ret;
}

struct chunk {
	u64 ids[WRITE_CHUNK];
	int errs[WRITE_CHUNK];
};

/*
 * Writes back the objects of @xa marked @how (all with 0), dropping their
 * marks; a failed write is marked again in @live (a full store may have
 * room at the next flush) unless its home is gone. The first error, or 0.
 */
static int write_marks(struct xarray *xa, struct xarray *live,
		       struct kddm_set *set, unsigned long how,
		       struct chunk *c)
{
	unsigned long id, again = how ?: MARK_CHANGED;
	unsigned int n = 0;
	int ret = 0, err;
	void *entry;

	xa_for_each(xa, id, entry) {
		if (how && xa_to_value(entry) != how)
			continue;
		xa_erase(xa, id);
		/* lost a link since this flush began: the next one, late */
		if (how == MARK_CHANGED &&
		    xa_load(live, id) == xa_mk_value(MARK_LATE))
			continue;
		c->ids[n++] = id;
		if (n < WRITE_CHUNK)
			continue;
		err = write_chunk(set, live, c->ids, c->errs, n, again);
		ret = ret ?: err;
		n = 0;
	}
	if (n) {
		err = write_chunk(set, live, c->ids, c->errs, n, again);
		ret = ret ?: err;
	}
	return ret;
}

/*
 * Writes back every change marked on this node before the call: changed
 * inodes, listings, then (if every listing was written) the inodes that
 * lost a link. The first error, or 0.
 */
static int flush(void)
{
	struct xarray inodes, dirs;
	struct chunk *c;
	int ret, err;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	xa_init(&inodes);
	xa_init(&dirs);
	/* after a flush running now: what it writes is on disk at return */
	mutex_lock(&flush_lock);
	take_marks(&dirty_inodes, &inodes);
	take_marks(&dirty_dirs, &dirs);
	ret = write_marks(&inodes, &dirty_inodes, kdfs_inodes, MARK_CHANGED,
			  c);
	err = write_marks(&dirs, &dirty_dirs, kdfs_dirs, 0, c);
	ret = ret ?: err;
	if (!err) {
		err = write_marks(&inodes, &dirty_inodes, kdfs_inodes,
				  MARK_LATE, c);
	} else {	/* a name may still be on disk: not yet */
		unsigned long id;
		void *entry;

		xa_for_each(&inodes, id, entry)
			mark(&dirty_inodes, id, MARK_LATE);
	}
	ret = ret ?: err;
	mutex_unlock(&flush_lock);
	kfree(c);
	xa_destroy(&inodes);
	xa_destroy(&dirs);
	return ret;
}

/* A write back by the flusher failed: the next caller hears of it. */
static atomic_t flush_err = ATOMIC_INIT(0);

int kdfs_meta_flush(void)
{
	int ret = flush();

	ret = ret ?: atomic_xchg(&flush_err, 0);
	/* a stripe node failed its share (tried again): I/O error */
	return ret == -EREMOTEIO ? -EIO : ret;
}

static void flush_fn(struct work_struct *work)
{
	int ret = flush();

	if (ret)
		atomic_cmpxchg(&flush_err, 0, ret);
	WRITE_ONCE(backoff, ret != 0);
	if (atomic_read(&marks))
		kick();	/* kept marks (a failed write), or new ones */
}

/*
 * A node that died takes its marks with it, while the objects it changed
 * may live on in other nodes' copies (a node that read a listing after
 * the change holds it). So when a node goes, every node marks every
 * inode and listing it holds a copy of: what the dead node had not
 * written back is written from the copies that survive. (Inodes late:
 * one may have lost a link.) The dead nodes' opens end too: an unlinked
 * file only they had open is freed.
 */
static atomic64_t dead_nodes = ATOMIC64_INIT(0);	/* bit n - 1: node n */

struct remark {
	struct kddm_copy_visitor v;
	u64 dead;
};

static void remark_inode(struct kddm_copy_visitor *v, u64 ino)
{
	struct remark *r = container_of(v, struct remark, v);

	mark(&dirty_inodes, ino, MARK_LATE);
	if (r->dead)
		kdfs_opens_lost(ino, r->dead);
}

static void remark_dir(struct kddm_copy_visitor *v, u64 ino)
{
	mark(&dirty_dirs, ino, MARK_CHANGED);
}

static void remark_fn(struct work_struct *work)
{
	struct remark inodes = {
		.v.fn = remark_inode,
		.dead = atomic64_xchg(&dead_nodes, 0),
	};
	struct kddm_copy_visitor dirs = { .fn = remark_dir };

	kddm_walk_copies(kdfs_inodes, &inodes.v);
	kddm_walk_copies(kdfs_dirs, &dirs);
}

static DECLARE_WORK(remark_work, remark_fn);

static void node_gone(u32 node, void *arg)
{
	if (node >= 1 && node <= 64)
		atomic64_or(BIT_ULL(node - 1), &dead_nodes);
	if (READ_ONCE(flush_on))
		queue_work(system_unbound_wq, &remark_work);
}

static struct kddm_node_callback node_cb = { .node_down = node_gone };

/* At mount: marks start the flusher. */
void kdfs_flush_start(void)
{
	WRITE_ONCE(flush_on, true);
	kddm_register_node_callback(&node_cb);
}

/*
 * At unmount, after the last file operation: the last flush. Marks that
 * could not be written are dropped, counted in the log.
 */
void kdfs_flush_stop(void)
{
	unsigned long id, lost = 0;
	void *entry;

	if (READ_ONCE(flush_on))
		kddm_unregister_node_callback(&node_cb);
	WRITE_ONCE(flush_on, false);
	cancel_work_sync(&remark_work);
	atomic64_set(&dead_nodes, 0);
	cancel_delayed_work_sync(&meta_work);
	flush();
	atomic_set(&flush_err, 0);
	xa_for_each(&dirty_inodes, id, entry)
		lost++;
	xa_for_each(&dirty_dirs, id, entry)
		lost++;
	if (lost)
		pr_warn("%lu inode or listing changes lost (not written back)\n",
			lost);
	xa_destroy(&dirty_inodes);
	xa_destroy(&dirty_dirs);
	atomic_set(&marks, 0);
}
