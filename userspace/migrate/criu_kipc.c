// SPDX-License-Identifier: GPL-2.0
/*
 * kddm_kipc.so: a CRIU plugin for the attachments of kipc shared memory.
 *
 * kipc's shmat() maps the misc device /dev/kipc at an offset that names the
 * segment (shmid << 20 pages). CRIU dumps a device mapping only if a
 * plugin claims it (HANDLE_DEVICE_VMA): this one claims /dev/kipc's and
 * nothing else. CRIU then records the vma like a shared file mapping
 * (path, offset, protection; no pages, the segment is cluster-wide) and
 * restores it by mapping /dev/kipc at the same offset, which attaches the
 * same segment on the destination node. The offset is kept as it is
 * (UPDATE_VMA_MAP is left to CRIU).
 *
 * Installed in CRIU's plugin directory (/usr/lib/criu, or CRIU_LIBS_DIR).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <criu/criu-plugin.h>

/* /dev/kipc's device number, from sysfs (so any /dev will do). */
static int kipc_rdev(dev_t *rdev)
{
	unsigned int ma, mi;
	FILE *f = fopen("/sys/class/misc/kipc/dev", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%u:%u", &ma, &mi);
	fclose(f);
	if (n != 2)
		return -1;
	*rdev = makedev(ma, mi);
	return 0;
}

static int kipc_handle_device_vma(int fd, const struct stat *st)
{
	dev_t rdev;

	(void)fd;
	if (!S_ISCHR(st->st_mode) || kipc_rdev(&rdev) || st->st_rdev != rdev)
		return -ENOTSUP;
	return 0;
}

CR_PLUGIN_REGISTER_DUMMY("kddm_kipc")
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__HANDLE_DEVICE_VMA,
			kipc_handle_device_vma)
