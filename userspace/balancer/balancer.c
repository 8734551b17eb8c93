// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-balancer: load balancing by migration, one daemon per node.
 *
 * Every period it probes this node's load, publishes it as this node's
 * object of the load set (kDDM, /dev/kddm_load), reads every node's,
 * and asks the policy (a shared object, run in a process of its own:
 * host.c) for at most one move of a process of this node, which
 * kddm-migrated then makes. Moves run in a thread of their own: the
 * vector goes on being published while a process moves.
 *
 *   kddm-balancer [--policy NAME|PATH] [--policy-args ARGS]
 *                 [--policy-dir DIR] [--period MS] [--paused]
 *                 [--decisions FILE]
 *
 * Its control socket (BAL_SOCK) takes one line: "status", "status json"
 * (anyone), "policy NAME|PATH [ARGS]", "pause", "resume" (root). The log
 * goes to stderr; each decision to move, and each change of what the
 * policy says, also to the decisions file as one JSON object per line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <kddm/kddm_load.h>
#include <kddm/kddm_migrate.h>

#include "balancer.h"

#define DEFAULT_DIR	"/usr/lib/kddm/balancer"
/*
 * A vector unchanged for DOWN_PERIODS periods, and at least DOWN_MIN_MS,
 * is a node down: a node whose read of a dead node's vector waits for
 * TIPC to declare it down (its link tolerance, 1.5 s) publishes late,
 * and is not down.
 */
#define DOWN_PERIODS	3
#define DOWN_MIN_MS	5000

static int period_ms = 1000;
static const char *policy_dir = DEFAULT_DIR;
static FILE *decisions;
static int load_fd = -1;
static uint32_t self;

static struct policy_host host = { .pid = -1, .sk = -1, .name = "none" };
static char policy_path[512] = "none", policy_args[256];
static bool paused;
static char last_reason[KDDM_POLICY_REASON];

struct node_seen {
	uint32_t node;
	uint64_t seq, changed_ms;
};

static struct node_seen seen[BAL_MAX_NODES];
static struct kddm_bal_node nodes[BAL_MAX_NODES];
static uint32_t nr_nodes;

/*
 * The policy, what it said, the nodes seen: the main loop's, read and
 * changed by the control thread too.
 */
static pthread_mutex_t pol_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* the mover thread: one move at a time */
static pthread_mutex_t mv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mv_cond = PTHREAD_COND_INITIALIZER;
static struct kddm_bal_decision mv_next;
static char mv_policy[KDDM_LOAD_POLICY_LEN];
static bool mv_busy;
static uint32_t moves_out;

static void logmsg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "kddm-balancer[node %u]: %s\n", self, buf);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* @s as a JSON string's body: quotes, backslashes, controls escaped. */
static void json_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
}

static void decision_log(const struct kddm_bal_decision *d,
			 const char *policy, const char *result)
{
	if (!decisions)
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(decisions, "{\"time_ms\":%llu,\"node\":%u,\"policy\":\"",
		(unsigned long long)real_ms(), self);
	json_str(decisions, policy);
	fprintf(decisions, "\",\"pid\":%d,\"to\":%u,\"reason\":\"", d->pid,
		d->pid ? d->to : 0);
	json_str(decisions, d->reason);
	fprintf(decisions, "\",\"result\":\"");
	json_str(decisions, result);
	fprintf(decisions, "\"}\n");
	fflush(decisions);
	pthread_mutex_unlock(&log_lock);
}

/* ---- moves, through this node's kddm-migrated ---- */

