// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: the process-migration daemon of a node.
 *
 *   kddm-migrated [--pid-range]
 *       root; kddm.ko loaded, joined with a cluster key. --pid-range: new
 *       PIDs of this node start at (node id) x 65536, pid_max raised to
 *       4194304, so that processes started on different nodes have
 *       different PIDs and can move keeping theirs (Kerrighed put the
 *       node id in every PID); node ids above 63 share ranges.
 *
 * Serves the kddm CLI on KDDM_MIGRATE_SOCK (any local user: the daemon
 * checks who asks, SO_PEERCRED) and the other nodes' daemons on TIPC.
 * Each connection has its own thread. Processes restored here are this
 * daemon's children; a thread reaps them through pidfds, so that
 * libcriu's own children are never reaped behind its back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migrated.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

uint32_t self_node;
int mig_dev = -1;

void logmsg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "kddm-migrated[node %u]: %s\n", self_node, buf);
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* ---- jobs: processes kddm moved here ---- */

#define MAX_JOBS	4096

struct job {
	struct job_info info;
	int pidfd;		/* our child: reaped through it; else -1 */
	bool gone;		/* moved away: reap, do not list */
	bool moving;		/* being moved: not reaped till known */
	uint64_t since;
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job jobs[MAX_JOBS];
static int nr_jobs;

static struct job *job_find(pid_t pid)
{
	int i;

