// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs data pages and shared mappings. A file's data pages are kDDM
 * objects (set pages); every local copy of one is a whole struct page, so
 * that a mapping of the file maps the copy itself, as kipc's segments do.
 *
 * A read fault gets the page (read copy) and maps it read-only; a store
 * faults again into page_mkwrite, which grabs the page (every other copy
 * in the cluster is invalidated, and unmapped there) and lets the PTE
 * become writable. When kDDM drops, ships, replaces or frees a local copy,
 * the io-linker first unmaps it from every local mapping of the file, so
 * that the next access faults and asks kDDM again: a read on any node
 * after a store on another sees the stored bytes, through read() or a
 * mapping, with no msync.
 *
 * A fault puts the object before it takes the page lock (the coherence
 * engine calls the io-linker with the object locked, and the io-linker
 * takes the page lock: the other order would deadlock). A generation
 * count in page->private, bumped under the page lock at each unmap,
 * tells a fault that an unmap came in between (it starts again). Its low
 * bit says whether a PTE may be writable: a copy shipped while none is
 * need not be unmapped, only its generation moves.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <linux/xarray.h>

#include "kdfs.h"

#define KP_WRITABLE	1UL	/* page->private: a PTE may be writable */
#define KP_GEN_STEP	2UL

static DEFINE_MUTEX(maps_lock);	/* the mapped inodes stay while held */
static DEFINE_XARRAY(mapped);	/* inode number -> inode mapped here */

static unsigned long page_gen(struct page *page)
{
	return page_private(page) & ~KP_WRITABLE;
}

/*
 * Makes faults in flight start again and, if @all or a PTE may be
 * writable, unmaps the page from every local mapping of its file. Called
 * with the page locked. Private copies (a MAP_PRIVATE mapping's COW
 * pages: relocations of a program run from kdfs) stay.
 */
static void shoot(struct kddm_set *set, u64 objid, struct page *page,
		  bool all)
{
	unsigned long priv = page_private(page);
	struct inode *inode;

	set_page_private(page, page_gen(page) + KP_GEN_STEP);
	if (!all && !(priv & KP_WRITABLE))
		return;
	mutex_lock(&maps_lock);
	inode = xa_load(&mapped, kdfs_page_ino(set, objid));
	if (inode)
		unmap_mapping_range(inode->i_mapping,
				    (loff_t)kdfs_page_index(objid) << PAGE_SHIFT,
				    PAGE_SIZE, 0);
	mutex_unlock(&maps_lock);
}

static void shoot_locked(struct kddm_set *set, u64 objid, void *data,
			 bool all)
{
	struct page *page = virt_to_page(data);

	lock_page(page);
	shoot(set, objid, page, all);
	unlock_page(page);
}

/* ---- the io-linker of the pages set ---- */

/* Not zeroed: first touch, reload and import fill it whole, or fail. */
static void *page_alloc(struct kddm_set *set, u64 objid)
{
	struct page *page = alloc_page(GFP_KERNEL);

	if (!page)
		return NULL;
	set_page_private(page, 0);
	return page_address(page);
}

static void page_free(struct kddm_set *set, u64 objid, void *data)
{
	struct page *page = virt_to_page(data);

	/* A fault that got this page must not map it, nor keep it mapped. */
	lock_page(page);
	shoot(set, objid, page, page_mapped(page));
	unlock_page(page);
	put_page(page);
}

static int page_load(struct kddm_set *set, u64 objid, void *data)
{
	struct page *page = virt_to_page(data);
	int ret;

	lock_page(page);
	shoot(set, objid, page, true);
	ret = kdfs_load_page(kdfs_page_ino(set, objid), kdfs_page_index(objid),
			     data);
	unlock_page(page);
	return ret;
}

/*
 * The bytes of a page up to its last non-zero word (at least one word): a
 * page of a new file, or the tail of a short one, travels in a short
 * message, and page_import() zeroes the rest.
 */
static size_t page_used(const void *data)
{
	const u64 *w = data;	/* the same on every node's architecture */
	size_t n = PAGE_SIZE / sizeof(*w);

	while (n > 1 && !w[n - 1])
		n--;
	return n * sizeof(*w);
}

static int page_export(struct kddm_set *set, u64 objid, void *data,
		       void *buf, size_t len)
{
	struct page *page = virt_to_page(data);
	size_t n;

	if (len < PAGE_SIZE)
		return -ENOSPC;
	/* No store may land after the copy: write access goes first. */
	lock_page(page);
	shoot(set, objid, page, false);
	n = page_used(data);
	memcpy(buf, data, n);
	unlock_page(page);
	return n;
}

