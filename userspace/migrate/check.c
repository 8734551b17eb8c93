// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: before anything is frozen, may the caller move the
 * process, and can it move? A process that cannot is refused with the
 * reason and keeps running untouched.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrated.h"

/*
 * The kernel decides, as for ptrace: a child with the caller's ids opens
 * /proc/PID/mem (PTRACE_MODE_ATTACH_FSCREDS, Yama included).
 */
int caller_may_ptrace(uid_t uid, gid_t gid, pid_t pid)
{
	char path[64];
	int st, fd;
	pid_t c;

	if (!uid)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	c = fork();
	if (c < 0)
		return -errno;
	if (!c) {
		if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
		    setresuid(uid, uid, uid))
			_exit(2);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		_exit(fd < 0 ? 1 : 0);
	}
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
		return -EIO;
	return WEXITSTATUS(st) == 0;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

static int status_field(pid_t pid, const char *key, long *v)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			*v = strtol(line + kl + 1, NULL, 10);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static bool in_list(const pid_t *l, int n, pid_t p)
{
	int i;

	for (i = 0; i < n; i++)
		if (l[i] == p)
			return true;
	return false;
}

/* Adds the tasks (threads) of @pid to @t, and its children to @kids. */
static int add_process(struct tree *t, pid_t pid, pid_t *kids, int *nkids,
		       char *why, size_t len)
{
	char path[64], buf[4096], *p, *end;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir) {
		snprintf(why, len, "process %d: %s", pid, strerror(errno));
		return -ESRCH;
	}
	t->procs[t->nr_procs++] = pid;
	while ((d = readdir(dir))) {
		long tid = strtol(d->d_name, &end, 10);

		if (*end || tid <= 0)
			continue;
		if (t->nr == KDDM_MIG_MAX_PIDS) {
			closedir(dir);
			snprintf(why, len, "more than %d tasks", KDDM_MIG_MAX_PIDS);
			return -E2BIG;
		}
		t->pids[t->nr++] = tid;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/children", pid, tid);
		if (read_small(path, buf, sizeof(buf)) < 0)
			continue;
		for (p = buf; *p; p = end) {
			long c = strtol(p, &end, 10);

			if (end == p)
				break;
			if (*nkids < KDDM_MIG_MAX_PIDS && c > 0)
				kids[(*nkids)++] = c;
		}
	}
	closedir(dir);
	return 0;
}

int tree_collect(pid_t root, bool tree, struct tree *t, char *why, size_t len)
{
	static __thread pid_t kids[KDDM_MIG_MAX_PIDS];
	char path[64];
	struct stat st;
	long tgid = 0;
	int nkids = 0, i = 0, err;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	t->root = root;
	if (status_field(root, "Tgid", &tgid)) {
		snprintf(why, len, "no process %d on node %u", root, self_node);
		return -ESRCH;
	}
	if (tgid != root) {
		snprintf(why, len, "%d is a thread of process %ld: give the process's PID",
			 root, tgid);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", root);
	n = readlink(path, t->exe, sizeof(t->exe) - 1);
	if (n <= 0 || root == 1 || root == getpid()) {
		snprintf(why, len, "%d is %s: it cannot move", root,
			 root == 1 ? "init" : n <= 0 ? "a kernel thread" :
			 "kddm-migrated");
		return -EPERM;
	}
	snprintf(path, sizeof(path), "/proc/%d/cwd", root);
	n = readlink(path, t->cwd, sizeof(t->cwd) - 1);
	if (n <= 0) {
		snprintf(why, len, "process %d: no working directory", root);
		return -EPERM;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", root);
	if (read_small(path, t->comm, sizeof(t->comm)) > 0)
		t->comm[strcspn(t->comm, "\n")] = 0;
	snprintf(path, sizeof(path), "/proc/%d", root);
	if (stat(path, &st)) {
		snprintf(why, len, "no process %d on node %u", root, self_node);
		return -ESRCH;
	}
	t->uid = st.st_uid;
	err = add_process(t, root, kids, &nkids, why, len);
	if (err)
		return err;
	if (nkids && !tree) {
		snprintf(why, len, "process %d has child processes (%d first): move them with it with --tree",
			 root, kids[0]);
		return -EBUSY;
	}
	for (i = 0; i < nkids; i++) {
		if (in_list(t->procs, t->nr_procs, kids[i]))
			continue;
		if (t->nr_procs == KDDM_MIG_MAX_PIDS) {
			snprintf(why, len, "more than %d processes", KDDM_MIG_MAX_PIDS);
			return -E2BIG;
		}
		err = add_process(t, kids[i], kids, &nkids, why, len);
		if (err == -ESRCH) {
			/* a child that ended meanwhile: CRIU will not see it */
			why[0] = '\0';
			continue;
		}
		if (err)
			return err;
	}
	return 0;
}

/* ---- what cannot move ---- */

/*
 * Mounted kdfs file systems (the same files on every node), @max at most:
 * their devices in @devs and their mount points in @dirs (either may be
 * NULL). Returns how many.
 */
int kdfs_mounts(dev_t *devs, char (*dirs)[PATH_MAX], int max)
{
	char line[4096], fstype[64], dir[PATH_MAX], *sep;
	unsigned int ma, mi;
	int n = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &ma, &mi, dir) != 3 ||
		    !sep || sscanf(sep + 3, "%63s", fstype) != 1 ||
		    strcmp(fstype, "kdfs"))
			continue;
		if (devs)
			devs[n] = makedev(ma, mi);
		if (dirs)
			memcpy(dirs[n], dir, sizeof(dir));
		n++;
	}
	fclose(f);
	return n;
}

