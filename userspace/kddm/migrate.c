// SPDX-License-Identifier: GPL-2.0
/*
 * kddm migrate, kddm ps, kddm run: requests to this node's kddm-migrated,
 * on its unix socket. The daemon checks who asks; this side only prints
 * (and, for run, carries the program's standard streams).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kddm/kddm_migrate.h>

#include "migrate.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int daemon_open(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strncpy(a.sun_path, KDDM_MIGRATE_SOCK, sizeof(a.sun_path) - 1);
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fd;
	fprintf(stderr, "kddm: kddm-migrated does not run on this node (%s: %s)\n",
		KDDM_MIGRATE_SOCK, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int request(int fd, uint32_t type, const void *p, uint32_t len)
{
	struct kddm_mig_hdr h = { .type = type, .len = len };

	return write_all(fd, &h, sizeof(h)) || write_all(fd, p, len) ? -1 : 0;
}

/* The next message, of exactly @len bytes; its type, or -1. */
static int answer(int fd, void *buf, uint32_t len)
{
	struct kddm_mig_hdr h;

	if (read_all(fd, &h, sizeof(h)) || h.len != len ||
	    read_all(fd, buf, len))
		return -1;
	return (int)h.type;
}

static void print_result(const struct kddm_mig_result *r, bool json)
{
	if (json) {
		printf("{\"pid\":%u,\"from\":%u,\"to\":%u,\"tasks\":%u,"
		       "\"downtime_us\":%" PRIu64 ",\"total_us\":%" PRIu64
		       ",\"running_us\":%" PRIu64
		       ",\"image_bytes\":%" PRIu64 ",\"lazy_bytes\":%" PRIu64
		       "}\n", r->pid, r->from, r->to, r->tasks,
		       (uint64_t)r->downtime_us, (uint64_t)r->total_us,
		       (uint64_t)r->running_us,
		       (uint64_t)r->image_bytes, (uint64_t)r->lazy_bytes);
		return;
	}
	printf("moved %u (%u task%s) from node %u to node %u: downtime %.1f ms, total %.1f ms, %.1f MiB of state",
	       r->pid, r->tasks, r->tasks == 1 ? "" : "s", r->from, r->to,
	       r->downtime_us / 1000.0, r->total_us / 1000.0,
	       r->image_bytes / 1048576.0);
	if (r->lazy_bytes)
		printf(", %.1f MiB of memory follows", r->lazy_bytes / 1048576.0);
	printf("\n");
}

int kddm_migrate(uint32_t pid, uint32_t node, bool tree, bool eager,
		 bool json)
{
	struct kddm_mig_req q = { .pid = pid, .node = node,
				  .flags = (tree ? KDDM_MIG_F_TREE : 0) |
					   (eager ? KDDM_MIG_F_EAGER : 0) };
	struct kddm_mig_result r;
	int fd = daemon_open();

	if (fd < 0)
		return 1;
	if (request(fd, KDDM_MIG_REQ_MIGRATE, &q, sizeof(q)) ||
	    answer(fd, &r, sizeof(r)) != KDDM_MIG_RESULT) {
		fprintf(stderr, "kddm: migrate: kddm-migrated closed the connection\n");
		close(fd);
		return 1;
	}
	close(fd);
	r.text[sizeof(r.text) - 1] = 0;
	if (r.err) {
		fprintf(stderr, "kddm: migrate %u to node %u: %s (%s)\n", pid,
			node, r.text, strerror(-r.err));
		return 1;
	}
	print_result(&r, json);
	return 0;
}

/* kddm balancer include|exclude PID: whether the balancer may move it. */
int kddm_balance_job(uint32_t pid, bool on)
{
	struct kddm_mig_req q = { .pid = pid,
				  .flags = on ? KDDM_MIG_F_BALANCE : 0 };
	struct kddm_mig_result r;
	int fd = daemon_open();

	if (fd < 0)
		return 1;
	if (request(fd, KDDM_MIG_REQ_BALANCE, &q, sizeof(q)) ||
	    answer(fd, &r, sizeof(r)) != KDDM_MIG_RESULT) {
		fprintf(stderr, "kddm: balancer: kddm-migrated closed the connection\n");
		close(fd);
		return 1;
	}
	close(fd);
	r.text[sizeof(r.text) - 1] = 0;
	if (r.err) {
		fprintf(stderr, "kddm: balancer: process %u: %s (%s)\n", pid,
			r.text, strerror(-r.err));
		return 1;
	}
	printf("process %u: %s\n", pid, r.text);
	return 0;
}

