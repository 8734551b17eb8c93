// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: moving a process tree.
 *
 * Source: check, ask the destination whether it can take the tree (its
 * PIDs free, its working directory and executable there), then have CRIU
 * dump it. CRIU calls back once every image is written, the tasks still
 * frozen ("post-dump"): the images go to the destination, which restores
 * them. Only if that restore succeeded does the callback let CRIU kill the
 * frozen tasks; any failure up to there makes CRIU thaw them, and the
 * process goes on where it was, nothing lost.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <poll.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include <criu/criu.h>
#include <criu/version.h>

#include "migrated.h"

/*
 * libcriu 3.17.1 has no setter for the lazy_pages and config_file options
 * of its RPC, which CRIU honours; its criu_opts (lib/c/criu.c) begins
 * with the RPC options. Checked against the version built with.
 */
#if CRIU_VERSION_MAJOR != 3 || CRIU_VERSION_MINOR != 17
#error "criu_set_lazy() knows libcriu 3.17's criu_opts only"
#endif

static void criu_set_lazy(criu_opts *o)
{
	CriuOpts *rpc = *(CriuOpts **)o;

	rpc->has_lazy_pages = true;
	rpc->lazy_pages = true;
}

/* @path stays ours: set it back to NULL before the options are freed. */
static void criu_set_config(criu_opts *o, char *path)
{
	CriuOpts *rpc = *(CriuOpts **)o;

	rpc->config_file = path;
}

#define CRIU_BIN	"/usr/sbin/criu"
#define RESTORE_WAIT	600	/* seconds a restore may take */
#define COMMIT_WAIT	60	/* seconds the destination waits for COMMIT */
#define PULL_WAIT	300	/* seconds a move waits for a pull to end */
#define PS_WAIT		60	/* seconds CRIU's page server may take */
#define COPY_CHUNK	(1 << 20)
#define MAX_FILES	100000

/* ---- images directories ---- */

static int images_dir(const char *kind, char *path, size_t len)
{
	snprintf(path, len, MIG_RUN_DIR "/%s-XXXXXX", kind);
	if (!mkdtemp(path))
		return -errno;
	return 0;
}

static void images_remove(const char *path)
{
	struct dirent *d;
	DIR *dir = opendir(path);

	if (!dir)
		return;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.' || (d->d_name[1] &&
					    strcmp(d->d_name, "..")))
			unlinkat(dirfd(dir), d->d_name, 0);
	closedir(dir);
	rmdir(path);
}

/*
 * What a daemon that died left in MIG_RUN_DIR: at start, nothing runs
 * (the names it gave unlinked files for a move go too).
 */
void images_cleanup(void)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir = opendir(MIG_RUN_DIR);

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "out-", 4) && strncmp(d->d_name, "in-", 3))
			continue;
		snprintf(path, sizeof(path), MIG_RUN_DIR "/%s", d->d_name);
		if (!strncmp(d->d_name, "out-", 4))
			relinked_forget(path);
		images_remove(path);
	}
	closedir(dir);
}

/*
 * The last "Error" line CRIU logged (earlier ones may be of probes it
 * ran and got over), as a reason for the user; the log is kept as
 * MIG_RUN_DIR/failed-LOG for a closer look.
 */
static void criu_error(const char *dir, const char *log, char *why, size_t len)
{
	char path[PATH_MAX], keep[PATH_MAX], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, log);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *e = strstr(line, "Error");

		if (!e)
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(why, len, "CRIU: %s", e);
	}
	fclose(f);
	snprintf(keep, sizeof(keep), MIG_RUN_DIR "/failed-%s", log);
	rename(path, keep);
}

static criu_opts *criu_opts_new(int dir_fd, const char *log)
{
	criu_opts *o = NULL;	/* criu_local_init_opts() frees *o first */

	if (criu_local_init_opts(&o))
		return NULL;
	if (!access(CRIU_BIN, X_OK))
		criu_local_set_service_binary(o, CRIU_BIN);
	criu_local_set_images_dir_fd(o, dir_fd);
	criu_local_set_log_file(o, log);
	criu_local_set_log_level(o, 4);
	/* the session and process group stay those of the caller's */
	criu_local_set_shell_job(o, true);
	criu_local_set_file_locks(o, true);
	return o;
}

/* ---- source ---- */

struct out_ctx {
	int fd;			/* to the destination */
	const char *dir;
	const struct tree *t;
	uint32_t node;
	uint64_t t_freeze, t_running;
	uint64_t t_dumped, t_sent;	/* post-dump came; images sent */
	uint64_t bytes;
	bool restored;
	bool lazy;		/* memory as kDDM objects, after it runs */
	int ps;			/* to CRIU's page server (lazy), or -1 */
	struct drain *drain;	/* copies the pages out of CRIU (lazy) */
	pthread_t restorer;	/* has the destination restore it (lazy) */
	bool restoring;
	pid_t swrk;		/* the CRIU we started (lazy), or -1 */
	int swrk_fd;		/* its pidfd, or -1 */
	uint64_t t0;
	uint64_t set_id;	/* the exported pages (lazy) */
	uint32_t *ids;		/* CRIU's pages ids of the set's files */
	int nr_ids;
	uint64_t lazy_bytes;
	int err;		/* why the callback refused */
	struct relinks rl;	/* unlinked files named for the move */
	pid_t new_pid;
	char *why;
	size_t whylen;
};

