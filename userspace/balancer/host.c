// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-balancer: the policy's process. The policy (a shared object) runs
 * in a child of its own, so that a crash, a hang or a wild write of it
 * cannot take the daemon down: the daemon sends it each period's view
 * over a SOCK_SEQPACKET pair and waits for one answer, a period at most.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balancer.h"

struct hello {
	int32_t ok;
	char name[32];
	char text[200];
};

struct answer {
	int32_t ret;
	struct kddm_bal_decision d;
};

#define VIEW_MAX	(sizeof(struct kddm_bal_view) + \
			 BAL_MAX_NODES * sizeof(struct kddm_bal_node) + \
			 BAL_MAX_PROCS * sizeof(struct kddm_bal_proc))

static void child_main(int sk, const char *path, const char *args)
{
	static char buf[VIEW_MAX];
	const struct kddm_policy *p;
	struct hello h = { .ok = 0 };
	struct kddm_bal_view *v = (void *)buf;
	struct answer a;
	void *so, *state = NULL;
	ssize_t n;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "kddm-policy");
	/* nothing of the daemon's: its sockets, /dev/kddm_load */
	if (sk != 3 && dup2(sk, 3) != 3)
		_exit(1);
	sk = 3;
	if (syscall(SYS_close_range, 4, ~0U, 0))
		for (fd = 4; fd < 1024; fd++)
			close(fd);
	/* no privilege: a policy only computes (nobody, no new ones) */
	if (!getuid() && (setgroups(0, NULL) || setgid(65534) ||
			  setuid(65534)))
		_exit(1);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	p = so ? dlsym(so, "kddm_policy") : NULL;
	if (!so)
		snprintf(h.text, sizeof(h.text), "%s", dlerror());
	else if (!p)
		snprintf(h.text, sizeof(h.text), "%s defines no kddm_policy", path);
	else if (p->api != KDDM_POLICY_API || !p->decide || !p->name)
		snprintf(h.text, sizeof(h.text),
			 "%s: API %u, this balancer speaks %u (or no decide/name)",
			 path, p->api, KDDM_POLICY_API);
	else if (p->init && !(state = p->init(args)))
		snprintf(h.text, sizeof(h.text), "%s: its init() failed", path);
	else
		h.ok = 1;
	if (h.ok)
		snprintf(h.name, sizeof(h.name), "%s", p->name);
	if (send(sk, &h, sizeof(h), 0) != sizeof(h) || !h.ok)
		_exit(1);
	while ((n = recv(sk, buf, sizeof(buf), 0)) >= (ssize_t)sizeof(*v)) {
		size_t want = sizeof(*v) +
			      (size_t)v->nr_nodes * sizeof(*v->nodes) +
			      (size_t)v->nr_procs * sizeof(*v->procs);

		if (v->nr_nodes > BAL_MAX_NODES || v->nr_procs > BAL_MAX_PROCS ||
		    (size_t)n != want)
			_exit(1);
		v->nodes = (void *)(buf + sizeof(*v));
		v->procs = (void *)(buf + sizeof(*v) +
				    v->nr_nodes * sizeof(*v->nodes));
		memset(&a, 0, sizeof(a));
		a.ret = p->decide(state, v, &a.d);
		if (send(sk, &a, sizeof(a), 0) != sizeof(a))
			_exit(1);
	}
	_exit(0);
}

void host_stop(struct policy_host *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	if (h->sk >= 0)
		close(h->sk);
	h->pid = -1;
	h->sk = -1;
}

/* Why the child ended (it closed its end), for the log. */
static void host_reap(struct policy_host *h, char *why, size_t wl)
{
	int st, i;

	snprintf(why, wl, "it closed its socket");
	/* it is exiting: a second at most, then it is killed */
	for (i = 0; h->pid > 0 && i < 100; i++) {
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			if (WIFSIGNALED(st))
				snprintf(why, wl, "it died of signal %d (%s)",
					 WTERMSIG(st), strsignal(WTERMSIG(st)));
			else
				snprintf(why, wl, "it exited with status %d",
					 WEXITSTATUS(st));
			h->pid = -1;
			break;
		}
		usleep(10000);
	}
	host_stop(h);
}

/*
 * Starts the policy at @path (with @args) in a child; 0, or -1 with the
 * reason in @why (the child is gone then).
 */
int host_start(struct policy_host *h, const char *path, const char *args,
	       char *why, size_t wl)
{
	struct pollfd p;
	struct hello hi;
	int sv[2];
	ssize_t n;

	h->pid = -1;
	h->sk = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		snprintf(why, wl, "socketpair: %s", strerror(errno));
		return -1;
	}
	h->pid = fork();
	if (h->pid < 0) {
		snprintf(why, wl, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (!h->pid) {
		close(sv[0]);
		child_main(sv[1], path, args ? args : "");
	}
	close(sv[1]);
	h->sk = sv[0];
	p = (struct pollfd){ .fd = h->sk, .events = POLLIN };
	n = poll(&p, 1, 5000) == 1 ? recv(h->sk, &hi, sizeof(hi), 0) : -1;
	if (n != sizeof(hi) || !hi.ok) {
		if (n == sizeof(hi)) {
			hi.text[sizeof(hi.text) - 1] = 0;
			snprintf(why, wl, "%s", hi.text);
			host_stop(h);
		} else {
			host_reap(h, why, wl);
		}
		return -1;
	}
	memcpy(h->name, hi.name, sizeof(h->name));
	h->name[sizeof(h->name) - 1] = 0;
	return 0;
}

/*
 * One decision of the policy on @v, within @ms; 0 with @d filled in, or
 * -1 with why in @why (the child is gone then: crashed, hung, or spoke
 * out of turn).
 */
int host_decide(struct policy_host *h, const struct kddm_bal_view *v,
		struct kddm_bal_decision *d, int ms, char *why, size_t wl)
{
	static char buf[VIEW_MAX];
	size_t ln = v->nr_nodes * sizeof(*v->nodes);
	size_t lp = v->nr_procs * sizeof(*v->procs);
	struct kddm_bal_view hdr = *v;
	struct pollfd p = { .fd = h->sk, .events = POLLIN };
	struct answer a;
	ssize_t n;

	hdr.nodes = NULL;
	hdr.procs = NULL;
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), v->nodes, ln);
	memcpy(buf + sizeof(hdr) + ln, v->procs, lp);
	/* one answer per view: one it sent unasked is nonsense */
	if (recv(h->sk, &a, sizeof(a), MSG_DONTWAIT | MSG_PEEK) >= 0) {
		snprintf(why, wl, "it spoke out of turn");
		host_stop(h);
		return -1;
	}
	if (send(h->sk, buf, sizeof(hdr) + ln + lp,
		 MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		if (errno == EAGAIN) {
			snprintf(why, wl, "it reads no more views");
			host_stop(h);
		} else {
			host_reap(h, why, wl);
		}
		return -1;
	}
	if (poll(&p, 1, ms) != 1) {
		snprintf(why, wl, "it did not answer within %d ms", ms);
		host_stop(h);
		return -1;
	}
	n = recv(h->sk, &a, sizeof(a), 0);
	if (n != sizeof(a)) {
		host_reap(h, why, wl);
		return -1;
	}
	a.d.reason[sizeof(a.d.reason) - 1] = 0;
	if (a.ret) {
		snprintf(why, wl, "decide() returned %d", a.ret);
		d->pid = 0;
		return 1;
	}
	*d = a.d;
	return 0;
}