static void print_row(const struct kddm_mig_ps_row *r, bool json, bool first)
{
	char comm[KDDM_MIG_COMM + 1], when[32];
	time_t t = (time_t)r->since;
	struct tm tm;
	size_t i;

	memcpy(comm, r->comm, KDDM_MIG_COMM);
	comm[KDDM_MIG_COMM] = 0;
	for (i = 0; comm[i]; i++)	/* a process names itself */
		if (comm[i] < 0x20 || comm[i] == '"' || comm[i] == '\\' ||
		    comm[i] == 0x7f)
			comm[i] = '?';
	if (json) {
		printf("%s{\"pid\":%u,\"node\":%u,\"origin\":%u,\"uid\":%u,"
		       "\"migrations\":%u,\"since\":%" PRIu64 ",\"comm\":\"%s\","
		       "\"balance\":%s}",
		       first ? "" : ",", r->pid, r->node, r->origin, r->uid,
		       r->migrations, (uint64_t)r->since, comm,
		       r->flags & KDDM_MIG_PS_BALANCE ? "true" : "false");
		return;
	}
	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
	printf("%-8u %-5u %-7u %-6u %-6u %-9s %s\n", r->pid, r->node,
	       r->origin, r->uid, r->migrations, when, comm);
}

int kddm_ps(bool json)
{
	struct kddm_mig_ps_req q = { .flags = KDDM_MIG_F_ALL };
	union {
		struct kddm_mig_ps_row row;
		struct kddm_mig_result end;
	} m;
	struct kddm_mig_hdr h;
	int fd = daemon_open(), ends = 0, rows = 0;

	if (fd < 0)
		return 1;
	if (request(fd, KDDM_MIG_REQ_PS, &q, sizeof(q)))
		goto lost;
	if (json)
		printf("[");
	else
		printf("%-8s %-5s %-7s %-6s %-6s %-9s %s\n", "PID", "NODE",
		       "ORIGIN", "UID", "MOVES", "SINCE", "COMMAND");
	/* this node's rows and END, then the other nodes' rows and END */
	while (ends < 2) {
		if (read_all(fd, &h, sizeof(h)))
			goto lost;
		if (h.type == KDDM_MIG_PS_ROW && h.len == sizeof(m.row)) {
			if (read_all(fd, &m.row, sizeof(m.row)))
				goto lost;
			print_row(&m.row, json, !rows++);
		} else if (h.type == KDDM_MIG_PS_END && h.len == sizeof(m.end)) {
			if (read_all(fd, &m.end, sizeof(m.end)))
				goto lost;
			ends++;
		} else {
			goto lost;
		}
	}
	close(fd);
	if (json)
		printf("]\n");
	m.end.text[sizeof(m.end.text) - 1] = 0;
	if (m.end.err) {
		fprintf(stderr, "kddm: ps: %s\n", m.end.text);
		return 1;
	}
	return 0;
lost:
	close(fd);
	if (json)
		printf("]\n");
	fprintf(stderr, "kddm: ps: kddm-migrated closed the connection\n");
	return 1;
}

/* ---- kddm run ---- */

#define RUN_FAILED	125	/* kddm could not run it */

static char *run_request(uint32_t node, bool migratable, char **argv,
			 size_t *len)
{
	extern char **environ;
	struct kddm_mig_run r = { .node = node,
				  .flags = migratable ?
					   KDDM_MIG_RUN_MIGRATABLE : 0 };
	char cwd[KDDM_MIG_PATH] = "", *buf, *p;
	size_t n = sizeof(r), l;
	char **v;
	int pass;

	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = 0;
	r.cwd_len = strlen(cwd);
	for (v = argv; *v; v++)
		r.argc++;
	for (v = environ; v && *v; v++)
		r.envc++;
	if (r.argc > KDDM_MIG_RUN_MAX_ARGS || r.envc > KDDM_MIG_RUN_MAX_ARGS)
		return NULL;
	/* pass 0 measures, pass 1 copies */
	buf = NULL;
	for (pass = 0; pass < 2; pass++) {
		p = buf ? buf + sizeof(r) : NULL;
		n = sizeof(r);
		for (v = argv; *v; v++) {
			l = strlen(*v) + 1;
			if (p)
				p = (char *)memcpy(p, *v, l) + l;
			n += l;
		}
		for (v = environ; v && *v; v++) {
			l = strlen(*v) + 1;
			if (p)
				p = (char *)memcpy(p, *v, l) + l;
			n += l;
		}
		if (p)
			memcpy(p, cwd, r.cwd_len);
		n += r.cwd_len;
		if (n > KDDM_MIG_RUN_MAX)
			return NULL;
		if (!buf) {
			buf = malloc(n);
			if (!buf)
				return NULL;
			memcpy(buf, &r, sizeof(r));
		}
	}
	*len = n;
	return buf;
}

