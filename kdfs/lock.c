// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs file locks, cluster-wide: fcntl() record locks (POSIX and open
 * file description locks) and flock(). A node keeps its own locks in the
 * VFS, as a local file system does (they go at close and at exit, and
 * /proc/locks shows them); the locks object of an inode (set locks, id =
 * inode number, memory only, homed with the inode) lists every node's,
 * so that a lock taken on one node conflicts with those held on others.
 *
 * A lock grabs the object, checks the other nodes' entries, takes the
 * lock here without waiting (the VFS checks this node's own), and writes
 * this node's entries again from its VFS lists. An unlock is made here
 * first, whatever happens to the object (a file closes cleanly even when
 * the inode's node is down). A waiter (F_SETLKW, a blocking flock())
 * sleeps until a copy of the object goes from this node (another node
 * changed it) or a lock here goes, at most LOCK_POLL at a time, and tries
 * again once a read copy shows the way clear (so that waiters on several
 * nodes do not take the object from each other in turn).
 *
 * The entries of a node that is down, that unmounted kdfs, or that
 * mounted it again since (its mount epoch, in its df object) are
 * dropped: its locks went with it. Every change is flushed to the home
 * at once, so that the death of the node that made it loses nothing; an
 * object lost all the same (its home's copy was not the last) comes back
 * empty, and each node's entries with its next lock change of the file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fdtable.h>
#include <linux/fs.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "kdfs.h"

#define LOCK_POLL	(HZ / 5)

static siphash_key_t owner_key;
static atomic_t lock_gen = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(lock_wq);

void kdfs_lock_init(void)
{
	get_random_bytes(&owner_key, sizeof(owner_key));
}

/* Something changed: waiters look again. */
static void lock_changed(void)
{
	atomic_inc(&lock_gen);
	wake_up_all(&lock_wq);
}

/* A copy of a locks object goes from here: another node changes it. */
static void lobj_invalidate(struct kddm_set *set, u64 objid, void *data)
{
	lock_changed();
}

/* Lost with a node: empty (see above). */
static int lobj_reload(struct kddm_set *set, u64 objid, void *data)
{
	memset(data, 0, sizeof(struct kdfs_lobj));
	lock_changed();
	return 0;
}

const struct kddm_io_linker_ops kdfs_lock_linker = {
	.name = "kdfs_lock",
	.owner = THIS_MODULE,
	.invalidate_object = lobj_invalidate,
	.remove_object = lobj_invalidate,
	.reload_object = lobj_reload,
};

/* The change of @ino's locks object put, then flushed to its home. */
static void lobj_put_changed(u64 ino)
{
	kddm_put_object(kdfs_locks, ino);
	kddm_flush_object(kdfs_locks, ino);
	lock_changed();
}

/* An owner as other nodes see it: a token, not a kernel address. */
static u64 token(const void *owner)
{
	return siphash_1u64((unsigned long)owner, &owner_key);
}

/* What a lock call asks for. */
struct lreq {
	u64 owner;
	s64 start, end;
	u8 flock, type;
};

static void req_of(struct lreq *r, struct file_lock *fl, bool flock)
{
	r->flock = flock;
	r->type = KDDM_FL(fl, type);
	r->start = flock ? 0 : fl->fl_start;
	r->end = flock ? OFFSET_MAX : fl->fl_end;
	r->owner = token(flock ? (void *)KDDM_FL(fl, file) :
				 (void *)KDDM_FL(fl, owner));
}

/* An entry that makes sense (it may come from a peer). */
static bool entry_sane(const struct kdfs_lent *e)
{
	return (e->type == F_RDLCK || e->type == F_WRLCK) && e->start >= 0 &&
	       e->start <= e->end && e->flock <= 1;
}

static bool conflicts(const struct kdfs_lent *e, const struct lreq *r)
{
	if (e->flock != r->flock || e->start > r->end || r->start > e->end)
		return false;
	return e->type == F_WRLCK || r->type == F_WRLCK;
}

/* Whether @e's node still has that mount (its df object says). */
static bool entry_live(const struct kdfs_lent *e)
{
	struct kdfs_df *df;
	u64 id;
	bool live;

	if (e->node == kdfs_this->node)
		return e->epoch == kdfs_this->epoch;
	if (!e->node || e->node > KDDM_MAX_NODE)
		return false;
	id = kdfs_alloc_id(e->node);
	df = kddm_get_object_no_ft(kdfs_dfs, id);
	if (IS_ERR(df)) {
		/* down, or never mounted; else not known now: kept */
		switch (PTR_ERR(df)) {
		case -ENOENT:
		case -EHOSTDOWN:
		case -ENOLINK:
		case -EIDRM:
			return false;
		}
		return true;
	}
	live = df->mounted && df->epoch == e->epoch;
	kddm_put_object(kdfs_dfs, id);
	return live;
}

static unsigned int lobj_count(const struct kdfs_lobj *lo)
{
	return min_t(u32, lo->count, KDFS_LOCKS_MAX);	/* from a peer */
}

/* Drops the entries of nodes whose locks went with them. */
static void drop_stale(struct kdfs_lobj *lo)
{
	unsigned int i, j = 0, n = lobj_count(lo);

	for (i = 0; i < n; i++)
		if (entry_sane(&lo->ent[i]) && entry_live(&lo->ent[i]))
			lo->ent[j++] = lo->ent[i];
	lo->count = j;
}

/*
 * Another node's live entry that @r conflicts with, or NULL. Entries
 * lent to this node (their owner moves here) do not count.
 */
static const struct kdfs_lent *remote_conflict(const struct kdfs_lobj *lo,
					       const struct lreq *r)
{
	unsigned int i, n = lobj_count(lo);
	const struct kdfs_lent *e;

	for (i = 0; i < n; i++) {
		e = &lo->ent[i];
		if (e->node == kdfs_this->node || e->lent == kdfs_this->node ||
		    !entry_sane(e))
			continue;
		if (conflicts(e, r) && entry_live(e))
			return e;
	}
	return NULL;
}

static void fill(struct kdfs_lent *e, struct file_lock *fl, bool flock)
{
	struct lreq r;

	req_of(&r, fl, flock);
	memset(e, 0, sizeof(*e));
	e->owner = r.owner;
	e->start = r.start;
	e->end = r.end;
	e->type = r.type;
	e->flock = flock;
	e->node = kdfs_this->node;
	e->epoch = kdfs_this->epoch;
	e->pid = KDDM_FL(fl, pid);
}

/*
 * This node's locks of @inode (its VFS lists) into @out; their number,
 * or -ENOLCK past @room.
 */
static int collect_mine(struct inode *inode, struct kdfs_lent *out,
			unsigned int room)
{
	struct file_lock_context *ctx;
	struct file_lock *fl;
	unsigned int n = 0;
	int ret = 0;

	/* pairs with the cmpxchg that installs it (locks_get_lock_context) */
	ctx = smp_load_acquire(&inode->i_flctx);
	if (!ctx)
		return 0;
	spin_lock(&ctx->flc_lock);
	list_for_each_entry(fl, &ctx->flc_posix, KDDM_FL_LIST) {
		if (n == room) {
			ret = -ENOLCK;
			break;
		}
		fill(&out[n++], fl, false);
	}
	list_for_each_entry(fl, &ctx->flc_flock, KDDM_FL_LIST) {
		if (ret || n == room) {
			ret = -ENOLCK;
			break;
		}
		fill(&out[n++], fl, true);
	}
	spin_unlock(&ctx->flc_lock);
	return ret ?: n;
}

/* The lent mark of this node's old entry of @owner (kept across rewrites). */
static u32 lent_of(const struct kdfs_lobj *lo, unsigned int n, u64 owner)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (lo->ent[i].node == kdfs_this->node &&
		    lo->ent[i].owner == owner)
			return lo->ent[i].lent;
	return 0;
}

/*
 * This node's entries of @lo written again from its VFS lists: the other
 * nodes' entries, then this node's, built aside and copied in whole (or
 * -ENOLCK, @lo unchanged).
 */
static int rewrite_mine(struct kdfs_lobj *lo, struct inode *inode)
{
	unsigned int i, j = 0, n = lobj_count(lo);
	struct kdfs_lent *all;
	int got;

	all = kmalloc_array(KDFS_LOCKS_MAX, sizeof(*all), GFP_KERNEL);
	if (!all)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (lo->ent[i].node != kdfs_this->node)
			all[j++] = lo->ent[i];
	got = collect_mine(inode, all + j, KDFS_LOCKS_MAX - j);
	if (got < 0)
		goto out;
	for (i = j; i < j + got; i++)
		all[i].lent = lent_of(lo, n, all[i].owner);
	memcpy(lo->ent, all, (j + got) * sizeof(*all));
	lo->count = j + got;
out:
	kfree(all);
	return got < 0 ? got : 0;
}

/* The lock taken here, without waiting (-EAGAIN on a conflict here). */
static int lock_here(struct file *file, struct file_lock *fl, bool flock)
{
	unsigned int sleep = KDDM_FL(fl, flags) & FL_SLEEP;
	int ret;

	KDDM_FL(fl, flags) &= ~FL_SLEEP;
	if (flock)
		ret = locks_lock_inode_wait(file_inode(file), fl);
	else
		ret = posix_lock_file(file, fl, NULL);
	KDDM_FL(fl, flags) |= sleep;
	return ret;
}

/*
 * An unlock: here first, whatever happens to the object (a close must
 * leave no lock here), then this node's entries written again.
 */
static int unlock(struct file *file, struct file_lock *fl, bool flock)
{
	struct inode *inode = file_inode(file);
	struct kdfs_lobj *lo;
	int ret = lock_here(file, fl, flock);

	/* not interrupted: a close of a killed task lets its locks go */
	lo = kddm_grab_object_flags(kdfs_locks, inode->i_ino,
				    KDDM_NO_FT | KDDM_NOINTR);
	if (!IS_ERR(lo)) {
		drop_stale(lo);
		rewrite_mine(lo, inode);
		lobj_put_changed(inode->i_ino);
	} else if (PTR_ERR(lo) != -ENOENT) {
		pr_warn_ratelimited("inode %lx: a lock let go here is not known to the other nodes (%ld)\n",
				    inode->i_ino, PTR_ERR(lo));
	}
	lock_changed();
	return ret;
}

/*
 * Room kept for unlocks: one that cuts a lock in two adds an entry, and
 * a lock may split one in two (two more).
 */
#define LOCKS_ROOM	3

/* One try at a lock: 0, -EAGAIN (a conflict, here or elsewhere), -errno. */
static int lock_try(struct file *file, struct file_lock *fl, bool flock)
{
	struct inode *inode = file_inode(file);
	struct kdfs_lobj *lo;
	struct lreq r;
	int ret;

	req_of(&r, fl, flock);
	lo = kddm_grab_object(kdfs_locks, inode->i_ino);
	if (IS_ERR(lo))
		return kdfs_errno(PTR_ERR(lo));
	drop_stale(lo);
	if (remote_conflict(lo, &r)) {
		ret = -EAGAIN;
	} else if (lobj_count(lo) + LOCKS_ROOM > KDFS_LOCKS_MAX) {
		ret = -ENOLCK;
	} else {
		ret = lock_here(file, fl, flock);
		/*
		 * Whatever it did: a flock() conversion that fails has let
		 * the old lock go
		 */
		rewrite_mine(lo, inode);
	}
	lobj_put_changed(inode->i_ino);
	return ret;
}

/*
 * A flock() of another type than the one @file holds: the old one goes
 * first, as the VFS does (two holders of shared locks that both ask for
 * an exclusive one would otherwise wait for each other).
 */
static void flock_convert(struct file *file, struct file_lock *fl)
{
	struct file_lock_context *ctx;
	unsigned char type = KDDM_FL(fl, type);
	bool held = false;
	struct file_lock *h;

	ctx = smp_load_acquire(&file_inode(file)->i_flctx);	/* see above */
	if (!ctx)
		return;
	spin_lock(&ctx->flc_lock);
	list_for_each_entry(h, &ctx->flc_flock, KDDM_FL_LIST)
		if (KDDM_FL(h, file) == file && KDDM_FL(h, type) != type)
			held = true;
	spin_unlock(&ctx->flc_lock);
	if (!held)
		return;
	KDDM_FL(fl, type) = F_UNLCK;
	unlock(file, fl, true);
	KDDM_FL(fl, type) = type;
}

/*
 * Whether @r conflicts with a lock of another node (a read copy of the
 * object) or of another owner here: 1, 0, or -errno.
 */
static int busy(struct file *file, const struct lreq *r)
{
	struct inode *inode = file_inode(file);
	struct kdfs_lent *mine;
	struct kdfs_lobj *lo;
	int n, i, ret;

	lo = kddm_get_object_no_ft(kdfs_locks, inode->i_ino);
	if (IS_ERR(lo) && PTR_ERR(lo) != -ENOENT)
		return kdfs_errno(PTR_ERR(lo));
	if (!IS_ERR(lo)) {
		ret = remote_conflict(lo, r) ? 1 : 0;
		kddm_put_object(kdfs_locks, inode->i_ino);
		if (ret)
			return ret;
	}
	ret = 0;
	mine = kmalloc_array(KDFS_LOCKS_MAX, sizeof(*mine), GFP_KERNEL);
	if (!mine)
		return -ENOMEM;
	n = collect_mine(inode, mine, KDFS_LOCKS_MAX);
	for (i = 0; i < n && !ret; i++)
		ret = mine[i].owner != r->owner && conflicts(&mine[i], r);
	kfree(mine);
	return n < 0 ? n : ret;
}

/*
 * Before a first lock of @inode: its inode object notes it (memory only),
 * so that the free of the file removes its locks object, and only then
 * (files never locked cost nothing). Inode objects come before locks
 * objects in the lock order.
 */
static int mark_locked(struct inode *inode)
{
	struct kdfs_iobj *io;

	if (READ_ONCE(KDFS_I(inode)->locked))
		return 0;
	io = kdfs_iobj_grab(inode->i_ino);
	if (IS_ERR(io))
		return PTR_ERR(io);
	io->flags |= KDFS_IF_LOCKS;
	kdfs_iobj_put(inode->i_ino);
	WRITE_ONCE(KDFS_I(inode)->locked, true);
	return 0;
}

/*
 * A freed file's locks object (its inode object @io grabbed, open
 * nowhere: no lock is left).
 */
void kdfs_locks_drop(u64 ino, const struct kdfs_iobj *io)
{
	if (io->flags & KDFS_IF_LOCKS)
		kddm_remove_object(kdfs_locks, ino);
}

/* A lock, waiting for it if @fl says so (FL_SLEEP). */
static int lock_set(struct file *file, struct file_lock *fl, bool flock)
{
	bool wait = KDDM_FL(fl, flags) & FL_SLEEP;
	struct lreq r;
	long left;
	int seen, ret;

	ret = mark_locked(file_inode(file));
	if (ret)
		return ret;
	if (flock)
		flock_convert(file, fl);
	req_of(&r, fl, flock);
	for (;;) {
		seen = atomic_read(&lock_gen);
		ret = lock_try(file, fl, flock);
		if (ret != -EAGAIN || !wait)
			return ret;
		do {
			left = wait_event_interruptible_timeout(lock_wq,
					atomic_read(&lock_gen) != seen,
					LOCK_POLL);
			if (left < 0)
				return left;
			seen = atomic_read(&lock_gen);
			ret = busy(file, &r);
			if (ret < 0)
				return ret;
		} while (ret);
	}
}

/* F_GETLK: a lock here, else one of another node (its pid: -1). */
static int lock_test(struct file *file, struct file_lock *fl)
{
	u64 ino = file_inode(file)->i_ino;
	const struct kdfs_lent *e;
	struct kdfs_lobj *lo;
	struct lreq r;

	req_of(&r, fl, false);
	posix_test_lock(file, fl);
	if (KDDM_FL(fl, type) != F_UNLCK)
		return 0;
	lo = kddm_get_object_no_ft(kdfs_locks, ino);
	if (IS_ERR(lo))
		return PTR_ERR(lo) == -ENOENT ? 0 : kdfs_errno(PTR_ERR(lo));
	e = remote_conflict(lo, &r);
	if (e) {
		KDDM_FL(fl, type) = e->type;
		fl->fl_start = e->start;
		fl->fl_end = e->end;
		KDDM_FL(fl, pid) = -1;
	}
	kddm_put_object(kdfs_locks, ino);
	return 0;
}

/* file_operations.lock: fcntl() record locks (POSIX and OFD). */
int kdfs_lock(struct file *file, int cmd, struct file_lock *fl)
{
	if (!(KDDM_FL(fl, flags) & FL_POSIX))
		return -ENOLCK;
	if (IS_GETLK(cmd))
		return lock_test(file, fl);
	if (KDDM_FL(fl, type) == F_UNLCK)
		return unlock(file, fl, false);
	return lock_set(file, fl, false);
}

/* file_operations.flock */
int kdfs_flock(struct file *file, int cmd, struct file_lock *fl)
{
	if (!(KDDM_FL(fl, flags) & FL_FLOCK))
		return -ENOLCK;
	if (KDDM_FL(fl, type) == F_UNLCK)
		return unlock(file, fl, true);
	return lock_set(file, fl, true);
}

/* ---- migration: a frozen process's locks lent to its destination ---- */

#define LEND_FILES	64

struct lend_ctx {
	struct file *f[LEND_FILES];
	int n;
	bool more;	/* more kdfs files than LEND_FILES */
	unsigned int next;	/* the next descriptor to look at */
};

/* Under the files' spinlock: a reference to each kdfs file. */
static int lend_collect(const void *arg, struct file *file, unsigned int fd)
{
	struct lend_ctx *c = (struct lend_ctx *)arg;

	if (file->f_op != &kdfs_file_fops)
		return 0;
	if (c->n == LEND_FILES) {
		c->more = true;
		c->next = fd;	/* the next round starts with it */
		return 1;
	}
	c->f[c->n++] = get_file(file);
	return 0;
}

/* This node's entries of @owners in @file's locks object lent to @node. */
static int lend_file(struct file *file, u64 files_token, u32 node)
{
	u64 ino = file_inode(file)->i_ino, ft = token(file);
	struct kdfs_lobj *lo;
	unsigned int i, n;

	lo = kddm_grab_object(kdfs_locks, ino);
	if (IS_ERR(lo))
		return kdfs_errno(PTR_ERR(lo));
	n = lobj_count(lo);
	for (i = 0; i < n; i++) {
		struct kdfs_lent *e = &lo->ent[i];

		if (e->node == kdfs_this->node &&
		    (e->owner == files_token || e->owner == ft))
			e->lent = node;
	}
	lobj_put_changed(ino);
	return 0;
}

/*
 * The kdfs locks of process @pid (frozen, being moved to node @node)
 * lent there: that node's lock requests do not conflict with them, so
 * that the process restored there takes them again while they are still
 * held here (they go when the process here is killed). @node 0 takes
 * them back (the move failed, the process goes on here).
 */
static int locks_lend(pid_t pid, u32 node)
{
	struct lend_ctx *c;
	struct task_struct *t;
	struct pid *p;
	u64 files_token = 0;
	int i, ret = 0, err;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	p = find_get_pid(pid);
	t = get_pid_task(p, PIDTYPE_PID);
	put_pid(p);
	if (!t) {
		kfree(c);
		return -ESRCH;
	}
	do {
		c->more = false;
		c->n = 0;
		task_lock(t);
		if (t->files) {
			files_token = token(t->files);
			iterate_fd(t->files, c->next, lend_collect, c);
		}
		task_unlock(t);
		for (i = 0; i < c->n; i++) {
			err = lend_file(c->f[i], files_token, node);
			ret = ret ?: err;
			fput(c->f[i]);
		}
	} while (c->more);
	put_task_struct(t);
	kfree(c);
	return ret;
}

/*
 * /proc/fs/kdfs/locks (root only, write): "lend PID NODE", a line per
 * write (kddm-migrated, see locks_lend()).
 */
static ssize_t locks_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	char buf[48];
	u32 node;
	int pid, ret;

	if (!file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN))
		return -EPERM;
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "lend %d %u", &pid, &node) != 2 || pid <= 0 ||
	    node > KDDM_MAX_NODE || strchr(buf, '\n') < buf + len - 1)
		return -EINVAL;	/* one line per write */
	down_read(&kdfs_mount_sem);
	ret = kdfs_this ? locks_lend(pid, node) : -ENODEV;
	up_read(&kdfs_mount_sem);
	return ret ?: len;
}

const struct proc_ops kdfs_locks_proc_ops = {
	.proc_write = locks_write,
	.proc_lseek = noop_llseek,
};
