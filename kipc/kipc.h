/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipc: cluster-wide System V IPC on kDDM.
 *
 * Ids carry the node that created the object: id = node << 15 | slot, so
 * the same id names the same object everywhere and its metadata is homed
 * on its creator. Keys are resolved through per-node key tables: every
 * node lists the objects it created (util.c).
 */
#ifndef _KIPC_H
#define _KIPC_H

#include <kddm/kipc_dev.h>
#include <linux/types.h>
#include <kddm/compat.h>
#include <kddm/kddm.h>

struct pt_regs;
struct vm_area_struct;

#define KIPC_SLOT_BITS		15
#define KIPC_SLOTS		(1U << KIPC_SLOT_BITS)

static inline u32 kipc_id_node(int id)
{
	return (u32)id >> KIPC_SLOT_BITS;
}

/* Well-known kDDM set names of kipc. */
#define KIPC_SET_KEYS		0x4b495001U	/* key tables: objid =
						 * type << 32 | node << 8 |
						 * chunk
						 */
#define KIPC_SET_SHM_META	0x4b495002U	/* objid = shmid */
#define KIPC_SET_SHM_PAGES	0x4b495003U	/* objid = shmid << 32 | pgoff */
#define KIPC_SET_KEY_LOCKS	0x4b495006U	/* key locks: objid =
						 * type << 32 | node << 8
						 */

enum kipc_type { KIPC_SHM, KIPC_MSG, KIPC_SEM, KIPC_NR_TYPES };

/* Segment metadata, the kDDM object of KIPC_SET_SHM_META. */
struct kipc_shm_meta {
	u32 exists;
	u32 dest;		/* removed, dies at the last detach */
	s32 key;
	u32 uid, gid, cuid, cgid;
	u32 mode;
	u32 locked;
	u64 size;
	s32 cpid, lpid;
	s64 atime, dtime, ctime;
	u32 nattch;
};

/* Owner and mode of an IPC object, as in struct kern_ipc_perm. */
struct kipc_perm {
	u32 uid, gid, cuid, cgid, mode;
};

#define KIPC_PERM(m) \
	((struct kipc_perm) { (m)->uid, (m)->gid, (m)->cuid, (m)->cgid, \
			      (m)->mode })

/* Owner fields of a new object @o for the calling task, mode from @flg. */
#define KIPC_PERM_INIT(o, flg)						\
	do {								\
		struct kipc_perm __p;					\
									\
		kipc_perm_init(&__p, (flg));				\
		(o)->uid = __p.uid;					\
		(o)->cuid = __p.cuid;					\
		(o)->gid = __p.gid;					\
		(o)->cgid = __p.cgid;					\
		(o)->mode = __p.mode;					\
	} while (0)

struct ipc_namespace;

/*
 * Keys (util.c): each node's key tables list the objects it created, per
 * IPC type; lookups read the tables of every node up. A *get(key, flg):
 *
 *	kipc_keyget_init(&g, type, key, flg);
 *	while ((ret = kipc_keyget_next(&g)) == KIPC_KEY_FOUND) {
 *		get object g.id: gone or another key: kipc_keyget_stale(),
 *		else ret = g.id (or -EEXIST, -EACCES...), break;
 *	}
 *	if (ret == KIPC_KEY_CREATE)
 *		create it, then kipc_keys_add(&g, id, amount);
 *	kipc_keyget_end(&g);
 *
 * KIPC_KEY_CREATE comes with the key locks of every node up held, which
 * serialize creations cluster-wide, and with the cluster's totals of the
 * type in g.count and g.total, for the namespace limits.
 */
enum { KIPC_KEY_FOUND = 1, KIPC_KEY_CREATE };

struct kipc_keyget {
	enum kipc_type type;
	s32 key;
	int flg;
	int id;			/* KIPC_KEY_FOUND: the object to check */
	u32 nth;		/* stale entries of the key skipped */
	u32 tries;
	bool locked;		/* the key locks are held */
	u32 nr_held;
	u32 *held;		/* the nodes whose key lock is held */
	u32 count;		/* KIPC_KEY_CREATE: objects of the type */
	u64 total;		/* and the sum of their amounts */
};

/* util.c */
struct ipc_namespace *kipc_ns(void);
int kipc_err(long err);
int kipc_id_err(int id, long err);
void kipc_keyget_init(struct kipc_keyget *g, enum kipc_type type, s32 key,
		      int flg);
