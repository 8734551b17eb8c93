// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs file data: no page cache. A read copies from read copies of the
 * file's page objects, a write into the grabbed pages, so that a read on
 * any node after a write on another returns the written bytes, with no
 * close or sync in between. A write grabs the inode object first and
 * keeps it for its length: writes to one file are serialised cluster-wide
 * and O_APPEND takes the size it then holds.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/mm.h>
#include <linux/uio.h>

#include <kddm/kdfs.h>

#include "kdfs.h"

/* ---- open files: the nodes with the inode open ---- */

/*
 * Sets the bits @set and clears the bits @clear of @ino's open nodes;
 * the inode is freed when no link and no open node is left. With @set,
 * -ESTALE if another node freed it since the lookup.
 */
static int open_bits(u64 ino, u64 set, u64 clear)
{
	struct kdfs_iobj *io;
	bool gone, dir;

	io = kddm_grab_object(kdfs_inodes, ino);
	if (IS_ERR(io))
		return kdfs_errno(PTR_ERR(io));
	if (set && !io->mode) {
		/* freed by another node since the lookup: look it up again */
		kdfs_iobj_put(ino);
		return -ESTALE;
	}
	io->open_nodes = (io->open_nodes | set) & ~clear;
	gone = io->mode && !io->nlink && !io->open_nodes;
	dir = S_ISDIR(io->mode);
	if (gone) {
		struct kdfs_layout l = kdfs_lay(ino, io);

		/* the pages first, as unlinked() does */
		kdfs_truncate_pages(ino, &l, 0, io->size);
		io->mode = 0;
		if (io->xattrs)
			kdfs_xattrs_drop(ino);
		kdfs_locks_drop(ino, io);
	}
	kdfs_iobj_put(ino);
	if (!gone)
		return 0;
	if (dir)
		kdfs_listing_remove(ino);	/* rmdir'ed while open */
	return kdfs_meta_late(ino);
}

static int set_open(struct inode *inode, bool open)
{
	u64 bit = BIT_ULL(kdfs_this->node - 1);

	return open_bits(inode->i_ino, open ? bit : 0, open ? 0 : bit);
}

/*
 * Nodes @dead died with @ino open: their opens are over (an unlinked
 * file that only they had open is freed). Called by the survivors that
 * hold a copy of the inode.
 */
void kdfs_opens_lost(u64 ino, u64 dead)
{
	struct kdfs_iobj *io = kddm_find_object(kdfs_inodes, ino);
	bool had;

	if (!io)
		return;
	had = io->open_nodes & dead;
	kddm_put_object(kdfs_inodes, ino);
	if (had)
		open_bits(ino, 0, dead);
}

static int kdfs_open(struct inode *inode, struct file *file)
{
	struct kdfs_inode *ki = KDFS_I(inode);
	int ret = 0;

	if (kdfs_this->node > 64)
		return 0;	/* unlinked-open tracking: nodes 1..64 */
	mutex_lock(&ki->open_lock);
	if (!ki->opens)
		ret = set_open(inode, true);
	if (!ret)
		ki->opens++;
	mutex_unlock(&ki->open_lock);
	return ret;
}

/*
 * The last reference to a file opened for writing (mappings hold one)
 * writes back what this node wrote through it, as NFS does at close:
 * not left to eviction, which may run in memory reclaim.
 */
static void flush_written(struct inode *inode, struct file *file)
{
	int ret;

	if (!(file->f_mode & FMODE_WRITE) || !KDFS_I(inode)->dirty)
		return;
	ret = kdfs_fsync_inode(inode);
	if (ret && ret != -ENOENT)
		pr_warn_ratelimited("inode %lx: writing back at close failed (%d)\n",
				    inode->i_ino, ret);
}

static int kdfs_release(struct inode *inode, struct file *file)
{
	struct kdfs_inode *ki = KDFS_I(inode);

	flush_written(inode, file);
	if (kdfs_this->node > 64)
		return 0;
	mutex_lock(&ki->open_lock);
	if (!--ki->opens)
		set_open(inode, false);
	mutex_unlock(&ki->open_lock);
	return 0;
}

/* ---- data ---- */

/* Drops the pages past @from (zeroing the tail of the one it cuts). */
int kdfs_truncate_pages(u64 ino, const struct kdfs_layout *l, u64 from,
			u64 to)
{
	pgoff_t i = from >> PAGE_SHIFT, end = DIV_ROUND_UP(to, PAGE_SIZE);
	struct kddm_set *set = kdfs_pset(l);
	size_t off = offset_in_page(from);

	if (off && i < end) {
		u64 id = kdfs_pid(ino, l, i);
		u8 *page = kddm_grab_object(set, id);

		if (IS_ERR(page))
			return kdfs_errno(PTR_ERR(page));
		memset(page + off, 0, PAGE_SIZE - off);
		kddm_put_object(set, id);
		i++;
	}
	for (; i < end; i++)
		kddm_remove_object(set, kdfs_pid(ino, l, i));
	return 0;
}

/* Every page of @inode is homed here (its home, and not striped). */
static bool all_here(struct inode *inode)
{
	return !KDFS_I(inode)->lay.nodes &&
	       kdfs_ino_node(inode->i_ino) == kdfs_this->node;
}

