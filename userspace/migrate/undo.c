// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: the SEM_UNDO adjustments of kipc semaphores move with the
 * process. kipc keeps a process's undo entries on its node; while CRIU
 * holds the process frozen, the source takes them out (KIPC_UNDO_EXPORT:
 * the exit of the frozen copy applies them no more) into an image file
 * per process, "kddm-undo-PID", that goes with CRIU's. The destination
 * gives them to the restored process (KIPC_UNDO_IMPORT) once the source
 * let its copy go (COMMIT); if the move fails, the source gives them back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <kddm/kipc_dev.h>

#include "migrated.h"

#define UNDO_PREFIX	"kddm-undo-"
#define KIPC_DEV	"/dev/kipc"

static int kipc_open(void)
{
	int fd = open(KIPC_DEV, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int give(int kfd, pid_t pid, const void *buf, size_t len)
{
	struct kipc_undo_io io = { .pid = pid, .len = len,
				   .buf = (uintptr_t)buf };

	return ioctl(kfd, KIPC_UNDO_IMPORT, &io) ? -errno : 0;
}

/* Process @pid's entries into @dir_fd's UNDO_PREFIX file; 0 if none. */
static int take_one(int kfd, int dir_fd, pid_t pid)
{
	struct kipc_undo_io io = { .pid = pid, .len = 64 << 10 };
	char name[32];
	void *buf = NULL;
	int fd, err;

	for (;;) {
		free(buf);
		buf = malloc(io.len ? io.len : 1);
		if (!buf)
			return -ENOMEM;
		io.buf = (uintptr_t)buf;
		if (!ioctl(kfd, KIPC_UNDO_EXPORT, &io))
			break;
		err = -errno;
		if (err != -ENOSPC || io.len > KIPC_UNDO_MAX_BYTES) {
			free(buf);
			/* ended before the freeze: CRIU did not dump it */
			return err == -ESRCH ? 0 : err;
		}
	}
	err = 0;
	if (io.len) {
		snprintf(name, sizeof(name), UNDO_PREFIX "%d", pid);
		fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL |
			    O_CLOEXEC, 0600);
		err = fd < 0 ? -errno : write_all(fd, buf, io.len);
		if (fd >= 0 && close(fd) && !err)
			err = -errno;
		if (err) {	/* they stay with the process, once */
			if (fd >= 0)
				unlinkat(dir_fd, name, 0);
			give(kfd, pid, buf, io.len);
		}
	}
	free(buf);
	return err;
}

/* Reads @dir_fd's file @name whole: its length, or -errno. */
static ssize_t read_image(int dir_fd, const char *name, void **buf)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	off_t len;
	ssize_t n;

	if (fd < 0)
		return -errno;
	len = lseek(fd, 0, SEEK_END);
	if (len < 0 || len > KIPC_UNDO_MAX_BYTES) {
		close(fd);
		return len < 0 ? -errno : -EFBIG;
	}
	*buf = malloc(len ? len : 1);
	n = *buf ? pread(fd, *buf, len, 0) : -1;
	if (n != len) {
		n = *buf ? (n < 0 ? -errno : -EIO) : -ENOMEM;
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return n;
}

/* The PID of an UNDO_PREFIX file name, or 0. */
static pid_t undo_pid(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, UNDO_PREFIX, strlen(UNDO_PREFIX)))
		return 0;
	pid = strtol(name + strlen(UNDO_PREFIX), &end, 10);
	return *end || pid <= 0 || pid > 4194304 ? 0 : pid;
}

/* The source gives the processes in @dir_fd's files their entries back. */
void undo_give_back(int dir_fd)
{
	struct dirent *d;
	void *buf;
	ssize_t n;
	DIR *dir;
	pid_t pid;
	int kfd = kipc_open(), dfd;

	dfd = kfd < 0 ? -1 : dup(dir_fd);
	dir = dfd < 0 ? NULL : fdopendir(dfd);
	while (dir && (d = readdir(dir))) {
		pid = undo_pid(d->d_name);
		if (!pid)
			continue;
		n = read_image(dir_fd, d->d_name, &buf);
		if (n < 0 || give(kfd, pid, buf, n))
			kmsg("kddm-migrated: process %d lost its SEM_UNDO adjustments (%s)\n",
			     pid, strerror(n < 0 ? -n : errno));
		else
			unlinkat(dir_fd, d->d_name, 0);
		if (n >= 0)
			free(buf);
	}
	if (dir)
		closedir(dir);
	else if (dfd >= 0)
		close(dfd);
	if (kfd >= 0)
		close(kfd);
}

/*
 * The source, processes frozen: their entries into @dir_fd's files. On a
 * failure, those taken are given back and the reason is in @why.
 */
int undo_take(int dir_fd, const pid_t *procs, int nr, char *why, size_t len)
{
	int kfd = kipc_open(), i, err = 0;

	if (kfd == -ENOENT || kfd == -ENXIO || kfd == -ENODEV)
		return 0;	/* no kipc here: no entries */
	if (kfd < 0) {
		snprintf(why, len, "cannot open " KIPC_DEV ": %s",
			 strerror(-kfd));
		return kfd;
	}
	for (i = 0; !err && i < nr; i++) {
		err = take_one(kfd, dir_fd, procs[i]);
		if (err)
			snprintf(why, len, "cannot take the SEM_UNDO adjustments of process %d: %s",
				 procs[i], strerror(-err));
	}
	close(kfd);
	if (err)
		undo_give_back(dir_fd);
	return err;
}

/*
 * The destination, before restoring: the entries in @dir_fd's files, of
 * processes among @pids, into @u (given after COMMIT by undo_give()).
 */
int undo_load(int dir_fd, const uint32_t *pids, int nr, struct undo_load *u,
	      char *why, size_t len)
{
	struct dirent *d;
	DIR *dir;
	pid_t pid;
	ssize_t n;
	int i, dfd, err = 0;

	memset(u, 0, sizeof(*u));
	dfd = dup(dir_fd);
	dir = dfd < 0 ? NULL : fdopendir(dfd);
	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return -errno;
	}
	while (!err && (d = readdir(dir))) {
		pid = undo_pid(d->d_name);
		if (!pid)
			continue;
		for (i = 0; i < nr && pids[i] != (uint32_t)pid; i++)
			;
		if (i == nr || u->nr == UNDO_MAX_PROCS) {
			err = -EPROTO;
			break;
		}
		n = read_image(dir_fd, d->d_name, &u->buf[u->nr]);
		if (n < 0) {
			err = n;
			break;
		}
		u->len[u->nr] = n;
		u->pid[u->nr++] = pid;
	}
	closedir(dir);
	if (!err && u->nr) {
		u->kfd = kipc_open();
		if (u->kfd < 0) {
			snprintf(why, len, "it has SEM_UNDO adjustments on kipc semaphores, and kipc is not loaded here (%s)",
				 strerror(-u->kfd));
			err = u->kfd;
		}
	}
	if (err)
		undo_free(u);
	return err;
}

/* After COMMIT: the restored processes get their entries. */
void undo_give(struct undo_load *u)
{
	int i;

	for (i = 0; i < u->nr; i++)
		if (give(u->kfd, u->pid[i], u->buf[i], u->len[i]))
			kmsg("kddm-migrated: process %d lost its SEM_UNDO adjustments (%s)\n",
			     u->pid[i], strerror(errno));
	undo_free(u);
}

void undo_free(struct undo_load *u)
{
	int i;

	for (i = 0; i < u->nr; i++)
		free(u->buf[i]);
	if (u->nr && u->kfd >= 0)
		close(u->kfd);
	memset(u, 0, sizeof(*u));
}
