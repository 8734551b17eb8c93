// SPDX-License-Identifier: GPL-2.0
/*
 * kipc shared memory: shmget, shmat, shmdt, shmctl for the tasks of a
 * cluster-enabled IPC namespace, with the semantics of ipc/shm.c.
 *
 * A segment's metadata is a kDDM object homed on its creator (set
 * KIPC_SET_SHM_META, object id = shmid); its pages live in shm_map.c. The
 * key tables (util.c) list the segments each node created, with their
 * keys and sizes: they resolve keys, give the index order SHM_STAT and
 * ipcs use, and sum up to the cluster-wide totals the limits apply to.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/ipc_namespace.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/shm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <uapi/linux/shm.h>

#include "kipc.h"

/* Mode bits of ipc/shm.c (not in a header the kernel exports). */
#ifndef SHM_DEST
#define SHM_DEST	01000
#define SHM_LOCKED	02000
#endif

struct kddm_set *kipc_shm_meta_set;

/* ---- segments ---- */

static struct kipc_shm_meta *meta_grab_flags(int id, int flags)
{
	struct kipc_shm_meta *m;

	if (id <= 0)
		return ERR_PTR(-EINVAL);
	m = kddm_grab_object_flags(kipc_shm_meta_set, id,
				   KDDM_NO_FT | flags);
	if (IS_ERR(m))
		return ERR_PTR(kipc_id_err(id, PTR_ERR(m)));
	if (!m->exists) {
		kddm_put_object(kipc_shm_meta_set, id);
		return ERR_PTR(-EINVAL);
	}
	return m;
}

static struct kipc_shm_meta *meta_grab(int id)
{
	return meta_grab_flags(id, 0);
}

static void meta_put(int id)
{
	kddm_put_object(kipc_shm_meta_set, id);
}

/* Under the key locks: a new segment, homed here, entered in our table. */
static int newseg(struct kipc_keyget *g, size_t size, int flg)
{
	struct ipc_namespace *ipc = kipc_ns();
	u64 pages = DIV_ROUND_UP((u64)size, PAGE_SIZE);
	struct kipc_shm_meta *m;
	int id, ret;

	if (size < SHMMIN || size > ipc->shm_ctlmax)
		return -EINVAL;
	if (g->total + pages < g->total ||
	    g->total + pages > ipc->shm_ctlall)
		return -ENOSPC;
	if (g->count >= ipc->shm_ctlmni)
		return -ENOSPC;
	/*
	 * No huge pages in the cluster: EPERM without CAP_IPC_LOCK, as the
	 * kernel says (it also admits sysctl vm.hugetlb_shm_group, which a
	 * module cannot read); ENOMEM with it, as the kernel says when no
	 * huge page is reserved.
	 */
	if (flg & SHM_HUGETLB)
		return capable(CAP_IPC_LOCK) ? -ENOMEM : -EPERM;
	id = kipc_new_id(kipc_shm_meta_set, KIPC_SHM, (void **)&m);
	if (id < 0)
		return id;
	memset(m, 0, sizeof(*m));
	m->exists = 1;
	m->key = g->key;
	KIPC_PERM_INIT(m, flg);
	m->size = size;
	m->cpid = task_tgid_vnr(current);
	m->ctime = ktime_get_real_seconds();
	meta_put(id);
	ret = kipc_keys_add(g, id, pages);
	if (!ret)
		return id;
	/* nobody knows the id yet */
	m = meta_grab(id);
	if (!IS_ERR(m)) {
		memset(m, 0, sizeof(*m));
		meta_put(id);
	}
	return ret;
}

long kipc_do_shmget(key_t key, size_t size, int flg)
{
	struct kipc_shm_meta *m;
	struct kipc_keyget g;
	long ret;
	s32 now;

	kipc_keyget_init(&g, KIPC_SHM, key, flg);
	while ((ret = kipc_keyget_next(&g)) == KIPC_KEY_FOUND) {
		/* the segment the key names, if it is still there */
		m = kddm_get_object_no_ft(kipc_shm_meta_set, g.id);
		if (IS_ERR(m)) {
			ret = kipc_keyget_stale(&g, kipc_id_err(g.id,
								PTR_ERR(m)), 0);
			if (ret)
				break;
			continue;
		}
		if (!m->exists || m->key != key) {
			now = m->key;
			ret = m->exists ? 0 : -EINVAL;
			meta_put(g.id);
			kipc_keyget_stale(&g, ret, now);
			continue;
		}
		ret = -EEXIST;
		if (!((flg & IPC_CREAT) && (flg & IPC_EXCL))) {
			ret = kipc_perms(&KIPC_PERM(m), flg);
			if (!ret && m->size < size)
				ret = -EINVAL;
			if (!ret)
				ret = g.id;
		}
		meta_put(g.id);
		break;
	}
	if (ret == KIPC_KEY_CREATE)
		ret = newseg(&g, size, flg);
	kipc_keyget_end(&g);
	return ret;
}