/* libcriu's callback takes no argument: one migration per thread. */
static __thread struct out_ctx *out;

static int send_file(struct out_ctx *c, int dir_fd, const char *name,
		     char *buf)
{
	struct kddm_mig_file f = { .name_len = strlen(name) };
	struct stat st;
	int fd, err;
	ssize_t n;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	f.size = st.st_size;
	f.mode = st.st_mode & 0777;
	err = send_msg2(c->fd, KDDM_MIG_FILE, &f, sizeof(f), name, f.name_len);
	while (!err && (n = read(fd, buf, COPY_CHUNK)) > 0) {
		err = write_all(c->fd, buf, n);
		c->bytes += n;
		f.size -= n;
	}
	if (!err && f.size)
		err = -EIO;	/* the image changed under us */
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/* Not for the destination: CRIU's log, the lazy files, our config. */
static bool image_stays(const char *name)
{
	return !strcmp(name, "dump.log") || !strcmp(name, DRAIN_CONF) ||
	       !strncmp(name, DRAIN_PREFIX, strlen(DRAIN_PREFIX));
}

static int send_images(struct out_ctx *c)
{
	char *buf = malloc(COPY_CHUNK);
	struct kddm_mig_lazy lz = { .nr_files = c->nr_ids,
				    .set_id = c->set_id };
	struct dirent *d;
	DIR *dir;
	int err = 0;

	dir = opendir(c->dir);
	if (!dir || !buf) {
		free(buf);
		if (dir)
			closedir(dir);
		return -ENOMEM;
	}
	while (!err && (d = readdir(dir))) {
		if (d->d_type == DT_REG && !image_stays(d->d_name))
			err = send_file(c, dirfd(dir), d->d_name, buf);
	}
	if (!err && c->set_id)
		err = send_msg2(c->fd, KDDM_MIG_LAZY, &lz, sizeof(lz), c->ids,
				c->nr_ids * sizeof(c->ids[0]));
	closedir(dir);
	free(buf);
	return err;
}

/*
 * Are the tasks CRIU names in @plan the tree's processes, by the PIDs
 * seen here (not those of a PID namespace of theirs)? Only then may their
 * memory be exported as it is in them.
 */
static bool tree_pids(const struct out_ctx *c, const struct lazy_plan *plan)
{
	int i, j;

	for (i = 0; i < plan->nr; i++) {
		for (j = 0; j < c->t->nr_procs; j++)
			if (c->t->procs[j] == (pid_t)plan->files[i].pid)
				break;
		if (j == c->t->nr_procs)
			return false;
	}
	return true;
}

/*
 * Lazy: the pages CRIU kept in its page pipes get files of their own
 * here, exported as a kDDM set that the drain fills once the process
 * runs there (nothing exported if nothing is lazy: a plain restore).
 */
static int lazy_prepare(struct out_ctx *c)
{
	struct lazy_plan *plan = calloc(1, sizeof(*plan));
	int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int i, err;

	err = plan && fd >= 0 ? lazy_plan(fd, plan) : -ENOMEM;
	if (!err) {
		c->ids = calloc(plan->nr ?: 1, sizeof(*c->ids));
		err = c->ids ? 0 : -ENOMEM;
	}
	if (err) {
		snprintf(c->why, c->whylen, "reading its pagemaps: %s",
			 strerror(-err));
		if (plan)
			lazy_plan_free(plan);
		free(plan);
		goto out;
	}
	for (i = 0; i < plan->nr; i++)
		c->ids[i] = plan->files[i].id;
	c->nr_ids = plan->nr;
	c->lazy_bytes = plan->lazy_bytes;
	c->drain = drain_prepare(fd, plan, c->ps, c->swrk_fd, tree_pids(c, plan),
				 c->why, c->whylen);
	if (!c->drain) {
		err = -EIO;
		goto out;
	}
	c->set_id = drain_set_id(c->drain);
out:
	if (fd >= 0)
		close(fd);
	return err;
}

static int restore_there(struct out_ctx *c)
{
	struct kddm_mig_restore r = {
		.root_pid = c->t->root,
		.origin = self_node,
		.uid = c->t->uid,
	};
	struct job_info j;
	struct kddm_mig_result res;
	uint32_t type;
	size_t n;
	int err;

	r.flags = c->set_id ? KDDM_MIG_R_LAZY : 0;
	if (job_get(c->t->root, &j)) {
		r.origin = j.origin;
		r.migrations = j.migrations;
		if (j.balance)
			r.flags |= KDDM_MIG_R_BALANCE;
	}
	r.migrations++;
	memcpy(r.comm, c->t->comm, sizeof(r.comm));
	/* a restore takes as long as it takes; TIPC says if the node dies */
	peer_timeout(c->fd, RESTORE_WAIT);
	err = send_msg(c->fd, KDDM_MIG_RESTORE, &r, sizeof(r));
	if (!err)
		err = recv_msg(c->fd, &type, &res, sizeof(res), &n);
	peer_timeout(c->fd, 30);
	if (err) {
		snprintf(c->why, c->whylen, "node %u did not answer: %s",
			 c->node, strerror(-err));
		return err;
	}
	if (type != KDDM_MIG_RESULT || n != sizeof(res)) {
		snprintf(c->why, c->whylen, "node %u answered nonsense", c->node);
		return -EPROTO;
	}
	res.text[sizeof(res.text) - 1] = 0;
	if (res.err) {
		snprintf(c->why, c->whylen, "node %u could not restore it: %s",
			 c->node, res.text);
		return res.err < 0 ? res.err : -EPROTO;
	}
	c->new_pid = res.pid;
	return 0;
}

/*
 * Restored there: from now on, the copy here dies. Without COMMIT, the
 * destination kills its copy: never two.
 */
static int commit_there(struct out_ctx *c)
{
	int err = send_msg(c->fd, KDDM_MIG_COMMIT, NULL, 0);

	if (err)
		snprintf(c->why, c->whylen, "node %u is gone: %s", c->node,
			 strerror(-err));
	return err;
}

/*
 * The frozen tree's kdfs file locks lent to the destination (its restore
 * takes them again while they are still held here: they go with the
 * processes here), or taken back with @node 0 (the move failed). Nothing
 * without kdfs.
 */
#define KDFS_LOCKS	"/proc/fs/kdfs/locks"

static int lend_locks(struct out_ctx *c, uint32_t node)
{
	char line[48];
	int fd = open(KDFS_LOCKS, O_WRONLY | O_CLOEXEC), i, n, err = 0;

	if (fd < 0)
		return 0;
	for (i = 0; i < c->t->nr_procs; i++) {
		n = snprintf(line, sizeof(line), "lend %d %u\n",
			     c->t->procs[i], node);
		/* ENODEV: kdfs not mounted; ESRCH: no such process here */
		if (write(fd, line, n) == n || errno == ENODEV ||
		    errno == ESRCH)
			continue;
		logmsg("%s: lend %d %u: %s", KDFS_LOCKS, c->t->procs[i], node,
		       strerror(errno));
		if (!err && node) {	/* taking back: the reason is another */
			err = -errno;
			snprintf(c->why, c->whylen,
				 "lending the kdfs locks of process %d to node %u: %s",
				 c->t->procs[i], node, strerror(errno));
		}
	}
	close(fd);
	return err;
}

/* The frozen processes' SEM_UNDO entries go with the images. */
static int take_undos(struct out_ctx *c)
{
	int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0) {
		snprintf(c->why, c->whylen, "%s: %s", c->dir, strerror(errno));
		return -errno;
	}
	err = undo_take(fd, c->t->procs, c->t->nr_procs, c->why, c->whylen);
	if (!err) {
		/* a lock the restore there could not take: no move */
		err = lend_locks(c, c->node);
		if (err) {
			lend_locks(c, 0);
			undo_give_back(fd);
		}
	}
	close(fd);
	return err;
}

