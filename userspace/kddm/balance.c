// SPDX-License-Identifier: GPL-2.0
/*
 * kddm load: every node's load vector (kddm_mig.ko's load set, written by
 * each node's kddm-balancer). kddm balancer status|policy|pause|resume:
 * requests to this node's kddm-balancer, on its control socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <kddm/kddm_load.h>

#include "balance.h"

#define BAL_SOCK	"/run/kddm/balancer.sock"

static void print_vec(const struct kddm_load_vec *v, uint32_t node, int err,
		      bool json, bool first, uint64_t now_ms)
{
	char pol[KDDM_LOAD_POLICY_LEN + 1], *p;
	double age = v->seq ? (double)((int64_t)(now_ms - v->time_ms)) / 1000 : -1;

	memcpy(pol, v->policy, KDDM_LOAD_POLICY_LEN);
	pol[KDDM_LOAD_POLICY_LEN] = 0;
	for (p = pol; *p; p++)		/* a balancer names its policy */
		if (*p < 0x21 || *p == '"' || *p == '\\' || *p == 0x7f)
			*p = '?';
	if (json) {
		printf("%s{\"node\":%u", first ? "" : ",", node);
		if (err) {
			printf(",\"error\":\"%s\"}", strerror(err));
			return;
		}
		printf(",\"published\":%s,\"age_s\":%.1f,\"seq\":%llu,\"ncpus\":%u,"
		       "\"nr_running\":%u,\"running\":%.3f,\"load\":[%.2f,%.2f,%.2f],"
		       "\"busy\":%.3f,"
		       "\"mem_total_kb\":%llu,\"mem_avail_kb\":%llu,"
		       "\"movable\":%u,\"movable_busy\":%.3f,\"balancer\":%s,"
		       "\"paused\":%s,\"moves\":%u,\"policy\":\"%s\"}",
		       v->seq ? "true" : "false", age,
		       (unsigned long long)v->seq, v->ncpus, v->nr_running,
		       v->run_milli / 1000.0, v->load_milli[0] / 1000.0, v->load_milli[1] / 1000.0,
		       v->load_milli[2] / 1000.0, v->busy_permille / 1000.0,
		       (unsigned long long)v->mem_total_kb,
		       (unsigned long long)v->mem_avail_kb, v->nr_movable,
		       v->movable_busy / 1000.0,
		       v->flags & KDDM_LOAD_F_BALANCER ? "true" : "false",
		       v->flags & KDDM_LOAD_F_PAUSED ? "true" : "false",
		       v->moves_out, pol);
		return;
	}
	if (err) {
		printf("%-5u %s\n", node, strerror(err));
		return;
	}
	if (!v->seq) {
		printf("%-5u (no balancer has published here)\n", node);
		return;
	}
	printf("%-5u %5.1f %4u %7u %6.2f %5.0f%% %9llu %7u %5u %s%s\n", node,
	       age, v->ncpus, v->nr_running, v->load_milli[0] / 1000.0,
	       v->busy_permille / 10.0,
	       (unsigned long long)v->mem_avail_kb / 1024, v->nr_movable,
	       v->moves_out, pol, v->flags & KDDM_LOAD_F_PAUSED ? " (paused)" : "");
}

int kddm_load(bool json)
{
	struct kddm_load_nodes ln;
	struct kddm_load_vec v;
	struct timespec ts;
	uint64_t now;
	uint32_t i;
	int fd = open("/dev/kddm_load", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, KDDM_LOAD_NODES, &ln)) {
		fprintf(stderr, "kddm: load: /dev/kddm_load: %s (kddm_mig.ko loaded, node joined?)\n",
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
	if (json)
		printf("[");
	else
		printf("%-5s %5s %4s %7s %6s %6s %9s %7s %5s %s\n", "NODE", "AGE",
		       "CPUS", "RUNNING", "LOAD1", "BUSY", "AVAIL_MB",
		       "MOVABLE", "MOVES", "POLICY");
	for (i = 0; i < ln.nr && i < KDDM_LOAD_NODES_MAX; i++) {
		struct kddm_load_read rd = { .node = ln.ids[i],
					     .vec = (uintptr_t)&v };
		int err = 0;

		memset(&v, 0, sizeof(v));
		if (ioctl(fd, KDDM_LOAD_READ, &rd))
			err = errno;
		print_vec(&v, ln.ids[i], err, json, !i, now);
	}
	if (json)
		printf("]\n");
	close(fd);
	return 0;
}

/* One request line to kddm-balancer; its answer to stdout. */
int kddm_balancer(const char *req)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	char buf[4096];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = 0;
	FILE *err = stdout;	/* where the answer goes */
	bool first;
	ssize_t n;

	strncpy(a.sun_path, BAL_SOCK, sizeof(a.sun_path) - 1);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "kddm: kddm-balancer does not run on this node (%s: %s)\n",
			BAL_SOCK, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		close(fd);
		return 1;
	}
	/* the daemon answers "error: ..." or its text, then closes */
	for (first = true; (n = read(fd, buf, sizeof(buf))) > 0; first = false) {
		if (first && n >= 7 && !strncmp(buf, "error: ", 7)) {
			ret = 1;
			fputs("kddm: balancer: ", stderr);
			err = stderr;
			if (fwrite(buf + 7, 1, n - 7, err) != (size_t)(n - 7))
				break;
			continue;
		}
		if (fwrite(buf, 1, n, err) != (size_t)n)
			break;
	}
	if (n < 0) {
		fprintf(stderr, "kddm: balancer: no answer: %s\n", strerror(errno));
		ret = 1;
	}
	close(fd);
	return ret;
}