	for (i = 0; i < nr_jobs; i++)
		if (jobs[i].info.pid == pid && !jobs[i].gone)
			return &jobs[i];
	return NULL;
}

static void job_del(struct job *j)
{
	if (j->pidfd >= 0)
		close(j->pidfd);
	*j = jobs[--nr_jobs];
}

void job_add(const struct job_info *info, bool child)
{
	struct job *j;

	pthread_mutex_lock(&jobs_lock);
	j = job_find(info->pid);
	if (j)
		job_del(j);
	if (nr_jobs < MAX_JOBS) {
		j = &jobs[nr_jobs++];
		j->info = *info;
		j->gone = false;
		j->moving = false;
		j->since = time(NULL);
		j->pidfd = child ? syscall(SYS_pidfd_open, info->pid, 0) : -1;
	}
	pthread_mutex_unlock(&jobs_lock);
}

/* kddm balancer include|exclude: 0, -ESRCH (no job), -EPERM (not yours). */
static int job_set_balance(pid_t pid, bool on, uid_t uid)
{
	struct job *j;
	int err = 0;

	pthread_mutex_lock(&jobs_lock);
	j = job_find(pid);
	if (!j || j->moving)
		err = -ESRCH;
	else if (uid && uid != j->info.uid)
		err = -EPERM;
	else
		j->info.balance = on;
	pthread_mutex_unlock(&jobs_lock);
	return err;
}

bool job_get(pid_t pid, struct job_info *info)
{
	struct job *j;

	pthread_mutex_lock(&jobs_lock);
	j = job_find(pid);
	if (j)
		*info = j->info;
	pthread_mutex_unlock(&jobs_lock);
	return j;
}

/*
 * While process @pid moves, its end is not collected: if CRIU kills the
 * copy here, that is not its end (the job is forgotten then); if the move
 * fails, it goes on here, and its end, even meanwhile, is its own.
 */
void job_moving(pid_t pid, bool moving)
{
	struct job *j;

	pthread_mutex_lock(&jobs_lock);
	j = job_find(pid);
	if (j)
		j->moving = moving;
	pthread_mutex_unlock(&jobs_lock);
}

void job_forget(pid_t pid)
{
	siginfo_t si;
	struct job *j;
	int fd = -1;

	pthread_mutex_lock(&jobs_lock);
	j = job_find(pid);
	if (j && j->pidfd >= 0 && j->moving) {
		/* CRIU killed the copy here: collected now, not its end */
		fd = j->pidfd;
		j->pidfd = -1;
		job_del(j);
	} else if (j && j->pidfd >= 0) {
		j->gone = true;		/* the reaper collects the zombie */
	} else if (j) {
		job_del(j);
	}
	pthread_mutex_unlock(&jobs_lock);
	if (fd >= 0) {
		waitid(P_PIDFD, fd, &si, WEXITED);
		close(fd);
	}
}

void jobs_send(int fd)
{
	struct kddm_mig_ps_row rows[64];
	int i, n = 0, err = 0;

	pthread_mutex_lock(&jobs_lock);
	for (i = 0; i < nr_jobs && n < (int)ARRAY_SIZE(rows); i++) {
		struct job *j = &jobs[i];

		if (j->gone)
			continue;
		rows[n] = (struct kddm_mig_ps_row) {
			.pid = j->info.pid, .node = self_node,
			.origin = j->info.origin, .uid = j->info.uid,
			.migrations = j->info.migrations, .since = j->since,
			.flags = j->info.balance ? KDDM_MIG_PS_BALANCE : 0,
		};
		memcpy(rows[n].comm, j->info.comm, sizeof(rows[n].comm));
		n++;
	}
	pthread_mutex_unlock(&jobs_lock);
	for (i = 0; !err && i < n; i++)
		err = send_msg(fd, KDDM_MIG_PS_ROW, &rows[i], sizeof(rows[i]));
	if (!err) {
		struct kddm_mig_result end = { .from = self_node };

		send_msg(fd, KDDM_MIG_PS_END, &end, sizeof(end));
	}
}

/* ---- tasks whose memory is still being pulled ---- */

static pthread_mutex_t pulling_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pulling_cond = PTHREAD_COND_INITIALIZER;
static uint32_t *pull_pids;
static int nr_pull;

void pulling_add(const uint32_t *pids, int nr)
{
	uint32_t *p;

	pthread_mutex_lock(&pulling_lock);
	p = realloc(pull_pids, sizeof(*p) * (nr_pull + nr));
	if (p) {
		memcpy(p + nr_pull, pids, sizeof(*p) * nr);
		pull_pids = p;
		nr_pull += nr;
	}
	pthread_mutex_unlock(&pulling_lock);
}

void pulling_del(const uint32_t *pids, int nr)
{
	int i, j;

	pthread_mutex_lock(&pulling_lock);
	for (j = 0; j < nr; j++) {
		for (i = 0; i < nr_pull; i++) {
			if (pull_pids[i] == pids[j]) {
				pull_pids[i] = pull_pids[--nr_pull];
				break;
			}
		}
	}
	pthread_cond_broadcast(&pulling_cond);
	pthread_mutex_unlock(&pulling_lock);
}

static bool pid_pulling(pid_t pid)
{
	int i;

	for (i = 0; i < nr_pull; i++)
		if (pull_pids[i] == (uint32_t)pid)
			return true;
	return false;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd, ppid = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	p = strrchr(buf, ')');	/* comm may hold anything */
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

static bool pulling_locked(const struct tree *t)
{
	bool ret = false;
	pid_t p;
	int i;

	for (i = 0; !ret && i < t->nr; i++)
		ret = pid_pulling(t->pids[i]);
	for (p = t->root, i = 0; !ret && p > 1 && i < 64; i++) {
		p = parent_of(p);
		ret = p > 1 && pid_pulling(p);
	}
	return ret;
}

/*
 * Waits (@secs at most) until no task of @t, nor an ancestor (of a task
 * forked since), has memory still arriving; true if some still has.
 */
bool tree_pulling(const struct tree *t, int secs)
{
	struct timespec end;
	bool ret;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += secs;
	pthread_mutex_lock(&pulling_lock);
	while ((ret = pulling_locked(t)) &&
	       !pthread_cond_timedwait(&pulling_cond, &pulling_lock, &end))
		;
	pthread_mutex_unlock(&pulling_lock);
	return ret;
}

static void *reaper(void *arg)
{
	struct pollfd pfd[MAX_JOBS];
	pid_t pids[MAX_JOBS];
	siginfo_t si;
	bool ended;
	int i, n;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&jobs_lock);
		for (i = n = 0; i < nr_jobs; i++) {
			if (jobs[i].pidfd < 0 || jobs[i].moving)
				continue;
			pfd[n] = (struct pollfd){ .fd = jobs[i].pidfd,
						  .events = POLLIN };
			pids[n++] = jobs[i].info.pid;
		}
		pthread_mutex_unlock(&jobs_lock);
		if (poll(pfd, n, 200) <= 0) {
			if (!n)
				usleep(200000);
			continue;
		}
		for (i = 0; i < n; i++) {
			struct job *j;

			if (!(pfd[i].revents & POLLIN))
				continue;
			memset(&si, 0, sizeof(si));
			if (waitid(P_PIDFD, pfd[i].fd, &si, WEXITED | WNOHANG) ||
			    !si.si_pid)
				continue;
			ended = false;
			pthread_mutex_lock(&jobs_lock);
			for (j = jobs; j < jobs + nr_jobs; j++) {
				if (j->pidfd != pfd[i].fd)
					continue;
				if (!j->gone) {
					logmsg("process %d (%s) ended: %s %d", pids[i],
					       j->info.comm,
					       si.si_code == CLD_EXITED ?
					       "status" : "signal", si.si_status);
					ended = true;
				}
				job_del(j);
				break;
			}
			pthread_mutex_unlock(&jobs_lock);
			/* kdfs may be slow: not under jobs_lock */
			if (ended)
				run_exited(pids[i], si.si_code == CLD_EXITED ?
					   W_EXITCODE(si.si_status, 0) :
					   si.si_status |
					   (si.si_code == CLD_DUMPED ? 0x80 : 0));
		}
	}
	return NULL;
}