/* The move failed: CRIU thaws the processes, with their entries. */
static void give_undos_back(struct out_ctx *c)
{
	int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		undo_give_back(fd);
		close(fd);
	}
	lend_locks(c, 0);
}

static void tree_signal(const struct tree *t, int sig)
{
	int i;

	for (i = 0; i < t->nr_procs; i++)
		kill(t->procs[i], sig);
}

/* Is the CRIU we started still there (holding the tree)? */
static bool criu_alive(const struct out_ctx *c)
{
	struct pollfd p = { .fd = c->swrk_fd, .events = POLLIN };

	return c->swrk_fd >= 0 && poll(&p, 1, 0) == 0;
}

/*
 * Lazy: CRIU's page server only starts once the post-dump callback
 * returned, and the restore there needs some of the pages (the restorer
 * touches a few). So the callback only starts the drain and this thread,
 * which decides the move once the destination answered. CRIU dumps with
 * leave_running: at the end of its page server's input it thaws the tree,
 * whatever happened to us; so the tree is stopped first, COMMIT goes only
 * if CRIU still holds the tree and the drain has every page to come, and
 * then the tree is killed here (its pages stay in CRIU's pipes).
 */
static void *lazy_restorer(void *arg)
{
	struct out_ctx *c = arg;
	int err = restore_there(c);

	if (!err) {
		tree_signal(c->t, SIGSTOP);
		if (!criu_alive(c) || drain_failed(c->drain)) {
			snprintf(c->why, c->whylen,
				 "copying its memory out of CRIU failed");
			err = -EIO;
		} else {
			err = commit_there(c);
		}
		if (err)
			tree_signal(c->t, SIGCONT);
	}
	if (err) {
		give_undos_back(c);
		c->err = err;
		drain_unexport(c->drain);
		drain_decide(c->drain, false);
		return NULL;
	}
	drain_seal(c->drain);
	tree_signal(c->t, SIGKILL);
	c->restored = true;
	c->t_running = now_us();
	drain_decide(c->drain, true);
	return NULL;
}

static int lazy_restore_start(struct out_ctx *c)
{
	int err = drain_start(c->drain);

	if (!err)
		err = -pthread_create(&c->restorer, NULL, lazy_restorer, c);
	if (err)
		snprintf(c->why, c->whylen, "cannot start a thread: %s",
			 strerror(-err));
	c->restoring = !err;
	return err;
}