static int migrate(int pid, uint32_t to, struct kddm_mig_result *r)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct kddm_mig_req q = { .pid = pid, .node = to,
				  .flags = KDDM_MIG_F_BALANCE };
	struct kddm_mig_hdr h = { .type = KDDM_MIG_REQ_MIGRATE,
				  .len = sizeof(q) };
	/* a restore may take 10 min; connecting, a few seconds */
	struct timeval snd = { .tv_sec = 5 }, rcv = { .tv_sec = 700 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = -1;

	memset(r, 0, sizeof(*r));
	r->err = -EIO;
	strncpy(a.sun_path, KDDM_MIGRATE_SOCK, sizeof(a.sun_path) - 1);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    send(fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    send(fd, &q, sizeof(q), MSG_NOSIGNAL) != sizeof(q)) {
		snprintf(r->text, sizeof(r->text), "kddm-migrated: %s",
			 strerror(errno));
		goto out;
	}
	if (recv(fd, &h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
	    h.type != KDDM_MIG_RESULT || h.len != sizeof(*r) ||
	    recv(fd, r, sizeof(*r), MSG_WAITALL) != sizeof(*r)) {
		snprintf(r->text, sizeof(r->text),
			 "kddm-migrated closed the connection");
		goto out;
	}
	r->text[sizeof(r->text) - 1] = 0;
	ret = r->err ? -1 : 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static void *mover(void *arg)
{
	char res[sizeof(((struct kddm_mig_result *)0)->text) + 64];
	char policy[KDDM_LOAD_POLICY_LEN];
	struct kddm_mig_result r;
	struct kddm_bal_decision d;
	bool moved;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mv_lock);
		while (!mv_next.pid)
			pthread_cond_wait(&mv_cond, &mv_lock);
		d = mv_next;
		memcpy(policy, mv_policy, sizeof(policy));
		pthread_mutex_unlock(&mv_lock);
		moved = !migrate(d.pid, d.to, &r);
		if (moved) {
			snprintf(res, sizeof(res), "moved, downtime %.1f ms",
				 r.downtime_us / 1000.0);
			logmsg("moved %d to node %u: downtime %.1f ms", d.pid,
			       d.to, r.downtime_us / 1000.0);
		} else {
			snprintf(res, sizeof(res), "refused: %s", r.text);
			logmsg("move of %d to node %u failed: %s", d.pid, d.to,
			       r.text);
		}
		decision_log(&d, policy, res);
		pthread_mutex_lock(&mv_lock);
		if (moved)
			moves_out++;
		mv_next.pid = 0;
		mv_busy = false;
		pthread_mutex_unlock(&mv_lock);
	}
	return NULL;
}

/* ---- the policy ---- */

/* Under pol_lock. */
static void policy_none(const char *why)
{
	host_stop(&host);
	snprintf(host.name, sizeof(host.name), "none");
	snprintf(policy_path, sizeof(policy_path), "none");
	policy_args[0] = 0;
	if (why)
		logmsg("policy falls back to none: %s", why);
}

/* Switches to policy @name (a path, or a name in the policy directory). */
static int policy_set(const char *name, const char *args, char *why,
		      size_t wl)
{
	struct policy_host h, old;
	char path[512];

	if (!strcmp(name, "none")) {
		pthread_mutex_lock(&pol_lock);
		policy_none(NULL);
		pthread_mutex_unlock(&pol_lock);
		logmsg("policy none (observe only)");
		return 0;
	}
	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s.so", policy_dir, name);
	if (access(path, R_OK)) {
		snprintf(why, wl, "%.400s: %s", path, strerror(errno));
		return -1;
	}
	/* a policy starts outside the lock: the periods go on meanwhile */
	if (host_start(&h, path, args, why, wl))
		return -1;
	pthread_mutex_lock(&pol_lock);
	old = host;
	host = h;
	snprintf(policy_path, sizeof(policy_path), "%s", path);
	snprintf(policy_args, sizeof(policy_args), "%s", args ? args : "");
	last_reason[0] = 0;
	pthread_mutex_unlock(&pol_lock);
	host_stop(&old);
	logmsg("policy %s (%s)", h.name, path);
	return 0;
}

/* ---- each period ---- */

static struct node_seen *seen_of(uint32_t node)
{
	int i;

	for (i = 0; i < BAL_MAX_NODES && seen[i].node; i++)
		if (seen[i].node == node)
			return &seen[i];
	if (i == BAL_MAX_NODES)
		return NULL;
	seen[i].node = node;
	return &seen[i];
}

