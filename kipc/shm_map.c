// SPDX-License-Identifier: GPL-2.0
/*
 * kipc shared memory pages: a segment attached on a node is a mapping of
 * the misc device /dev/kipc at offset shmid << KIPC_SHM_PG_BITS pages (so
 * that CRIU can dump and restore the attachment as a device mapping, see
 * Documentation/migrate), or, where /dev/kipc cannot be opened, of a
 * module-owned file on a private pseudo file system. Either way the vma
 * holds the segment's inode on this node (vm_private_data: its size and
 * shmid). Its pages are kDDM objects (set KIPC_SET_SHM_PAGES, object id =
 * shmid << 32 | page index, home = the segment's creator).
 *
 * A read fault gets the page (read copy) and maps it read-only; a write
 * faults grabs it (so every other copy in the cluster is invalidated) and
 * makes it writable. When kDDM drops, ships or replaces a local copy, the
 * page is first unmapped from every local mapping, so that the next access
 * faults and asks kDDM again. A generation count in page->private, bumped
 * under the page lock at each unmap, closes the race between a fault that
 * got the page and an invalidation that came before its PTE was installed.
 * Its low bit says whether a PTE may be writable: a copy shipped while no
 * PTE is writable need not be unmapped (nobody can change it), only its
 * generation moves, so that a write fault in flight starts again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/nsproxy.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "hook.h"
#include "kipc.h"

#define KIPC_SHM_MAGIC	0x4b495053

static struct vfsmount *kipc_mnt;
static struct inode *dev_mapping;	/* every open /dev/kipc's mapping */
static struct kddm_set *pages_set;
static DEFINE_XARRAY(seg_inodes);	/* shmid -> this node's inode */
static DEFINE_MUTEX(seg_mutex);

/*
 * Migratory pages. A page that this node wrote the last time it held it
 * ("writer hint") is grabbed, not got, on a read fault: the read is most
 * likely followed by a write (a flag, a counter, a lock word passed
 * between nodes), and the write then costs no second transaction. The
 * grabbed page stays frozen ("held") until the faulting task had time to
 * use it: until its write has landed (the store's single step, see
 * shm_step.c, or polling), at most hold_us.
 * Remote requests wait meanwhile; without the hold, a node spinning on
 * the page would take it back before the task that faulted could touch
 * it, and the page would bounce between the nodes without progress.
 */
static unsigned int hold_us = 1000;
module_param(hold_us, uint, 0644);
MODULE_PARM_DESC(hold_us, "longest hold of a page grabbed on a read fault (us), 0: never grab on read");
static unsigned int hold_min_us = 100;
module_param(hold_min_us, uint, 0644);
MODULE_PARM_DESC(hold_min_us, "hold of a page after a fault that maps it (us)");
static unsigned int hold_poll_us = 20;
module_param(hold_poll_us, uint, 0644);
MODULE_PARM_DESC(hold_poll_us, "period of the checks whether a held page was written (us)");

struct kipc_page {
	struct page *page;
	u64 objid;
	struct hrtimer timer;		/* next poll of the hold */
	struct work_struct poll;	/* polls and ends the hold */
	ktime_t deadline;		/* end of the hold at the latest */
	u8 *snap;			/* content at the write fault */
	bool write;			/* held grabbed (else got) */
	bool migratory;			/* grabbed on a read fault */
	bool wrote;			/* written during the hold */
	bool stepped;			/* ends when a store traps */
};

static DEFINE_XARRAY(writer_hints);	/* objid -> value 1 */
static DEFINE_XARRAY_FLAGS(holds, XA_FLAGS_LOCK_IRQ);	/* objid -> kp */
static atomic_t nr_holds = ATOMIC_INIT(0);
static struct workqueue_struct *hold_wq;
static DECLARE_WAIT_QUEUE_HEAD(holds_wq);

static const struct vm_operations_struct kipc_vm_ops;

static u64 page_objid(int shmid, pgoff_t pgoff)
{
	return (u64)(u32)shmid << 32 | (u32)pgoff;
}