/*
 * Lock order, cluster-wide: the key tables before any segment's metadata.
 * So a segment dies in two steps: under its metadata, it stops existing
 * (kill()); then, metadata put, its node's table forgets it and its pages
 * go (forget()).
 */
static u64 kill(struct kipc_shm_meta *m)
{
	u64 size = m->size;

	memset(m, 0, sizeof(*m));
	return size;
}

static void forget(int id, u64 size)
{
	kipc_keys_forget(KIPC_SHM, id);
	kipc_shm_pages_remove(id, size);
}

/*
 * A new mapping of segment @id: 0, or -EINVAL when the segment is gone
 * (a remap_file_pages() after its last detach and IPC_RMID: the kernel's
 * shm_mmap() fails the same way).
 */
int kipc_shm_attached(int id)
{
	struct kipc_shm_meta *m = meta_grab(id);

	if (IS_ERR(m))
		return PTR_ERR(m);
	m->nattch++;
	m->atime = ktime_get_real_seconds();
	m->lpid = task_tgid_vnr(current);
	meta_put(id);
	return 0;
}

/*
 * A mapping went: on munmap, shmdt, or the exit of a task that may have
 * been killed (a fatal signal must not make the detach, and so the
 * segment's end, be skipped).
 */
void kipc_shm_detached(int id)
{
	struct kipc_shm_meta *m = meta_grab_flags(id, KDDM_NOINTR);
	u64 size = 0;

	if (IS_ERR(m))
		return;
	if (m->nattch)
		m->nattch--;
	m->dtime = ktime_get_real_seconds();
	m->lpid = task_tgid_vnr(current);
	if (!m->nattch && m->dest)
		size = kill(m);
	meta_put(id);
	if (size)
		forget(id, size);
}

/*
 * 0 if the caller may access segment @id as @acc says (and its size in
 * @size), as shmat() checks it.
 */
int kipc_shm_access(int id, short acc, u64 *size)
{
	struct kipc_shm_meta *m = meta_grab(id);
	int ret;

	if (IS_ERR(m))
		return PTR_ERR(m);
	ret = kipc_perms(&KIPC_PERM(m), acc);
	*size = m->size;
	meta_put(id);
	return ret;
}

/* Maps segment @id: through /dev/kipc if it can, else a file of ours. */
static long map_segment(int id, u64 size, unsigned long addr,
			unsigned long prot, unsigned long flags, bool rdonly)
{
	struct file *file = kipc_shm_dev_file(id, size, rdonly);
	unsigned long off = 0;
	long ret;

	if (file)
		off = (unsigned long)id << (KIPC_SHM_PG_BITS + PAGE_SHIFT);
	else
		file = kipc_shm_file(id, size, rdonly);
	if (IS_ERR(file))
		return PTR_ERR(file);
	ret = vm_mmap(file, addr, size, prot, flags, off);
	fput(file);
	return ret;
}

long kipc_do_shmat(int id, unsigned long addr, int flg)
{
	unsigned long flags = MAP_SHARED, prot = PROT_READ;
	unsigned long shmlba = SHMLBA;
	short acc = 0444;
	long ret;
	u64 size;

	if (id < 0)
		return -EINVAL;
	if (addr) {
		if (addr & (shmlba - 1)) {
			if (!(flg & SHM_RND))
				return -EINVAL;
			addr &= ~(shmlba - 1);
			if (!addr && (flg & SHM_REMAP))
				return -EINVAL;
		}
		flags |= (flg & SHM_REMAP) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	} else if (flg & SHM_REMAP) {
		return -EINVAL;
	}
	if (!(flg & SHM_RDONLY)) {
		prot |= PROT_WRITE;
		acc |= 0222;
	}
	if (flg & SHM_EXEC) {
		prot |= PROT_EXEC;
		acc |= 0111;
	}
	ret = kipc_shm_access(id, acc, &size);
	if (ret)
		return ret;
	ret = map_segment(id, size, addr, prot, flags, flg & SHM_RDONLY);
	if (ret == -EEXIST)
		ret = -EINVAL;
	return ret;
}

/*
 * The next mapping, from @from, of a segment attached at @addr: a kipc
 * vma whose offset in the segment is its distance from @addr. The first
 * one found names the segment (@seg, referenced); after it only that
 * segment's, within its size of @addr. Under the mmap lock.
 */