/* Every node's vector; up: its balancer published lately (DOWN_PERIODS). */
static void read_nodes(void)
{
	struct kddm_load_nodes ln;
	uint64_t now = mono_ms(), down_ms = (uint64_t)DOWN_PERIODS * period_ms;
	uint32_t i;

	if (down_ms < DOWN_MIN_MS)
		down_ms = DOWN_MIN_MS;
	nr_nodes = 0;
	if (ioctl(load_fd, KDDM_LOAD_NODES, &ln))
		return;
	for (i = 0; i < ln.nr && i < BAL_MAX_NODES; i++) {
		struct kddm_bal_node *n = &nodes[nr_nodes];
		struct kddm_load_read rd = { .node = ln.ids[i],
					     .vec = (uintptr_t)&n->v };
		struct node_seen *s = seen_of(ln.ids[i]);

		memset(n, 0, sizeof(*n));
		n->node = ln.ids[i];
		if (!ioctl(load_fd, KDDM_LOAD_READ, &rd) && s &&
		    n->v.seq && n->v.version == KDDM_LOAD_VERSION) {
			if (n->v.seq != s->seq) {
				s->seq = n->v.seq;
				s->changed_ms = now;
			}
			n->up = now - s->changed_ms <= down_ms;
		}
		nr_nodes++;
	}
}

static bool valid_move(const struct kddm_bal_decision *d,
		       const struct kddm_bal_proc *procs, uint32_t nr,
		       char *why, size_t wl)
{
	uint32_t i;

	for (i = 0; i < nr && procs[i].pid != d->pid; i++)
		;
	if (i == nr) {
		snprintf(why, wl, "process %d was not offered to it", d->pid);
		return false;
	}
	for (i = 0; i < nr_nodes; i++)
		if (nodes[i].node == d->to && nodes[i].up && d->to != self)
			return true;
	snprintf(why, wl, "node %u is not another node up", d->to);
	return false;
}

static void decide(const struct kddm_bal_proc *procs, uint32_t nr_procs)
{
	struct kddm_bal_view v = {
		.self = self, .period_ms = period_ms, .now_ms = mono_ms(),
		.nr_nodes = nr_nodes, .nr_procs = nr_procs,
		.nodes = nodes, .procs = procs,
	};
	struct kddm_bal_decision d = { .pid = 0 };
	char why[256];
	int ret;

	if (host.pid < 0)
		return;		/* none */
	ret = host_decide(&host, &v, &d, period_ms, why, sizeof(why));
	if (ret < 0) {
		char msg[400];

		snprintf(msg, sizeof(msg), "policy %s failed: %s", host.name,
			 why);
		policy_none(msg);
		return;
	}
	if (ret > 0) {
		logmsg("policy %s: %s (no move)", host.name, why);
		return;
	}
	if (d.pid && !valid_move(&d, procs, nr_procs, why, sizeof(why))) {
		char msg[700];

		snprintf(msg, sizeof(msg),
			 "policy %s answered nonsense (move %d to node %u): %s",
			 host.name, d.pid, d.to, why);
		policy_none(msg);
		return;
	}
	if (!d.pid) {
		if (strcmp(d.reason, last_reason)) {
			snprintf(last_reason, sizeof(last_reason), "%s", d.reason);
			decision_log(&d, host.name, "no move");
		}
		return;
	}
	snprintf(last_reason, sizeof(last_reason), "%s", d.reason);
	if (paused) {
		decision_log(&d, host.name, "paused: not moved");
		return;
	}
	logmsg("moving %d to node %u: %s", d.pid, d.to, d.reason);
	pthread_mutex_lock(&mv_lock);
	mv_busy = true;
	mv_next = d;
	memcpy(mv_policy, host.name, sizeof(mv_policy));
	pthread_cond_signal(&mv_cond);
	pthread_mutex_unlock(&mv_lock);
}

static uint64_t seq;

