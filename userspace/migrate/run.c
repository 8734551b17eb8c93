// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: kddm run. The CLI asks its node's daemon, which relays to
 * the daemon of the node that runs the program (TIPC, authenticated like
 * a move) and relays its standard streams and its end back.
 *
 * The program runs as the caller (uid and gid that SO_PEERCRED gave the
 * CLI's daemon; no supplementary groups), in the caller's working
 * directory if that node has it (else /), with the caller's environment,
 * in a session of its own. Its standard streams are pipes to the daemon;
 * with --migratable (KDDM_MIG_RUN_MIGRATABLE) they cannot be, a process
 * with pipes to its node could not move: it reads /dev/null and writes
 * files on kdfs (.kddm-run/PID/out, err), which the daemon that started it
 * relays wherever the process went; whichever daemon sees it end writes
 * its wait status next to them. The directories are root's (0711 and
 * 0700), the two files the caller's: a job cannot put a link where the
 * daemons read or write as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migrated.h"

extern char **environ;

#define RELAY_CHUNK	(32 << 10)
#define NR_EXITS	256

/* ---- ends the reaper saw ---- */

static pthread_mutex_t exits_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exits_cond = PTHREAD_COND_INITIALIZER;
static struct { pid_t pid; int status; } exits[NR_EXITS];
static int next_exit;

/* The kdfs mount point (the first one), or -ENOENT. */
static int kdfs_mount(char *path, size_t len)
{
	char dirs[1][PATH_MAX];

	if (!kdfs_mounts(NULL, dirs, 1) ||
	    snprintf(path, len, "%s", dirs[0]) >= (int)len) {
		path[0] = 0;
		return -ENOENT;
	}
	return 0;
}

static int run_dir(pid_t pid, char *path, size_t len)
{
	char mnt[PATH_MAX];
	int err = kdfs_mount(mnt, sizeof(mnt));

	if (!err && snprintf(path, len, "%s/" KDDM_MIG_RUN_DIR "/%d", mnt,
			     pid) >= (int)len)
		err = -ENAMETOOLONG;
	return err;
}

/* Is @path a directory of root's, no link, that only root may change? */
static bool root_dir(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISDIR(st.st_mode) && !st.st_uid &&
	       !(st.st_mode & 022);
}

/* Forgets an end of @pid seen before (a PID used again). */
static void exit_forget(pid_t pid)
{
	int i;

	pthread_mutex_lock(&exits_lock);
	for (i = 0; i < NR_EXITS; i++)
		if (exits[i].pid == pid)
			exits[i].pid = 0;
	pthread_mutex_unlock(&exits_lock);
}

/* From the reaper: process @pid, ours, ended with wait status @status. */
void run_exited(pid_t pid, int status)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	FILE *f;
	int fd;

	pthread_mutex_lock(&exits_lock);
	exits[next_exit].pid = pid;
	exits[next_exit].status = status;
	next_exit = (next_exit + 1) % NR_EXITS;
	pthread_cond_broadcast(&exits_cond);
	pthread_mutex_unlock(&exits_lock);
	/* a migratable job: the daemon that started it reads it there */
	if (run_dir(pid, dir, sizeof(dir)) || !root_dir(dir))
		return;
	snprintf(path, sizeof(path), "%s/status.new", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "%d\n", status);
	if (!fclose(f)) {
		char done[PATH_MAX + 16];

		snprintf(done, sizeof(done), "%s/status", dir);
		rename(path, done);
	}
}

/* Waits up to @ms for the end of @pid: 1 and its status, or 0. */
static int exit_wait(pid_t pid, int *status, int ms)
{
	struct timespec ts;
	int i, found = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&exits_lock);
	for (;;) {
		for (i = 0; i < NR_EXITS && !found; i++) {
			if (exits[i].pid != pid)
				continue;
			*status = exits[i].status;
			exits[i].pid = 0;
			found = 1;
		}
		if (found || pthread_cond_timedwait(&exits_cond, &exits_lock,
						    &ts))
			break;
	}
	pthread_mutex_unlock(&exits_lock);
	return found;
}