static bool next_fragment(struct mm_struct *mm, unsigned long addr,
			  unsigned long from, struct inode **seg,
			  unsigned long *start, unsigned long *end)
{
	VMA_ITERATOR(vmi, mm, from);
	struct vm_area_struct *vma;

	for_each_vma(vmi, vma) {
		if (*seg && (loff_t)(vma->vm_end - addr) >
			    (loff_t)PAGE_ALIGN(i_size_read(*seg)))
			return false;
		if (!kipc_is_shm_vma(vma) ||
		    (vma->vm_start - addr) / PAGE_SIZE !=
		    kipc_vma_page(vma, vma->vm_pgoff) ||
		    (*seg && kipc_vma_seg(vma) != *seg))
			continue;
		if (!*seg) {
			*seg = kipc_vma_seg(vma);
			ihold(*seg);
		}
		*start = vma->vm_start;
		*end = vma->vm_end;
		return true;
	}
	return false;
}

/*
 * As the kernel's shmdt(): the first mapping of a segment that says it
 * was attached at @addr (a fragment after mprotect(), munmap() or
 * remap_file_pages() will do), then every fragment of that segment within
 * its size.
 */
long kipc_do_shmdt(unsigned long addr)
{
	struct mm_struct *mm = current->mm;
	unsigned long from = addr, start, end;
	struct inode *seg = NULL;
	long ret = -EINVAL;
	bool found;

	if (addr & ~PAGE_MASK)
		return -EINVAL;
	for (;;) {
		if (mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		found = next_fragment(mm, addr, from, &seg, &start, &end);
		mmap_read_unlock(mm);
		if (!found)
			break;
		vm_munmap(start, end - start);
		from = end;
		ret = 0;
	}
	iput(seg);
	return ret;
}

static void fill_ds(struct shmid64_ds *ds, const struct kipc_shm_meta *m)
{
	memset(ds, 0, sizeof(*ds));
	ds->shm_perm.key = m->key;
	kipc_perm_out(&ds->shm_perm, &KIPC_PERM(m));
	ds->shm_perm.mode |= (m->dest ? SHM_DEST : 0) |
			     (m->locked ? SHM_LOCKED : 0);
	ds->shm_segsz = m->size;
	ds->shm_atime = m->atime;
	ds->shm_dtime = m->dtime;
	ds->shm_ctime = m->ctime;
	ds->shm_cpid = m->cpid;
	ds->shm_lpid = m->lpid;
	ds->shm_nattch = m->nattch;
}

/* IPC_INFO fills @info, SHM_INFO @sinfo: the highest index in use. */
long kipc_shm_info(int cmd, struct shminfo64 *info, struct shm_info *sinfo)
{
	struct ipc_namespace *ipc = kipc_ns();
	u64 total;
	long ret;
	u32 n;

	ret = kipc_keys_count(KIPC_SHM, &n, &total);
	if (ret)
		return ret;
	if (cmd == IPC_INFO) {
		memset(info, 0, sizeof(*info));
		info->shmmax = ipc->shm_ctlmax;
		info->shmmin = SHMMIN;
		info->shmmni = ipc->shm_ctlmni;
		info->shmseg = SHMSEG;
		info->shmall = ipc->shm_ctlall;
	} else {
		memset(sinfo, 0, sizeof(*sinfo));
		sinfo->used_ids = n;
		sinfo->shm_tot = total;
	}
	return n ? n - 1 : 0;
}

/* IPC_STAT, SHM_STAT, SHM_STAT_ANY into @ds: 0 or the id, or -errno. */
long kipc_shm_stat(int id, int cmd, struct shmid64_ds *ds)
{
	struct kipc_shm_meta *m;
	long ret = 0;

	if (cmd != IPC_STAT) {
		id = kipc_index_to_id(KIPC_SHM, id);
		if (id < 0)
			return id;
	}
	m = meta_grab(id);
	if (IS_ERR(m))
		return PTR_ERR(m);
	if (cmd != SHM_STAT_ANY)
		ret = kipc_perms(&KIPC_PERM(m), 0444);
	fill_ds(ds, m);
	meta_put(id);
	if (ret)
		return ret;
	return cmd == IPC_STAT ? 0 : id;
}

/* shmctl_do_lock()'s rule: the owner or CAP_IPC_LOCK, and a memlock limit. */
static int may_lock(const struct kipc_perm *p, int cmd)
{
	kuid_t euid = current_euid();

	if (ns_capable(kipc_ns()->user_ns, CAP_IPC_LOCK))
		return 0;
	if (!uid_eq(euid, make_kuid(&init_user_ns, p->uid)) &&
	    !uid_eq(euid, make_kuid(&init_user_ns, p->cuid)))
		return -EPERM;
	if (cmd == SHM_LOCK && !rlimit(RLIMIT_MEMLOCK))
		return -EPERM;
	return 0;
}

/* IPC_SET (owner and mode from @ds), IPC_RMID, SHM_LOCK, SHM_UNLOCK. */
long kipc_shm_down(int id, int cmd, const struct shmid64_ds *ds)
{
	struct kipc_shm_meta *m;
	bool unkeyed = false;
	struct kipc_perm p;
	u64 size = 0;
	long ret = 0;

	m = meta_grab(id);
	if (IS_ERR(m))
		return PTR_ERR(m);
	p = KIPC_PERM(m);
	if (cmd == SHM_LOCK || cmd == SHM_UNLOCK) {
		ret = may_lock(&p, cmd);
		if (!ret)
			m->locked = cmd == SHM_LOCK;
	} else if (!kipc_owner(&p)) {
		ret = -EPERM;
	} else if (cmd == IPC_SET) {
		ret = kipc_perm_in(&ds->shm_perm, &m->uid, &m->gid);
		if (!ret) {
			m->mode = (m->mode & ~0777) |
				  (ds->shm_perm.mode & 0777);
			m->ctime = ktime_get_real_seconds();
		}
	} else if (m->nattch) {
		/* IPC_RMID while attached: dies at the last detach. */
		m->dest = 1;
		m->key = IPC_PRIVATE;
		unkeyed = true;
	} else {
		size = kill(m);
	}
	meta_put(id);
	if (unkeyed)
		kipc_unkey(KIPC_SHM, id);
	if (size)
		forget(id, size);
	return ret;
}

static long shmctl(int id, int cmd, void __user *buf)
{
	struct shminfo64 info;
	struct shm_info sinfo;
	struct shmid64_ds ds;
	long ret;

	cmd &= ~IPC_64;
	switch (cmd) {
	case IPC_INFO:
	case SHM_INFO:
		ret = kipc_shm_info(cmd, &info, &sinfo);
		if (ret >= 0 && cmd == IPC_INFO &&
		    copy_to_user(buf, &info, sizeof(info)))
			ret = -EFAULT;
		if (ret >= 0 && cmd == SHM_INFO &&
		    copy_to_user(buf, &sinfo, sizeof(sinfo)))
			ret = -EFAULT;
		return ret;
	case IPC_STAT:
	case SHM_STAT:
	case SHM_STAT_ANY:
		ret = kipc_shm_stat(id, cmd, &ds);
		if (ret >= 0 && copy_to_user(buf, &ds, sizeof(ds)))
			ret = -EFAULT;
		return ret;
	case IPC_SET:
	case IPC_RMID:
	case SHM_LOCK:
	case SHM_UNLOCK:
		if (id < 0)
			return -EINVAL;
		if (cmd == IPC_SET && copy_from_user(&ds, buf, sizeof(ds)))
			return -EFAULT;
		return kipc_shm_down(id, cmd, &ds);
	}
	return -EINVAL;
}

/* The redirected system calls (x86_64: arguments in di, si, dx). */
long kipc_sys_shmget(const struct pt_regs *regs)
{
	return kipc_do_shmget((key_t)regs->di, (size_t)regs->si, (int)regs->dx);
}

long kipc_sys_shmat(const struct pt_regs *regs)
{
	return kipc_do_shmat((int)regs->di, regs->si, (int)regs->dx);
}

long kipc_sys_shmdt(const struct pt_regs *regs)
{
	return kipc_do_shmdt(regs->di);
}

long kipc_sys_shmctl(const struct pt_regs *regs)
{
	return shmctl((int)regs->di, (int)regs->si, (void __user *)regs->dx);
}

int kipc_shm_init(void)
{
	struct kddm_set_attr meta = {
		.linker = "kipc_obj",
		.obj_size = sizeof(struct kipc_shm_meta),
		.policy = KDDM_OWNER_CUSTOM,
	};
	int ret;

	kipc_shm_meta_set = kddm_open_set(KIPC_SET_SHM_META, &meta);
	if (IS_ERR(kipc_shm_meta_set))
		return PTR_ERR(kipc_shm_meta_set);
	ret = kipc_shm_map_init();
	if (ret)
		goto err_meta;
	return 0;
err_meta:
	kddm_put_set(kipc_shm_meta_set);
	return ret;
}

void kipc_shm_exit(void)
{
	kipc_shm_map_exit();
	kddm_put_set(kipc_shm_meta_set);
}