static int page_import(struct kddm_set *set, u64 objid, void *data,
		       const void *buf, size_t len)
{
	struct page *page = virt_to_page(data);

	if (!len || len > PAGE_SIZE || len % sizeof(u64)) {
		clear_page(data);	/* never what the page held before */
		return -EINVAL;
	}
	lock_page(page);
	shoot(set, objid, page, true);
	memcpy(data, buf, len);
	memset(data + len, 0, PAGE_SIZE - len);
	unlock_page(page);
	return 0;
}

static void page_invalidate(struct kddm_set *set, u64 objid, void *data)
{
	shoot_locked(set, objid, data, true);
}

/*
 * Stores the page; a writable mapping of it here is write-protected first
 * (unmapped), so that a later store faults and marks it written again.
 */
static int page_sync(struct kddm_set *set, u64 objid, void *data)
{
	struct page *page = virt_to_page(data);
	int ret;

	lock_page(page);
	shoot(set, objid, page, false);
	ret = kdfs_store_page(kdfs_page_ino(set, objid), kdfs_page_index(objid),
			      data);
	unlock_page(page);
	return ret;
}

/*
 * Page object @objid, frozen by the caller, is about to be stored from
 * where it is (a home writing back many pages in one write): as
 * page_sync(), a writable mapping of it here is write-protected first.
 * While it stays frozen nothing changes it: a write, or a write fault
 * on a mapping, first grabs it.
 */
void kdfs_page_protect(struct kddm_set *set, u64 objid, void *data)
{
	struct page *page = virt_to_page(data);

	lock_page(page);
	shoot(set, objid, page, false);
	unlock_page(page);
}

/*
 * At the home: pages @first..@first+@n-1 stored (a kdfs_call on page
 * object @objid of @set, the first of them in spages).
 */
static int call_store(struct kddm_set *set, u64 objid, u64 first, u32 n)
{
	struct bio_vec *bv;
	int ret;

	if (!n || n > KDFS_STORE_CALL || first >= 1ULL << KDFS_PAGE_BITS ||
	    n > (1ULL << KDFS_PAGE_BITS) - first)
		return -EINVAL;
	if (kddm_set_uses(set, &kdfs_spage_linker) &&
	    kdfs_page_index(objid) != first)
		return -EINVAL;
	bv = kmalloc_array(min_t(u32, n, KDFS_STORE_RUN), sizeof(*bv),
			   GFP_KERNEL);
	if (!bv)
		return -ENOMEM;
	/* pages of the range homed elsewhere exist nowhere here: skipped */
	ret = kdfs_store_range(set, objid - kdfs_page_index(objid) + first, n,
			       bv);
	kfree(bv);
	return ret;
}

/*
 * At the home: pages @first..@first+@n-1 (homed here, all of them) take
 * the @len bytes of @data, a page each, as a write here would put them
 * (a kdfs_push on page object @objid of @set, the first of them in
 * spages). Their copies elsewhere are invalidated first (the grab).
 * Like every call, one that waited 100 s in the home's queue is refused,
 * before its caller gives up (120 s) and writes the pages through them;
 * only one that started in time and then took 20 s more could land
 * after that.
 */
static int call_write(struct kddm_set *set, u64 objid, u64 first, u32 n,
		      const void *data, size_t len)
{
	u64 id = objid - kdfs_page_index(objid) + first;
	void *page;
	u32 i;

	if (!n || n > KDFS_PUSH_PAGES || len != (size_t)n * PAGE_SIZE ||
	    first >= 1ULL << KDFS_PAGE_BITS ||
	    n > (1ULL << KDFS_PAGE_BITS) - first)
		return -EINVAL;
	if (kddm_set_uses(set, &kdfs_spage_linker) &&
	    kdfs_page_index(objid) != first)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (kdfs_page_obj_home(set, id + i) != kddm_node_id())
			return -EINVAL;
	for (i = 0; i < n; i++, data += PAGE_SIZE) {
		page = kddm_grab_object(set, id + i);
		if (IS_ERR(page))
			return PTR_ERR(page);
		memcpy(page, data, PAGE_SIZE);
		kddm_put_object(set, id + i);
	}
	return 0;
}

