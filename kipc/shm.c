// SPDX-License-Identifier: GPL-2.0
/*
 * kipc shared memory: shmget, shmat, shmdt, shmctl for the tasks of a
 * cluster-enabled IPC namespace, with the semantics of ipc/shm.c.
 *
 * A segment's metadata is a kDDM object homed on its creator (set
 * KIPC_SET_SHM_META, object id = shmid); its pages live in shm_map.c. The
 * key table (set KIPC_SET_KEYS, object KIPC_SHM) lists every segment of
 * the cluster with its key, gives the index order SHM_STAT and ipcs use,
 * and carries the cluster-wide counters the limits apply to.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/ipc_namespace.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/shm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "kipc.h"

#define KIPC_MAX_ENTRIES	2048

/* Mode bits of ipc/shm.c (not in a header the kernel exports). */
#ifndef SHM_DEST
#define SHM_DEST	01000
#define SHM_LOCKED	02000
#endif

struct kipc_key_entry {
	s32 key;
	s32 id;
};

/* The key table of one IPC type, kDDM object KIPC_SET_KEYS/type. */
struct kipc_key_table {
	u32 n;			/* entries in use, packed at the front */
	u32 pad;
	u64 total_pages;	/* shm: pages of all segments */
	struct kipc_key_entry e[KIPC_MAX_ENTRIES];
};

struct kddm_set *kipc_keys_set;
struct kddm_set *kipc_shm_meta_set;
static atomic_t next_slot = ATOMIC_INIT(0);

static struct ipc_namespace *ns(void)
{
	return current->nsproxy->ipc_ns;
}

static int kddm_to_ipc_err(long err)
{
	/* An object homed on a node that left is gone for us. */
	if (err == -EHOSTDOWN || err == -EIDRM)
		return -EIDRM;
	if (err == -ENOENT)
		return -EINVAL;
	return err;
}

/* ---- the key table ---- */

static struct kipc_key_table *keys_grab(enum kipc_type type)
{
	return kddm_grab_object(kipc_keys_set, type);
}

static void keys_put(enum kipc_type type)
{
	kddm_put_object(kipc_keys_set, type);
}

static int keys_find(struct kipc_key_table *t, s32 key, s32 id)
{
	u32 i;

	for (i = 0; i < t->n && i < KIPC_MAX_ENTRIES; i++)
		if ((key != IPC_PRIVATE && t->e[i].key == key) ||
		    (id && t->e[i].id == id))
			return i;
	return -1;
}

static void keys_del(struct kipc_key_table *t, u32 i)
{
	if (i >= t->n)
		return;
	t->e[i] = t->e[--t->n];
}

/* ---- permissions, as ipc/util.c ---- */

struct perm {
	u32 uid, gid, cuid, cgid, mode;
};

static int ipcperms(const struct perm *p, short flag)
{
	kuid_t euid = current_euid();
	int requested = (flag >> 6) | (flag >> 3) | flag;
	int granted = p->mode;

	if (uid_eq(euid, make_kuid(&init_user_ns, p->cuid)) ||
	    uid_eq(euid, make_kuid(&init_user_ns, p->uid)))
		granted >>= 6;
	else if (in_group_p(make_kgid(&init_user_ns, p->cgid)) ||
		 in_group_p(make_kgid(&init_user_ns, p->gid)))
		granted >>= 3;
	if ((requested & ~granted & 0007) &&
	    !ns_capable(ns()->user_ns, CAP_IPC_OWNER))
		return -EACCES;
	return 0;
}

/* Owner, creator or CAP_SYS_ADMIN may change or remove (ipcctl_obtain_check). */
static bool ipc_owner(const struct perm *p)
{
	kuid_t euid = current_euid();

	return uid_eq(euid, make_kuid(&init_user_ns, p->cuid)) ||
	       uid_eq(euid, make_kuid(&init_user_ns, p->uid)) ||
	       ns_capable(ns()->user_ns, CAP_SYS_ADMIN);
}

static struct perm shm_perm(const struct kipc_shm_meta *m)
{
	return (struct perm) { m->uid, m->gid, m->cuid, m->cgid, m->mode };
}

/* ---- segments ---- */

static struct kipc_shm_meta *meta_grab(int id)
{
	struct kipc_shm_meta *m;

	if (id <= 0)
		return ERR_PTR(-EINVAL);
	m = kddm_grab_object_no_ft(kipc_shm_meta_set, id);
	if (IS_ERR(m))
		return ERR_PTR(kddm_to_ipc_err(PTR_ERR(m)));
	if (!m->exists) {
		kddm_put_object(kipc_shm_meta_set, id);
		return ERR_PTR(-EINVAL);
	}
	return m;
}

static void meta_put(int id)
{
	kddm_put_object(kipc_shm_meta_set, id);
}