/* Page @index of @inode is homed here. */
static bool homed_here(struct inode *inode, pgoff_t index)
{
	return kdfs_page_home(inode->i_ino, &KDFS_I(inode)->lay, index) ==
	       kdfs_this->node;
}

static struct kddm_set *pset(struct inode *inode)
{
	return kdfs_pset(&KDFS_I(inode)->lay);
}

static u64 pid(struct inode *inode, pgoff_t index)
{
	return kdfs_pid(inode->i_ino, &KDFS_I(inode)->lay, index);
}

/* Pages asked for ahead of a read of data another node holds. */
#define KDFS_RA_PAGES	32

/*
 * A read of pages @first..@last of a file homed on another node asks for
 * them, and KDFS_RA_PAGES after, all at once (kDDM prefetches, the
 * requests in as few datagrams as fit): their round trips overlap
 * instead of following each other. Pages asked for
 * before are not asked again while the reader goes forward.
 */
static void read_ahead(struct inode *inode, pgoff_t first, pgoff_t last,
		       loff_t size)
{
	struct kdfs_inode *ki = KDFS_I(inode);
	pgoff_t i, end = DIV_ROUND_UP(size, PAGE_SIZE);

	if (all_here(inode))
		return;	/* the home loads its own pages from its disk */
	end = min_t(pgoff_t, end, last + 1 + KDFS_RA_PAGES);
	i = READ_ONCE(ki->ra_next);
	if (i <= first || i > end)
		i = first;
	for (; i < end; i++)
		if (!homed_here(inode, i) &&
		    IS_ERR(kddm_get_object_flags(pset(inode), pid(inode, i),
						 KDDM_ASYNC | KDDM_BATCH)))
			break;
	kddm_send_batched();
	WRITE_ONCE(ki->ra_next, i);
}

/* Pages grabbed ahead by one write, at most. */
#define KDFS_WA_PAGES	512

/*
 * A write into a file homed on another node asks for the writable copies
 * of the pages it will write all at once (kDDM prefetches), as
 * read_ahead() does for reads.
 */
static void write_ahead(struct inode *inode, loff_t pos, size_t count)
{
	pgoff_t i = pos >> PAGE_SHIFT, last;

	if (!count || all_here(inode))
		return;
	last = min_t(pgoff_t, (pos + count - 1) >> PAGE_SHIFT,
		     i + KDFS_WA_PAGES - 1);
	for (; i <= last; i++)
		if (!homed_here(inode, i) &&
		    IS_ERR(kddm_grab_object_flags(pset(inode), pid(inode, i),
						  KDDM_ASYNC | KDDM_BATCH)))
			break;
	kddm_send_batched();
}

/*
 * A sequential write into a file homed on another node sends the pages
 * it has left behind (those below the page it ends in) home at once, as
 * NFS writes back behind a streaming writer: the data crosses the wire
 * while the writer goes on, not all at its fsync or close; and once a
 * chunk has gone, the home stores it meanwhile (wb_store_later()). A
 * write elsewhere in the file sends nothing: the next one may rewrite the
 * same page.
 */
static void wb_store_later(struct inode *inode, pgoff_t index);
static bool push_fits(struct inode *inode, loff_t pos, size_t count);

static void write_behind(struct inode *inode, loff_t pos, size_t n,
			 bool ahead)
{
	struct kdfs_inode *ki = KDFS_I(inode);
	pgoff_t i = pos >> PAGE_SHIFT, end = (pos + n) >> PAGE_SHIFT;
	bool seq = pos == ki->wb_pos;

	ki->wb_pos = pos + n;
	if (!seq || all_here(inode))
		return;
	/*
	 * The pages of the next two writes first, answered while these
	 * cross: a request queues in the link behind the data sent before
	 * it (a write's worth and more), so asking for the next write alone
	 * came too late, and the writer waited for its grants. Not after a
	 * push, nor where the next write of this length would push: the
	 * home would have to take back the pages it granted.
	 */
	if (ahead && !push_fits(inode, pos + n, n))
		write_ahead(inode, pos + n, 2 * n);
	for (; i < end; i++) {
		if (homed_here(inode, i) ||
		    xa_cmpxchg(&ki->dirty_pages, i, KDFS_WRITTEN, KDFS_PUSHED,
			       GFP_NOFS) != KDFS_WRITTEN)
			continue;
		kddm_flush_object_flags(pset(inode), pid(inode, i),
					KDDM_BATCH);
		wb_store_later(inode, i);
	}
	kddm_send_batched();
}

/*
 * No fault on user memory while an object is held: the access may fault
 * on a mapping of this very file (or on a userfaultfd page) and wait for
 * that object. Reads go through a bounce page; writes copy with page
 * faults off and fault in with nothing held when that falls short.
 */