/* ---- the node that runs it ---- */

struct run {
	int fd;			/* the peer daemon */
	uint32_t from;
	struct kddm_mig_run r;
	char **argv, **envp;
	char cwd[KDDM_MIG_PATH];
	pid_t pid;
	int in, out, err;	/* pipes, or -1 */
	char *pend;		/* input not written yet (in is non-blocking) */
	size_t pend_len, pend_off;
	char dir[PATH_MAX];	/* migratable: its run directory */
};

/* Splits the strings after @r: 0, or -EPROTO. */
static int run_parse(struct run *x, char *buf, size_t n)
{
	uint32_t i, nr;
	size_t off = sizeof(x->r);
	char **v;

	if (n < sizeof(x->r) || n > KDDM_MIG_RUN_MAX)
		return -EPROTO;
	memcpy(&x->r, buf, sizeof(x->r));
	nr = x->r.argc + x->r.envc;
	if (!x->r.argc || x->r.argc > KDDM_MIG_RUN_MAX_ARGS ||
	    x->r.envc > KDDM_MIG_RUN_MAX_ARGS ||
	    (x->r.flags & ~KDDM_MIG_RUN_MIGRATABLE) ||
	    x->r.cwd_len >= sizeof(x->cwd))
		return -EPROTO;
	v = calloc(nr + 2, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		char *end = off < n ? memchr(buf + off, 0, n - off) : NULL;

		if (!end) {
			free(v);
			return -EPROTO;
		}
		v[i < x->r.argc ? i : i + 1] = buf + off;
		off = end - buf + 1;
	}
	if (n - off != x->r.cwd_len || memchr(buf + off, 0, x->r.cwd_len)) {
		free(v);
		return -EPROTO;
	}
	memcpy(x->cwd, buf + off, x->r.cwd_len);
	x->cwd[x->r.cwd_len] = 0;
	x->argv = v;
	x->envp = v + x->r.argc + 1;
	return 0;
}

/* In the child: its streams, its ids, its directory, then the program. */
static void run_child(struct run *x, int pin[2], int pout[2], int perr[2],
		      int go, int errp)
{
	char path[PATH_MAX + 8];
	int fd[3], i, e;
	char c;

	setsid();
	if (x->r.flags & KDDM_MIG_RUN_MIGRATABLE) {
		/* the daemon made the directory and files for our PID */
		if (read(go, &c, 1) != 1 ||
		    run_dir(getpid(), x->dir, sizeof(x->dir)))
			_exit(126);
		fd[0] = open("/dev/null", O_RDONLY);
		snprintf(path, sizeof(path), "%s/out", x->dir);
		fd[1] = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW);
		snprintf(path, sizeof(path), "%s/err", x->dir);
		fd[2] = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW);
	} else {
		fd[0] = pin[0];
		fd[1] = pout[1];
		fd[2] = perr[1];
	}
	for (i = 0; i < 3; i++)
		if (fd[i] < 0 || dup2(fd[i], i) < 0)
			goto fail;
	/* errp stays till exec */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC))
		goto fail;
	if (setgroups(0, NULL) || setresgid(x->r.gid, x->r.gid, x->r.gid) ||
	    setresuid(x->r.uid, x->r.uid, x->r.uid))
		goto fail;
	if (!x->cwd[0] || chdir(x->cwd))
		if (chdir("/"))
			goto fail;
	signal(SIGPIPE, SIG_DFL);
	environ = x->envp;
	execvp(x->argv[0], x->argv);
fail:
	e = errno;
	if (write(errp, &e, sizeof(e)) != sizeof(e))
		_exit(127);
	_exit(127);
}