/* At the home, for a kdfs_call from any node (check it: it may be hostile). */
static int page_call(struct kddm_set *set, u64 objid, const void *arg,
		     size_t len)
{
	struct kdfs_call c;
	u64 ino;

	bool striped = kddm_set_uses(set, &kdfs_spage_linker);

	if (len < sizeof(c) || kdfs_page_obj_home(set, objid) != kddm_node_id())
		return -EINVAL;
	if (!striped && kdfs_page_index(objid))
		return -EINVAL;
	memcpy(&c, arg, sizeof(c));
	if (le32_to_cpu(c.op) == KDFS_CALL_WRITE)
		return call_write(set, objid, le64_to_cpu(c.arg),
				  le32_to_cpu(c.count), arg + sizeof(c),
				  len - sizeof(c));
	if (len != sizeof(c))
		return -EINVAL;
	ino = kdfs_page_ino(set, objid);
	switch (le32_to_cpu(c.op)) {
	case KDFS_CALL_CUT:
		if (le64_to_cpu(c.arg) > KDFS_MAX_FILE_SIZE)
			return -EINVAL;
		return kdfs_trim_data(ino, le64_to_cpu(c.arg));
	case KDFS_CALL_STORE:
		return call_store(set, objid, le64_to_cpu(c.arg),
				  le32_to_cpu(c.count));
	case KDFS_CALL_FORGET:
		/*
		 * A file's own home forgets its data with its inode. Inode
		 * numbers are never given twice: a freed file's is not used
		 * again.
		 */
		if (!striped || kdfs_ino_node(ino) == kddm_node_id())
			return -EINVAL;
		return kdfs_forget_data(ino);
	}
	return -EINVAL;
}

/* The id a kdfs_call on @ino's data at @node goes to. */
static u64 call_id(u64 ino, const struct kdfs_layout *l, u32 node)
{
	u64 id = kdfs_page_id(ino, 0);

	return l->nodes ? (u64)node << KDFS_STRIPE_SHIFT | id : id;
}

/*
 * The stripe nodes @m of @l (but @skip) called with @c; those that
 * failed.
 */
static u64 call_stripes(u64 ino, const struct kdfs_layout *l, u64 m,
			u32 skip, const struct kdfs_call *c)
{
	u64 failed = 0;
	u32 node;

	for (m &= l->nodes; m; m &= m - 1) {
		node = __ffs64(m) + 1;
		if (node != skip &&
		    kdfs_call(kdfs_spages, call_id(ino, l, node), c))
			failed |= BIT_ULL(node - 1);
	}
	return failed;
}

static u64 cut_stripes(u64 ino, const struct kdfs_layout *l, u64 m, u64 size)
{
	struct kdfs_call c = {
		.op = cpu_to_le32(KDFS_CALL_CUT),
		.arg = cpu_to_le64(size),
	};

	return call_stripes(ino, l, m, 0, &c);
}

/*
 * The data file of @ino cut to @size at its home (each stripe node of a
 * striped file), at once: called with the inode @io grabbed, after the
 * cut pages were removed (those the cache bound had dropped exist only
 * in the data files). A stripe node that misses it (down) is noted in
 * @io: the file grows again only once it has cut (kdfs_cut_pending()),
 * so that its old bytes never come back. 0 or -errno.
 */
int kdfs_cut_data(u64 ino, struct kdfs_iobj *io, u64 size)
{
	struct kdfs_layout l = kdfs_lay(ino, io);
	struct kdfs_call c = {
		.op = cpu_to_le32(KDFS_CALL_CUT),
		.arg = cpu_to_le64(size),
	};
	u64 failed;

	if (!l.nodes)
		return kdfs_call(kdfs_pages, call_id(ino, &l, 0), &c);
	failed = cut_stripes(ino, &l, l.nodes, size);
	if (!failed)
		return 0;
	io->cut_size = io->cut_nodes ? min(io->cut_size, size) : size;
	io->cut_nodes |= failed;
	return -EIO;
}

/*
 * Before striped file @io (grabbed) grows: the stripe nodes a cut missed
 * cut now. 0, or -EIO while one of them still cannot.
 */
int kdfs_cut_pending(u64 ino, struct kdfs_iobj *io)
{
	struct kdfs_layout l = kdfs_lay(ino, io);

	if (!io->cut_nodes)
		return 0;
	if (!l.nodes) {
		io->cut_nodes = 0;	/* damaged: nothing to cut */
		return 0;
	}
	/* cleared on disk with the next write-back of the inode */
	io->cut_nodes = cut_stripes(ino, &l, io->cut_nodes, io->cut_size);
	return io->cut_nodes ? -EIO : 0;
}