static ssize_t kdfs_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	loff_t pos = iocb->ki_pos, size;
	ssize_t done = 0;
	void *bounce;
	int ret;

	ret = kdfs_refresh(inode);
	if (ret)
		return ret;
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	size = i_size_read(inode);
	if (pos < size && iov_iter_count(to))
		read_ahead(inode, pos >> PAGE_SHIFT,
			   (min_t(loff_t, size, pos + iov_iter_count(to)) - 1) >>
			   PAGE_SHIFT, size);
	while (iov_iter_count(to) && pos < size) {
		u64 id = pid(inode, pos >> PAGE_SHIFT);
		size_t off = offset_in_page(pos), n, got;
		void *page;

		n = min_t(loff_t, PAGE_SIZE - off, size - pos);
		n = min(n, iov_iter_count(to));
		page = kddm_get_object(pset(inode), id);
		if (IS_ERR(page)) {
			ret = kdfs_errno(PTR_ERR(page));
			break;
		}
		memcpy(bounce, page + off, n);
		kddm_put_object(pset(inode), id);
		got = copy_to_iter(bounce, n, to);
		pos += got;
		done += got;
		if (got < n) {
			ret = -EFAULT;
			break;
		}
	}
	kfree(bounce);
	iocb->ki_pos = pos;
	return done ?: ret;
}

/* Page @index was written here: this node's fsync writes it back. */
void kdfs_page_written(struct inode *inode, pgoff_t index)
{
	struct kdfs_inode *ki = KDFS_I(inode);

	ki->dirty = true;
	/* no memory for the mark: fsync writes every page back */
	if (xa_is_err(xa_store(&ki->dirty_pages, index, KDFS_WRITTEN,
			       GFP_NOFS)))
		ki->all_dirty = true;
}

/* Page @index was pushed home (write_push()): fsync has it stored there. */
static void page_pushed(struct inode *inode, pgoff_t index)
{
	struct kdfs_inode *ki = KDFS_I(inode);

	ki->dirty = true;
	if (xa_is_err(xa_store(&ki->dirty_pages, index, KDFS_PUSHED,
			       GFP_NOFS)))
		ki->all_dirty = true;
	else
		wb_store_later(inode, index);
}

/*
 * Push calls in flight at once: 512 KiB (16 measured 4 % slower: more
 * of the write waits in the link while the writer waits at its end).
 */
#define KDFS_PUSH_CALLS	8

struct kdfs_push {
	struct kddm_call call[KDFS_PUSH_CALLS];
	pgoff_t first[KDFS_PUSH_CALLS];
	unsigned int n[KDFS_PUSH_CALLS];
	unsigned int sent, done;	/* calls started, ended */
	size_t ok;			/* bytes of the calls ended so far,
					 * up to the first that failed
					 */
	bool failed;
};

/* The oldest push call in flight, ended; its pages marked if it went. */
static void push_end(struct inode *inode, struct kdfs_push *p)
{
	unsigned int k = p->done++ % KDFS_PUSH_CALLS, i;

	if (kddm_call_home_end(&p->call[k])) {
		p->failed = true;
		return;
	}
	/* a call after a failed one went too: its pages are stored */
	for (i = 0; i < p->n[k]; i++)
		page_pushed(inode, p->first[k] + i);
	if (!p->failed)
		p->ok += (size_t)p->n[k] << PAGE_SHIFT;
}

/*
 * The run of whole pages from @index (at most @max) that one push call
 * takes: homed on one node, not this one. 0 if page @index is homed here
 * (or @max is 0).
 */
static unsigned int push_run(struct inode *inode, pgoff_t index,
			     unsigned int max)
{
	const struct kdfs_layout *l = &KDFS_I(inode)->lay;
	u32 home = kdfs_page_home(inode->i_ino, l, index);
	unsigned int n;

	if (!max || home == kdfs_this->node)
		return 0;
	max = min_t(unsigned int, max, KDFS_PUSH_PAGES);
	for (n = 1; n < max &&
	     kdfs_page_home(inode->i_ino, l, index + n) == home; n++)
		;
	return n;
}

/*
 * A write this long is pushed (see write_push()): each waits at its end
 * for its data to cross, which a shorter one does not amortise (remote
 * writes in 512 KiB blocks: 35 to 38 MiB/s pushed, 38 to 41 through the
 * pages; in 1 MiB blocks 42 to 46 against 41; in 4 MiB blocks 44
 * against 10).
 */
#define KDFS_PUSH_MIN	(1 << 20)

/* A write from @pos of @count bytes is pushed (see write_push()). */
static bool push_fits(struct inode *inode, loff_t pos, size_t count)
{
	return !all_here(inode) && count >= KDFS_PUSH_MIN;
}

/*
 * A write of whole pages into a file homed on another node sends their
 * new bytes home in calls, as an NFS client sends its WRITEs: the home
 * grabs each page, which invalidates every copy, and takes the bytes.
 * Nothing is fetched here first, no copy stays here, and the bytes are
 * copied once, from the writer's memory into the call. KDFS_PUSH_PAGES a
 * call, KDFS_PUSH_CALLS in flight, so that the home takes a call's pages
 * while the next ones cross. It returns once every call is answered: a
 * read anywhere after the write sees its bytes. The bytes pushed from
 * @pos (@from advanced by as many), up to the first page homed here, a
 * fault the copy would need, or a call that failed; the caller writes
 * the rest through the pages. @far: at least where the pages sent end
 * if any was (calls after a failed one may have gone through).
 */