/* ---- the CLI ---- */

static void ps_all(int fd)
{
	uint32_t nodes[256], type;
	char why[KDDM_MIG_TEXT], buf[sizeof(struct kddm_mig_result)];
	struct kddm_mig_result end = { .from = self_node };
	size_t len, off = 0;
	int i, n, p, err;

	jobs_send(fd);	/* rows, then an END the CLI skips */
	n = kddm_nodes_up(nodes, ARRAY_SIZE(nodes));
	for (i = 0; i < n; i++) {
		if (nodes[i] == self_node)
			continue;
		p = peer_connect(nodes[i], why, sizeof(why));
		err = p < 0 ? p : send_msg(p, KDDM_MIG_REQ_PS, NULL, 0);
		while (!err) {
			err = recv_msg(p, &type, buf, sizeof(buf), &len);
			if (err || type == KDDM_MIG_PS_END)
				break;
			if (type != KDDM_MIG_PS_ROW ||
			    len != sizeof(struct kddm_mig_ps_row)) {
				err = -EPROTO;
				break;
			}
			err = send_msg(fd, KDDM_MIG_PS_ROW, buf, len);
		}
		if (p >= 0)
			close(p);
		if (err && off < sizeof(end.text))
			off += snprintf(end.text + off, sizeof(end.text) - off,
					"%snode %u did not answer",
					off ? ", " : "", nodes[i]);
	}
	end.err = off ? -EHOSTUNREACH : 0;
	send_msg(fd, KDDM_MIG_PS_END, &end, sizeof(end));
}