/* A fresh id homed here, and its metadata object grabbed. */
static int new_id(struct kipc_shm_meta **mp)
{
	int tries, id;

	for (tries = 0; tries < KIPC_SLOTS; tries++) {
		u32 slot = (u32)atomic_inc_return(&next_slot) % KIPC_SLOTS;

		id = (int)(kddm_node_id() << KIPC_SLOT_BITS | slot);
		*mp = kddm_grab_object(kipc_shm_meta_set, id);
		if (IS_ERR(*mp))
			return PTR_ERR(*mp);
		if (!(*mp)->exists)
			return id;
		meta_put(id);
	}
	return -ENOSPC;
}

static int newseg(struct kipc_key_table *t, s32 key, size_t size, int flg)
{
	struct ipc_namespace *ipc = ns();
	u64 pages = DIV_ROUND_UP((u64)size, PAGE_SIZE);
	struct kipc_shm_meta *m;
	int id;

	if (size < SHMMIN || size > ipc->shm_ctlmax)
		return -EINVAL;
	if (t->total_pages + pages < t->total_pages ||
	    t->total_pages + pages > ipc->shm_ctlall)
		return -ENOSPC;
	if (t->n >= min_t(u32, ipc->shm_ctlmni, KIPC_MAX_ENTRIES))
		return -ENOSPC;
	id = new_id(&m);
	if (id < 0)
		return id;
	memset(m, 0, sizeof(*m));
	m->exists = 1;
	m->key = key;
	m->uid = m->cuid = from_kuid(&init_user_ns, current_euid());
	m->gid = m->cgid = from_kgid(&init_user_ns, current_egid());
	m->mode = flg & 0777;
	m->size = size;
	m->cpid = task_tgid_vnr(current);
	m->ctime = ktime_get_real_seconds();
	meta_put(id);
	t->e[t->n].key = key;
	t->e[t->n].id = id;
	t->n++;
	t->total_pages += pages;
	return id;
}

static long shmget(key_t key, size_t size, int flg)
{
	struct kipc_key_table *t = keys_grab(KIPC_SHM);
	struct kipc_shm_meta *m;
	long ret;
	int i;

	if (IS_ERR(t))
		return kddm_to_ipc_err(PTR_ERR(t));
	i = key == IPC_PRIVATE ? -1 : keys_find(t, key, 0);
	if (i < 0) {
		ret = (key == IPC_PRIVATE || (flg & IPC_CREAT)) ?
		      newseg(t, key, size, flg) : -ENOENT;
		goto out;
	}
	ret = -EEXIST;
	if ((flg & IPC_CREAT) && (flg & IPC_EXCL))
		goto out;
	m = meta_grab(t->e[i].id);
	ret = PTR_ERR(m);
	if (IS_ERR(m))
		goto out;
	ret = ipcperms(&(struct perm) { m->uid, m->gid, m->cuid, m->cgid,
					m->mode }, flg);
	if (!ret && m->size < size)
		ret = -EINVAL;
	if (!ret)
		ret = t->e[i].id;
	meta_put(t->e[i].id);
out:
	keys_put(KIPC_SHM);
	return ret;
}

/*
 * Lock order, cluster-wide: the key table before any segment's metadata.
 * So a segment dies in two steps: under its metadata, it stops existing
 * (kill()); then, metadata put, the table forgets it and its pages go
 * (forget()).
 */
static u64 kill(struct kipc_shm_meta *m)
{
	u64 size = m->size;

	memset(m, 0, sizeof(*m));
	return size;
}

static void forget(int id, u64 size)
{
	struct kipc_key_table *t = keys_grab(KIPC_SHM);
	int i;

	if (!IS_ERR(t)) {
		i = keys_find(t, IPC_PRIVATE, id);
		if (i >= 0)
			keys_del(t, i);
		t->total_pages -= min_t(u64, t->total_pages,
					DIV_ROUND_UP(size, PAGE_SIZE));
		keys_put(KIPC_SHM);
	}
	kipc_shm_pages_remove(id, size);
}

/* IPC_RMID while attached: the key is free for a new segment now. */
static void unkey(int id)
{
	struct kipc_key_table *t = keys_grab(KIPC_SHM);
	int i;

	if (IS_ERR(t))
		return;
	i = keys_find(t, IPC_PRIVATE, id);
	if (i >= 0)
		t->e[i].key = IPC_PRIVATE;
	keys_put(KIPC_SHM);
}

void kipc_shm_attached(int id)
{
	struct kipc_shm_meta *m = meta_grab(id);

	if (IS_ERR(m))
		return;
	m->nattch++;
	m->atime = ktime_get_real_seconds();
	m->lpid = task_tgid_vnr(current);
	meta_put(id);
}