static size_t write_push(struct inode *inode, loff_t pos,
			 struct iov_iter *from, loff_t *far)
{
	size_t len = iov_iter_count(from) & PAGE_MASK, want, got, ok = 0;
	const struct kdfs_layout *l = &KDFS_I(inode)->lay;
	struct kdfs_call c = { .op = cpu_to_le32(KDFS_CALL_WRITE) };
	pgoff_t index = pos >> PAGE_SHIFT;
	struct kdfs_push *p;
	unsigned int k, n;
	void *buf;

	BUILD_BUG_ON(KDFS_PUSH_PAGES < 1);
	if (!push_run(inode, index, len >> PAGE_SHIFT))
		return 0;	/* nothing to push from here */
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	buf = kvmalloc(KDDM_CALL_DATA_MAX, GFP_KERNEL);
	if (!p || !buf)
		goto out;
	while (len && !p->failed) {
		n = push_run(inode, index, len >> PAGE_SHIFT);
		if (!n)
			break;
		want = (size_t)n << PAGE_SHIFT;
		pagefault_disable();
		got = copy_from_iter(buf, want, from);
		pagefault_enable();
		if (got < want) {
			iov_iter_revert(from, got);
			break;
		}
		if (p->sent - p->done == KDFS_PUSH_CALLS)
			push_end(inode, p);
		k = p->sent++ % KDFS_PUSH_CALLS;
		p->first[k] = index;
		p->n[k] = n;
		c.count = cpu_to_le32(n);
		c.arg = cpu_to_le64(index);
		/* in spages, the first page's id; in pages, page 0's */
		kddm_call_home_start(&p->call[k], pset(inode),
				     kdfs_pid(inode->i_ino, l,
					      l->nodes ? index : 0),
				     &c, sizeof(c), buf, want);
		index += n;
		len -= want;
	}
	while (p->done < p->sent)
		push_end(inode, p);
	if (p->sent)
		*far = max_t(loff_t, *far, (loff_t)index << PAGE_SHIFT);
	ok = p->ok;
	/* what went after a failed call, the caller writes again */
	iov_iter_revert(from, ((index - (pos >> PAGE_SHIFT)) << PAGE_SHIFT) -
			ok);
out:
	kvfree(buf);
	kfree(p);
	return ok;
}

/*
 * Writes @from at @pos into the pages (see kdfs_read_iter()): the copy
 * from user memory, straight into the grabbed page, does not fault, as
 * objects are held. The bytes written, which stop short where a fault is
 * needed, or -errno if none was written.
 */
static ssize_t write_pages(struct inode *inode, loff_t pos,
			   struct iov_iter *from)
{
	ssize_t done = 0;

	while (iov_iter_count(from)) {
		u64 id = pid(inode, pos >> PAGE_SHIFT);
		size_t off = offset_in_page(pos), n;
		void *page;

		n = min(PAGE_SIZE - off, iov_iter_count(from));
		page = kddm_grab_object(pset(inode), id);
		if (IS_ERR(page))
			return done ?: kdfs_errno(PTR_ERR(page));
		pagefault_disable();
		n = copy_from_iter(page + off, n, from);
		pagefault_enable();
		kddm_put_object(pset(inode), id);
		if (!n)
			break;
		kdfs_page_written(inode, pos >> PAGE_SHIFT);
		pos += n;
		done += n;
	}
	return done;
}

/* Bytes of the whole pages from @pos (at most @count) homed here. */
static size_t local_run(struct inode *inode, loff_t pos, size_t count)
{
	pgoff_t i = pos >> PAGE_SHIFT, end = i + (count >> PAGE_SHIFT), j;

	for (j = i; j < end && homed_here(inode, j); j++)
		;
	return (size_t)(j - i) << PAGE_SHIFT;
}

/* The next @n bytes of @from written through the pages at @pos. */
static ssize_t write_some(struct inode *inode, loff_t pos,
			  struct iov_iter *from, size_t n)
{
	size_t rest = iov_iter_count(from) - n;
	ssize_t ret;

	iov_iter_truncate(from, n);
	ret = write_pages(inode, pos, from);
	iov_iter_reexpand(from, iov_iter_count(from) + rest);
	return ret;
}

/*
 * Writes @from at @pos: if it is long enough, its runs of whole pages
 * homed elsewhere pushed home (write_push(), which sets @far), those
 * homed here (a striped file) and the head of its first page written
 * here in between; the rest through the pages. The bytes written, or
 * -errno if none was.
 */
static ssize_t write_data(struct inode *inode, loff_t pos,
			  struct iov_iter *from, loff_t *far)
{
	size_t done = 0, n;
	ssize_t ret;