static void serve_cli(int fd)
{
	static __thread union {
		struct kddm_mig_req m;
		struct kddm_mig_ps_req ps;
		char run[KDDM_MIG_MSG_MAX];
	} req;
	struct kddm_mig_result res = {};
	struct ucred cr;
	struct job_info j;
	socklen_t cl = sizeof(cr);
	uint32_t type;
	size_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) ||
	    recv_msg(fd, &type, &req, sizeof(req), &n))
		return;
	if (type == KDDM_MIG_REQ_RUN) {
		struct timeval tv = { 0 };

		/* input may pause as long as it likes */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		run_out(fd, req.run, n, cr.uid, cr.gid);
		return;
	}
	if (type == KDDM_MIG_REQ_PS && n == sizeof(req.ps)) {
		if (req.ps.flags & KDDM_MIG_F_ALL)
			ps_all(fd);
		else
			jobs_send(fd);
		return;
	}
	if (type == KDDM_MIG_REQ_BALANCE && n == sizeof(req.m)) {
		bool on = req.m.flags & KDDM_MIG_F_BALANCE;
		int err = -EINVAL;

		if (!(req.m.flags & ~KDDM_MIG_F_BALANCE) && !req.m.node &&
		    !req.m.pad && req.m.pid && req.m.pid <= 4194304)
			err = job_set_balance(req.m.pid, on, cr.uid);
		if (!err)
			logmsg("uid %u: the balancer may %smove %u", cr.uid,
			       on ? "" : "not ", req.m.pid);
		send_result(fd, err, "%s",
			    err == -ESRCH ? "not a process kddm started or moved on this node" :
			    err == -EPERM ? "only its owner or root may say" :
			    err ? "bad request" : on ? "the balancer may move it" :
			    "the balancer will not move it");
		return;
	}
	if (type != KDDM_MIG_REQ_MIGRATE || n != sizeof(req.m) ||
	    (req.m.flags & ~(KDDM_MIG_F_TREE | KDDM_MIG_F_EAGER |
			     KDDM_MIG_F_BALANCE)) || !req.m.pid ||
	    req.m.pid > 4194304 || !req.m.node || req.m.node > 65535) {
		send_result(fd, -EINVAL, "bad request");
		return;
	}
	if ((req.m.flags & KDDM_MIG_F_BALANCE) &&
	    !(job_get(req.m.pid, &j) && j.balance)) {
		send_result(fd, -ESRCH,
			    "process %u is not a job the balancer may move",
			    req.m.pid);
		return;
	}
	logmsg("uid %u asks to move %u to node %u", cr.uid, req.m.pid,
	       req.m.node);
	res.err = migrate_out(req.m.pid, req.m.node, req.m.flags, cr.uid,
			      cr.gid, &res);
	if (res.err)
		logmsg("moving %u to node %u failed: %s", req.m.pid,
		       req.m.node, res.text);
	send_msg(fd, KDDM_MIG_RESULT, &res, sizeof(res));
}

/* ---- connections ---- */

struct conn {
	int fd;
	bool peer;
};

/* Connections served at once: more wait in the listen backlog. */
#define MAX_CONNS	64
static int nr_conns;
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conns_cond = PTHREAD_COND_INITIALIZER;

static void *serve(void *arg)
{
	struct conn *c = arg;
	uint32_t from;
	int err;

	if (c->peer) {
		err = peer_accept_auth(c->fd, &from);
		if (err)
			logmsg("a connection failed authentication: %s",
			       strerror(-err));
		else
			migrate_in(c->fd, from);
		/*
		 * TIPC drops what a closed socket still had queued (our last
		 * answer, maybe): the client closes first, once it has it.
		 */
		peer_linger(c->fd);
	} else {
		struct timeval tv = { .tv_sec = 30 };

		/* a request comes at once; the answer may take long */
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		serve_cli(c->fd);
	}
	close(c->fd);
	free(c);
	pthread_mutex_lock(&conns_lock);
	nr_conns--;
	pthread_cond_signal(&conns_cond);
	pthread_mutex_unlock(&conns_lock);
	return NULL;
}

static int cli_listen(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	mkdir("/run/kddm", 0755);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strncpy(a.sun_path, KDDM_MIGRATE_SOCK, sizeof(a.sun_path) - 1);
	unlink(KDDM_MIGRATE_SOCK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    chmod(KDDM_MIGRATE_SOCK, 0666) || listen(fd, 32)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void spawn(int fd, bool peer)
{
	struct conn *c = malloc(sizeof(*c));
	pthread_attr_t attr;
	pthread_t th;

	if (!c) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&conns_lock);
	while (nr_conns >= MAX_CONNS)
		pthread_cond_wait(&conns_cond, &conns_lock);
	nr_conns++;
	pthread_mutex_unlock(&conns_lock);
	c->fd = fd;
	c->peer = peer;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 1 << 20);
	if (pthread_create(&th, &attr, serve, c)) {
		close(fd);
		free(c);
		pthread_mutex_lock(&conns_lock);
		nr_conns--;
		pthread_mutex_unlock(&conns_lock);
	}
	pthread_attr_destroy(&attr);
}