void kipc_shm_detached(int id)
{
	struct kipc_shm_meta *m = meta_grab(id);
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

static long shmat(int id, unsigned long addr, int flg)
{
	unsigned long flags = MAP_SHARED, prot = PROT_READ;
	unsigned long shmlba = SHMLBA;
	struct kipc_shm_meta *m;
	struct file *file;
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
	m = meta_grab(id);
	if (IS_ERR(m))
		return PTR_ERR(m);
	ret = ipcperms(&(struct perm) { m->uid, m->gid, m->cuid, m->cgid,
					m->mode }, acc);
	size = m->size;
	meta_put(id);
	if (ret)
		return ret;
	file = kipc_shm_file(id, size, flg & SHM_RDONLY);
	if (IS_ERR(file))
		return PTR_ERR(file);
	ret = vm_mmap(file, addr, size, prot, flags, 0);
	fput(file);
	if (ret == -EEXIST)
		ret = -EINVAL;
	return ret;
}

static long shmdt(unsigned long addr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long size = 0;

	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start == addr && !vma->vm_pgoff &&
	    kipc_is_shm_vma(vma))
		size = i_size_read(file_inode(vma->vm_file));
	mmap_read_unlock(mm);
	if (!size)
		return -EINVAL;
	return vm_munmap(addr, PAGE_ALIGN(size));
}

static void fill_ds(struct shmid64_ds *ds, const struct kipc_shm_meta *m)
{
	memset(ds, 0, sizeof(*ds));
	ds->shm_perm.key = m->key;
	ds->shm_perm.uid = m->uid;
	ds->shm_perm.gid = m->gid;
	ds->shm_perm.cuid = m->cuid;
	ds->shm_perm.cgid = m->cgid;
	ds->shm_perm.mode = m->mode | (m->dest ? SHM_DEST : 0) |
			    (m->locked ? SHM_LOCKED : 0);
	ds->shm_segsz = m->size;
	ds->shm_atime = m->atime;
	ds->shm_dtime = m->dtime;
	ds->shm_ctime = m->ctime;
	ds->shm_cpid = m->cpid;
	ds->shm_lpid = m->lpid;
	ds->shm_nattch = m->nattch;
}

static long shm_info(int cmd, void __user *buf)
{
	struct ipc_namespace *ipc = ns();
	struct kipc_key_table *t = keys_grab(KIPC_SHM);
	long ret;

	if (IS_ERR(t))
		return kddm_to_ipc_err(PTR_ERR(t));
	ret = t->n ? t->n - 1 : 0;
	if (cmd == IPC_INFO) {
		struct shminfo64 info = {
			.shmmax = ipc->shm_ctlmax,
			.shmmin = SHMMIN,
			.shmmni = ipc->shm_ctlmni,
			.shmseg = SHMSEG,
			.shmall = ipc->shm_ctlall,
		};

		if (copy_to_user(buf, &info, sizeof(info)))
			ret = -EFAULT;
	} else {
		struct shm_info info = {
			.used_ids = t->n,
			.shm_tot = t->total_pages,
		};

		if (copy_to_user(buf, &info, sizeof(info)))
			ret = -EFAULT;
	}
	keys_put(KIPC_SHM);
	return ret;
}

/* SHM_STAT and SHM_STAT_ANY name a segment by its index in the table. */
static int index_to_id(int idx)
{
	struct kipc_key_table *t = keys_grab(KIPC_SHM);
	int id = -EINVAL;

	if (IS_ERR(t))
		return kddm_to_ipc_err(PTR_ERR(t));
	if (idx >= 0 && idx < t->n)
		id = t->e[idx].id;
	keys_put(KIPC_SHM);
	return id;
}

static long shm_stat(int id, int cmd, void __user *buf)
{
	struct shmid64_ds ds;
	struct kipc_shm_meta *m;
	long ret = 0;

	if (cmd != IPC_STAT) {
		id = index_to_id(id);
		if (id < 0)
			return id;
	}
	m = meta_grab(id);
	if (IS_ERR(m))
		return PTR_ERR(m);
	if (cmd != SHM_STAT_ANY)
		ret = ipcperms(&(struct perm) { m->uid, m->gid, m->cuid,
						m->cgid, m->mode }, 0444);
	fill_ds(&ds, m);
	meta_put(id);
	if (ret)
		return ret;
	if (copy_to_user(buf, &ds, sizeof(ds)))
		return -EFAULT;
	return cmd == IPC_STAT ? 0 : id;
}