	*far = 0;
	if (!push_fits(inode, pos, iov_iter_count(from)))
		goto pages;
	n = offset_in_page(pos) ? PAGE_SIZE - offset_in_page(pos) : 0;
	for (;;) {
		/* the head of a first page, runs homed here: here */
		if (n) {
			ret = write_some(inode, pos + done, from, n);
			if (ret <= 0)
				return done ?: ret;
			done += ret;
			if (ret < n)
				return done;
		}
		done += write_push(inode, pos + done, from, far);
		n = local_run(inode, pos + done, iov_iter_count(from));
		if (!n)
			break;	/* the tail, a fault, or a call that failed */
	}
	if (done)	/* what follows is sequential */
		KDFS_I(inode)->wb_pos = pos + done;
	if (!iov_iter_count(from))
		return done;
pages:
	write_ahead(inode, pos + done, iov_iter_count(from));
	ret = write_pages(inode, pos + done, from);
	if (ret > 0)
		write_behind(inode, pos + done, ret, !done);
	if (ret < 0)
		return done ?: ret;
	return done + ret;
}

/*
 * RLIMIT_FSIZE (with SIGXFSZ) and the largest file: -EFBIG at @pos, else
 * @count cut to fit (generic_write_check_limits(), not exported).
 */
static int write_limits(loff_t pos, loff_t *count)
{
	loff_t limit = rlimit(RLIMIT_FSIZE);

	if (limit != RLIM_INFINITY) {
		if (pos >= limit) {
			send_sig(SIGXFSZ, current, 0);
			return -EFBIG;
		}
		*count = min(*count, limit - pos);
	}
	if (pos >= KDFS_MAX_FILE_SIZE)
		return -EFBIG;
	*count = min(*count, KDFS_MAX_FILE_SIZE - pos);
	return 0;
}

/*
 * Pages pushed past the size and past what the write reports (a call
 * failed, the calls after it went through, and the write through the
 * pages that followed stopped short): dropped and cut from the data
 * file, as a truncate does, so that the file never grows over them.
 */
static void drop_unwritten(struct inode *inode, struct kdfs_iobj *io,
			   loff_t far)
{
	struct kdfs_layout l = kdfs_lay(inode->i_ino, io);
	loff_t whole = round_up(io->size, PAGE_SIZE);
	int ret = 0, err;

	/* each step even if one before failed: the size is final */
	if (whole > io->size)
		ret = kdfs_truncate_pages(inode->i_ino, &l, io->size, whole);
	if (far > whole) {
		err = kdfs_truncate_pages(inode->i_ino, &l, whole, far);
		ret = ret ?: err;
	}
	err = kdfs_cut_data(inode->i_ino, io, io->size);
	ret = ret ?: err;
	if (ret)
		pr_warn_ratelimited("inode %lx: bytes past the size after a failed write stay at its home (%d)\n",
				    inode->i_ino, ret);
}

/* One pass of a write, the inode held; see kdfs_write_iter(). */
static ssize_t write_once(struct kiocb *iocb, struct iov_iter *from,
			  bool first)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct kdfs_iobj *io;
	loff_t pos, end, far, count = iov_iter_count(from);
	ssize_t ret;

	io = kdfs_iobj_grab(inode->i_ino);
	if (IS_ERR(io))
		return PTR_ERR(io);
	pos = iocb->ki_flags & IOCB_APPEND ? io->size : iocb->ki_pos;
	ret = write_limits(pos, &count);
	if (!ret && pos + count > io->size)
		ret = kdfs_cut_pending(inode->i_ino, io);
	if (ret)
		goto out;
	iov_iter_truncate(from, count);
	/* a write by others than root drops set-id bits, as file_remove_privs */
	if (first && (io->mode & (S_ISUID | S_ISGID)) && !capable(CAP_FSETID))
		io->mode &= ~(S_ISUID | ((io->mode & 0010) ? S_ISGID : 0));
	ret = write_data(inode, pos, from, &far);
	if (ret > 0) {
		end = pos + ret;
		if (end > io->size)
			io->size = end;
		kdfs_touch(io, true);
		iocb->ki_pos = end;
	}
	if (far > io->size)
		drop_unwritten(inode, io, far);
out:
	kdfs_fill_inode(inode, io);
	kdfs_iobj_put(inode->i_ino);
	return ret;
}

/*
 * A write holds the inode object for its length (O_APPEND takes the size
 * it then holds), except where the source needs a fault: that is taken
 * with nothing held, and the write goes on.
 */
static ssize_t kdfs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t ret, total = 0;
	size_t want;

	for (;;) {
		ret = write_once(iocb, from, !total);
		if (ret < 0 || !iov_iter_count(from))
			break;
		total += ret;
		want = min_t(size_t, iov_iter_count(from), PAGE_SIZE);
		if (fault_in_iov_iter_readable(from, want) == want) {
			ret = -EFAULT;
			break;
		}
	}
	if (ret > 0)
		total += ret;
	if (total && (iocb->ki_flags & IOCB_DSYNC)) {
		int err = kdfs_fsync_inode(inode);

		if (err)
			return err;
	}
	return total ?: ret;
}

#define SYNC_CHUNK	512	/* pages written back at once */

/*
 * At the home: page objects @id..@id+@n-1 of @set (consecutive pages of
 * one file, homed here) stored in runs, one write each, straight from
 * the page objects (@bv: room for KDFS_STORE_RUN), as a write per page
 * costs the backing file system a journal handle each (a time update);
 * pages that exist nowhere (holes) are skipped. A run's pages stay frozen
 * until it is written: nothing changes them meanwhile, and kDDM knows
 * they are stored (its cache bound need not write them again). 0 or the
 * first error.
 */