static int notify_cb(char *action, criu_notify_arg_t na)
{
	struct out_ctx *c = out;
	int err;

	(void)na;
	if (!strcmp(action, "pre-dump"))
		c->t_freeze = now_us();
	if (strcmp(action, "post-dump"))
		return 0;
	c->t_dumped = now_us();
	err = take_undos(c);
	if (err) {
		c->err = err;
		goto refuse;
	}
	if (c->ps >= 0)
		err = lazy_prepare(c);
	if (!err) {
		err = send_images(c);
		if (err)
			snprintf(c->why, c->whylen, "sending the images to node %u: %s",
				 c->node, strerror(-err));
	}
	c->t_sent = now_us();
	if (!err && c->drain)
		err = lazy_restore_start(c);
	else if (!err)
		err = restore_there(c) ?: commit_there(c);
	if (err) {
		give_undos_back(c);
		c->err = err;
		goto refuse;
	}
	if (!c->drain) {
		c->restored = true;
		c->t_running = now_us();
	}
	return 0;
refuse:
	/* CRIU serves its lazy pages even then: it thaws the tasks after */
	if (c->drain && drain_started(c->drain))
		drain_decide(c->drain, false);
	else if (c->ps >= 0)
		shutdown(c->ps, SHUT_WR);
	return 1;
}

static int prepare_there(int fd, const struct tree *t, uint32_t node,
			 char *why, size_t len)
{
	struct kddm_mig_prepare p = {
		.nr_pids = t->nr,
		.root_pid = t->root,
		.cwd_len = strlen(t->cwd),
		.exe_len = strlen(t->exe),
	};
	static __thread char buf[KDDM_MIG_MSG_MAX];
	struct kddm_mig_result res;
	size_t off = 0, n;
	uint32_t type;
	int i, err;

	if (sizeof(p) + t->nr * 4 + p.cwd_len + p.exe_len > sizeof(buf)) {
		snprintf(why, len, "too many tasks or too long paths");
		return -E2BIG;
	}
	memcpy(buf, &p, sizeof(p));
	off = sizeof(p);
	for (i = 0; i < t->nr; i++, off += 4)
		memcpy(buf + off, &(uint32_t){ t->pids[i] }, 4);
	memcpy(buf + off, t->cwd, p.cwd_len);
	off += p.cwd_len;
	memcpy(buf + off, t->exe, p.exe_len);
	off += p.exe_len;
	err = send_msg(fd, KDDM_MIG_PREPARE, buf, off);
	if (!err)
		err = recv_msg(fd, &type, &res, sizeof(res), &n);
	if (err) {
		snprintf(why, len, "node %u: %s", node, strerror(-err));
		return err;
	}
	if (type != KDDM_MIG_RESULT || n != sizeof(res)) {
		snprintf(why, len, "node %u answered nonsense", node);
		return -EPROTO;
	}
	res.text[sizeof(res.text) - 1] = 0;
	if (res.err)
		snprintf(why, len, "node %u cannot take it: %.440s", node, res.text);
	return res.err;
}

/* Tasks left on the source although the destination runs them: kill. */
static void kill_leftovers(const struct tree *t)
{
	char path[64];
	int i;

	for (i = 0; i < t->nr_procs; i++) {
		snprintf(path, sizeof(path), "/proc/%d", t->procs[i]);
		if (!access(path, F_OK)) {
			logmsg("process %d still here after its restore elsewhere: killed",
			       t->procs[i]);
			kill(t->procs[i], SIGKILL);
		}
	}
}

/* ---- after a lazy move: the source serves until the destination has all */

struct tail {
	int fd;
	uint64_t set_id;
	uint32_t node;
	pid_t pid;
	char dir[PATH_MAX];
};

static void tail_run(struct tail *t)
{
	struct kddm_mig_result r;
	uint32_t type;
	size_t n;
	int err;

	/* as long as it takes; TIPC says when the node is gone */
	peer_timeout(t->fd, 0);
	err = recv_msg(t->fd, &type, &r, sizeof(r), &n);
	if (!err && (type != KDDM_MIG_DONE || n != sizeof(r)))
		err = -EPROTO;
	if (!err && r.err)
		err = r.err;
	if (ioctl(mig_dev, KDDM_MIG_UNEXPORT, &t->set_id))
		logmsg("unexport of %llx: %s", (unsigned long long)t->set_id,
		       strerror(errno));
	close(t->fd);
	if (err)
		logmsg("process %d on node %u: its memory was not all pulled (%s); nothing of it is left here",
		       t->pid, t->node, strerror(-err));
	else
		logmsg("process %d: node %u has all its memory (%llu bytes pulled); nothing of it is left here",
		       t->pid, t->node, (unsigned long long)r.image_bytes);
	images_remove(t->dir);	/* last: tests wait for it */
}

static void *tail_thread(void *arg)
{
	tail_run(arg);
	free(arg);
	return NULL;
}

/* Hands @c's connection and images to a thread (or serves them itself). */
static void tail_start(struct out_ctx *c, const char *dir)
{
	struct tail local, *t = malloc(sizeof(*t));
	pthread_attr_t attr;
	pthread_t th;

	if (!t)
		t = &local;
	t->fd = c->fd;
	t->set_id = c->set_id;
	t->node = c->node;
	t->pid = c->t->root;
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	c->fd = -1;
	if (t != &local) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (!pthread_create(&th, &attr, tail_thread, t)) {
			pthread_attr_destroy(&attr);
			return;
		}
		pthread_attr_destroy(&attr);
	}
	tail_run(t);	/* the command waits for the pull, then */
	if (t != &local)
		free(t);
}

