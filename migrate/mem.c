// SPDX-License-Identifier: GPL-2.0
/*
 * kddm_mig.ko: the memory of a moved process as kDDM objects.
 *
 * After CRIU dumped a process on the source node, kddm-migrated exports
 * the page images (files on tmpfs) through /dev/kddm_mig: one kDDM set,
 * io-linker "kddm_mig", objects of KDDM_MIG_CHUNK bytes homed on the
 * source. Object (i << 32 | n) is chunk n of file i; the home fills it
 * from the file at first touch. The process runs again on the destination
 * before any of it moved: the destination's daemon reads objects as the
 * process faults on its memory (userfaultfd) and in the background, until
 * it has every page; then the source destroys the set. The data never
 * changes: objects are only ever read.
 *
 * A set exported while its files are still being written (FILLING: the
 * source's daemon copies the pages out of CRIU's page server after the
 * process runs again) serves a chunk only once the daemon said it is
 * written (FILLED); before that, a read of it fails with EAGAIN and the
 * destination asks again. The home never waits: first touches run on
 * kDDM's receive thread.
 *
 * Both sides bound the copies they keep (kDDM's cache bound): the
 * destination drops what it copied into the process, the source what it
 * served, as the file still holds it. The exports of a file descriptor
 * go with it: if the source's daemon dies, the destination's reads fail,
 * and it kills the process rather than let it run on with missing pages.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <kddm/compat.h>
#include <kddm/kddm.h>
#include <kddm/kddm_mig_mem.h>
#include <kddm/version.h>
#include "mig.h"

#define MIG_LINKER	"kddm_mig"
/* copies kept per set on each side: 16 MiB */
#define MIG_CACHE_CHUNKS	256
/* a file being filled: 64 GiB at most (a bitmap of 128 KiB) */
#define MIG_FILL_MAX_CHUNKS	(1U << 20)

struct mig_fill {
	u32 chunks;
	unsigned long *done;	/* chunks written */
};

/* A frozen (or killed) process's memory as a file of the set (EXPORT_MM). */
struct mig_mmfile {
	struct mm_struct *mm;	/* a reference: its pages stay */
	struct pid *tgid;	/* its process, sealed at SEAL */
	u64 size;
	u32 nr_ext;
	struct kddm_mig_ext *ext;	/* ascending offsets */
};

struct mig_export {
	struct list_head list;	/* in the exporting file's list */
	struct kddm_set *set;
	unsigned int nr;
	spinlock_t fill_lock;
	struct mig_fill *fill;	/* per file, if FILLING; else NULL */
	struct mig_mmfile *mmf;	/* per file, if EXPORT_MM; else NULL */
	/* chunks read before they were written, oldest first (FILLING) */
	u64 wanted[KDDM_MIG_WANTED_MAX];
	unsigned int nr_wanted;
	struct file *files[];
};

/* Under fill_lock: @objid to the exporter's list, unless there already. */
static void mig_want(struct mig_export *e, u64 objid)
{
	unsigned int i;

	for (i = 0; i < e->nr_wanted; i++)
		if (e->wanted[i] == objid)
			return;
	if (e->nr_wanted == KDDM_MIG_WANTED_MAX) {
		/* the oldest goes: its reader asks again */
		memmove(e->wanted, e->wanted + 1,
			sizeof(e->wanted[0]) * (KDDM_MIG_WANTED_MAX - 1));
		e->nr_wanted--;
	}
	e->wanted[e->nr_wanted++] = objid;
}

/*
 * Is chunk @objid written (always, for a set not FILLING)? If not, the
 * exporter hears that it is wanted.
 */
static bool mig_chunk_ready(struct mig_export *e, u64 objid)
{
	u32 idx = objid >> 32, n = (u32)objid;
	bool ready;

	if (!e->fill)
		return true;
	spin_lock(&e->fill_lock);
	ready = n < e->fill[idx].chunks && test_bit(n, e->fill[idx].done);
	if (!ready)
		mig_want(e, objid);
	spin_unlock(&e->fill_lock);
	return ready;
}

