/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/kipc (kipc.ko).
 *
 * mmap: page n of System V shared memory segment shmid is at offset
 * (shmid << KIPC_SHM_PG_BITS | n) pages; this is what shmat() maps, so that
 * CRIU can checkpoint an attachment as a mapping of /dev/kipc and restore it
 * on another node. An open file belongs to the first segment it maps: a
 * smaller offset is a page of that segment (remap_file_pages()).
 *
 * ioctls (CAP_SYS_ADMIN), used by kddm-migrated to move a process's
 * SEM_UNDO adjustments with it:
 *   KIPC_UNDO_EXPORT takes the undo entries of process pid (of its undo
 *   list, shared by its threads) out of this node: its exit applies them
 *   no more. They are written to buf as struct kipc_undo records; len is
 *   the room in buf, set to the bytes written (or, with ENOSPC, to the
 *   room needed, the entries left in place).
 *   KIPC_UNDO_IMPORT gives process pid those entries (added to any it
 *   has): on the destination once restored, or back on the source if the
 *   move failed.
 */
#ifndef _UAPI_KDDM_KIPC_DEV_H
#define _UAPI_KDDM_KIPC_DEV_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KIPC_SHM_PG_BITS	20

struct kipc_undo_adj {
	__s32 adj;
	__u32 gen;		/* the semaphore's undo generation */
};

struct kipc_undo {
	__s32 semid;
	__u32 nsems;
	__u64 stamp;		/* the set's creation stamp */
	struct kipc_undo_adj a[];	/* nsems of them */
};

struct kipc_undo_io {
	__s32 pid;
	__u32 len;
	__u64 buf;		/* user pointer */
};

#define KIPC_UNDO_MAX_BYTES	(4U << 20)

#define KIPC_UNDO_EXPORT	_IOWR('k', 0x60, struct kipc_undo_io)
#define KIPC_UNDO_IMPORT	_IOW('k', 0x61, struct kipc_undo_io)

#endif