/*
 * A lazy dump: CRIU, started here, gets the page server's end of a socket
 * and a configuration that has it serve its lazy pages there; the drain
 * (drain.c) reads them on our end.
 */
static int lazy_dump_setup(struct out_ctx *c, criu_opts *o, int dir_fd,
			   char *conf, size_t cl)
{
	/* CRIU answers within seconds, or is stuck */
	struct timeval tmo = { .tv_sec = PS_WAIT };
	int sk[2], fd, err;

	if (access(CRIU_BIN, X_OK))
		return -ENOENT;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sk))
		return -errno;
	err = drain_conf(dir_fd, DRAIN_CONF);
	if (!err && setsockopt(sk[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)))
		err = -errno;
	fd = err ? err : criu_swrk_spawn(CRIU_BIN, sk[1], &c->swrk);
	close(sk[1]);
	if (fd < 0) {
		close(sk[0]);
		return fd;
	}
	c->swrk_fd = syscall(SYS_pidfd_open, c->swrk, 0);
	if (c->swrk_fd < 0)
		logmsg("pidfd_open: %s", strerror(errno));
	c->ps = sk[0];
	criu_local_set_service_fd(o, fd);	/* libcriu closes it */
	snprintf(conf, cl, "%s/" DRAIN_CONF, c->dir);
	criu_set_config(o, conf);
	criu_set_lazy(o);
	/* CRIU thaws the tree at the end: a move that goes through kills it */
	criu_local_set_leave_running(o, true);
	return 0;
}

/* CRIU returned (@err its result): the pages copied out of it, or why not. */
static int lazy_dump_end(struct out_ctx *c, int err)
{
	uint64_t bytes = 0;
	int derr = 0;

	if (c->swrk > 0)
		waitpid(c->swrk, NULL, 0);
	c->swrk = -1;
	if (c->swrk_fd >= 0)
		close(c->swrk_fd);
	c->swrk_fd = -1;
	if (c->drain)
		derr = drain_end(c->drain, err < 0, &bytes);
	c->drain = NULL;
	if (c->ps >= 0)
		close(c->ps);
	c->ps = -1;
	if (!derr && c->restored && c->set_id && bytes != c->lazy_bytes)
		derr = -EIO;	/* CRIU ended before every page was out */
	if (derr && c->restored)
		snprintf(c->why, c->whylen,
			 "its memory could not be copied out of CRIU (%s): the process was killed on node %u",
			 strerror(-derr), c->node);
	return derr;
}

static int dump_and_move(struct out_ctx *c, const struct tree *t)
{
	char dir[PATH_MAX], conf[PATH_MAX];
	criu_opts *o = NULL;
	int dir_fd, err;
	bool keep = false;

	err = images_dir("out", dir, sizeof(dir));
	if (err) {
		snprintf(c->why, c->whylen, "%s: %s", MIG_RUN_DIR, strerror(-err));
		return err;
	}
	c->dir = dir;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd >= 0)
		o = criu_opts_new(dir_fd, "dump.log");
	if (!o) {
		snprintf(c->why, c->whylen, "libcriu: out of memory");
		err = -ENOMEM;
		goto out;
	}
	criu_local_set_leave_running(o, false);
	if (c->lazy) {
		err = lazy_dump_setup(c, o, dir_fd, conf, sizeof(conf));
		if (err) {
			snprintf(c->why, c->whylen, "starting %s: %s", CRIU_BIN,
				 strerror(-err));
			criu_local_free_opts(o);
			goto out;
		}
	}
	criu_local_set_pid(o, t->root);
	criu_local_set_notify_cb(o, notify_cb);
	if (relink_tree(t, dir_fd, &c->rl))
		relink_undo(&c->rl);	/* no list: CRIU copies them */
	out = c;
	err = criu_local_dump(o);
	out = NULL;
	if (c->restoring)
		pthread_join(c->restorer, NULL);
	/* those the destination did not unlink (or it failed) */
	relink_undo(&c->rl);
	relink_free(&c->rl);
	if (c->lazy) {
		int derr = lazy_dump_end(c, err);

		/* the copy there cannot have every page: unexported, it dies */
		if (derr && c->restored) {
			c->restored = false;
			c->err = derr;
		}
	}
	if (c->restored) {
		if (err < 0)
			kill_leftovers(t);
		err = 0;
	} else if (c->err) {
		err = c->err;
	} else if (!err) {
		err = -EIO;	/* CRIU dumped, but never called back */
	} else {
		if (!c->why[0]) {
			snprintf(c->why, c->whylen, "CRIU could not dump it (%d)",
				 err);
			criu_error(dir, "dump.log", c->why, c->whylen);
		}
		err = -EIO;	/* libcriu's codes are its own */
	}
	criu_set_config(o, NULL);
	criu_local_free_opts(o);
out:
	if (dir_fd >= 0)
		close(dir_fd);
	free(c->ids);
	c->ids = NULL;
	/* the destination pulls the rest: its pages stay exported till then */
	if (!err && c->set_id) {
		keep = true;
		tail_start(c, dir);
	} else if (c->set_id && ioctl(mig_dev, KDDM_MIG_UNEXPORT, &c->set_id) &&
		   errno != ENOENT) {	/* ENOENT: unexported at the abort */
		logmsg("unexport: %s", strerror(errno));
	}
	if (!keep)
		images_remove(dir);
	return err;
}