bool kdfs_dev_in(dev_t dev, const dev_t *devs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (devs[i] == dev)
			return true;
	return false;
}

/* Socket inode @ino in the inet tables @pid sees: "TCP", "UDP", or NULL. */
static const char *inet_socket(pid_t pid, unsigned long ino)
{
	static const char *const tables[][2] = {
		{ "tcp", "TCP" }, { "tcp6", "TCP" }, { "udp", "UDP" },
		{ "udp6", "UDP" }, { "raw", "raw IP" }, { "raw6", "raw IP" },
		{ "udplite", "UDP-Lite" }, { "udplite6", "UDP-Lite" },
	};
	char path[64], line[512];
	unsigned long i, v;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, tables[i][0]);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			/* sl local rem st txq:rxq tr:when retrnsmt uid timeout inode */
			if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu",
				   &v) == 1 && v == ino) {
				fclose(f);
				return tables[i][1];
			}
		}
		fclose(f);
	}
	return NULL;
}

static bool harmless_chr(dev_t rdev)
{
	/* null, zero, full, random, urandom */
	return major(rdev) == 1 && (minor(rdev) == 3 || minor(rdev) == 5 ||
				    minor(rdev) == 7 || minor(rdev) == 8 ||
				    minor(rdev) == 9);
}

struct pipes {
	int nr;
	unsigned long ino[1024];
	int fd[1024];
	pid_t pid[1024];
};

static int check_fd(pid_t pid, int fd, const dev_t *devs, int ndevs,
		    struct pipes *pp, char *why, size_t len)
{
	char path[64], target[PATH_MAX];
	unsigned long ino;
	const char *kind;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return 0;	/* closed meanwhile */
	target[n] = 0;
	if (sscanf(target, "socket:[%lu]", &ino) == 1) {
		kind = inet_socket(pid, ino);
		if (!kind)
			return 0;	/* unix, netlink: CRIU decides */
		snprintf(why, len, "process %d has a %s socket (fd %d): network connections cannot move",
			 pid, kind, fd);
		return -EBUSY;
	}
	if (sscanf(target, "pipe:[%lu]", &ino) == 1) {
		if (pp->nr < (int)ARRAY_SIZE(pp->ino)) {
			pp->ino[pp->nr] = ino;
			pp->fd[pp->nr] = fd;
			pp->pid[pp->nr++] = pid;
		}
		return 0;
	}
	if (!strncmp(target, "anon_inode:", 11))
		return 0;
	if (stat(path, &st))
		return 0;
	if (S_ISCHR(st.st_mode) && harmless_chr(st.st_rdev))
		return 0;
	if (S_ISCHR(st.st_mode) &&
	    (major(st.st_rdev) == 136 || major(st.st_rdev) == 4 ||
	     major(st.st_rdev) == 5)) {
		snprintf(why, len, "process %d has a terminal open (fd %d, %s): redirect its standard streams",
			 pid, fd, target);
		return -EBUSY;
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		snprintf(why, len, "process %d has a device open (fd %d, %s)",
			 pid, fd, target);
		return -EBUSY;
	}
	if (!kdfs_dev_in(st.st_dev, devs, ndevs)) {
		snprintf(why, len, "process %d has %s open (fd %d) on a node-local file system: only files on kdfs move",
			 pid, target, fd);
		return -EBUSY;
	}
	return 0;
}