#define PID_RANGE	65536
#define PID_MAX		(64 * PID_RANGE)

static int write_sysctl(const char *path, unsigned long v)
{
	FILE *f = fopen(path, "we");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%lu\n", v) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

static void pid_range(void)
{
	unsigned long base = ((self_node - 1) % 63 + 1) * (unsigned long)PID_RANGE;
	unsigned long max = 0;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");

	if (f) {
		if (fscanf(f, "%lu", &max) != 1)
			max = 0;
		fclose(f);
	}
	if ((max < PID_MAX && write_sysctl("/proc/sys/kernel/pid_max", PID_MAX)) ||
	    write_sysctl("/proc/sys/kernel/ns_last_pid", base)) {
		logmsg("cannot set this node's PID range: %s", strerror(errno));
		return;
	}
	logmsg("new PIDs of this node from %lu", base + 1);
}

/*
 * The images of a process in transit take as much room as its memory:
 * more than /run has (a tenth or a fifth of the memory). They get a tmpfs
 * of their own, bounded at half of the memory.
 */
static int images_mount(void)
{
	struct statfs run, here;

	if (statfs("/run/kddm", &run) || statfs(MIG_RUN_DIR, &here))
		return -errno;
	if (here.f_type == TMPFS_MAGIC && memcmp(&run.f_fsid, &here.f_fsid,
						  sizeof(run.f_fsid)))
		return 0;	/* ours, from an earlier daemon */
	if (mount("kddm-migrate", MIG_RUN_DIR, "tmpfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=50%,mode=0700")) {
		logmsg("cannot mount a tmpfs on %s: %s", MIG_RUN_DIR,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

static int start(void)
{
	uint8_t mac[32];
	int err;

	if (geteuid()) {
		logmsg("must run as root");
		return -EPERM;
	}
	err = kddm_nl_init();
	if (err) {
		logmsg("kddm.ko is not loaded");
		return err;
	}
	err = kddm_self_node(&self_node);
	if (err || !self_node) {
		logmsg("this node has no kddm node id");
		return -ENOENT;
	}
	err = kddm_mac("probe", 5, mac);
	if (err == -ENOKEY)
		logmsg("the cluster has no key: daemons could not tell each other from any local user (kddm join --key-file)");
	else if (err)
		logmsg("kddm.ko refuses MACs: %s", strerror(-err));
	if (err)
		return err;
	mkdir("/run/kddm", 0755);
	if (mkdir(MIG_RUN_DIR, 0700) && errno != EEXIST) {
		logmsg("%s: %s", MIG_RUN_DIR, strerror(errno));
		return -errno;
	}
	err = images_mount();
	if (err)
		return err;
	images_cleanup();
	/* without kddm_mig.ko, memory moves before the process runs again */
	mig_dev = open("/dev/kddm_mig", O_RDWR | O_CLOEXEC);
	if (mig_dev < 0)
		logmsg("no /dev/kddm_mig (%s): memory moves eagerly",
		       strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2];
	pthread_t th;
	int i, fd;

	bool ranges = false;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pid-range")) {
			ranges = true;
		} else {
			fprintf(stderr, "usage: kddm-migrated [--pid-range]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (chdir("/"))
		return 1;
	if (start())
		return 1;
	if (ranges)
		pid_range();
	pfd[0].fd = cli_listen();
	pfd[1].fd = peer_listen();
	if (pfd[0].fd < 0 || pfd[1].fd < 0) {
		logmsg("cannot listen: %s (%s)", strerror(-(pfd[0].fd < 0 ?
		       pfd[0].fd : pfd[1].fd)), pfd[0].fd < 0 ?
		       KDDM_MIGRATE_SOCK : "TIPC");
		return 1;
	}
	if (pthread_create(&th, NULL, reaper, NULL)) {
		logmsg("no reaper thread");
		return 1;
	}
	logmsg("ready");
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				spawn(fd, i == 1);
		}
	}
}
