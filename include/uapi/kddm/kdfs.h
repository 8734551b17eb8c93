/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kdfs.ko: ioctls on kdfs files.
 *
 * KDFS_IOC_RELINK (CAP_SYS_ADMIN): an open regular file whose name was
 * removed (unlink, or a rename over it) gets that name back, in the
 * directory that held it, through the dentry it was opened by: after it,
 * /proc/PID/fd shows its path again (no " (deleted)"). Errors: EEXIST,
 * it has its name, or the name is another file's now; ENOENT, the
 * directory is gone (or the file was freed); EINVAL, not a regular file.
 * kddm-migrated gives their names back to the unlinked files of a process
 * while it moves, so that the destination opens the same file, and
 * removes them once the process is there.
 */
#ifndef _UAPI_KDDM_KDFS_H
#define _UAPI_KDDM_KDFS_H

#include <linux/ioctl.h>

#define KDFS_IOC_RELINK		_IO('k', 0x70)

#endif /* _UAPI_KDDM_KDFS_H */