#define KP_WRITABLE	1UL	/* page->private: a PTE may be writable */
#define KP_GEN_STEP	2UL

static unsigned long page_gen(struct page *page)
{
	return page_private(page) & ~KP_WRITABLE;
}

/*
 * Makes faults in flight retry and, if @all or a PTE may be writable,
 * unmaps the page from every local mapping. Called with the page locked.
 */
static void shoot(u64 objid, struct page *page, bool all)
{
	unsigned long priv = page_private(page);
	struct inode *inode;

	set_page_private(page, page_gen(page) + KP_GEN_STEP);
	if (!all && !(priv & KP_WRITABLE))
		return;
	/* seg_mutex: the inode may be dropped by kipc_shm_pages_remove() */
	mutex_lock(&seg_mutex);
	inode = xa_load(&seg_inodes, (unsigned long)(objid >> 32));
	if (inode)
		unmap_mapping_range(inode->i_mapping,
				    (loff_t)(u32)objid << PAGE_SHIFT,
				    PAGE_SIZE, 1);
	mutex_unlock(&seg_mutex);
	/* and from the mappings of /dev/kipc */
	unmap_mapping_range(dev_mapping->i_mapping,
			    (loff_t)((objid >> 32) << KIPC_SHM_PG_BITS |
				     (u32)objid) << PAGE_SHIFT, PAGE_SIZE, 1);
}

static enum hrtimer_restart hold_timer(struct hrtimer *t);
static void hold_poll(struct work_struct *work);

static void *page_alloc_object(struct kddm_set *set, u64 objid)
{
	struct kipc_page *kp = kzalloc(sizeof(*kp), GFP_KERNEL);

	if (!kp)
		return NULL;
	kp->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!kp->page) {
		kfree(kp);
		return NULL;
	}
	set_page_private(kp->page, 0);
	kp->objid = objid;
	hrtimer_init(&kp->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	kp->timer.function = hold_timer;
	INIT_WORK(&kp->poll, hold_poll);
	return kp;
}

static void page_free_object(struct kddm_set *set, u64 objid, void *data)
{
	struct kipc_page *kp = data;

	/* A fault that got this page before must not map it: gen moves. */
	set_page_private(kp->page, page_gen(kp->page) + KP_GEN_STEP);
	put_page(kp->page);
	kfree(kp);
}

static int page_first_touch(struct kddm_set *set, u64 objid, void *data)
{
	struct kipc_page *kp = data;

	lock_page(kp->page);
	shoot(objid, kp->page, true);
	clear_highpage(kp->page);
	unlock_page(kp->page);
	return 0;
}

static int page_export(struct kddm_set *set, u64 objid, void *data,
		       void *buf, size_t len)
{
	struct kipc_page *kp = data;

	if (len < PAGE_SIZE)
		return -ENOSPC;
	/* No store may land after the copy: write access goes first. */
	lock_page(kp->page);
	shoot(objid, kp->page, false);
	memcpy_from_page(buf, kp->page, 0, PAGE_SIZE);
	unlock_page(kp->page);
	return PAGE_SIZE;
}

static int page_import(struct kddm_set *set, u64 objid, void *data,
		       const void *buf, size_t len)
{
	struct kipc_page *kp = data;

	if (len != PAGE_SIZE)
		return -EINVAL;
	lock_page(kp->page);
	shoot(objid, kp->page, true);
	memcpy_to_page(kp->page, 0, buf, PAGE_SIZE);
	unlock_page(kp->page);
	return 0;
}

static void page_invalidate(struct kddm_set *set, u64 objid, void *data)
{
	struct kipc_page *kp = data;

	lock_page(kp->page);
	shoot(objid, kp->page, true);
	unlock_page(kp->page);
}

static u32 page_home(struct kddm_set *set, u64 objid,
		     const unsigned long *nodes_up)
{
	return kipc_id_node((int)(objid >> 32));
}