int kdfs_store_range(struct kddm_set *set, u64 id, unsigned int n,
		     struct bio_vec *bv)
{
	u64 ino = kdfs_page_ino(set, id);
	pgoff_t first = kdfs_page_index(id);
	unsigned int i = 0, k, j;
	u64 start;
	int ret = 0, err;

	while (i < n) {
		start = id + i;
		for (k = 0; i < n && k < KDFS_STORE_RUN; k++, i++) {
			void *p = kddm_get_object_no_ft(set, id + i);

			if (IS_ERR(p)) {
				err = kdfs_errno(PTR_ERR(p));
				if (err != -ENOENT)
					ret = ret ?: err;
				i++;
				break;
			}
			kdfs_page_protect(set, id + i, p);
			bv[k] = (struct bio_vec) {
				.bv_page = virt_to_page(p),
				.bv_len = PAGE_SIZE,
			};
		}
		if (!k)
			continue;
		err = kdfs_store_pagev(ino, first + (start - id), bv, k);
		for (j = 0; j < k; j++) {
			if (!err)
				kddm_object_stored(set, start + j);
			kddm_put_object(set, start + j);
		}
		ret = ret ?: err;
	}
	return ret;
}

/*
 * Elsewhere than the home: the home stores pages @first..@first+@n-1 of
 * @inode, all homed on one node (one call, which also fetches any
 * another node holds now; those this node wrote were pushed back
 * already). 0 or -errno.
 */
static int store_at_home(struct inode *inode, pgoff_t first, unsigned int n)
{
	const struct kdfs_layout *l = &KDFS_I(inode)->lay;
	struct kdfs_call c = {
		.op = cpu_to_le32(KDFS_CALL_STORE),
		.count = cpu_to_le32(n),
		.arg = cpu_to_le64(first),
	};

	/* in spages, the first page's id; in pages, page 0's */
	return kdfs_call(kdfs_pset(l),
			 kdfs_pid(inode->i_ino, l, l->nodes ? first : 0), &c);
}

/* Here, pages @first..@first+@n-1 of @inode stored (@run: room, or NULL). */
static int store_here(struct inode *inode, pgoff_t first, unsigned int n,
		      struct bio_vec *run)
{
	struct bio_vec *bv = run;
	int ret;

	if (!bv)
		bv = kmalloc_array(KDFS_STORE_RUN, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return -ENOMEM;
	ret = kdfs_store_range(pset(inode), pid(inode, first), n, bv);
	if (bv != run)
		kfree(bv);
	return ret;
}

/*
 * Pages @idx[0..n) (ascending) written back at their homes, a run of
 * up to @max consecutive ones with one home at a time (stored here if
 * that is this node, with @run if not NULL; else a call each); a hole (no
 * page object) is fine. Those of a run that failed are marked again.
 */
static int store_runs(struct inode *inode, const pgoff_t *idx,
		      unsigned int n, unsigned int max, struct bio_vec *run)
{
	const struct kdfs_layout *l = &KDFS_I(inode)->lay;
	unsigned int i = 0, k, j;
	int ret = 0, err;
	u32 home;

	while (i < n) {
		home = kdfs_page_home(inode->i_ino, l, idx[i]);
		for (k = 1; i + k < n && k < max &&
		     idx[i + k] == idx[i] + k &&
		     kdfs_page_home(inode->i_ino, l, idx[i + k]) == home; k++)
			;
		if (home == kdfs_this->node)
			err = store_here(inode, idx[i], k, run);
		else
			err = store_at_home(inode, idx[i], k);
		if (err)
			for (j = 0; j < k; j++)
				kdfs_page_written(inode, idx[i + j]);
		ret = ret ?: err;
		i += k;
	}
	return ret;
}

/* Elsewhere than the home: the calls that store a chunk, on a worker. */
struct store_job {
	struct work_struct work;
	struct inode *inode;
	pgoff_t idx[SYNC_CHUNK];
	unsigned int n;
	int ret;
};

static void store_job_fn(struct work_struct *w)
{
	struct store_job *job = container_of(w, struct store_job, work);

	job->ret = store_runs(job->inode, job->idx, job->n, KDFS_STORE_RUN,
			      NULL);
}

/*
 * Write-behind: the pages a sequential writer sent home, SYNC_CHUNK at a
 * time, stored there by a worker while the writer goes on (as a server
 * writes back what an NFS client sent before its COMMIT). A page's mark
 * goes from PUSHED to STORING while the worker stores it, and away once
 * stored; a page written again meanwhile is marked WRITTEN again, and one
 * whose store failed too. fsync stores every marked page itself, STORING
 * ones included: what it returns never depends on the worker.
 */
struct kdfs_wb {
	struct mutex lock;		/* idx, n, and queueing the job */
	struct store_job job;		/* the chunk being stored */
	pgoff_t idx[SYNC_CHUNK];	/* sent, for the next chunk */
	unsigned int n;
};

static void wb_store_fn(struct work_struct *w)
{
	struct store_job *job = container_of(w, struct store_job, work);
	struct xarray *marks = &KDFS_I(job->inode)->dirty_pages;
	unsigned int i;
	int ret;

	for (i = 0; i < job->n; i++)
		xa_cmpxchg(marks, job->idx[i], KDFS_PUSHED, KDFS_STORING,
			   GFP_NOFS);
	/* a failed run's pages are marked WRITTEN again */
	ret = store_runs(job->inode, job->idx, job->n, KDFS_STORE_CALL, NULL);
	for (i = 0; i < job->n; i++)
		xa_cmpxchg(marks, job->idx[i], KDFS_STORING, NULL, GFP_NOFS);
	if (ret)
		pr_warn_ratelimited("inode %lx: storing written pages at their home failed (%d), fsync tries again\n",
				    job->inode->i_ino, ret);
}

static struct kdfs_wb *kdfs_wb_get(struct kdfs_inode *ki)
{
	struct kdfs_wb *wb = READ_ONCE(ki->wb), *old;