static void result_fill(const struct out_ctx *c, struct kddm_mig_result *res)
{
	res->pid = c->new_pid;
	res->tasks = c->t->nr;
	res->image_bytes = c->bytes;
	res->lazy_bytes = c->set_id ? c->lazy_bytes : 0;
	res->downtime_us = c->t_running - (c->t_freeze ? c->t_freeze : c->t0);
	res->running_us = c->t_running - c->t0;
}

int migrate_out(pid_t pid, uint32_t node, uint32_t flags, uid_t uid,
		gid_t gid, struct kddm_mig_result *res)
{
	static __thread struct tree t;
	struct out_ctx c = {
		.node = node, .why = res->text, .whylen = sizeof(res->text),
		.t = &t, .fd = -1, .ps = -1, .swrk = -1, .swrk_fd = -1,
		.t0 = now_us(),
	};
	int i, err;

	res->from = self_node;
	res->to = node;
	if (node == self_node) {
		snprintf(res->text, sizeof(res->text), "process %d is on node %u already",
			 pid, node);
		return -EALREADY;
	}
	err = tree_collect(pid, flags & KDDM_MIG_F_TREE, &t, res->text,
			   sizeof(res->text));
	for (i = 0; !err && i < t.nr_procs; i++) {
		err = caller_may_ptrace(uid, gid, t.procs[i]);
		if (err == 0) {
			snprintf(res->text, sizeof(res->text),
				 "uid %u may not ptrace process %d: only root or its owner moves it",
				 uid, t.procs[i]);
			err = -EPERM;
		} else {
			err = err < 0 ? err : 0;
		}
	}
	if (!err)
		err = tree_movable(&t, res->text, sizeof(res->text));
	/* CRIU would dump the pages not there yet as zeros: wait for them */
	if (!err && tree_pulling(&t, PULL_WAIT)) {
		snprintf(res->text, sizeof(res->text),
			 "its memory is still arriving on this node after %d s",
			 PULL_WAIT);
		err = -EBUSY;
	}
	if (err)
		return err;
	c.fd = peer_connect(node, res->text, sizeof(res->text));
	if (c.fd < 0)
		return c.fd;
	err = prepare_there(c.fd, &t, node, res->text, sizeof(res->text));
	c.lazy = !(flags & KDDM_MIG_F_EAGER) && mig_dev >= 0;
	job_moving(pid, true);
	if (!err)
		err = dump_and_move(&c, &t);
	if (err)
		job_moving(pid, false);
	if (err)
		send_msg(c.fd, KDDM_MIG_ABORT, NULL, 0);
	if (c.fd >= 0)
		close(c.fd);
	res->total_us = now_us() - c.t0;
	if (err)
		return err;
	job_forget(pid);
	result_fill(&c, res);
	logmsg("moved %d (%s, %d tasks) to node %u: downtime %llu ms (dump %llu, images %llu, restore %llu), %llu bytes, %llu lazy",
	       pid, t.comm, t.nr, node,
	       (unsigned long long)res->downtime_us / 1000,
	       (unsigned long long)(c.t_freeze ? c.t_dumped - c.t_freeze : 0) / 1000,
	       (unsigned long long)(c.t_sent - c.t_dumped) / 1000,
	       (unsigned long long)(c.t_running - c.t_sent) / 1000,
	       (unsigned long long)c.bytes,
	       (unsigned long long)res->lazy_bytes);
	return 0;
}

/* ---- destination ---- */

struct in_ctx {
	int fd;
	uint32_t from;
	bool prepared;
	uint32_t root_pid;
	uint32_t pids[KDDM_MIG_MAX_PIDS];
	int nr_pids;
	char dir[PATH_MAX];
	int dir_fd;
	int files;
	bool lazy;		/* LAZY came: the pages are a kDDM set */
	uint64_t set_id;
	uint32_t ids[KDDM_MIG_MAX_FILES];
	int nr_ids;
	char why[KDDM_MIG_TEXT];
};

static int check_path(const char *p, size_t len, bool dir, char *why,
		      size_t wl)
{
	char path[KDDM_MIG_PATH];
	struct stat st;

	if (!len || len >= sizeof(path) || memchr(p, 0, len))
		return -EINVAL;
	memcpy(path, p, len);
	path[len] = 0;
	if (path[0] != '/')
		return -EINVAL;
	if (stat(path, &st) || (dir ? !S_ISDIR(st.st_mode) :
				!S_ISREG(st.st_mode))) {
		snprintf(why, wl, "%s %.400s is not on node %u",
			 dir ? "its working directory" : "its executable", path,
			 self_node);
		return -ENOENT;
	}
	return 0;
}

