// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: the unlinked kdfs files of a process that moves.
 *
 * CRIU dumps an open file that has no name left as a "ghost": a copy of
 * its data (1 MiB at most) in the images, made into a new file by the
 * restore. A process elsewhere that has the file open too would no longer
 * share it with the one that moved. So, before the dump, each such file
 * of the tree gets its name back for the move (KDFS_IOC_RELINK: the
 * dentry it was opened by is hashed again, in the directory that held
 * it): CRIU dumps it as any file, by its path, and the destination opens
 * the same file by that path. The destination removes the names once its
 * restore opened the files, before the processes run again (the list
 * goes with the images, RELINK_IMAGE); the source removes those left once
 * the move is over (it failed, or the destination could not). A file
 * whose directory is gone, or whose name is another file's now, stays
 * unlinked: CRIU copies it, as before.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <kddm/kdfs.h>

#include "migrated.h"

#define DELETED		" (deleted)"
#define RELINK_MAX	256	/* files named again per move */

static bool on_kdfs(dev_t dev)
{
	dev_t devs[16];

	return kdfs_dev_in(dev, devs, kdfs_mounts(devs, NULL, ARRAY_SIZE(devs)));
}

static bool known(const struct relinks *r, const struct stat *st)
{
	int i;

	for (i = 0; i < r->nr; i++)
		if (r->f[i].dev == st->st_dev && r->f[i].ino == st->st_ino)
			return true;
	return false;
}

/*
 * @proc (/proc/PID/fd/N or map_files/RANGE), whose path ends with
 * " (deleted)" (@deleted) or not (the name may have gone on another
 * node): named again, if it has no name.
 */
static void relink_one(struct relinks *r, const char *proc, bool deleted)
{
	char self[64], path[PATH_MAX];
	struct relinked *f;
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(proc, &st) || !S_ISREG(st.st_mode) || known(r, &st) ||
	    !kdfs_dev_in(st.st_dev, r->devs, r->ndevs) ||
	    (!deleted && st.st_nlink) || r->nr == RELINK_MAX)
		return;
	f = realloc(r->f, (r->nr + 1) * sizeof(*r->f));
	if (!f)
		return;
	r->f = f;
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ioctl(fd, KDFS_IOC_RELINK)) {
		/* CRIU copies it (a ghost file), or has it by its name */
		if (errno != EEXIST || deleted)
			logmsg("%s stays unlinked: %s", proc, strerror(errno));
		goto out;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	n = readlink(self, path, sizeof(path) - 1);
	f = &r->f[r->nr];
	f->path = n > 0 ? strndup(path, n) : NULL;
	if (f->path) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		r->nr++;
	} else {
		logmsg("%s: named again, but its name is lost", proc);
	}
out:
	close(fd);
}

static bool ends_deleted(const char *s, size_t n)
{
	size_t dl = strlen(DELETED);

	return n > dl && !memcmp(s + n - dl, DELETED, dl);
}

/* Of process @pid: its open files, then its mapped ones. */
static void relink_process(struct relinks *r, pid_t pid)
{
	char path[PATH_MAX + 64], target[PATH_MAX], file[PATH_MAX];
	unsigned long start, end;
	unsigned int ma, mi;
	struct dirent *d;
	ssize_t n;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0 || target[0] != '/')
			continue;
		relink_one(r, path, ends_deleted(target, n));
	}
	if (dir)
		closedir(dir);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && fgets(target, sizeof(target), f)) {
		target[strcspn(target, "\n")] = 0;
		if (sscanf(target, "%lx-%lx %*s %*x %x:%x %*u %4095[^\n]",
			   &start, &end, &ma, &mi, file) != 5 ||
		    file[0] != '/' || !kdfs_dev_in(makedev(ma, mi), r->devs, r->ndevs))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid,
			 start, end);
		relink_one(r, path, ends_deleted(target, strlen(target)));
	}
	if (f)
		fclose(f);
}

/* The list, for the destination: "INO LEN\nPATH\n" per file. */
static int relink_write(const struct relinks *r, int dir_fd)
{
	int fd, i, err = 0;
	FILE *f;

	fd = openat(dir_fd, RELINK_IMAGE, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	for (i = 0; i < r->nr; i++)
		fprintf(f, "%" PRIu64 " %zu\n%s\n", (uint64_t)r->f[i].ino,
			strlen(r->f[i].path), r->f[i].path);
	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int relink_tree(const struct tree *t, int dir_fd, struct relinks *r)
{
	int i, err;

	r->ndevs = kdfs_mounts(r->devs, NULL, ARRAY_SIZE(r->devs));
	if (!r->ndevs)
		return 0;
	for (i = 0; i < t->nr_procs; i++)
		relink_process(r, t->procs[i]);
	if (!r->nr)
		return 0;
	err = relink_write(r, dir_fd);
	if (err)
		logmsg("%s: %s", RELINK_IMAGE, strerror(-err));
	return err;
}

/*
 * @path's name goes, if it still names file @ino of kdfs. The path may
 * be in a directory of the moved process's user: no symbolic link is
 * followed on the way (one swapped in would make us unlink elsewhere).
 */
static int unlink_if(const char *path, uint64_t ino)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char dir[PATH_MAX];
	const char *base = strrchr(path, '/');
	struct stat st;
	int dfd, err = 0;

	if (!base || path[0] != '/' || !base[1] || !strcmp(base, "/.") ||
	    !strcmp(base, "/..") || (size_t)(base - path) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, base - path);
	dir[base - path] = 0;
	if (!dir[0])
		strcpy(dir, "/");
	base++;
	dfd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW))
		err = errno == ENOENT ? 0 : -errno;
	else if (st.st_ino == ino && S_ISREG(st.st_mode) &&
		 on_kdfs(st.st_dev) && unlinkat(dfd, base, 0) &&
		 errno != ENOENT)
		err = -errno;
	close(dfd);
	return err;
}

void relink_undo(struct relinks *r)
{
	int i, err;

	for (i = 0; i < r->nr; i++) {
		err = unlink_if(r->f[i].path, r->f[i].ino);
		if (err)
			logmsg("%s: its name stays: %s", r->f[i].path,
			       strerror(-err));
	}
}

void relink_free(struct relinks *r)
{
	int i;

	for (i = 0; i < r->nr; i++)
		free(r->f[i].path);
	free(r->f);
	r->f = NULL;
	r->nr = 0;
}

/*
 * Destination, its restore done (the files open, the processes not
 * running yet): the names in the images' list go. The list comes from
 * the source: only paths on kdfs that name the inode it says go.
 */
void relinked_remove(int dir_fd)
{
	char path[PATH_MAX + 1];
	uint64_t ino;
	size_t len;
	int fd, err, nr = 0;
	FILE *f;

	fd = openat(dir_fd, RELINK_IMAGE, O_RDONLY | O_CLOEXEC);
	f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (nr++ < RELINK_MAX &&
	       fscanf(f, "%" SCNu64 " %zu", &ino, &len) == 2 &&
	       fgetc(f) == '\n' && len && len < sizeof(path) &&
	       fread(path, 1, len, f) == len && fgetc(f) == '\n') {
		path[len] = 0;
		if (path[0] != '/' || strlen(path) != len)
			break;
		err = unlink_if(path, ino);
		if (err)
			logmsg("%s: its name stays: %s", path, strerror(-err));
	}
	fclose(f);
}

/* At start: the names a move of a daemon that died left (images @dir). */
void relinked_forget(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	relinked_remove(fd);
	close(fd);
}
