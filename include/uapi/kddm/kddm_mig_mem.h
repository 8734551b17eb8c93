/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/kddm_mig (kddm_mig.ko): a moved process's memory as kDDM objects.
 *
 * The source node's kddm-migrated exports the page images CRIU wrote
 * (EXPORT): a kDDM set whose objects are KDDM_MIG_CHUNK-byte pieces of
 * those files, homed on the source; object (i << 32 | n) is bytes
 * [n * KDDM_MIG_CHUNK, (n + 1) * KDDM_MIG_CHUNK) of file i. The
 * destination's daemon reads them (READ; PREFETCH starts a read ahead
 * of @len chunks from @obj_id on, at most KDDM_MIG_PREFETCH_MAX, asked
 * for in one message; 0 is one) as the restored process touches its
 * memory. READ with KDDM_MIG_READ_DROP lets the copy go once read (the
 * caller needs it no more): the source hears it with the next requests.
 * UNEXPORT, on the source, destroys the set once the destination has
 * every page. Root only.
 *
 * With KDDM_MIG_EXPORT_FILLING, the files are written after the export
 * (the source's daemon copies the pages out of CRIU's page server while
 * the process already runs on the destination): a chunk is served only
 * once FILLED said it is written, and reads of it fail with EAGAIN until
 * then. WANTED tells the exporter which chunks were asked for too early
 * (file << 32 | chunk, oldest first), so that it copies those first.
 *
 * EXPORT_MM exports the memory of frozen processes directly: file i is
 * then the memory of process @pid of its kddm_mig_mm_file, laid out as
 * its extents say (bytes [off, off + len) of the file are the process's
 * memory at [vaddr, vaddr + len); zero elsewhere, up to @size). The
 * module keeps a reference to each process's address space, which stays
 * after the process was killed, until UNEXPORT; its objects are read out
 * of it at first touch. Nothing is copied on the source before the
 * destination asks for it, and nothing is written to a file. SEAL, once
 * the move is decided and the processes stopped, before they are killed:
 * their threads' clear_child_tid and robust futex lists are dropped, so
 * that their death writes nothing into the memory still to be read.
 * @pid must be the process (thread group leader).
 *
 * On the destination, GUARD hands the module a reference to the
 * userfaultfd of a restored process whose pages are still coming, and
 * the process (@pid, 0 for none: a child forked meanwhile, whose parent
 * is guarded already). If the file descriptor the guards came through is
 * closed before UNGUARD (the daemon died), the guarded processes and all
 * their descendants are killed, with a kernel log line; their faults
 * wait meanwhile instead of finding zero pages where their memory was
 * not copied yet. UNGUARD drops the guards of a set: every page came, or
 * the daemon killed the processes itself.
 */
#ifndef _UAPI_KDDM_KDDM_MIG_MEM_H
#define _UAPI_KDDM_KDDM_MIG_MEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KDDM_MIG_CHUNK		(64 * 1024)
#define KDDM_MIG_MAX_FILES	4096

struct kddm_mig_export {
	__u64 set_id;		/* out */
	__u64 fds;		/* in: user pointer to nr_files __s32 fds */
	__u32 nr_files;
	__u32 flags;		/* KDDM_MIG_EXPORT_* */
};

#define KDDM_MIG_EXPORT_FILLING	0x1

/* Chunks [first, first + nr) of file @file of set @set_id are written. */
struct kddm_mig_filled {
	__u64 set_id;
	__u32 file;
	__u32 first;
	__u32 nr;
	__u32 pad;
};

#define KDDM_MIG_WANTED_MAX	16

struct kddm_mig_wanted {
	__u64 set_id;
	__u32 nr;		/* out: how many of @chunks are set */
	__u32 pad;
	__u64 chunks[KDDM_MIG_WANTED_MAX];
};

/* EXPORT_MM: a process's memory as file @file of the set. */
struct kddm_mig_ext {
	__u64 vaddr;		/* page aligned */
	__u64 off;		/* in the file: page aligned, ascending */
	__u64 len;		/* page aligned, not 0 */
};

struct kddm_mig_mm_file {
	__s32 pid;		/* in the caller's PID namespace */
	__u32 nr_ext;		/* KDDM_MIG_MAX_EXT in all files at most */
	__u64 size;		/* of the file */
	__u64 ext;		/* user pointer to nr_ext struct kddm_mig_ext */
};

struct kddm_mig_export_mm {
	__u64 set_id;		/* out */
	__u64 files;		/* user pointer to nr_files kddm_mig_mm_file */
	__u32 nr_files;
	__u32 pad;
};

#define KDDM_MIG_MAX_EXT	(1U << 20)

struct kddm_mig_read {
	__u64 set_id;
	__u64 obj_id;
	__u64 buf;		/* user pointer, KDDM_MIG_CHUNK bytes (READ) */
	/* READ: in, the buffer's size; out, bytes read. PREFETCH: chunks */
	__u32 len;
	__u32 flags;		/* READ: KDDM_MIG_READ_*; PREFETCH: 0 */
};

#define KDDM_MIG_READ_DROP	0x1
#define KDDM_MIG_PREFETCH_MAX	64

struct kddm_mig_guard {
	__u64 set_id;		/* where its memory comes from */
	__s32 pid;		/* the process (thread group), or 0 */
	__s32 uffd;		/* its userfaultfd */
	__u32 source;		/* the node it came from (for the log) */
	__u32 pad;
};

#define KDDM_MIG_EXPORT		_IOWR('k', 0x40, struct kddm_mig_export)
#define KDDM_MIG_READ		_IOWR('k', 0x41, struct kddm_mig_read)
#define KDDM_MIG_PREFETCH	_IOW('k', 0x42, struct kddm_mig_read)
#define KDDM_MIG_UNEXPORT	_IOW('k', 0x43, __u64)
#define KDDM_MIG_FILLED		_IOW('k', 0x44, struct kddm_mig_filled)
#define KDDM_MIG_WANTED		_IOWR('k', 0x45, struct kddm_mig_wanted)
#define KDDM_MIG_GUARD		_IOW('k', 0x46, struct kddm_mig_guard)
#define KDDM_MIG_UNGUARD	_IOW('k', 0x47, __u64)
#define KDDM_MIG_EXPORT_MM	_IOWR('k', 0x48, struct kddm_mig_export_mm)
#define KDDM_MIG_SEAL		_IOW('k', 0x49, __u64)

#endif /* _UAPI_KDDM_KDDM_MIG_MEM_H */