/* Makes the run directory of @x->pid, its files owned by the caller. */
static int run_dir_make(struct run *x)
{
	char path[PATH_MAX + 8];
	int err, fd, i;

	err = run_dir(x->pid, x->dir, sizeof(x->dir));
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s", x->dir);
	*strrchr(path, '/') = 0;
	if (mkdir(path, 0711) && errno != EEXIST)
		return -errno;
	if (!root_dir(path))
		return -EPERM;	/* not ours: nothing goes in there */
	if (mkdir(x->dir, 0700))
		return -errno;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", x->dir, i ? "err" : "out");
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			  O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		err = fchown(fd, x->r.uid, x->r.gid) ? -errno : 0;
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

static void run_dir_remove(struct run *x)
{
	static const char *const names[] = { "out", "err", "status",
					     "status.new" };
	char path[PATH_MAX + 16];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", x->dir, names[i]);
		unlink(path);
	}
	rmdir(x->dir);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Starts the program: 0, or -errno and the reason sent to the peer. */
static int run_start(struct run *x)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int go[2] = { -1, -1 }, errp[2], e = 0, err = 0;
	bool mig = x->r.flags & KDDM_MIG_RUN_MIGRATABLE;
	char mnt[PATH_MAX];
	ssize_t n;

	if (mig && kdfs_mount(mnt, sizeof(mnt)))
		return send_result(x->fd, -ENOENT,
				   "kdfs is not mounted on node %u: a migratable job writes its output there",
				   self_node);
	if (pipe2(errp, O_CLOEXEC) ||
	    (mig ? pipe2(go, O_CLOEXEC) :
		   pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) ||
		   pipe2(perr, O_CLOEXEC)))
		return send_result(x->fd, -errno, "pipe: %s", strerror(errno));
	x->pid = fork();
	if (!x->pid)
		run_child(x, pin, pout, perr, go[0], errp[1]);
	close(errp[1]);
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	close_fd(&go[0]);
	if (x->pid < 0)
		err = -errno;
	else
		exit_forget(x->pid);
	if (!err && mig)
		err = run_dir_make(x);
	if (mig && !err && write(go[1], "g", 1) != 1)
		err = -errno;
	close_fd(&go[1]);
	if (!err) {
		n = read(errp[0], &e, sizeof(e));	/* EOF: it runs */
		err = n == sizeof(e) ? -e : 0;
	}
	close(errp[0]);
	x->in = pin[1];
	x->out = pout[0];
	x->err = perr[0];
	if (!err)
		return 0;
	if (x->pid > 0) {
		kill(x->pid, SIGKILL);
		waitpid(x->pid, NULL, 0);
		if (mig)
			run_dir_remove(x);
	}
	close_fd(&x->in);
	close_fd(&x->out);
	close_fd(&x->err);
	send_result(x->fd, err, "cannot run %s on node %u: %s", x->argv[0],
		    self_node, strerror(-err));
	return err;
}

/* Sends what came on stream @fd as @type; 0 at its end, 1 if more. */
static int relay_pipe(int fd, int peer, uint32_t type, char *buf)
{
	ssize_t n = read(fd, buf, RELAY_CHUNK);

	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	return send_msg(peer, type, buf, n) ? 0 : 1;
}

/* Sends what was added to run file @name since @off. */
static int relay_file(struct run *x, const char *name, off_t *off, uint32_t type,
		      char *buf)
{
	char path[PATH_MAX + 8];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", x->dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (!err && (n = pread(fd, buf, RELAY_CHUNK, *off)) > 0) {
		err = send_msg(x->fd, type, buf, n);
		*off += n;
	}
	close(fd);
	return err;
}

/* Writes what input it can; the rest waits for POLLOUT. */
static void flush_stdin(struct run *x)
{
	ssize_t n;

	while (x->in >= 0 && x->pend_off < x->pend_len) {
		n = write(x->in, x->pend + x->pend_off,
			  x->pend_len - x->pend_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(&x->in);	/* it closed its input */
			break;
		}
		x->pend_off += n;
	}
	x->pend_len = x->pend_off = 0;
}