static void period(struct probe *pr)
{
	static struct kddm_bal_proc procs[BAL_MAX_PROCS];
	struct kddm_load_vec v = { .version = KDDM_LOAD_VERSION };
	uint32_t nr = 0, busy = 0;
	bool moving;
	int n;

	probe_node(pr, &v);
	n = probe_procs(pr, self, procs, &busy);
	if (n > 0)
		nr = n;
	pthread_mutex_lock(&mv_lock);
	moving = mv_busy;
	v.moves_out = moves_out;
	pthread_mutex_unlock(&mv_lock);
	v.seq = ++seq;
	v.time_ms = real_ms();
	v.nr_movable = nr;
	v.movable_busy = busy;
	pthread_mutex_lock(&pol_lock);
	v.flags = KDDM_LOAD_F_BALANCER | (paused ? KDDM_LOAD_F_PAUSED : 0);
	memcpy(v.policy, host.name, sizeof(v.policy));
	pthread_mutex_unlock(&pol_lock);
	v.policy[sizeof(v.policy) - 1] = 0;
	if (ioctl(load_fd, KDDM_LOAD_PUBLISH, &v))
		logmsg("cannot publish the load vector: %s", strerror(errno));
	pthread_mutex_lock(&pol_lock);
	read_nodes();
	if (!moving)
		decide(procs, nr);
	pthread_mutex_unlock(&pol_lock);
}

/* ---- the control socket ---- */

/* Under pol_lock. */
static void status(FILE *f, bool json)
{
	uint32_t i, moves;
	bool moving;

	pthread_mutex_lock(&mv_lock);
	moves = moves_out;
	moving = mv_busy;
	pthread_mutex_unlock(&mv_lock);
	if (!json) {
		fprintf(f, "node %u, policy %s (%s), %s, period %d ms, %u moves made%s\n",
			self, host.name, policy_path,
			paused ? "paused" : "running", period_ms, moves,
			moving ? ", one in progress" : "");
		fprintf(f, "the policy says: %s\n",
			last_reason[0] ? last_reason : "-");
		return;
	}
	fprintf(f, "{\"node\":%u,\"policy\":\"", self);
	json_str(f, host.name);
	fprintf(f, "\",\"path\":\"");
	json_str(f, policy_path);
	fprintf(f, "\",\"paused\":%s,\"period_ms\":%d,\"moves\":%u,\"moving\":%s,\"reason\":\"",
		paused ? "true" : "false", period_ms, moves,
		moving ? "true" : "false");
	json_str(f, last_reason);
	fprintf(f, "\",\"nodes\":[");
	for (i = 0; i < nr_nodes; i++)
		fprintf(f, "%s{\"node\":%u,\"up\":%s}", i ? "," : "",
			nodes[i].node, nodes[i].up ? "true" : "false");
	fprintf(f, "]}\n");
}

static void control(int lfd)
{
	struct timeval tv = { .tv_sec = 2 };
	char line[1024], why[512], *arg, *args;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	FILE *f;
	ssize_t n;

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = recv(fd, line, sizeof(line) - 1, 0);
	if (n <= 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl)) {
		close(fd);
		return;
	}
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return;
	}
	arg = strchr(line, ' ');
	if (arg)
		*arg++ = 0;
	if (!strcmp(line, "status")) {
		pthread_mutex_lock(&pol_lock);
		status(f, arg && !strcmp(arg, "json"));
		pthread_mutex_unlock(&pol_lock);
	} else if (cr.uid != 0 &&
		   (!strcmp(line, "policy") || !strcmp(line, "pause") ||
		    !strcmp(line, "resume"))) {
		fprintf(f, "error: only root changes the balancer\n");
	} else if (!strcmp(line, "pause") || !strcmp(line, "resume")) {
		pthread_mutex_lock(&pol_lock);
		paused = line[0] == 'p';
		pthread_mutex_unlock(&pol_lock);
		logmsg("%s by uid %u", paused ? "paused" : "resumed", cr.uid);
		fprintf(f, "ok: %s\n", paused ? "paused" : "running");
	} else if (!strcmp(line, "policy") && arg && *arg) {
		args = strchr(arg, ' ');
		if (args)
			*args++ = 0;
		if (policy_set(arg, args, why, sizeof(why)))
			fprintf(f, "error: policy %s: %s\n", arg, why);
		else
			fprintf(f, "ok: policy %s\n", host.name);
	} else {
		fprintf(f, "error: unknown request (status [json], policy NAME [ARGS], pause, resume)\n");
	}
	fclose(f);
}