static const struct kddm_io_linker_ops page_linker = {
	.name = "kipc_shm_page",
	.owner = THIS_MODULE,
	.alloc_object = page_alloc_object,
	.free_object = page_free_object,
	.first_touch = page_first_touch,
	.export_object = page_export,
	.import_object = page_import,
	.invalidate_object = page_invalidate,
	.default_owner = page_home,
};

/* ---- holds ---- */

/*
 * Ends a hold taken out of the table: puts the object. Nothing arms the
 * timer of a hold out of the table; a poll queued by its last expiry is
 * cancelled (the caller is that poll or waited for it).
 */
static void hold_put(struct kipc_page *kp)
{
	u64 objid = kp->objid;

	hrtimer_cancel(&kp->timer);
	cancel_work(&kp->poll);
	if (kp->migratory && !kp->wrote)
		xa_erase(&writer_hints, (unsigned long)objid);
	kfree(kp->snap);
	kp->snap = NULL;
	/* kp may be freed once put: nothing of it is used afterwards. */
	kddm_put_object(pages_set, objid);
	if (atomic_dec_and_test(&nr_holds))
		wake_up_all(&holds_wq);
}

static int memcmp_page(struct page *page, const void *buf)
{
	void *p = kmap_local_page(page);
	int ret = memcmp(p, buf, PAGE_SIZE);

	kunmap_local(p);
	return ret;
}

static enum hrtimer_restart hold_timer(struct hrtimer *t)
{
	queue_work(hold_wq, &container_of(t, struct kipc_page, timer)->poll);
	return HRTIMER_NORESTART;
}

static void hold_rearm(struct kipc_page *kp, ktime_t now)
{
	ktime_t next = ktime_add_us(now, hold_poll_us);

	hrtimer_start(&kp->timer, ktime_before(next, kp->deadline) ?
		      next : kp->deadline, HRTIMER_MODE_ABS);
}

/*
 * Polls hold @kp: it ends at its deadline or, once the page was written
 * (a snapshot was taken at the write fault), as soon as the content
 * differs from the snapshot: the store that faulted has landed.
 */
static void hold_poll(struct work_struct *work)
{
	struct kipc_page *kp = container_of(work, struct kipc_page, poll);
	unsigned long flags;
	bool done = false;
	ktime_t now;

	xa_lock_irqsave(&holds, flags);
	if (xa_load(&holds, (unsigned long)kp->objid) != kp) {
		xa_unlock_irqrestore(&holds, flags);
		return;		/* ended by hold_write(), which waits for us */
	}
	now = ktime_get();
	if (!ktime_before(now, kp->deadline))
		done = true;
	else if (kp->snap && memcmp_page(kp->page, kp->snap))
		done = true;
	if (done)
		__xa_erase(&holds, (unsigned long)kp->objid);
	else
		hold_rearm(kp, now);
	xa_unlock_irqrestore(&holds, flags);
	if (done)
		hold_put(kp);
}

/*
 * Makes the freeze of @kp (got or grabbed by the caller) a hold of at most
 * hold_us until hold_arm(). Returns false if the page is held already (by
 * another task of this node): the caller puts the object itself.
 */
static bool hold_start(struct kipc_page *kp, bool write, bool migratory)
{
	unsigned long flags;
	int ret;

	xa_lock_irqsave(&holds, flags);
	ret = __xa_insert(&holds, (unsigned long)kp->objid, kp, GFP_ATOMIC);
	if (!ret) {
		atomic_inc(&nr_holds);
		kp->write = write;
		kp->migratory = migratory;
		kp->wrote = false;
		kp->stepped = false;
		kp->deadline = ktime_add_us(ktime_get(), hold_us);
		hrtimer_start(&kp->timer, kp->deadline, HRTIMER_MODE_ABS);
	}
	xa_unlock_irqrestore(&holds, flags);
	return !ret;
}

/*
 * The page of hold @kp is mapped (or could not be): the hold lasts @us
 * more, time for the faulting task to use the page.
 */