int kipc_keyget_next(struct kipc_keyget *g);
int kipc_keyget_stale(struct kipc_keyget *g, long err, s32 key);
int kipc_keys_add(struct kipc_keyget *g, int id, u64 amount);
void kipc_keyget_end(struct kipc_keyget *g);
void kipc_keys_forget(enum kipc_type type, int id);
void kipc_unkey(enum kipc_type type, int id);
int kipc_keys_count(enum kipc_type type, u32 *n, u64 *total);
int kipc_keys_ids(enum kipc_type type, s32 **ids);
int kipc_index_to_id(enum kipc_type type, int idx);

/* proc.c: /proc/sysvipc/{shm,msg,sem} of enabled namespaces */
extern const struct seq_operations kipc_proc_seqops;
int kipc_perms(const struct kipc_perm *p, short flag);
bool kipc_owner(const struct kipc_perm *p);
void kipc_perm_init(struct kipc_perm *p, int flg);
void kipc_perm_out(struct ipc64_perm *out, const struct kipc_perm *p);
int kipc_perm_in(const struct ipc64_perm *in, u32 *uid, u32 *gid);
int kipc_new_id(struct kddm_set *set, enum kipc_type type, void **obj);
struct kddm_set *kipc_open_obj_set(u32 name, u32 obj_size);
int kipc_util_init(void);
void kipc_util_exit(void);

/* watch.c: waiting for an object to change, cluster-wide. */
struct kipc_watch;
struct kipc_watch *kipc_watch_get(u64 key);
void kipc_watch_put(u64 key, struct kipc_watch *w);
int kipc_watch_gen(struct kipc_watch *w);
void kipc_watch_changed(u64 key);
long kipc_watch_wait(struct kipc_watch *w, int gen, long timeout);

/* shm_map.c: segment files, page objects. */
int kipc_shm_map_init(void);
void kipc_shm_map_exit(void);
void kipc_shm_store_landed(u64 objid);

/* shm_step.c: the end of a faulting store, by single step. */
struct kipc_step;
struct task_struct;
struct vm_fault;
struct kipc_step *kipc_step_alloc(struct vm_fault *vmf);
void kipc_step_free(struct kipc_step *st);
void kipc_step_arm(struct kipc_step *st, u64 objid);
void kipc_step_task_exit(struct task_struct *tsk);
int kipc_step_fork(unsigned long clone_flags, struct task_struct *child);
int kipc_step_init(void);
void kipc_step_exit(void);
/*
 * /dev/kipc (uapi kddm/kipc_dev.h) maps page n of segment shmid at offset
 * shmid << KIPC_SHM_PG_BITS | n pages: segments of up to 4 GiB, shmids up
 * to INT_MAX, offsets below 2^63 bytes.
 */
#define KIPC_SHM_PG_MASK	((1UL << KIPC_SHM_PG_BITS) - 1)
struct file *kipc_shm_file(int shmid, u64 size, bool rdonly);
struct file *kipc_shm_dev_file(int shmid, u64 size, bool rdonly);
void kipc_shm_pages_remove(int shmid, u64 size);
bool kipc_is_shm_vma(struct vm_area_struct *vma);
struct inode *kipc_vma_seg(struct vm_area_struct *vma);
pgoff_t kipc_vma_page(struct vm_area_struct *vma, pgoff_t pgoff);
extern struct kddm_set *kipc_shm_meta_set;

/* shm.c: attach accounting, called by the mapping's vm_ops. */
int kipc_shm_attached(int shmid);
struct kipc_undo_io;
long kipc_sem_undo_export(const struct kipc_undo_io *io, u32 __user *ulen);
long kipc_sem_undo_import(const struct kipc_undo_io *io);
int kipc_shm_access(int shmid, short acc, u64 *size);
void kipc_shm_detached(int shmid);
struct shminfo64;
struct shm_info;
struct shmid64_ds;
long kipc_do_shmget(key_t key, size_t size, int flg);
long kipc_do_shmat(int id, unsigned long addr, int flg);
long kipc_do_shmdt(unsigned long addr);
long kipc_shm_info(int cmd, struct shminfo64 *info, struct shm_info *sinfo);
long kipc_shm_stat(int id, int cmd, struct shmid64_ds *ds);
long kipc_shm_down(int id, int cmd, const struct shmid64_ds *ds);
long kipc_sys_shmget(const struct pt_regs *regs);
long kipc_sys_shmat(const struct pt_regs *regs);
long kipc_sys_shmdt(const struct pt_regs *regs);
long kipc_sys_shmctl(const struct pt_regs *regs);
int kipc_shm_init(void);
void kipc_shm_exit(void);

#endif /* _KIPC_H */