/*
 * At the home of striped file @ino, as its inode is stored: the data
 * files on the other stripe nodes cut to the size and durable (an
 * fsync's last step), or, once it is freed, gone. Nothing for a file
 * that is not striped. 0, or -EREMOTEIO if a stripe node failed (the
 * write-back tries again).
 */
int kdfs_stripes_sync(u64 ino, const struct kdfs_iobj *io)
{
	struct kdfs_layout l = kdfs_lay(ino, io);
	struct kdfs_call c = {
		.op = cpu_to_le32(io->mode ? KDFS_CALL_CUT : KDFS_CALL_FORGET),
		.arg = cpu_to_le64(io->size),
	};

	if (!l.nodes)
		return 0;
	if (call_stripes(ino, &l, l.nodes, kddm_node_id(), &c))
		return -EREMOTEIO;
	return 0;
}

/*
 * A kdfs_call on page object @id of @set at its home; -EBUSY (the home
 * has too many write-backs queued) is tried again, as kdfs_sync_many()
 * does.
 */
int kdfs_call(struct kddm_set *set, u64 id, const struct kdfs_call *c)
{
	int tries = 5, ret;

	while ((ret = kddm_call_home(set, id, c, sizeof(*c))) == -EBUSY &&
	       --tries)
		msleep(20);
	return kdfs_errno(ret);
}

/* Custom home policy of the spages set: the node in bits 56..63. */
static u32 page_home(struct kddm_set *set, u64 objid,
		     const unsigned long *nodes_up)
{
	return (u32)(objid >> KDFS_STRIPE_SHIFT);
}

const struct kddm_io_linker_ops kdfs_page_linker = {
	.name = "kdfs_page",
	.owner = THIS_MODULE,
	.alloc_object = page_alloc,
	.free_object = page_free,
	.first_touch = page_load,
	.export_object = page_export,
	.import_object = page_import,
	.invalidate_object = page_invalidate,
	.remove_object = page_invalidate,
	.sync_object = page_sync,
	.reload_object = page_load,
	.home_call = page_call,
};

/* The same for the pages of striped files, homed by bits 56..63. */
const struct kddm_io_linker_ops kdfs_spage_linker = {
	.name = "kdfs_spage",
	.owner = THIS_MODULE,
	.alloc_object = page_alloc,
	.free_object = page_free,
	.first_touch = page_load,
	.export_object = page_export,
	.import_object = page_import,
	.invalidate_object = page_invalidate,
	.remove_object = page_invalidate,
	.sync_object = page_sync,
	.reload_object = page_load,
	.default_owner = page_home,
	.home_call = page_call,
};

/* ---- faults ---- */

/*
 * Gets the page of @vmf (a read copy) and returns it referenced and
 * locked, or NULL if an unmap came before it was locked (the caller
 * retries).
 */
static struct page *fault_page(struct vm_fault *vmf, int *err)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	const struct kdfs_layout *l = &KDFS_I(inode)->lay;
	struct kddm_set *set = kdfs_pset(l);
	u64 id = kdfs_pid(inode->i_ino, l, vmf->pgoff);
	unsigned long gen;
	struct page *page;
	void *data;

	data = kddm_get_object(set, id);
	if (IS_ERR(data)) {
		*err = kdfs_errno(PTR_ERR(data));
		return NULL;
	}
	page = virt_to_page(data);
	get_page(page);
	gen = page_gen(page);
	kddm_put_object(set, id);
	lock_page(page);
	if (page_gen(page) == gen)
		return page;
	unlock_page(page);
	put_page(page);
	return NULL;
}

static vm_fault_t fault_error(int err)
{
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

static vm_fault_t kdfs_vm_fault(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct page *page;
	int err;

	/* The size may have changed on another node: SIGBUS past the end. */
	err = kdfs_refresh(inode);
	if (err)
		return fault_error(err);
	if (vmf->pgoff >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE))
		return VM_FAULT_SIGBUS;
	do {
		page = fault_page(vmf, &err);
		if (err)
			return fault_error(err);
	} while (!page);
	/* Read-only PTE: a store faults again into page_mkwrite. */
	err = vm_insert_page(vmf->vma, vmf->address, page);
	unlock_page(page);
	put_page(page);
	if (err == -ENOMEM)
		return VM_FAULT_OOM;
	return VM_FAULT_NOPAGE;
}