static void hold_arm(struct kipc_page *kp, unsigned int us)
{
	unsigned long flags;

	xa_lock_irqsave(&holds, flags);
	if (xa_load(&holds, (unsigned long)kp->objid) == kp) {
		kp->deadline = ktime_add_us(ktime_get(), us);
		hrtimer_start(&kp->timer, kp->deadline, HRTIMER_MODE_ABS);
	}
	xa_unlock_irqrestore(&holds, flags);
}

/*
 * Hold @kp sees a write fault: the store traps once landed (@st, see
 * shm_step.c), else snapshot the page and poll for the store.
 */
static void hold_written_locked(struct kipc_page *kp, u8 **snap,
				struct kipc_step **st)
{
	kp->wrote = true;
	if (*st) {
		kipc_step_arm(*st, kp->objid);
		*st = NULL;
		kp->stepped = true;
		kp->deadline = ktime_add_us(ktime_get(), hold_us);
		hrtimer_start(&kp->timer, kp->deadline, HRTIMER_MODE_ABS);
		return;
	}
	if (*snap && !kp->snap) {
		memcpy_from_page(*snap, kp->page, 0, PAGE_SIZE);
		swap(kp->snap, *snap);
	}
	kp->deadline = ktime_add_us(ktime_get(), hold_us);
	hold_rearm(kp, ktime_get());
}

static void hold_written(struct kipc_page *kp, struct kipc_step **st)
{
	u8 *snap = *st ? NULL : kmalloc(PAGE_SIZE, GFP_KERNEL);
	unsigned long flags;

	xa_lock_irqsave(&holds, flags);
	if (xa_load(&holds, (unsigned long)kp->objid) == kp)
		hold_written_locked(kp, &snap, st);
	xa_unlock_irqrestore(&holds, flags);
	kfree(snap);
}

/*
 * A write fault on @page. If this node holds it grabbed, the write is
 * what the hold waited for: the hold ends when the store has landed (at
 * most hold_us later), and the page is returned locked. If it holds it
 * for read only, that hold ends now (the caller grabs it). Otherwise NULL.
 */
static struct page *hold_write(struct page *page, u64 objid,
			       struct kipc_step **st)
{
	struct kipc_page *kp, *drop = NULL;
	unsigned long flags, gen = 0;
	u8 *snap = *st ? NULL : kmalloc(PAGE_SIZE, GFP_KERNEL);

	xa_lock_irqsave(&holds, flags);
	kp = xa_load(&holds, (unsigned long)objid);
	if (kp && kp->write && kp->page == page) {
		gen = page_gen(page);
		hold_written_locked(kp, &snap, st);
	} else if (kp && !kp->write) {
		__xa_erase(&holds, (unsigned long)objid);
		drop = kp;
		kp = NULL;
	} else {
		kp = NULL;
	}
	xa_unlock_irqrestore(&holds, flags);
	kfree(snap);
	if (drop) {
		hrtimer_cancel(&drop->timer);
		cancel_work_sync(&drop->poll);
		hold_put(drop);
	}
	if (!kp)
		return NULL;
	/* Not shot since it was held: still this node's writable copy. */
	lock_page(page);
	if (page_gen(page) == gen)
		return page;
	unlock_page(page);
	return NULL;
}

/*
 * The store that armed a step on @objid has landed (shm_step.c): its hold
 * ends, if it is still there and was stepped.
 */
void kipc_shm_store_landed(u64 objid)
{
	struct kipc_page *kp;
	unsigned long flags;

	xa_lock_irqsave(&holds, flags);
	kp = xa_load(&holds, (unsigned long)objid);
	if (kp && kp->stepped)
		__xa_erase(&holds, (unsigned long)objid);
	else
		kp = NULL;
	xa_unlock_irqrestore(&holds, flags);
	if (!kp)
		return;
	hrtimer_cancel(&kp->timer);
	cancel_work_sync(&kp->poll);
	hold_put(kp);
}

/* ---- the mapping ---- */

static const struct file_operations kipc_dev_fops;

/* The segment's inode on this node, held by each of its vmas. */
struct inode *kipc_vma_seg(struct vm_area_struct *vma)
{
	return vma->vm_private_data;
}