/*
 * Read copies the destination's daemon is done with (READ_DROP): they go
 * with its next requests to their home, in the same message.
 */
struct mig_drops {
	u64 set_id;
	unsigned int nr;
	u64 ids[KDDM_MIG_PREFETCH_MAX];
};

struct mig_file {
	struct mutex lock;
	struct list_head exports;
	struct mig_guards guards;
	struct mig_drops drops;	/* under @lock */
};

/*
 * A set outlives its export: kDDM may still run mig_first_touch() for it
 * after kddm_destroy_set() (a request already in hand). The export is
 * unhooked from its set under the write side, and first touches read it
 * under the read side.
 */
static DECLARE_RWSEM(exports_sem);

/* @nr pages of @mm at @addr into @to. */
static int mm_copy(struct mm_struct *mm, unsigned long addr, void *to,
		   unsigned int nr)
{
	struct page *pages[KDDM_MIG_CHUNK / PAGE_SIZE];
	long got, i;

	BUILD_BUG_ON(PAGE_SIZE > KDDM_MIG_CHUNK);
	/* the home never waits: busy (khugepaged, say), the reader asks again */
	if (!mmap_read_trylock(mm))
		return -EAGAIN;
	/* as ptrace reads it: FOLL_FORCE, whatever the area's protection */
	got = kddm_gup_remote(mm, addr, nr, FOLL_FORCE, pages);
	mmap_read_unlock(mm);
	if (got < 0)
		return got;
	for (i = 0; i < got; i++) {
		memcpy_from_page(to + i * PAGE_SIZE, pages[i], 0, PAGE_SIZE);
		put_page(pages[i]);
	}
	return got == nr ? 0 : -EFAULT;
}