/* The control socket has a thread of its own: no client holds the periods. */
static void *controller(void *arg)
{
	int lfd = *(int *)arg;

	for (;;)
		control(lfd);
	return NULL;
}

static int control_open(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	mkdir("/run/kddm", 0755);
	unlink(BAL_SOCK);
	strncpy(a.sun_path, BAL_SOCK, sizeof(a.sun_path) - 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    chmod(BAL_SOCK, 0666) || listen(fd, 8)) {
		logmsg("%s: %s", BAL_SOCK, strerror(errno));
		return -1;
	}
	return fd;
}

static const char usage[] =
"usage: kddm-balancer [--policy NAME|PATH] [--policy-args ARGS]\n"
"                     [--policy-dir DIR] [--period MS] [--paused]\n"
"                     [--decisions FILE]\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "policy-args", required_argument, NULL, 'a' },
		{ "policy-dir", required_argument, NULL, 'd' },
		{ "period", required_argument, NULL, 't' },
		{ "paused", no_argument, NULL, 'P' },
		{ "decisions", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *pol = "none", *pargs = NULL, *dfile = NULL;
	struct kddm_load_nodes ln;
	struct probe pr = {};
	char why[512];
	uint64_t next, sample;
	pthread_t th;
	int c, lfd;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pol = optarg; break;
		case 'a': pargs = optarg; break;
		case 'd': policy_dir = optarg; break;
		case 't':
			period_ms = atoi(optarg);
			if (period_ms < 100 || period_ms > 60000) {
				fprintf(stderr, "kddm-balancer: --period: 100 to 60000 ms\n");
				return 2;
			}
			break;
		case 'P': paused = true; break;
		case 'D': dfile = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	load_fd = open("/dev/kddm_load", O_RDWR | O_CLOEXEC);
	if (load_fd < 0) {
		fprintf(stderr, "kddm-balancer: /dev/kddm_load: %s (is kddm_mig.ko loaded?)\n",
			strerror(errno));
		return 1;
	}
	if (ioctl(load_fd, KDDM_LOAD_NODES, &ln)) {
		fprintf(stderr, "kddm-balancer: %s (has this node joined?)\n",
			strerror(errno));
		return 1;
	}
	if (dfile) {
		decisions = fopen(dfile, "ae");
		if (!decisions) {
			fprintf(stderr, "kddm-balancer: %s: %s\n", dfile,
				strerror(errno));
			return 1;
		}
	}
	self = ln.self;
	if (!self) {
		fprintf(stderr, "kddm-balancer: this node has not joined\n");
		return 1;
	}
	lfd = control_open();
	if (lfd < 0)
		return 1;
	if (policy_set(pol, pargs, why, sizeof(why))) {
		fprintf(stderr, "kddm-balancer: policy %s: %s\n", pol, why);
		return 1;
	}
	if (pthread_create(&th, NULL, mover, NULL) ||
	    pthread_create(&th, NULL, controller, &lfd)) {
		fprintf(stderr, "kddm-balancer: no thread\n");
		return 1;
	}
	logmsg("ready: policy %s, period %d ms%s", host.name, period_ms,
	       paused ? ", paused" : "");
	next = mono_ms();
	sample = next;
	for (;;) {
		uint64_t now = mono_ms(), wake;

		if (now >= sample) {
			/* ten samples of the runnable tasks per period */
			probe_sample(&pr);
			sample = now + period_ms / 10;
		}
		if (now >= next) {
			period(&pr);
			next += period_ms;
			if (next < now)
				next = now + period_ms;
			continue;
		}
		wake = sample < next ? sample : next;
		if (wake > now)
			usleep((wake - now) * 1000);
	}
}