static int seg_shmid(struct vm_area_struct *vma)
{
	return (int)(long)kipc_vma_seg(vma)->i_private;
}

/* The index in its segment of page @pgoff of @vma's file. */
pgoff_t kipc_vma_page(struct vm_area_struct *vma, pgoff_t pgoff)
{
	if (vma->vm_file->f_op == &kipc_dev_fops)
		return pgoff & KIPC_SHM_PG_MASK;
	return pgoff;
}

/*
 * Gets (or grabs) the page of @vmf, and holds it (see "Holds" above), then
 * returns it referenced and locked, or NULL if an invalidation came before
 * it was locked (the caller retries). A read fault on a page this node
 * wrote the last time it had it grabs it (migratory page).
 */
static struct page *fault_page(struct vm_fault *vmf, bool write,
			       struct kipc_page **held, int *err)
{
	int shmid = seg_shmid(vmf->vma);
	u64 objid = page_objid(shmid, kipc_vma_page(vmf->vma, vmf->pgoff));
	bool migratory = false;
	struct kipc_page *kp;
	struct page *page;
	unsigned long gen;

	if (!write && hold_us && (vmf->vma->vm_flags & VM_WRITE) &&
	    xa_load(&writer_hints, (unsigned long)objid))
		migratory = true;
	kp = write || migratory ? kddm_grab_object(pages_set, objid) :
				  kddm_get_object(pages_set, objid);
	if (IS_ERR(kp)) {
		*err = PTR_ERR(kp);
		return NULL;
	}
	page = kp->page;
	get_page(page);
	gen = page_gen(page);
	/* Until armed once the page is mapped, the hold lasts hold_us. */
	*held = kp;
	if (!hold_start(kp, write || migratory, migratory)) {
		*held = NULL;
		kddm_put_object(pages_set, objid);
	}
	lock_page(page);
	if (page_gen(page) == gen)
		return page;
	unlock_page(page);
	put_page(page);
	return NULL;
}

static vm_fault_t kipc_fault(struct vm_fault *vmf)
{
	struct inode *inode = kipc_vma_seg(vmf->vma);
	pgoff_t index = kipc_vma_page(vmf->vma, vmf->pgoff);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	struct kipc_page *held;
	struct page *page;
	int err = 0, ret;

	if (index >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE))
		return VM_FAULT_SIGBUS;
	do {
		page = fault_page(vmf, write, &held, &err);
		if (err)
			return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	} while (!page);
	/* Read-only PTE: a store faults again into page_mkwrite. */
	ret = vm_insert_page(vmf->vma, vmf->address, page);
	if (held)
		hold_arm(held, held->migratory ? hold_us : hold_min_us);
	unlock_page(page);
	put_page(page);
	if (ret == -ENOMEM)
		return VM_FAULT_OOM;
	return VM_FAULT_NOPAGE;
}

static vm_fault_t kipc_page_mkwrite(struct vm_fault *vmf)
{
	u64 objid = page_objid(seg_shmid(vmf->vma),
			       kipc_vma_page(vmf->vma, vmf->pgoff));
	struct kipc_step *st = kipc_step_alloc(vmf);
	struct kipc_page *held;
	struct page *page;
	vm_fault_t ret = VM_FAULT_LOCKED;
	int err = 0;

	/* This node writes the page: grab it on its next read fault. */
	if (hold_us && !xa_load(&writer_hints, (unsigned long)objid))
		xa_store(&writer_hints, (unsigned long)objid, xa_mk_value(1),
			 GFP_KERNEL);
	page = hold_write(vmf->page, objid, &st);
	if (page)
		goto writable;
	page = fault_page(vmf, true, &held, &err);
	if (err) {
		ret = err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
		goto out;
	}
	if (!page) {
		ret = VM_FAULT_NOPAGE;
		goto out;
	}
	if (held)
		hold_written(held, &st);
	put_page(page);
	if (page != vmf->page) {
		/* The PTE maps an older copy: refault from scratch. */
		unlock_page(page);
		ret = VM_FAULT_NOPAGE;
		goto out;
	}
writable:
	set_page_private(page, page_private(page) | KP_WRITABLE);
out:
	kipc_step_free(st);	/* not armed */
	return ret;
}