static long shm_set_rmid(int id, int cmd, void __user *buf)
{
	struct kipc_shm_meta *m;
	struct shmid64_ds ds;
	bool unkeyed = false;
	struct perm p;
	u64 size = 0;
	long ret = 0;

	if (cmd == IPC_SET && copy_from_user(&ds, buf, sizeof(ds)))
		return -EFAULT;
	m = meta_grab(id);
	if (IS_ERR(m))
		return PTR_ERR(m);
	p = shm_perm(m);
	if (cmd == SHM_LOCK || cmd == SHM_UNLOCK) {
		if (!ipc_owner(&p) && !capable(CAP_IPC_LOCK))
			ret = -EPERM;
		else
			m->locked = cmd == SHM_LOCK;
	} else if (!ipc_owner(&p)) {
		ret = -EPERM;
	} else if (cmd == IPC_SET) {
		m->uid = ds.shm_perm.uid;
		m->gid = ds.shm_perm.gid;
		m->mode = (m->mode & ~0777) | (ds.shm_perm.mode & 0777);
		m->ctime = ktime_get_real_seconds();
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
		unkey(id);
	if (size)
		forget(id, size);
	return ret;
}

static long shmctl(int id, int cmd, void __user *buf)
{
	cmd &= ~IPC_64;
	switch (cmd) {
	case IPC_INFO:
	case SHM_INFO:
		return shm_info(cmd, buf);
	case IPC_STAT:
	case SHM_STAT:
	case SHM_STAT_ANY:
		return shm_stat(id, cmd, buf);
	case IPC_SET:
	case IPC_RMID:
	case SHM_LOCK:
	case SHM_UNLOCK:
		if (id < 0)
			return -EINVAL;
		return shm_set_rmid(id, cmd, buf);
	}
	return -EINVAL;
}

/* The redirected system calls (x86_64: arguments in di, si, dx). */
long kipc_sys_shmget(const struct pt_regs *regs)
{
	return shmget((key_t)regs->di, (size_t)regs->si, (int)regs->dx);
}

long kipc_sys_shmat(const struct pt_regs *regs)
{
	return shmat((int)regs->di, regs->si, (int)regs->dx);
}

long kipc_sys_shmdt(const struct pt_regs *regs)
{
	return shmdt(regs->di);
}

long kipc_sys_shmctl(const struct pt_regs *regs)
{
	return shmctl((int)regs->di, (int)regs->si, (void __user *)regs->dx);
}

/* ---- kDDM sets of kipc's plain objects ---- */

static int obj_export(struct kddm_set *set, u64 objid, void *data,
		      void *buf, size_t len)
{
	size_t size = kddm_set_obj_size(set);

	if (len < size)
		return -ENOSPC;
	memcpy(buf, data, size);
	return size;
}

static int obj_import(struct kddm_set *set, u64 objid, void *data,
		      const void *buf, size_t len)
{
	size_t size = kddm_set_obj_size(set);

	memset(data, 0, size);
	memcpy(data, buf, min(len, size));
	return 0;
}

static u32 obj_home(struct kddm_set *set, u64 objid,
		    const unsigned long *nodes_up)
{
	return kipc_id_node((int)objid);
}

static const struct kddm_io_linker_ops obj_linker = {
	.name = "kipc_obj",
	.owner = THIS_MODULE,
	.export_object = obj_export,
	.import_object = obj_import,
	.default_owner = obj_home,
};

int kipc_shm_init(void)
{
	struct kddm_set_attr keys = {
		.linker = "kipc_obj",
		.obj_size = sizeof(struct kipc_key_table),
		.policy = KDDM_OWNER_FIXED,
		.fixed_node = KIPC_KEY_NODE,
	};
	struct kddm_set_attr meta = {
		.linker = "kipc_obj",
		.obj_size = sizeof(struct kipc_shm_meta),
		.policy = KDDM_OWNER_CUSTOM,
	};
	int ret;

	BUILD_BUG_ON(sizeof(struct kipc_key_table) > KDDM_MAX_OBJ_SIZE);
	ret = kddm_register_io_linker(&obj_linker);
	if (ret)
		return ret;
	kipc_keys_set = kddm_open_set(KIPC_SET_KEYS, &keys);
	if (IS_ERR(kipc_keys_set)) {
		ret = PTR_ERR(kipc_keys_set);
		goto err_linker;
	}
	kipc_shm_meta_set = kddm_open_set(KIPC_SET_SHM_META, &meta);
	if (IS_ERR(kipc_shm_meta_set)) {
		ret = PTR_ERR(kipc_shm_meta_set);
		goto err_keys;
	}
	ret = kipc_shm_map_init();
	if (ret)
		goto err_meta;
	return 0;
err_meta:
	kddm_put_set(kipc_shm_meta_set);
err_keys:
	kddm_put_set(kipc_keys_set);
err_linker:
	kddm_unregister_io_linker(&obj_linker);
	return ret;
}

void kipc_shm_exit(void)
{
	kipc_shm_map_exit();
	kddm_put_set(kipc_shm_meta_set);
	kddm_put_set(kipc_keys_set);
	kddm_unregister_io_linker(&obj_linker);
}
