/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel interfaces that changed between the kernels kDDM and its
 * services build for: Debian 12's 6.1 and bookworm-backports' 6.12. Every
 * version test of the tree is here; the code calls these helpers and names.
 * Documentation/kddm/install.rst lists the kernels make check builds for.
 */
#ifndef _KDDM_COMPAT_H
#define _KDDM_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/posix_acl.h>
#include <linux/version.h>
#include <net/genetlink.h>

/* The kernel is @major.@minor or newer; exactly @major.@minor. */
#define KDDM_SINCE(major, minor) \
	(LINUX_VERSION_MAJOR > (major) || \
	 (LINUX_VERSION_MAJOR == (major) && LINUX_VERSION_PATCHLEVEL >= (minor)))
#define KDDM_KERNEL_IS(major, minor) \
	(LINUX_VERSION_MAJOR == (major) && LINUX_VERSION_PATCHLEVEL == (minor))

#if !KDDM_SINCE(6, 1)
#error "kDDM builds for Linux 6.1 and newer (Debian 12's kernel or later)"
#endif

/*
 * kipc mirrors structures private to ipc/ (struct ipc_proc_iface and
 * ipc_proc_iter of util.c, the first field of sem.c's sem_undo_list) and
 * redirects functions by name. Both were compared in Debian's sources of
 * these kernels; kipc refuses to load on another.
 */
#define KDDM_KIPC_CHECKED_KERNEL \
	(KDDM_KERNEL_IS(6, 1) || KDDM_KERNEL_IS(6, 12))

/*
 * 6.3: inode operations and the VFS helpers take the mount's id map, no
 * longer its user namespace. kdfs has no id-mapped mounts: it passes the
 * identity, and declares its operations with struct kddm_idmap.
 */
#if KDDM_SINCE(6, 3)
#define kddm_idmap		mnt_idmap
#define KDDM_NOP_IDMAP		(&nop_mnt_idmap)
#define kddm_mnt_idmap(mnt)	mnt_idmap(mnt)
#else
#define kddm_idmap		user_namespace
#define KDDM_NOP_IDMAP		(&init_user_ns)
#define kddm_mnt_idmap(mnt)	mnt_user_ns(mnt)
#endif

/*
 * 6.2: POSIX ACLs are set on a dentry; the inode getter (used by permission
 * checks) got its own operation, get_inode_acl.
 */
#if KDDM_SINCE(6, 2)
#define kddm_acl_target		dentry
#define kddm_acl_inode(t)	d_inode(t)
#define kddm_acl_of(dentry)	(dentry)
#define KDDM_IOP_GET_INODE_ACL	get_inode_acl
#else
#define kddm_acl_target		inode
#define kddm_acl_inode(t)	(t)
#define kddm_acl_of(dentry)	d_inode(dentry)
#define KDDM_IOP_GET_INODE_ACL	get_acl
#endif

/*
 * Before 6.6 the file system lists these handlers for system.posix_acl_*
 * (which they serve up to 6.1, and only name from 6.2); 6.6 and later serve
 * them in the VFS, without a handler of the file system.
 */
#if KDDM_SINCE(6, 6)
#define KDDM_POSIX_ACL_XATTR_HANDLERS
#else
#define KDDM_POSIX_ACL_XATTR_HANDLERS \
	&posix_acl_access_xattr_handler, &posix_acl_default_xattr_handler,
#endif

/* 6.6: generic_fillattr() takes the request mask. */
static inline void kddm_fillattr(struct inode *inode, u32 mask,
				 struct kstat *stat)
{
#if KDDM_SINCE(6, 6)
	generic_fillattr(KDDM_NOP_IDMAP, mask, inode, stat);
#else
	generic_fillattr(KDDM_NOP_IDMAP, inode, stat);
#endif
}

/* 6.6 (ctime) and 6.7 (atime, mtime): the inode's times are private. */
static inline void kddm_inode_set_times(struct inode *inode,
					struct timespec64 atime,
					struct timespec64 mtime,
					struct timespec64 ctime)
{
#if KDDM_SINCE(6, 7)
	inode_set_atime_to_ts(inode, atime);
	inode_set_mtime_to_ts(inode, mtime);
#else
	inode->i_atime = atime;
	inode->i_mtime = mtime;
#endif
#if KDDM_SINCE(6, 6)
	inode_set_ctime_to_ts(inode, ctime);
#else
	inode->i_ctime = ctime;
#endif
}

/* 6.3: a VMA's flags change through helpers (that assert the mmap lock). */
static inline void kddm_vm_flags_set(struct vm_area_struct *vma,
				     vm_flags_t flags)
{
#if KDDM_SINCE(6, 3)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void kddm_vm_flags_clear(struct vm_area_struct *vma,
				       vm_flags_t flags)
{
#if KDDM_SINCE(6, 3)
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/*
 * Splice reads through ->read_iter (kdfs must see every read): 6.5 calls
 * that copy_splice_read(); before, generic_file_splice_read() did it.
 */
#if KDDM_SINCE(6, 5)
#define kddm_splice_read	copy_splice_read
#else
#define kddm_splice_read	generic_file_splice_read
#endif

/* 6.6: a dump's attributes are in its genl_info. */
static inline struct nlattr **
kddm_dump_attrs(const struct genl_dumpit_info *info)
{
#if KDDM_SINCE(6, 6)
	return info->info.attrs;
#else
	return info->attrs;
#endif
}

/* 6.10: __assign_str() finds its source in the event's fields. */
#if KDDM_SINCE(6, 10)
#define kddm_assign_str(dst, src)	__assign_str(dst)
#else
#define kddm_assign_str(dst, src)	__assign_str(dst, src)
#endif

/*
 * 6.3: struct file_lock in <linux/filelock.h>. 6.9: its owner, flags,
 * type, pid, file and list entry in its core (c.flc_*).
 */
#if KDDM_SINCE(6, 3)
#include <linux/filelock.h>
#endif
#if KDDM_SINCE(6, 9)
#define KDDM_FL(fl, field)	((fl)->c.flc_##field)
#define KDDM_FL_LIST		c.flc_list
#else
#define KDDM_FL(fl, field)	((fl)->fl_##field)
#define KDDM_FL_LIST		fl_list
#endif

/* get_user_pages_remote() lost its vmas argument in 6.5. */
#if KDDM_SINCE(6, 5)
#define kddm_gup_remote(mm, addr, nr, flags, pages) \
	get_user_pages_remote(mm, addr, nr, flags, pages, NULL)
#else
#define kddm_gup_remote(mm, addr, nr, flags, pages) \
	get_user_pages_remote(mm, addr, nr, flags, pages, NULL, NULL)
#endif

#endif /* _KDDM_COMPAT_H */