	if (wb)
		return wb;
	wb = kzalloc(sizeof(*wb), GFP_NOFS);
	if (!wb)
		return NULL;
	mutex_init(&wb->lock);
	INIT_WORK(&wb->job.work, wb_store_fn);
	wb->job.inode = &ki->vfs;
	old = cmpxchg(&ki->wb, NULL, wb);
	if (old) {
		kfree(wb);
		return old;
	}
	return wb;
}

/*
 * Page @index of @inode was sent home by write_behind(): stored there
 * with the next full chunk (no memory: at fsync, as marked).
 */
static void wb_store_later(struct inode *inode, pgoff_t index)
{
	struct kdfs_wb *wb = kdfs_wb_get(KDFS_I(inode));

	if (!wb)
		return;
	mutex_lock(&wb->lock);
	wb->idx[wb->n++] = index;
	if (wb->n == SYNC_CHUNK) {
		flush_work(&wb->job.work);	/* the home keeps up */
		memcpy(wb->job.idx, wb->idx, sizeof(wb->idx));
		wb->job.n = wb->n;
		wb->n = 0;
		queue_work(system_unbound_wq, &wb->job.work);
	}
	mutex_unlock(&wb->lock);
}

/*
 * Before fsync: the chunk being stored, stored (fsync would store its
 * pages again); the next one left to fsync, which stores what is marked.
 */
static void wb_wait(struct kdfs_inode *ki)
{
	struct kdfs_wb *wb = READ_ONCE(ki->wb);

	if (!wb)
		return;
	mutex_lock(&wb->lock);
	flush_work(&wb->job.work);
	wb->n = 0;
	mutex_unlock(&wb->lock);
}

/*
 * At eviction: a chunk may still be stored (a write that raced with an
 * fsync leaves one after the last close), and it uses the inode.
 */
void kdfs_wb_free(struct inode *inode)
{
	struct kdfs_wb *wb = KDFS_I(inode)->wb;

	if (!wb)
		return;
	flush_work(&wb->job.work);
	kfree(wb);
	KDFS_I(inode)->wb = NULL;
}

struct sync_buf {
	pgoff_t idx[SYNC_CHUNK];
	bool mine[SYNC_CHUNK];	/* written here, not sent home yet */
	struct bio_vec *run;	/* at the home: KDFS_STORE_RUN pages */
	struct store_job *job;	/* elsewhere: the last chunk's calls */
};

/* The last chunk's calls done (if any were made); their result. */
static int store_job_wait(struct sync_buf *b)
{
	int ret;

	if (!b->job)
		return 0;
	flush_work(&b->job->work);
	ret = b->job->ret;
	b->job->ret = 0;
	return ret;
}

/*
 * Pages @b->idx[0..n) (ascending) written back at their home. Elsewhere
 * than the home, the pages written here go back first, all of them (a
 * one-way flush each, with the data, many to a datagram); then, while a
 * worker has the home store them (a call per run), the next chunk's
 * stream to it: the wire and the home's disk work at once.
 */
static int sync_chunk(struct inode *inode, struct sync_buf *b, unsigned int n)
{
	unsigned int j;
	int ret;

	if (b->run)
		return store_runs(inode, b->idx, n, KDFS_STORE_RUN, b->run);
	for (j = 0; j < n; j++)
		if (b->mine[j] && !homed_here(inode, b->idx[j]))
			kddm_flush_object_flags(pset(inode),
						pid(inode, b->idx[j]),
						KDDM_BATCH);
	kddm_send_batched();
	ret = store_job_wait(b);
	memcpy(b->job->idx, b->idx, n * sizeof(b->idx[0]));
	b->job->n = n;
	b->job->inode = inode;
	queue_work(system_unbound_wq, &b->job->work);
	return ret;
}

/*
 * The pages written here since the last sync, written back at their home
 * (where the inode's sync then makes them durable). If another node has
 * the file open, every page below the size: its writes are this fsync's
 * too.
 */
static int sync_pages(struct inode *inode)
{
	struct kdfs_inode *ki = KDFS_I(inode);
	unsigned long index;
	struct sync_buf *b;
	unsigned int n = 0;
	pgoff_t i, end;
	int ret = 0, err;
	void *entry;

	wb_wait(ki);
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	/* at the home, room for a run (else each call makes its own) */
	if (all_here(inode))
		b->run = kmalloc_array(KDFS_STORE_RUN, sizeof(*b->run),
				       GFP_KERNEL);
	else
		b->job = kzalloc(sizeof(*b->job), GFP_KERNEL);
	if (!b->run && !b->job) {
		kfree(b);
		return -ENOMEM;
	}
	if (b->job)
		INIT_WORK(&b->job->work, store_job_fn);
	if (kdfs_this->node > 64 || ki->all_dirty ||
	    (ki->open_nodes & ~BIT_ULL(kdfs_this->node - 1))) {
		bool all = ki->all_dirty;

		ki->all_dirty = false;
		end = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);
		for (i = 0; i < end && !ret; i++) {
			b->mine[n] = xa_erase(&ki->dirty_pages, i) ==
				     KDFS_WRITTEN || all;
			b->idx[n++] = i;
			if (n == SYNC_CHUNK || i + 1 == end) {
				ret = sync_chunk(inode, b, n);
				n = 0;
			}
		}
		err = store_job_wait(b);
		ret = ret ?: err;
		if (ret)
			ki->all_dirty = true;
		goto out;
	}
	xa_for_each(&ki->dirty_pages, index, entry) {
		xa_erase(&ki->dirty_pages, index);
		b->mine[n] = entry == KDFS_WRITTEN;	/* else sent already */
		b->idx[n++] = index;
		if (n < SYNC_CHUNK)
			continue;
		err = sync_chunk(inode, b, n);
		ret = ret ?: err;
		n = 0;
	}
	if (n) {
		err = sync_chunk(inode, b, n);
		ret = ret ?: err;
	}
	err = store_job_wait(b);
	ret = ret ?: err;
out:
	kfree(b->run);
	kfree(b->job);
	kfree(b);
	return ret;
}