static int on_prepare(struct in_ctx *c, const char *buf, size_t n)
{
	struct kddm_mig_prepare p;
	const char *paths;
	int err;

	if (c->prepared || n < sizeof(p))
		return -EPROTO;
	memcpy(&p, buf, sizeof(p));
	if (!p.nr_pids || p.nr_pids > KDDM_MIG_MAX_PIDS ||
	    p.cwd_len > KDDM_MIG_PATH || p.exe_len > KDDM_MIG_PATH ||
	    n != sizeof(p) + (size_t)p.nr_pids * 4 + p.cwd_len + p.exe_len)
		return -EPROTO;
	memcpy(c->pids, buf + sizeof(p), p.nr_pids * 4);
	c->nr_pids = p.nr_pids;
	c->root_pid = p.root_pid;
	paths = buf + sizeof(p) + p.nr_pids * 4;
	err = pids_free(c->pids, c->nr_pids, c->why, sizeof(c->why));
	if (!err)
		err = check_path(paths, p.cwd_len, true, c->why, sizeof(c->why));
	if (!err)
		err = check_path(paths + p.cwd_len, p.exe_len, false, c->why,
				 sizeof(c->why));
	if (!err)
		err = images_dir("in", c->dir, sizeof(c->dir));
	if (!err) {
		c->dir_fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->dir_fd < 0)
			err = -errno;
	}
	if (err == -EPROTO || err == -EINVAL)
		return -EPROTO;
	c->prepared = !err;
	return send_result(c->fd, err, "%s", err && !c->why[0] ?
			   strerror(-err) : c->why);
}

static bool image_name_ok(const char *name, size_t len)
{
	size_t i;

	if (!len || len > NAME_MAX || (name[0] == '.' && (len == 1 ||
	    (len == 2 && name[1] == '.'))))
		return false;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || !name[i])
			return false;
	return true;
}