/* A store through a mapping changes the file: mtime and ctime move. */
static int mmap_touch(struct inode *inode)
{
	struct kdfs_iobj *io = kdfs_iobj_grab(inode->i_ino);

	if (IS_ERR(io))
		return PTR_ERR(io);
	kdfs_touch(io, true);
	kdfs_fill_inode(inode, io);
	kdfs_iobj_put(inode->i_ino);
	return 0;
}

/*
 * A page grabbed for a store stays frozen (remote requests wait) for
 * hold_us after the fault, so that the store that faulted lands before
 * another node takes the page back: without it, a node spinning on the
 * page could take it after every write fault, before the write.
 */
static unsigned int hold_us = 1000;
module_param(hold_us, uint, 0644);
MODULE_PARM_DESC(hold_us, "time a page grabbed by a write fault stays here (us)");

struct kdfs_hold {
	struct delayed_work work;
	struct kddm_set *set;
	u64 id;
};

static struct workqueue_struct *hold_wq;
static atomic_t nr_holds = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(holds_wq);

static void hold_end(struct work_struct *w)
{
	struct kdfs_hold *h = container_of(to_delayed_work(w),
					   struct kdfs_hold, work);

	kddm_put_object(h->set, h->id);
	kfree(h);
	if (atomic_dec_and_test(&nr_holds))
		wake_up_all(&holds_wq);
}

/* Grabs the page of @vmf for a store; 0 with @vmf->page locked. */
static vm_fault_t grab_for_store(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	const struct kdfs_layout *l = &KDFS_I(inode)->lay;
	struct kddm_set *set = kdfs_pset(l);
	u64 id = kdfs_pid(inode->i_ino, l, vmf->pgoff);
	struct kdfs_hold *h = kmalloc(sizeof(*h), GFP_KERNEL);
	void *data;

	if (!h)
		return VM_FAULT_OOM;
	data = kddm_grab_object(set, id);
	if (IS_ERR(data)) {
		kfree(h);
		return fault_error(kdfs_errno(PTR_ERR(data)));
	}
	if (virt_to_page(data) != vmf->page) {
		/* The PTE mapped an older copy (unmapped since): refault. */
		kddm_put_object(set, id);
		kfree(h);
		return VM_FAULT_NOPAGE;
	}
	/*
	 * Frozen for write: the engine calls no io-linker on this copy, so
	 * the page lock is only held by faults, which wait on nothing.
	 */
	lock_page(vmf->page);
	set_page_private(vmf->page, page_private(vmf->page) | KP_WRITABLE);
	h->set = set;
	h->id = id;
	INIT_DELAYED_WORK(&h->work, hold_end);
	atomic_inc(&nr_holds);
	queue_delayed_work(hold_wq, &h->work, usecs_to_jiffies(hold_us));
	return 0;
}

static vm_fault_t kdfs_page_mkwrite(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	vm_fault_t ret;
	int err;

	sb_start_pagefault(inode->i_sb);
	err = mmap_touch(inode);
	ret = err ? fault_error(kdfs_errno(err)) : grab_for_store(vmf);
	if (!ret) {
		kdfs_page_written(inode, vmf->pgoff);
		ret = VM_FAULT_LOCKED;
	}
	sb_end_pagefault(inode->i_sb);
	return ret;
}

static const struct vm_operations_struct kdfs_vm_ops = {
	.fault = kdfs_vm_fault,
	.page_mkwrite = kdfs_page_mkwrite,
};

int kdfs_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(file);
	void *old;

	/* no maps_lock: an allocation here may evict an inode (reclaim) */
	old = xa_store(&mapped, inode->i_ino, inode, GFP_KERNEL);
	if (xa_is_err(old))
		return xa_err(old);
	file_accessed(file);
	kddm_vm_flags_set(vma, VM_MIXEDMAP);
	vma->vm_ops = &kdfs_vm_ops;
	return 0;
}

/* Every hold ended (before the sets close). */
void kdfs_mmap_drain(void)
{
	wait_event(holds_wq, !atomic_read(&nr_holds));
}

int kdfs_mmap_init(void)
{
	hold_wq = alloc_workqueue("kdfs_hold", WQ_HIGHPRI, 0);
	return hold_wq ? 0 : -ENOMEM;
}

void kdfs_mmap_exit(void)
{
	destroy_workqueue(hold_wq);
}

/* @inode is evicted: its pages are not unmapped through it any more. */
void kdfs_mmap_forget(struct inode *inode)
{
	mutex_lock(&maps_lock);
	xa_cmpxchg(&mapped, inode->i_ino, inode, NULL, 0);
	mutex_unlock(&maps_lock);
}