static int check_fds(pid_t pid, const dev_t *devs, int ndevs,
		     struct pipes *pp, char *why, size_t len)
{
	char path[64], *end;
	struct dirent *d;
	DIR *dir;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!err && (d = readdir(dir))) {
		long fd = strtol(d->d_name, &end, 10);

		if (*end || d->d_name[0] == '.')
			continue;
		err = check_fd(pid, fd, devs, ndevs, pp, why, len);
	}
	closedir(dir);
	return err;
}

/* Is @ma:@mi the file system of /dev/kipc, kipc's device? */
static bool kipc_dev(unsigned int ma, unsigned int mi)
{
	char buf[32];
	unsigned int dma, dmi;
	struct stat st;

	if (read_small("/sys/class/misc/kipc/dev", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%u:%u", &dma, &dmi) != 2 ||
	    stat("/dev/kipc", &st) || !S_ISCHR(st.st_mode))
		return false;
	return st.st_rdev == makedev(dma, dmi) &&
	       st.st_dev == makedev(ma, mi);
}

static int check_maps(pid_t pid, const dev_t *devs, int ndevs, char *why,
		      size_t len)
{
	char path[64], line[PATH_MAX + 128], perms[8], file[PATH_MAX];
	unsigned int ma, mi;
	int err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!err && fgets(line, sizeof(line), f)) {
		file[0] = 0;
		if (sscanf(line, "%*x-%*x %7s %*x %x:%x %*u %4095[^\n]", perms,
			   &ma, &mi, file) < 3)
			continue;
		if (!strncmp(file, "/SYSV", 5)) {
			snprintf(why, len, "process %d has System V shared memory attached that cannot move (%s): only kipc segments attached through /dev/kipc move",
				 pid, file);
			err = -EBUSY;
		} else if (!strcmp(file, "/dev/kipc") && kipc_dev(ma, mi)) {
			continue;	/* a kipc segment: CRIU's plugin */
		} else if (file[0] == '/' && perms[3] == 's' &&
			   !kdfs_dev_in(makedev(ma, mi), devs, ndevs)) {
			snprintf(why, len, "process %d has %s mapped shared on a node-local file system",
				 pid, file);
			err = -EBUSY;
		}
	}
	fclose(f);
	return err;
}

/* A pipe end of the tree held by a process outside it too. */
static int check_pipes(const struct tree *t, const struct pipes *pp,
		       char *why, size_t len)
{
	char path[300], target[64], *end;
	struct dirent *p, *d;
	unsigned long ino;
	DIR *proc, *dir;
	int i, err = 0;
	ssize_t n;

	if (!pp->nr)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!err && (p = readdir(proc))) {
		long pid = strtol(p->d_name, &end, 10);

		if (*end || pid <= 0 || in_list(t->procs, t->nr_procs, pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		dir = opendir(path);
		if (!dir)
			continue;
		while (!err && (d = readdir(dir))) {
			snprintf(path, sizeof(path), "/proc/%ld/fd/%s", pid,
				 d->d_name);
			n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			if (sscanf(target, "pipe:[%lu]", &ino) != 1)
				continue;
			for (i = 0; i < pp->nr; i++) {
				if (pp->ino[i] != ino)
					continue;
				snprintf(why, len, "process %d's fd %d is a pipe to process %ld, which stays (--tree moves descendants only)",
					 pp->pid[i], pp->fd[i], pid);
				err = -EBUSY;
				break;
			}
		}
		closedir(dir);
	}
	closedir(proc);
	return err;
}

int tree_movable(const struct tree *t, char *why, size_t len)
{
	static __thread struct pipes pp;
	dev_t devs[16];
	int ndevs = kdfs_mounts(devs, NULL, ARRAY_SIZE(devs));
	int i, err = 0;

	pp.nr = 0;
	for (i = 0; !err && i < t->nr_procs; i++) {
		err = check_fds(t->procs[i], devs, ndevs, &pp, why, len);
		if (!err)
			err = check_maps(t->procs[i], devs, ndevs, why, len);
	}
	if (!err)
		err = check_pipes(t, &pp, why, len);
	return err;
}

int pids_free(const uint32_t *pids, int nr, char *why, size_t len)
{
	char path[64];
	int i;

	for (i = 0; i < nr; i++) {
		snprintf(path, sizeof(path), "/proc/%u", pids[i]);
		if (!access(path, F_OK)) {
			snprintf(why, len, "PID %u is in use on node %u", pids[i],
				 self_node);
			return -EADDRINUSE;
		}
	}
	return 0;
}