/* Bytes [@pos, @pos + KDDM_MIG_CHUNK) of a process's memory file. */
static int mm_chunk(const struct mig_mmfile *f, u64 pos, void *data)
{
	u64 end = pos + KDDM_MIG_CHUNK, done = pos, a, b;
	const struct kddm_mig_ext *x;
	u32 lo = 0, hi = f->nr_ext, mid;
	int ret;

	if (pos >= f->size)
		return -ERANGE;
	while (lo < hi) {	/* the first extent that ends past @pos */
		mid = lo + (hi - lo) / 2;
		if (f->ext[mid].off + f->ext[mid].len <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (x = f->ext + lo; x < f->ext + f->nr_ext && x->off < end; x++) {
		a = max(pos, x->off);
		b = min(end, x->off + x->len);
		memset(data + (done - pos), 0, a - done);	/* a gap */
		ret = mm_copy(f->mm, x->vaddr + (a - x->off), data + (a - pos),
			      (b - a) >> PAGE_SHIFT);
		if (ret)
			return ret;
		done = b;
	}
	memset(data + (done - pos), 0, end - done);
	return 0;
}

/* Home only: chunk n of file i, zero past its end. */
static int mig_first_touch(struct kddm_set *set, u64 objid, void *data)
{
	u32 idx = objid >> 32;
	loff_t pos = (loff_t)(u32)objid * KDDM_MIG_CHUNK;
	struct mig_export *e;
	unsigned int nofs;
	ssize_t n = -EIDRM;

	down_read(&exports_sem);
	e = kddm_set_private(set);
	if (!e)
		goto out;	/* unexported: nothing to read any more */
	n = -EINVAL;
	if (idx >= e->nr)
		goto out;
	if (e->mmf) {
		nofs = memalloc_nofs_save();
		n = mm_chunk(&e->mmf[idx], pos, data);
		memalloc_nofs_restore(nofs);
		goto out;
	}
	n = -ERANGE;
	if (pos >= i_size_read(file_inode(e->files[idx])))
		goto out;
	n = -EAGAIN;	/* not written yet: the reader asks again */
	if (!mig_chunk_ready(e, objid))
		goto out;
	nofs = memalloc_nofs_save();
	n = kernel_read(e->files[idx], data, KDDM_MIG_CHUNK, &pos);
	memalloc_nofs_restore(nofs);
	if (n >= 0) {
		memset(data + n, 0, KDDM_MIG_CHUNK - n);
		n = 0;
	}
out:
	up_read(&exports_sem);
	return n;
}

/* Nothing to write back: the file holds every chunk, unchanged. */
static int mig_sync_object(struct kddm_set *set, u64 objid, void *data)
{
	return 0;
}

/*
 * Chunk buffers kept for the next copies: a pull allocates and frees one
 * per chunk on both sides, and the page allocator zeroes each one it
 * hands out (init_on_alloc), which costs as much as filling it. At most
 * MIG_SPARES, all freed once none was freed for a second.
 */
#define MIG_SPARES	32

static DEFINE_SPINLOCK(spares_lock);
static void *spares[MIG_SPARES];
static unsigned int nr_spares;

static void spares_trim(struct work_struct *work)
{
	void *gone[MIG_SPARES];
	unsigned int i, n;

	spin_lock(&spares_lock);
	n = nr_spares;
	memcpy(gone, spares, n * sizeof(gone[0]));
	nr_spares = 0;
	spin_unlock(&spares_lock);
	for (i = 0; i < n; i++)
		kvfree(gone[i]);
}

static DECLARE_DELAYED_WORK(spares_work, spares_trim);

/* A chunk's storage, not zeroed: its first touch or its import fills it. */
static void *mig_alloc_object(struct kddm_set *set, u64 objid)
{
	void *data = NULL;

	spin_lock(&spares_lock);
	if (nr_spares)
		data = spares[--nr_spares];
	spin_unlock(&spares_lock);
	return data ?: kvmalloc(KDDM_MIG_CHUNK, GFP_KERNEL);
}

static void mig_free_object(struct kddm_set *set, u64 objid, void *data)
{
	spin_lock(&spares_lock);
	if (nr_spares < MIG_SPARES) {
		spares[nr_spares++] = data;
		data = NULL;
	}
	spin_unlock(&spares_lock);
	if (data)
		kvfree(data);
	else
		mod_delayed_work(system_wq, &spares_work, HZ);
}

static int mig_export_object(struct kddm_set *set, u64 objid, void *data,
			     void *buf, size_t len)
{
	if (len < KDDM_MIG_CHUNK)
		return -EMSGSIZE;
	memcpy(buf, data, KDDM_MIG_CHUNK);
	return KDDM_MIG_CHUNK;
}

static int mig_import_object(struct kddm_set *set, u64 objid, void *data,
			     const void *buf, size_t len)
{
	len = min_t(size_t, len, KDDM_MIG_CHUNK);
	memcpy(data, buf, len);
	memset(data + len, 0, KDDM_MIG_CHUNK - len);
	return 0;
}

static const struct kddm_io_linker_ops mig_linker = {
	.name = MIG_LINKER,
	.owner = THIS_MODULE,
	.alloc_object = mig_alloc_object,
	.free_object = mig_free_object,
	.first_touch = mig_first_touch,
	.export_object = mig_export_object,
	.import_object = mig_import_object,
	.sync_object = mig_sync_object,
};

static void export_free(struct mig_export *e)
{
	unsigned int i;

	for (i = 0; i < e->nr; i++) {
		if (e->files[i])
			fput(e->files[i]);
		if (e->fill)
			kvfree(e->fill[i].done);
		if (e->mmf) {
			if (e->mmf[i].mm)	/* a killed process's pages go */
				mmput(e->mmf[i].mm);
			put_pid(e->mmf[i].tgid);
			kvfree(e->mmf[i].ext);
		}
	}
	kfree(e->fill);
	kvfree(e->mmf);
	kfree(e);
}

/* Bitmaps of the chunks written, sized by the files' sizes now. */
static int export_fill_init(struct mig_export *e)
{
	unsigned int i;
	loff_t size;

	e->fill = kcalloc(e->nr, sizeof(*e->fill), GFP_KERNEL);
	if (!e->fill)
		return -ENOMEM;
	for (i = 0; i < e->nr; i++) {
		size = i_size_read(file_inode(e->files[i]));
		if (size > (loff_t)MIG_FILL_MAX_CHUNKS * KDDM_MIG_CHUNK)
			return -EFBIG;
		e->fill[i].chunks = DIV_ROUND_UP(size, KDDM_MIG_CHUNK);
		e->fill[i].done = kvcalloc(BITS_TO_LONGS(e->fill[i].chunks ?: 1),
					   sizeof(unsigned long), GFP_KERNEL);
		if (!e->fill[i].done)
			return -ENOMEM;
	}
	return 0;
}

/* Destroys the set cluster-wide, then lets the files go. */
static void export_end(struct mig_export *e)
{
	down_write(&exports_sem);
	kddm_set_set_private(e->set, NULL);
	up_write(&exports_sem);
	kddm_destroy_set(e->set);
	kddm_put_set(e->set);
	export_free(e);
}

static int export_files(struct mig_export *e, const s32 __user *ufds)
{
	unsigned int i;
	s32 fd;

	for (i = 0; i < e->nr; i++) {
		if (get_user(fd, ufds + i))
			return -EFAULT;
		e->files[i] = fget(fd);
		if (!e->files[i])
			return -EBADF;
		if (!S_ISREG(file_inode(e->files[i])->i_mode) ||
		    !(e->files[i]->f_mode & FMODE_READ))
			return -EINVAL;
	}
	return 0;
}

/* @e's set, made and known to kDDM; its id in *@id. */
static int export_set(struct mig_export *e, u64 *id)
{
	struct kddm_set_attr attr = {
		.linker = MIG_LINKER,
		.obj_size = KDDM_MIG_CHUNK,
		.policy = KDDM_OWNER_FIXED,
	};

	e->set = kddm_create_set(&attr);
	if (IS_ERR(e->set))
		return PTR_ERR(e->set);
	/* nobody knows the set's id yet: no object before this */
	down_write(&exports_sem);
	kddm_set_set_private(e->set, e);
	up_write(&exports_sem);
	kddm_set_cache_limit(e->set, MIG_CACHE_CHUNKS);
	*id = kddm_set_id(e->set);
	return 0;
}

static struct mig_export *export_alloc(u32 nr)
{
	struct mig_export *e = kzalloc(struct_size(e, files, nr), GFP_KERNEL);

	if (e) {
		e->nr = nr;
		spin_lock_init(&e->fill_lock);
	}
	return e;
}

/*
 * @e filled (unless @ret says why not): its set made, the export's
 * argument @ex (@len bytes, its set id at @id) copied back to @arg, and
 * @e listed in @mf's exports. @e is freed on failure.
 */
static long export_publish(struct mig_file *mf, struct mig_export *e,
			   long ret, void __user *arg, const void *ex,
			   size_t len, u64 *id)
{
	if (!ret)
		ret = export_set(e, id);
	if (ret) {
		export_free(e);
		return ret;
	}
	if (copy_to_user(arg, ex, len)) {
		export_end(e);
		return -EFAULT;
	}
	mutex_lock(&mf->lock);
	list_add(&e->list, &mf->exports);
	mutex_unlock(&mf->lock);
	return 0;
}

static long mig_export(struct mig_file *mf, void __user *arg)
{
	struct kddm_mig_export ex;
	struct mig_export *e;
	long ret;

	if (copy_from_user(&ex, arg, sizeof(ex)))
		return -EFAULT;
	if (!ex.nr_files || ex.nr_files > KDDM_MIG_MAX_FILES ||
	    ex.flags & ~KDDM_MIG_EXPORT_FILLING)
		return -EINVAL;
	e = export_alloc(ex.nr_files);
	if (!e)
		return -ENOMEM;
	ret = export_files(e, u64_to_user_ptr(ex.fds));
	if (!ret && ex.flags & KDDM_MIG_EXPORT_FILLING)
		ret = export_fill_init(e);
	return export_publish(mf, e, ret, arg, &ex, sizeof(ex), &ex.set_id);
}

/*
 * Every extent is mapped in the process now, in memory areas of pages:
 * once the move is decided, its pages stay while the module holds its
 * address space (a read fails only for want of memory, or if someone
 * reaps the killed process's memory: process_mrelease(), the OOM reaper).
 */
static int mmfile_mapped(const struct mig_mmfile *f)
{
	const struct vm_area_struct *vma;
	unsigned long addr, end;
	int ret = 0;
	u32 i;

	mmap_read_lock(f->mm);
	for (i = 0; !ret && i < f->nr_ext; i++) {
		addr = f->ext[i].vaddr;
		end = addr + f->ext[i].len;
		while (!ret && addr < end) {
			vma = find_vma(f->mm, addr);
			if (!vma || vma->vm_start > addr ||
			    vma->vm_flags & (VM_IO | VM_PFNMAP))
				ret = -EFAULT;
			else
				addr = vma->vm_end;
		}
	}
	mmap_read_unlock(f->mm);
	return ret;
}

/* A process's memory file, as EXPORT_MM describes it. */
static int mmfile_load(struct mig_mmfile *f, const struct kddm_mig_mm_file *uf)
{
	const struct kddm_mig_ext *x;
	struct task_struct *task;
	struct pid *pid;
	u64 end = 0;
	u32 i;

	if (uf->nr_ext > KDDM_MIG_MAX_EXT ||
	    uf->size > (u64)MIG_FILL_MAX_CHUNKS * KDDM_MIG_CHUNK)
		return -EINVAL;
	f->ext = kvmalloc_array(uf->nr_ext ?: 1, sizeof(*f->ext), GFP_KERNEL);
	if (!f->ext)
		return -ENOMEM;
	if (copy_from_user(f->ext, u64_to_user_ptr(uf->ext),
			   uf->nr_ext * sizeof(*f->ext)))
		return -EFAULT;
	f->nr_ext = uf->nr_ext;
	f->size = uf->size;
	for (i = 0; i < f->nr_ext; i++) {
		x = &f->ext[i];
		if (!x->len || !PAGE_ALIGNED(x->vaddr | x->off | x->len) ||
		    x->off < end || x->off >= f->size ||
		    x->len > f->size - x->off || x->vaddr >= TASK_SIZE_MAX ||
		    x->len > TASK_SIZE_MAX - x->vaddr)
			return -EINVAL;
		end = x->off + x->len;
	}
	/* a process (thread group): its leader, found by its tgid */
	pid = find_get_pid(uf->pid);
	task = pid ? get_pid_task(pid, PIDTYPE_TGID) : NULL;
	if (!task) {
		put_pid(pid);
		return -ESRCH;
	}
	f->tgid = pid;
	f->mm = get_task_mm(task);
	put_task_struct(task);
	return f->mm ? mmfile_mapped(f) : -ESRCH;
}

/*
 * The move is decided, the processes stopped: their death must not
 * write into the memory still to be read (the kernel clears a thread's
 * clear_child_tid word and marks the robust futexes it holds at exit,
 * and the module's reference to the address space makes it do so for
 * every thread): those registrations go first.
 */
static void mmfile_seal(struct mig_mmfile *f)
{
	struct task_struct *leader, *t;

	rcu_read_lock();
	leader = pid_task(f->tgid, PIDTYPE_TGID);
	if (leader) {
		for_each_thread(leader, t) {
			WRITE_ONCE(t->clear_child_tid, NULL);
#ifdef CONFIG_FUTEX
			WRITE_ONCE(t->robust_list, NULL);
#ifdef CONFIG_COMPAT
			WRITE_ONCE(t->compat_robust_list, NULL);
#endif
#endif
		}
	}
	rcu_read_unlock();
}

static long mig_export_mm(struct mig_file *mf, void __user *arg)
{
	struct kddm_mig_export_mm ex;
	struct kddm_mig_mm_file uf;
	struct mig_export *e;
	u32 i, exts = 0;
	long ret = 0;

	if (!capable(CAP_SYS_PTRACE))
		return -EPERM;
	if (copy_from_user(&ex, arg, sizeof(ex)))
		return -EFAULT;
	if (!ex.nr_files || ex.nr_files > KDDM_MIG_MAX_FILES || ex.pad)
		return -EINVAL;
	e = export_alloc(ex.nr_files);
	if (!e)
		return -ENOMEM;
	e->mmf = kvcalloc(e->nr, sizeof(*e->mmf), GFP_KERNEL);
	if (!e->mmf)
		ret = -ENOMEM;
	for (i = 0; !ret && i < e->nr; i++) {
		if (copy_from_user(&uf, u64_to_user_ptr(ex.files) +
				   (size_t)i * sizeof(uf), sizeof(uf)))
			ret = -EFAULT;
		else if (uf.nr_ext > KDDM_MIG_MAX_EXT - exts)
			ret = -E2BIG;	/* extents of all files, bounded */
		else
			ret = mmfile_load(&e->mmf[i], &uf);
		exts += uf.nr_ext;
		cond_resched();
	}
	return export_publish(mf, e, ret, arg, &ex, sizeof(ex), &ex.set_id);
}

/* This file's export of set @id; unhooked from the list with @unhook. */
static struct mig_export *export_find(struct mig_file *mf, u64 id,
				      bool unhook)
{
	struct mig_export *e;

	list_for_each_entry(e, &mf->exports, list) {
		if (kddm_set_id(e->set) == id) {
			if (unhook)
				list_del(&e->list);
			return e;
		}
	}
	return NULL;
}

static long mig_seal(struct mig_file *mf, void __user *arg)
{
	struct mig_export *e;
	long ret = 0;
	u64 id;
	u32 i;

	if (copy_from_user(&id, arg, sizeof(id)))
		return -EFAULT;
	mutex_lock(&mf->lock);
	e = export_find(mf, id, false);
	if (!e)
		ret = -ENOENT;
	else if (!e->mmf)
		ret = -EINVAL;
	else
		for (i = 0; i < e->nr; i++)
			mmfile_seal(&e->mmf[i]);
	mutex_unlock(&mf->lock);
	return ret;
}

static long mig_unexport(struct mig_file *mf, void __user *arg)
{
	struct mig_export *e;
	u64 id;

	if (copy_from_user(&id, arg, sizeof(id)))
		return -EFAULT;
	mutex_lock(&mf->lock);
	e = export_find(mf, id, true);
	mutex_unlock(&mf->lock);
	if (!e)
		return -ENOENT;
	export_end(e);
	return 0;
}

static long mig_wanted(struct mig_file *mf, void __user *arg)
{
	struct kddm_mig_wanted w;
	struct mig_export *e;
	long ret = 0;

	if (copy_from_user(&w, arg, offsetof(struct kddm_mig_wanted, chunks)))
		return -EFAULT;
	if (w.pad)
		return -EINVAL;
	memset(w.chunks, 0, sizeof(w.chunks));
	mutex_lock(&mf->lock);
	e = export_find(mf, w.set_id, false);
	if (!e) {
		ret = -ENOENT;
	} else if (!e->fill) {
		ret = -EINVAL;
	} else {
		spin_lock(&e->fill_lock);
		w.nr = e->nr_wanted;
		memcpy(w.chunks, e->wanted, sizeof(e->wanted[0]) * w.nr);
		e->nr_wanted = 0;
		spin_unlock(&e->fill_lock);
	}
	mutex_unlock(&mf->lock);
	if (!ret && copy_to_user(arg, &w, sizeof(w)))
		ret = -EFAULT;
	return ret;
}

static long mig_filled(struct mig_file *mf, void __user *arg)
{
	struct kddm_mig_filled f;
	struct mig_export *e;
	long ret = 0;

	if (copy_from_user(&f, arg, sizeof(f)))
		return -EFAULT;
	if (f.pad || !f.nr)
		return -EINVAL;
	mutex_lock(&mf->lock);	/* the export stays while we hold it */
	e = export_find(mf, f.set_id, false);
	if (!e) {
		ret = -ENOENT;
	} else if (!e->fill || f.file >= e->nr) {
		ret = -EINVAL;
	} else if (f.first >= e->fill[f.file].chunks ||
		   f.nr > e->fill[f.file].chunks - f.first) {
		ret = -ERANGE;
	} else {
		spin_lock(&e->fill_lock);
		bitmap_set(e->fill[f.file].done, f.first, f.nr);
		spin_unlock(&e->fill_lock);
	}
	mutex_unlock(&mf->lock);
	return ret;
}

/* A set of ours, known to kDDM here or asked of its manager. */
static struct kddm_set *mig_set(u64 id)
{
	struct kddm_set *set = kddm_find_set(id);

	if (IS_ERR(set))
		return set;
	if (!kddm_set_uses(set, &mig_linker) ||
	    kddm_set_obj_size(set) != KDDM_MIG_CHUNK) {
		kddm_put_set(set);
		return ERR_PTR(-EINVAL);
	}
	kddm_set_cache_limit(set, MIG_CACHE_CHUNKS);
	return set;
}

/*
 * The copies @mf's daemon let go, queued for the next message to their
 * home. The list is taken under @mf's lock, the copies let go without
 * it: that may wait for a link.
 */
static void drops_queue(struct mig_file *mf)
{
	struct kddm_set *set;
	struct mig_drops d;
	unsigned int i;

	mutex_lock(&mf->lock);
	d = mf->drops;
	mf->drops.nr = 0;
	mutex_unlock(&mf->lock);
	if (!d.nr)
		return;
	set = mig_set(d.set_id);	/* one of ours, known here */
	if (IS_ERR(set))
		return;
	for (i = 0; i < d.nr; i++)
		kddm_flush_object_flags(set, d.ids[i], KDDM_BATCH);
	kddm_put_set(set);
}

/* Every copy @mf's daemon let go, sent now (the pull ended). */
static void drops_send(struct mig_file *mf)
{
	drops_queue(mf);
	kddm_send_batched();
}

/* Object @id of set @set_id to let go with the next requests. */
static void drops_add(struct mig_file *mf, u64 set_id, u64 id)
{
	struct mig_drops *d = &mf->drops;
	bool added = false;

	while (!added) {
		mutex_lock(&mf->lock);
		if (!d->nr ||
		    (d->set_id == set_id && d->nr < ARRAY_SIZE(d->ids))) {
			d->set_id = set_id;
			d->ids[d->nr++] = id;
			added = true;
		}
		mutex_unlock(&mf->lock);
		if (!added)
			drops_send(mf);	/* full, or another set's: first */
	}
}

/*
 * Chunks [@id, @id + @n) asked for, in one message to their home (its
 * requests leave together, after the copies let go): the background
 * pull's read ahead.
 */
static long mig_prefetch(struct mig_file *mf, struct kddm_set *set, u64 id,
			 u32 n)
{
	long ret = 0;
	u32 i;

	n = n ?: 1;
	/* chunks of one file */
	if (n > KDDM_MIG_PREFETCH_MAX || (u64)(u32)id + n > 1ULL << 32)
		return -EINVAL;
	drops_queue(mf);
	for (i = 0; i < n && !ret; i++)
		ret = PTR_ERR_OR_ZERO(kddm_get_object_flags(set, id + i,
							    KDDM_ASYNC |
							    KDDM_BATCH));
	kddm_send_batched();
	return ret;
}

static long mig_read(struct mig_file *mf, unsigned int cmd,
		     void __user *arg)
{
	struct kddm_mig_read rd;
	struct kddm_set *set;
	long ret = 0;
	void *data;

	if (copy_from_user(&rd, arg, sizeof(rd)))
		return -EFAULT;
	if (cmd == KDDM_MIG_PREFETCH && rd.flags)
		return -EINVAL;
	if (cmd == KDDM_MIG_READ && (rd.flags & ~KDDM_MIG_READ_DROP ||
				     rd.len < KDDM_MIG_CHUNK))
		return -EINVAL;
	set = mig_set(rd.set_id);
	if (IS_ERR(set))
		return PTR_ERR(set);
	if (cmd == KDDM_MIG_PREFETCH) {
		ret = mig_prefetch(mf, set, rd.obj_id, rd.len);
		goto out;
	}
	data = kddm_get_object(set, rd.obj_id);
	if (IS_ERR(data)) {
		ret = PTR_ERR(data);
		goto out;
	}
	if (copy_to_user(u64_to_user_ptr(rd.buf), data, KDDM_MIG_CHUNK))
		ret = -EFAULT;
	kddm_put_object(set, rd.obj_id);
	if (rd.flags & KDDM_MIG_READ_DROP)
		drops_add(mf, rd.set_id, rd.obj_id);
	rd.len = KDDM_MIG_CHUNK;
	if (!ret && copy_to_user(arg, &rd, sizeof(rd)))
		ret = -EFAULT;
out:
	kddm_put_set(set);
	return ret;
}

static long mig_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mig_file *mf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KDDM_MIG_EXPORT:
		return mig_export(mf, uarg);
	case KDDM_MIG_EXPORT_MM:
		return mig_export_mm(mf, uarg);
	case KDDM_MIG_SEAL:
		return mig_seal(mf, uarg);
	case KDDM_MIG_UNEXPORT:
		return mig_unexport(mf, uarg);
	case KDDM_MIG_FILLED:
		return mig_filled(mf, uarg);
	case KDDM_MIG_WANTED:
		return mig_wanted(mf, uarg);
	case KDDM_MIG_GUARD:
		return mig_guard(&mf->guards, uarg);
	case KDDM_MIG_UNGUARD:
		drops_send(mf);	/* the pull is over */
		return mig_unguard(&mf->guards, uarg);
	case KDDM_MIG_READ:
	case KDDM_MIG_PREFETCH:
		return mig_read(mf, cmd, uarg);
	}
	return -ENOTTY;
}