bool kipc_is_shm_vma(struct vm_area_struct *vma)
{
	return vma->vm_ops == &kipc_vm_ops;
}

static void kipc_vm_open(struct vm_area_struct *vma)
{
	ihold(kipc_vma_seg(vma));
	kipc_shm_attached(seg_shmid(vma));
}

static void kipc_vm_close(struct vm_area_struct *vma)
{
	kipc_shm_detached(seg_shmid(vma));
	iput(kipc_vma_seg(vma));
}

static const struct vm_operations_struct kipc_vm_ops = {
	.open = kipc_vm_open,
	.close = kipc_vm_close,
	.fault = kipc_fault,
	.page_mkwrite = kipc_page_mkwrite,
};

/*
 * Pages @first.. of @vma become segment @seg's (the caller's reference on
 * @seg goes to the vma), if they are within it.
 */
static int seg_map(struct vm_area_struct *vma, struct inode *seg,
		   pgoff_t first)
{
	u64 pages = DIV_ROUND_UP(i_size_read(seg), PAGE_SIZE);
	int ret = -EINVAL;

	if (first + vma_pages(vma) > pages)
		goto err;
	ret = kipc_shm_attached((int)(long)seg->i_private);
	if (ret)
		goto err;
	kddm_vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND);
	vma->vm_private_data = seg;
	vma->vm_ops = &kipc_vm_ops;
	return 0;
err:
	iput(seg);
	return ret;
}

static int kipc_shm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(file);

	ihold(inode);
	return seg_map(vma, inode, vma->vm_pgoff);
}

static const struct file_operations kipc_shm_fops = {
	.owner = THIS_MODULE,
	.mmap = kipc_shm_mmap,
	.llseek = noop_llseek,
};

static struct inode *seg_inode(int shmid, u64 size);

/*
 * A mapping of /dev/kipc: shmat()'s, or CRIU restoring one. Offset
 * (shmid << KIPC_SHM_PG_BITS) + n pages is page n of segment shmid. Whoever
 * maps it needs the segment's permissions for the access asked for, as
 * shmat() would check them; write or exec that they lack cannot be added
 * later by mprotect().
 *
 * An open file of /dev/kipc belongs to the first segment it maps (shmat()
 * binds it first): an offset of less than 1 << KIPC_SHM_PG_BITS pages is a
 * page of that segment, as remap_file_pages() on an attachment asks for.
 */
static int kipc_dev_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long id = vma->vm_pgoff >> KIPC_SHM_PG_BITS;
	short acc = 0444;
	struct inode *seg;
	u64 size;
	int ret;

	if (!kipc_ns_enabled(current->nsproxy->ipc_ns))
		return -EPERM;
	if (!id) {
		id = (unsigned long)READ_ONCE(file->private_data);
		vma->vm_pgoff |= id << KIPC_SHM_PG_BITS;
	}
	if (!(vma->vm_flags & VM_MAYSHARE) || !id || id > INT_MAX ||
	    (vma->vm_pgoff & KIPC_SHM_PG_MASK) + vma_pages(vma) >
	    KIPC_SHM_PG_MASK + 1)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		acc |= 0222;
	if (vma->vm_flags & VM_EXEC)
		acc |= 0111;
	ret = kipc_shm_access(id, acc, &size);
	if (ret)
		return ret;
	if (kipc_shm_access(id, 0222, &size))
		kddm_vm_flags_clear(vma, VM_MAYWRITE);
	if (kipc_shm_access(id, 0111, &size))
		kddm_vm_flags_clear(vma, VM_MAYEXEC);
	seg = seg_inode(id, size);
	if (IS_ERR(seg))
		return PTR_ERR(seg);
	ret = seg_map(vma, seg, vma->vm_pgoff & KIPC_SHM_PG_MASK);
	if (!ret)
		cmpxchg(&file->private_data, NULL, (void *)id);
	return ret;
}