/* A new image file: its descriptor, or -EPROTO (a bad or repeated name). */
static int new_image(struct in_ctx *c, const char *name, size_t len)
{
	char n[NAME_MAX + 1];
	int fd;

	if (!c->prepared || !image_name_ok(name, len) || ++c->files > MAX_FILES)
		return -EPROTO;
	memcpy(n, name, len);
	n[len] = 0;
	fd = openat(c->dir_fd, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return fd < 0 ? -EPROTO : fd;
}

/*
 * @len bytes that follow on the stream, written at @off of @fd; a full
 * disk still drains them, and is said at RESTORE: the stream stays in
 * step.
 */
static int receive(struct in_ctx *c, int fd, uint64_t off, uint64_t len,
		   char *data)
{
	int err = 0;

	while (len) {
		size_t chunk = len < COPY_CHUNK ? len : COPY_CHUNK;
		int e = read_all(c->fd, data, chunk);

		if (e)
			return e;
		if (!err && pwrite(fd, data, chunk, off) != (ssize_t)chunk)
			err = -ENOSPC;
		off += chunk;
		len -= chunk;
	}
	if (err)
		snprintf(c->why, sizeof(c->why), "no room for the images in %s on node %u",
			 MIG_RUN_DIR, self_node);
	return 0;
}

static int on_file(struct in_ctx *c, const char *buf, size_t n)
{
	struct kddm_mig_file f;
	char *data;
	int fd, err;

	if (n < sizeof(f))
		return -EPROTO;
	memcpy(&f, buf, sizeof(f));
	if (n != sizeof(f) + f.name_len)
		return -EPROTO;
	fd = new_image(c, buf + sizeof(f), f.name_len);
	if (fd < 0)
		return fd;
	data = malloc(COPY_CHUNK);
	err = data ? receive(c, fd, 0, f.size, data) : -ENOMEM;
	free(data);
	close(fd);
	return err;
}

static int on_lazy(struct in_ctx *c, const char *buf, size_t n)
{
	struct kddm_mig_lazy lz;

	if (!c->prepared || c->lazy || n < sizeof(lz))
		return -EPROTO;
	memcpy(&lz, buf, sizeof(lz));
	if (!lz.nr_files || lz.nr_files > KDDM_MIG_MAX_FILES || lz.pad ||
	    n != sizeof(lz) + lz.nr_files * sizeof(uint32_t))
		return -EPROTO;
	memcpy(c->ids, buf + sizeof(lz), lz.nr_files * sizeof(uint32_t));
	c->nr_ids = lz.nr_files;
	c->set_id = lz.set_id;
	c->lazy = true;
	return 0;
}

static int await_commit(struct in_ctx *c, pid_t pid);

/* libcriu's callback takes no argument: one restore per thread. */
static __thread struct in_ctx *in;

/* The files are open, the processes not running yet. */
static int restore_notify(char *action, criu_notify_arg_t na)
{
	(void)na;
	if (in && !strcmp(action, "post-restore"))
		relinked_remove(in->dir_fd);
	return 0;
}

static int on_restore(struct in_ctx *c, const char *buf, size_t n)
{
	struct kddm_mig_restore r;
	struct job_info j = {};
	struct lazy_srv *ls = NULL;
	criu_opts *o = NULL;	/* criu_local_init_opts() frees *o first */
	struct undo_load undos;
	uint64_t t_restore;
	int pid, err;

	if (!c->prepared || n != sizeof(r))
		return -EPROTO;
	memcpy(&r, buf, sizeof(r));
	if (r.root_pid != c->root_pid || !r.origin || r.origin > 65535 ||
	    (r.flags & ~(KDDM_MIG_R_LAZY | KDDM_MIG_R_BALANCE)) ||
	    !(r.flags & KDDM_MIG_R_LAZY) != !c->lazy)
		return -EPROTO;
	if (c->why[0])	/* a file could not be written */
		return send_result(c->fd, -ENOSPC, "%s", c->why);
	err = undo_load(c->dir_fd, c->pids, c->nr_pids, &undos, c->why,
			sizeof(c->why));
	if (err)
		return send_result(c->fd, err, "%s", c->why[0] ? c->why :
				   "bad SEM_UNDO images");
	if (c->lazy) {
		ls = lazy_start(c->dir, c->dir_fd, c->set_id, c->ids, c->nr_ids,
				c->from, c->why, sizeof(c->why));
		if (!ls) {
			undo_free(&undos);
			return send_result(c->fd, -EIO, "%s", c->why);
		}
	}
	err = files_unsize_kdfs(c->dir_fd);
	if (err)	/* CRIU reads it as it is */
		logmsg("%s/files.img: %s", c->dir, strerror(-err));
	o = criu_opts_new(c->dir_fd, "restore.log");
	if (!o) {
		if (ls)
			lazy_abort(ls);
		undo_free(&undos);
		return send_result(c->fd, -ENOMEM, "libcriu: out of memory");
	}
	if (ls)
		criu_set_lazy(o);
	criu_local_set_notify_cb(o, restore_notify);
	t_restore = now_us();
	in = c;
	pid = criu_local_restore_child(o);
	in = NULL;
	t_restore = now_us() - t_restore;
	criu_local_free_opts(o);
	if (pid <= 0 && ls)
		lazy_abort(ls);
	if (pid <= 0) {
		snprintf(c->why, sizeof(c->why), "CRIU could not restore it (%d)",
			 pid);
		criu_error(c->dir, "restore.log", c->why, sizeof(c->why));
		logmsg("restore of %u from node %u failed: %s", r.root_pid,
		       c->from, c->why);
		undo_free(&undos);
		return send_result(c->fd, -EIO, "%s", c->why);
	}
	j.pid = pid;
	j.origin = r.origin;
	j.uid = r.uid;
	j.migrations = r.migrations;
	j.balance = r.flags & KDDM_MIG_R_BALANCE;
	memcpy(j.comm, r.comm, sizeof(j.comm));
	j.comm[sizeof(j.comm) - 1] = 0;
	if (ls)
		pulling_add(c->pids, c->nr_pids);
	job_add(&j, true);
	logmsg("restored %d (%s) from node %u in %llu ms%s", pid, j.comm,
	       c->from, (unsigned long long)t_restore / 1000,
	       ls ? ", its memory to pull" : "");
	/* the images did their work (the lazy pages are not in them) */
	images_remove(c->dir);
	c->dir[0] = 0;
	err = await_commit(c, pid);
	/* the source's copy let them go: the undo entries are ours */
	if (!err)
		undo_give(&undos);
	else
		undo_free(&undos);
	/* the rest of its memory comes now, or the thread ends */
	if (ls) {
		lazy_handover(ls, c->fd);
		pulling_del(c->pids, c->nr_pids);
	}
	return err;
}

/*
 * The source kills its frozen copy only after COMMIT; without it (the
 * source died, or thawed its copy after a failure on its side), ours
 * dies: the process never runs twice.
 */
static int await_commit(struct in_ctx *c, pid_t pid)
{
	struct kddm_mig_result res = { .pid = pid, .from = c->from,
				       .to = self_node };
	uint32_t type;
	size_t n;
	int err;

	peer_timeout(c->fd, COMMIT_WAIT);
	err = send_msg(c->fd, KDDM_MIG_RESULT, &res, sizeof(res));
	if (!err)
		err = recv_msg(c->fd, &type, c->why, sizeof(c->why), &n);
	if (!err && (type != KDDM_MIG_COMMIT || n))
		err = -EPROTO;
	peer_timeout(c->fd, 30);
	if (!err)
		return 0;
	kmsg("kddm-migrated: killed process %d: node %u did not let it go (%s)\n",
	     pid, c->from, strerror(-err));
	kill_tree(pid, 0);
	job_forget(pid);
	return err;
}

/* A connection from node @from's daemon, authenticated. */
void migrate_in(int fd, uint32_t from)
{
	static __thread struct in_ctx c;
	static __thread char buf[KDDM_MIG_MSG_MAX];
	uint32_t type;
	size_t n;
	int err = 0;

	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.from = from;
	c.dir_fd = -1;
	while (!err) {
		err = recv_msg(fd, &type, buf, sizeof(buf), &n);
		if (err)
			break;
		switch (type) {
		case KDDM_MIG_PREPARE:
			err = on_prepare(&c, buf, n);
			break;
		case KDDM_MIG_FILE:
			err = on_file(&c, buf, n);
			break;
		case KDDM_MIG_LAZY:
			err = on_lazy(&c, buf, n);
			break;
		case KDDM_MIG_REQ_RUN:
			run_in(fd, from, buf, n);
			err = 1;	/* one program per connection */
			break;
		case KDDM_MIG_RESTORE:
			err = on_restore(&c, buf, n);
			/* one tree per connection */
			err = err ? err : 1;
			break;
		case KDDM_MIG_REQ_PS:
			jobs_send(fd);
			err = 1;
			break;
		case KDDM_MIG_ABORT:
			err = 1;
			break;
		default:
			err = -EPROTO;
		}
	}
	if (err == -EPROTO)
		logmsg("node %u's daemon broke the protocol: connection closed",
		       from);
	if (c.dir_fd >= 0)
		close(c.dir_fd);
	if (c.dir[0])
		images_remove(c.dir);
}
