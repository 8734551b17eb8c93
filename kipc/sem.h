/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KIPC_SEM_H
#define _KIPC_SEM_H

#include <linux/stddef.h>
#include <linux/types.h>
#include <kddm/kddm.h>

struct pt_regs;
struct task_struct;
#ifndef KIPC_ORIG_FN
#define KIPC_ORIG_FN
typedef long (*kipc_orig_fn)(const struct pt_regs *regs);
#endif

/* Semaphore sets, objid = semid, homed on their creator (io-linker kipc_sem). */
#define KIPC_SET_SEM		0x4b495005U

/* One semaphore of a set. */
struct kipc_sem_one {
	s32 semval;
	s32 sempid;
	u32 semncnt;		/* cluster-wide waiters for an increase */
	u32 semzcnt;		/* cluster-wide waiters for zero */
	u32 undo_gen;		/* SETVAL/SETALL: older undo adjustments void */
};

/*
 * A semaphore set: one kDDM object of KIPC_SET_SEM. The header (up to
 * @cap) and the nsems semaphores travel between nodes; the semaphores
 * live in an array of their own, sized to the set.
 */
struct kipc_sem_array {
	u32 exists;		/* first: kipc_new_id() relies on it */
	s32 key;
	u32 uid, gid, cuid, cgid, mode;
	u32 nsems;
	u64 stamp;		/* this incarnation of the id, for undos */
	s64 otime, ctime;
	/* local only */
	u32 cap;		/* semaphores allocated at @sems */
	u32 nomem;		/* a copy came that did not fit: unusable */
	struct kipc_sem_one *sems;
};

#define KIPC_SEM_HDR		offsetof(struct kipc_sem_array, cap)

/*
 * A set travels as one kDDM object, so it holds at most KIPC_SEMMSL
 * semaphores (52426, above the kernel's SEMMSL default of 32000): semget
 * asking for more fails with EINVAL.
 */
#define KIPC_SEM_OBJ_SIZE	KDDM_MAX_OBJ_SIZE
#define KIPC_SEMMSL \
	((KIPC_SEM_OBJ_SIZE - KIPC_SEM_HDR) / sizeof(struct kipc_sem_one))

struct semid64_ds;
struct sembuf;
struct timespec64;

long kipc_do_semget(key_t key, int nsems, int flg);
long kipc_do_semtimedop(int id, struct sembuf __user *usops,
			unsigned int nsops, const struct timespec64 *ts);
long kipc_do_semctl(int id, int semnum, int cmd, unsigned long arg);
long kipc_sem_stat(int id, int cmd, struct semid64_ds *ds);
long kipc_sem_down(int id, int cmd, const struct semid64_ds *ds);

long kipc_sys_semget(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_semop(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_semtimedop(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_semctl(const struct pt_regs *regs, kipc_orig_fn orig);
/*
 * From the exit_sem() hook, which runs the kernel's @orig here: @tsk
 * leaves its SEM_UNDO list, applied if it was the last task on it.
 */
void kipc_sem_exit_task(struct task_struct *tsk,
			void (*orig)(struct task_struct *tsk));
/* From the copy_semundo() hook: current cloned with CLONE_SYSVSEM. */
void kipc_sem_shared(void);
int kipc_sem_init(void);
void kipc_sem_exit(void);

#endif /* _KIPC_SEM_H */