/*
 * Every open of /dev/kipc, whichever device node, shares one address space,
 * where shoot() finds the mappings of a page (as /dev/mem's opens share
 * iomem_get_mapping()).
 */
static int kipc_dev_open(struct inode *inode, struct file *file)
{
	file->f_mapping = dev_mapping->i_mapping;
	file->private_data = NULL;	/* misc_open()'s: no segment yet */
	return 0;
}

static long kipc_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct kipc_undo_io __user *uio = (void __user *)arg;
	struct kipc_undo_io io;

	if (cmd != KIPC_UNDO_EXPORT && cmd != KIPC_UNDO_IMPORT)
		return -ENOTTY;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&io, uio, sizeof(io)))
		return -EFAULT;
	if (cmd == KIPC_UNDO_IMPORT)
		return kipc_sem_undo_import(&io);
	return kipc_sem_undo_export(&io, &uio->len);
}

static const struct file_operations kipc_dev_fops = {
	.owner = THIS_MODULE,
	.open = kipc_dev_open,
	.unlocked_ioctl = kipc_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = kipc_dev_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice kipc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kipc",
	.fops = &kipc_dev_fops,
	.mode = 0666,
};

/*
 * /dev/kipc opened for shmat() of segment @shmid of @size bytes (the file
 * bound to it), or NULL if it
 * cannot be (not in the caller's /dev, or the segment is too large for the
 * offsets): shmat() then maps a file of our own, which works the same but
 * cannot be checkpointed by CRIU.
 */
struct file *kipc_shm_dev_file(int shmid, u64 size, bool rdonly)
{
	struct file *file;

	struct path path;

	if (DIV_ROUND_UP(size, PAGE_SIZE) > KIPC_SHM_PG_MASK + 1)
		return NULL;
	/* the caller's /dev: only our device is opened (no FIFO, no tty) */
	if (kern_path("/dev/kipc", LOOKUP_FOLLOW, &path))
		return NULL;
	if (!d_is_special(path.dentry) ||
	    !S_ISCHR(d_inode(path.dentry)->i_mode) ||
	    d_inode(path.dentry)->i_rdev != MKDEV(MISC_MAJOR, kipc_dev.minor)) {
		path_put(&path);
		return NULL;
	}
	file = dentry_open(&path, (rdonly ? O_RDONLY : O_RDWR) | O_LARGEFILE |
			   O_NOCTTY, current_cred());
	path_put(&path);
	if (IS_ERR(file))
		return NULL;
	if (file->f_op != &kipc_dev_fops) {
		fput(file);
		return NULL;
	}
	file->private_data = (void *)(unsigned long)shmid;
	return file;
}

static struct inode *seg_inode(int shmid, u64 size)
{
	struct inode *inode;
	void *old;

	mutex_lock(&seg_mutex);
	inode = xa_load(&seg_inodes, (unsigned long)(u32)shmid);
	/* An id used again (by a new segment) keeps nothing of the old. */
	if (inode && i_size_read(inode) != size) {
		xa_erase(&seg_inodes, (unsigned long)(u32)shmid);
		iput(inode);
		inode = NULL;
	}
	if (inode)
		goto out;
	inode = alloc_anon_inode(kipc_mnt->mnt_sb);
	if (IS_ERR(inode))
		goto out;
	inode->i_private = (void *)(long)shmid;
	i_size_write(inode, size);
	old = xa_store(&seg_inodes, (unsigned long)(u32)shmid, inode,
		       GFP_KERNEL);
	if (xa_is_err(old)) {
		iput(inode);
		inode = ERR_PTR(xa_err(old));
	}
out:
	if (!IS_ERR(inode))
		ihold(inode);
	mutex_unlock(&seg_mutex);
	return inode;
}