/*
 * Our standard input to the program, in a process of its own: a program
 * that does not read its input then holds back only that, never its
 * output. Ends at the end of input, with an empty STDIN.
 */
static pid_t run_input(int fd)
{
	static char buf[32768];
	pid_t pid = fork();
	ssize_t n;

	if (pid)
		return pid;
	for (;;) {
		n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			n = 0;
		if (request(fd, KDDM_MIG_STDIN, buf, n) || !n)
			_exit(0);
	}
}

static int run_status(const struct kddm_mig_exit *e)
{
	if (WIFEXITED(e->status))
		return WEXITSTATUS(e->status);
	if (WIFSIGNALED(e->status))
		return 128 + WTERMSIG(e->status);
	return RUN_FAILED;
}

/* The daemon's messages: -1 to go on, else our exit status. */
static int run_output(int fd, char *buf)
{
	struct kddm_mig_result *r = (void *)buf;
	struct kddm_mig_hdr h;

	if (read_all(fd, &h, sizeof(h)) || h.len > KDDM_MIG_MSG_MAX ||
	    read_all(fd, buf, h.len)) {
		fprintf(stderr, "kddm: run: kddm-migrated closed the connection\n");
		return RUN_FAILED;
	}
	switch (h.type) {
	case KDDM_MIG_STDOUT:
		return write_all(1, buf, h.len) ? RUN_FAILED : -1;
	case KDDM_MIG_STDERR:
		write_all(2, buf, h.len);
		return -1;
	case KDDM_MIG_RUN_STARTED:
		return h.len == sizeof(*r) ? -1 : RUN_FAILED;
	case KDDM_MIG_EXIT:
		if (h.len != sizeof(struct kddm_mig_exit))
			return RUN_FAILED;
		return run_status((struct kddm_mig_exit *)buf);
	case KDDM_MIG_RESULT:
		if (h.len != sizeof(*r))
			return RUN_FAILED;
		r->text[sizeof(r->text) - 1] = 0;
		fprintf(stderr, "kddm: run: %s\n", r->text);
		return r->err == -ENOENT ? 127 :
		       r->err == -EACCES || r->err == -ENOEXEC ? 126 :
		       RUN_FAILED;
	}
	fprintf(stderr, "kddm: run: unexpected message %u\n", h.type);
	return RUN_FAILED;
}

int kddm_run(uint32_t node, bool migratable, char **argv)
{
	static char buf[KDDM_MIG_MSG_MAX];
	pid_t input = -1;
	int fd, ret = -1;
	size_t len;
	char *req;

	req = run_request(node, migratable, argv, &len);
	if (!req) {
		fprintf(stderr, "kddm: run: the arguments and environment are too large (%u bytes at most)\n",
			KDDM_MIG_RUN_MAX);
		return RUN_FAILED;
	}
	fd = daemon_open();
	if (fd < 0) {
		free(req);
		return RUN_FAILED;
	}
	signal(SIGPIPE, SIG_IGN);
	if (request(fd, KDDM_MIG_REQ_RUN, req, len))
		ret = RUN_FAILED;
	free(req);
	if (ret < 0 && !migratable)
		input = run_input(fd);
	if (input < 0 && !migratable)
		ret = RUN_FAILED;
	while (ret < 0)
		ret = run_output(fd, buf);
	if (input > 0) {
		kill(input, SIGKILL);
		waitpid(input, NULL, 0);
	}
	close(fd);
	return ret;
}