/*
 * A STDIN message of the peer (read only when the last one is written, so
 * that a program that does not read holds its input back, not its
 * output): 1 more, 0 the peer is gone.
 */
static int relay_stdin(struct run *x)
{
	uint32_t type;
	size_t n;

	if (recv_msg(x->fd, &type, x->pend, KDDM_MIG_MSG_MAX, &n) ||
	    type != KDDM_MIG_STDIN)
		return 0;
	if (x->in < 0)
		return 1;
	if (!n) {
		close_fd(&x->in);	/* end of input */
		return 1;
	}
	x->pend_len = n;
	x->pend_off = 0;
	flush_stdin(x);
	return 1;
}

static int read_status(struct run *x, int *status)
{
	char path[PATH_MAX + 8];
	FILE *f;
	int ok, fd;

	snprintf(path, sizeof(path), "%s/status", x->dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	ok = fscanf(f, "%d", status) == 1;
	fclose(f);
	return ok;
}

static void run_relay(struct run *x, char *buf)
{
	bool mig = x->r.flags & KDDM_MIG_RUN_MIGRATABLE;
	struct kddm_mig_exit ex = { .pid = x->pid };
	off_t off[2] = { 0, 0 };
	bool peer = true, ended = false;
	struct pollfd p[4];

	while (!ended) {
		bool pending = x->pend_off < x->pend_len;

		p[0] = (struct pollfd){ .fd = peer && !pending ? x->fd : -1,
					.events = POLLIN };
		p[1] = (struct pollfd){ .fd = x->out, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = x->err, .events = POLLIN };
		p[3] = (struct pollfd){ .fd = pending ? x->in : -1,
					.events = POLLOUT };
		if (poll(p, 4, mig ? 100 : 500) < 0 && errno != EINTR)
			break;
		if (p[3].revents)
			flush_stdin(x);
		if (p[0].revents && !relay_stdin(x)) {
			peer = false;	/* the caller went */
			if (!mig && !exit_wait(x->pid, &ex.status, 0))
				kill(-x->pid, SIGHUP);	/* not ended yet */
			break;
		}
		if (p[1].revents && !relay_pipe(x->out, x->fd, KDDM_MIG_STDOUT, buf))
			close_fd(&x->out);
		if (p[2].revents && !relay_pipe(x->err, x->fd, KDDM_MIG_STDERR, buf))
			close_fd(&x->err);
		if (mig) {
			ended = exit_wait(x->pid, &ex.status, 0) ||
				read_status(x, &ex.status);
			if (relay_file(x, "out", &off[0], KDDM_MIG_STDOUT, buf) ||
			    relay_file(x, "err", &off[1], KDDM_MIG_STDERR, buf))
				break;
		} else if (x->out < 0 && x->err < 0) {
			ended = exit_wait(x->pid, &ex.status, 500);
		}
	}
	if (ended)
		send_msg(x->fd, KDDM_MIG_EXIT, &ex, sizeof(ex));
	if (mig && ended)
		run_dir_remove(x);
	close_fd(&x->in);
	close_fd(&x->out);
	close_fd(&x->err);
}

/* Node @from's daemon asks this node to run a program for its caller. */
void run_in(int fd, uint32_t from, char *buf, size_t n)
{
	static __thread char relay[KDDM_MIG_MSG_MAX];
	struct kddm_mig_result res = { .from = self_node, .to = self_node };
	struct run x = { .fd = fd, .from = from, .in = -1, .out = -1,
			 .err = -1 };
	struct job_info j = { .origin = self_node };
	const char *base;

	if (run_parse(&x, buf, n)) {
		send_result(fd, -EPROTO, "bad run request");
		return;
	}
	x.pend = malloc(KDDM_MIG_MSG_MAX);
	if (!x.pend) {
		send_result(fd, -ENOMEM, "out of memory");
		goto out;
	}
	if (run_start(&x))
		goto out;
	if (x.in >= 0)
		fcntl(x.in, F_SETFL, O_NONBLOCK);
	j.pid = x.pid;
	j.uid = x.r.uid;
	j.balance = x.r.flags & KDDM_MIG_RUN_MIGRATABLE;
	base = strrchr(x.argv[0], '/');
	strncpy(j.comm, base ? base + 1 : x.argv[0], sizeof(j.comm) - 1);
	job_add(&j, true);
	logmsg("node %u: uid %u runs %s as %d%s", from, x.r.uid, x.argv[0],
	       x.pid, x.r.flags & KDDM_MIG_RUN_MIGRATABLE ? " (migratable)" : "");
	res.pid = x.pid;
	peer_timeout(fd, 0);
	if (!send_msg(fd, KDDM_MIG_RUN_STARTED, &res, sizeof(res)))
		run_relay(&x, relay);
out:
	free(x.pend);
	free(x.argv);
}

/* ---- the caller's node ---- */

struct input {
	int cli, peer;
};

/*
 * The caller's input to the peer, in a thread of its own: a program that
 * does not read its input then holds back only that, never its output.
 */
static void *input_thread(void *arg)
{
	struct input *in = arg;
	uint32_t type;
	size_t len;
	char *buf = malloc(KDDM_MIG_MSG_MAX);

	while (buf && !recv_msg(in->cli, &type, buf, KDDM_MIG_MSG_MAX, &len) &&
	       type == KDDM_MIG_STDIN && !send_msg(in->peer, type, buf, len))
		;
	free(buf);
	/* the caller went (or said nonsense): the peer hears of it */
	shutdown(in->peer, SHUT_RDWR);	/* TIPC: no SHUT_WR */
	return NULL;
}

/* The CLI's request (@buf, @n bytes), for the caller @uid, @gid. */
void run_out(int cli, char *buf, size_t n, uid_t uid, gid_t gid)
{
	struct kddm_mig_run r;
	struct input in;
	char why[KDDM_MIG_TEXT];
	pthread_t th;
	uint32_t type;
	size_t len;
	int peer;

	if (n < sizeof(r) || n > KDDM_MIG_RUN_MAX) {
		send_result(cli, -EINVAL, "bad request");
		return;
	}
	memcpy(&r, buf, sizeof(r));
	if (!r.node || r.node > 65535) {
		send_result(cli, -EINVAL, "bad node");
		return;
	}
	r.uid = uid;
	r.gid = gid;
	memcpy(buf, &r, sizeof(r));
	peer = peer_connect(r.node, why, sizeof(why));
	if (peer < 0) {
		send_result(cli, peer, "%s", why);
		return;
	}
	peer_timeout(peer, 0);
	if (send_msg(peer, KDDM_MIG_REQ_RUN, buf, n)) {
		send_result(cli, -EPIPE, "node %u closed the connection", r.node);
		close(peer);
		return;
	}
	in = (struct input){ .cli = cli, .peer = peer };
	if (pthread_create(&th, NULL, input_thread, &in)) {
		send_result(cli, -EAGAIN, "no thread for the input");
		close(peer);
		return;
	}
	/* the program's output and end, to the caller */
	for (;;) {
		if (recv_msg(peer, &type, buf, KDDM_MIG_MSG_MAX, &len) ||
		    (type != KDDM_MIG_RUN_STARTED &&
		     type != KDDM_MIG_STDOUT && type != KDDM_MIG_STDERR &&
		     type != KDDM_MIG_EXIT && type != KDDM_MIG_RESULT)) {
			send_result(cli, -ECONNRESET, "node %u stopped answering",
				    r.node);
			break;
		}
		if (send_msg(cli, type, buf, len) || type == KDDM_MIG_EXIT ||
		    type == KDDM_MIG_RESULT)
			break;
	}
	/* the input thread ends with the caller's connection */
	shutdown(cli, SHUT_RDWR);
	pthread_join(th, NULL);
	close(peer);
}