/* A new open file of segment @shmid (what shmat maps). */
struct file *kipc_shm_file(int shmid, u64 size, bool rdonly)
{
	struct inode *inode = seg_inode(shmid, size);
	struct file *file;
	char name[32];

	if (IS_ERR(inode))
		return ERR_CAST(inode);
	/* The file's last fput drops a reference on its f_op's owner. */
	if (!try_module_get(THIS_MODULE)) {
		iput(inode);
		return ERR_PTR(-ENOENT);
	}
	snprintf(name, sizeof(name), "SYSV-kipc-%d", shmid);
	file = alloc_file_pseudo(inode, kipc_mnt, name,
				 rdonly ? O_RDONLY : O_RDWR, &kipc_shm_fops);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		iput(inode);
	}
	return file;
}

/* The segment is gone: its pages everywhere, and our inode. */
void kipc_shm_pages_remove(int shmid, u64 size)
{
	pgoff_t i, n = DIV_ROUND_UP(size, PAGE_SIZE);
	struct inode *inode;

	for (i = 0; i < n; i++) {
		xa_erase(&writer_hints, (unsigned long)page_objid(shmid, i));
		kddm_remove_object(pages_set, page_objid(shmid, i));
		cond_resched();
	}
	mutex_lock(&seg_mutex);
	inode = xa_erase(&seg_inodes, (unsigned long)(u32)shmid);
	mutex_unlock(&seg_mutex);
	if (inode)
		iput(inode);
}

static int kipc_fs_init(struct fs_context *fc)
{
	return init_pseudo(fc, KIPC_SHM_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type kipc_fs = {
	.name = "kipc_shm",
	.init_fs_context = kipc_fs_init,
	.kill_sb = kill_anon_super,
};

int kipc_shm_map_init(void)
{
	struct kddm_set_attr attr = {
		.linker = "kipc_shm_page",
		.obj_size = PAGE_SIZE,
		.policy = KDDM_OWNER_CUSTOM,
	};
	int ret;

	hold_wq = alloc_workqueue("kipc_shm_hold", WQ_HIGHPRI, 0);
	if (!hold_wq)
		return -ENOMEM;
	ret = kipc_step_init();
	if (ret)
		goto err_wq;
	kipc_mnt = kern_mount(&kipc_fs);
	if (IS_ERR(kipc_mnt)) {
		ret = PTR_ERR(kipc_mnt);
		goto err_step;
	}
	dev_mapping = alloc_anon_inode(kipc_mnt->mnt_sb);
	if (IS_ERR(dev_mapping)) {
		ret = PTR_ERR(dev_mapping);
		goto err_mnt;
	}
	ret = kddm_register_io_linker(&page_linker);
	if (ret)
		goto err_inode;
	pages_set = kddm_open_set(KIPC_SET_SHM_PAGES, &attr);
	if (IS_ERR(pages_set)) {
		ret = PTR_ERR(pages_set);
		goto err_linker;
	}
	ret = misc_register(&kipc_dev);
	if (ret)
		goto err_set;
	return 0;
err_set:
	kddm_put_set(pages_set);
err_linker:
	kddm_unregister_io_linker(&page_linker);
err_inode:
	iput(dev_mapping);
err_mnt:
	kern_unmount(kipc_mnt);
err_step:
	kipc_step_exit();
err_wq:
	destroy_workqueue(hold_wq);
	return ret;
}

void kipc_shm_map_exit(void)
{
	struct inode *inode;
	unsigned long id;

	misc_deregister(&kipc_dev);
	kipc_step_exit();
	/* Holds end by themselves, within hold_us. */
	wait_event(holds_wq, !atomic_read(&nr_holds));
	destroy_workqueue(hold_wq);	/* the last release returned */
	synchronize_rcu();		/* and the last timer callback */
	xa_destroy(&writer_hints);
	kddm_put_set(pages_set);
	kddm_unregister_io_linker(&page_linker);
	xa_for_each(&seg_inodes, id, inode)
		iput(inode);
	xa_destroy(&seg_inodes);
	iput(dev_mapping);
	kern_unmount(kipc_mnt);
}