static int mig_open(struct inode *inode, struct file *file)
{
	struct mig_file *mf = kzalloc(sizeof(*mf), GFP_KERNEL);

	if (!mf)
		return -ENOMEM;
	mutex_init(&mf->lock);
	INIT_LIST_HEAD(&mf->exports);
	mig_guards_init(&mf->guards);
	file->private_data = mf;
	return 0;
}

/*
 * The exports of a closed (or dead) daemon go with it, and the processes
 * it guarded (their memory still coming) are killed.
 */
static int mig_release(struct inode *inode, struct file *file)
{
	struct mig_file *mf = file->private_data;
	struct mig_export *e, *tmp;

	drops_send(mf);
	mig_guards_release(&mf->guards);
	list_for_each_entry_safe(e, tmp, &mf->exports, list) {
		list_del(&e->list);
		export_end(e);
	}
	mutex_destroy(&mf->lock);
	kfree(mf);
	return 0;
}

static const struct file_operations mig_fops = {
	.owner = THIS_MODULE,
	.open = mig_open,
	.release = mig_release,
	.unlocked_ioctl = mig_ioctl,
};

static struct miscdevice mig_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kddm_mig",
	.fops = &mig_fops,
	.mode = 0600,
};

static int __init kddm_mig_init(void)
{
	int ret = kddm_register_io_linker(&mig_linker);

	if (ret)
		return ret;
	ret = misc_register(&mig_dev);
	if (ret)
		goto unregister;
	ret = mig_load_init();
	if (ret)
		goto deregister;
	return 0;
deregister:
	misc_deregister(&mig_dev);
unregister:
	kddm_unregister_io_linker(&mig_linker);
	return ret;
}

static void __exit kddm_mig_exit(void)
{
	mig_load_exit();
	misc_deregister(&mig_dev);
	kddm_unregister_io_linker(&mig_linker);
	/* the sets are gone, and their copies with them */
	cancel_delayed_work_sync(&spares_work);
	spares_trim(NULL);
}

module_init(kddm_mig_init);
module_exit(kddm_mig_exit);
MODULE_DESCRIPTION("kDDM: the memory of moved processes as kDDM objects");
MODULE_VERSION(KDDM_VERSION);
MODULE_LICENSE("GPL");