/* What was written here, data then inode, durable at the homes. */
int kdfs_fsync_inode(struct inode *inode)
{
	int ret = kdfs_refresh(inode);

	if (ret)
		return ret;
	KDFS_I(inode)->dirty = false;
	ret = sync_pages(inode);
	if (!ret)
		ret = kdfs_sync_meta(inode->i_ino);
	if (ret)
		KDFS_I(inode)->dirty = true;
	return ret;
}

/*
 * The file's data and inode, then every change marked on this node (its
 * name among them), as a journal commit makes a new file's name durable.
 */
static int kdfs_fsync(struct file *file, loff_t start, loff_t end,
		      int datasync)
{
	int ret = kdfs_fsync_inode(file_inode(file));
	int err = kdfs_meta_flush();

	return ret ?: err;
}

static loff_t kdfs_llseek(struct file *file, loff_t offset, int whence)
{
	if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE) {
		int ret = kdfs_refresh(file_inode(file));

		if (ret)
			return ret;
	}
	return generic_file_llseek(file, offset, whence);
}

/* Mode 0 only: the size grows (the pages read as zeros until written). */
static long kdfs_fallocate(struct file *file, int mode, loff_t offset,
			   loff_t len)
{
	struct inode *inode = file_inode(file);
	struct kdfs_iobj *io;
	loff_t end;

	if (mode & ~FALLOC_FL_KEEP_SIZE)
		return -EOPNOTSUPP;
	if (check_add_overflow(offset, len, &end) || end > KDFS_MAX_FILE_SIZE)
		return -EFBIG;
	if (mode & FALLOC_FL_KEEP_SIZE)
		return 0;
	io = kdfs_iobj_grab(inode->i_ino);
	if (IS_ERR(io))
		return PTR_ERR(io);
	if (end > io->size) {
		int ret = kdfs_cut_pending(inode->i_ino, io);

		if (ret) {
			kdfs_iobj_put(inode->i_ino);
			return ret;
		}
		io->size = end;
		kdfs_touch(io, true);
	}
	kdfs_fill_inode(inode, io);
	kdfs_iobj_put(inode->i_ino);
	return kdfs_meta_dirty(inode->i_ino);
}

static long kdfs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case KDFS_IOC_RELINK:
		return kdfs_relink(file);
	default:
		return -ENOTTY;
	}
}

const struct file_operations kdfs_file_fops = {
	.owner = THIS_MODULE,
	.open = kdfs_open,
	.release = kdfs_release,
	.llseek = kdfs_llseek,
	.read_iter = kdfs_read_iter,
	.write_iter = kdfs_write_iter,
	.fsync = kdfs_fsync,
	.fallocate = kdfs_fallocate,
	.lock = kdfs_lock,
	.flock = kdfs_flock,
	.setlease = simple_nosetlease,	/* a lease would hold on one node */
	.mmap = kdfs_file_mmap,
	.unlocked_ioctl = kdfs_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.splice_read = kddm_splice_read,
	/* sendfile() and splice() into a kdfs file go through write_iter */
	.splice_write = iter_file_splice_write,
};
