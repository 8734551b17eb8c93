/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipc: cluster-wide System V IPC on kDDM.
 *
 * Ids carry the node that created the object: id = node << 15 | slot, so
 * the same id names the same object everywhere and its metadata is homed
 * on its creator. Keys are resolved through one key table object per IPC
 * type, homed on node KIPC_KEY_NODE.
 */
#ifndef _KIPC_H
#define _KIPC_H

#include <linux/types.h>
#include <kddm/kddm.h>

struct pt_regs;
struct vm_area_struct;

#define KIPC_SLOT_BITS		15
#define KIPC_SLOTS		(1U << KIPC_SLOT_BITS)
#define KIPC_KEY_NODE		1	/* home of the key tables */

static inline u32 kipc_id_node(int id)
{
	return (u32)id >> KIPC_SLOT_BITS;
}

/* Well-known kDDM set names of kipc. */
#define KIPC_SET_KEYS		0x4b495001U	/* key tables, objid = type */
#define KIPC_SET_SHM_META	0x4b495002U	/* objid = shmid */
#define KIPC_SET_SHM_PAGES	0x4b495003U	/* objid = shmid << 32 | pgoff */

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

/* shm_map.c: segment files, page objects. */
int kipc_shm_map_init(void);
void kipc_shm_map_exit(void);
struct file *kipc_shm_file(int shmid, u64 size, bool rdonly);
void kipc_shm_pages_remove(int shmid, u64 size);
bool kipc_is_shm_vma(struct vm_area_struct *vma);
extern struct kddm_set *kipc_shm_meta_set;

/* shm.c: attach accounting, called by the mapping's vm_ops. */
void kipc_shm_attached(int shmid);
void kipc_shm_detached(int shmid);
long kipc_sys_shmget(const struct pt_regs *regs);
long kipc_sys_shmat(const struct pt_regs *regs);
long kipc_sys_shmdt(const struct pt_regs *regs);
long kipc_sys_shmctl(const struct pt_regs *regs);
int kipc_shm_init(void);
void kipc_shm_exit(void);
extern struct kddm_set *kipc_keys_set;

#endif /* _KIPC_H */
