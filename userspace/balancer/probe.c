// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-balancer: the probes. The node's load from /proc (runnable tasks,
 * CPU use over the last period, load averages, memory), and the processes
 * the balancer may move: the migratable kddm run jobs this node's
 * kddm-migrated knows (kddm ps), each with its CPU use and RSS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <kddm/kddm_migrate.h>

#include "balancer.h"

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return 0;
}

static unsigned long long meminfo(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* Runnable tasks now (a sample of the period's average), the reader aside. */
void probe_sample(struct probe *pr)
{
	char buf[128], *p;
	unsigned long r;

	if (read_file("/proc/loadavg", buf, sizeof(buf)))
		return;
	p = strchr(buf, '/');
	while (p && p > buf && p[-1] != ' ')
		p--;
	if (!p)
		return;
	r = strtoul(p, NULL, 10);
	pr->run_sum += r ? r - 1 : 0;
	pr->run_n++;
}

int probe_node(struct probe *pr, struct kddm_load_vec *v)
{
	static char buf[16384];
	unsigned long long f[10] = {}, busy, total;
	double la[3] = {};
	int i;

	v->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (read_file("/proc/stat", buf, sizeof(buf)))
		return -1;
	if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7],
		   &f[8], &f[9]) < 4)
		return -1;
	/* guest time is in user already; idle and iowait are not busy */
	for (i = 0, total = 0; i < 8; i++)
		total += f[i];
	busy = total - f[3] - f[4];
	if (pr->total && total > pr->total && busy >= pr->busy &&
	    busy - pr->busy <= total - pr->total)
		v->busy_permille = 1000 * (busy - pr->busy) /
				   (total - pr->total);
	pr->busy = busy;
	pr->total = total;
	if (!pr->run_n)
		probe_sample(pr);
	v->run_milli = pr->run_n ? pr->run_sum * 1000 / pr->run_n : 0;
	v->nr_running = (v->run_milli + 500) / 1000;
	pr->run_sum = 0;
	pr->run_n = 0;
	if (!read_file("/proc/loadavg", buf, sizeof(buf)) &&
	    sscanf(buf, "%lf %lf %lf", &la[0], &la[1], &la[2]) == 3)
		for (i = 0; i < 3; i++)
			v->load_milli[i] = la[i] * 1000;
	if (!read_file("/proc/meminfo", buf, sizeof(buf))) {
		v->mem_total_kb = meminfo(buf, "MemTotal:");
		v->mem_avail_kb = meminfo(buf, "MemAvailable:");
	}
	return 0;
}

/*
 * The rows of this node's kddm ps (from its kddm-migrated) that the
 * balancer may move: how many (@max at most, the rest read and left), or
 * -1 if the daemon does not answer.
 */
static int ps_rows(uint32_t self, struct kddm_mig_ps_row *rows, int max)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct kddm_mig_ps_req q = { .flags = 0 };
	struct kddm_mig_hdr h = { .type = KDDM_MIG_REQ_PS, .len = sizeof(q) };
	struct timeval tv = { .tv_sec = 2 };
	struct kddm_mig_result end;
	struct kddm_mig_ps_row row;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), n = 0;

	strncpy(a.sun_path, KDDM_MIGRATE_SOCK, sizeof(a.sun_path) - 1);
	if (fd < 0)
		return -1;
	/* the period goes on: a daemon that does not answer is skipped */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    send(fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    send(fd, &q, sizeof(q), MSG_NOSIGNAL) != sizeof(q))
		goto fail;
	for (;;) {
		if (recv(fd, &h, sizeof(h), MSG_WAITALL) != sizeof(h))
			goto fail;
		if (h.type == KDDM_MIG_PS_END && h.len == sizeof(end)) {
			if (recv(fd, &end, sizeof(end), MSG_WAITALL) != sizeof(end))
				goto fail;
			break;
		}
		if (h.type != KDDM_MIG_PS_ROW || h.len != sizeof(row) ||
		    recv(fd, &row, sizeof(row), MSG_WAITALL) != sizeof(row))
			goto fail;
		if (n < max && (row.flags & KDDM_MIG_PS_BALANCE) &&
		    row.node == self && row.pid && row.pid <= 0x3fffffff)
			rows[n++] = row;
	}
	close(fd);
	return n;
fail:
	close(fd);
	return -1;
}

/* utime + stime of @pid in clock ticks, and its RSS; -1 if it is gone. */
static int proc_stat(int pid, unsigned long long *ticks, uint64_t *rss_kb)
{
	char path[64], buf[4096], *p;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')');	/* the name may hold anything */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	*rss_kb = meminfo(buf, "VmRSS:");
	return 0;
}

static unsigned long long prev_ticks(const struct probe *pr, int pid)
{
	int i;

	for (i = 0; i < pr->nr_prev; i++)
		if (pr->prev[i].pid == pid)
			return pr->prev[i].ticks;
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/*
 * The processes this node may move: migratable kddm run jobs here. Their
 * count (0 if kddm-migrated does not answer), their CPU use in all.
 */
int probe_procs(struct probe *pr, uint32_t self, struct kddm_bal_proc *procs,
		uint32_t *busy_milli)
{
	struct kddm_mig_ps_row rows[BAL_MAX_PROCS];
	struct probe_prev now_prev[BAL_MAX_PROCS];
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long ticks, before;
	uint64_t t = mono_ms(), dt = t - pr->prev_ms;
	time_t now = time(NULL);
	int n = ps_rows(self, rows, BAL_MAX_PROCS), i, k = 0;

	*busy_milli = 0;
	for (i = 0; i < n; i++) {
		struct kddm_bal_proc *p = &procs[k];

		memset(p, 0, sizeof(*p));
		p->pid = rows[i].pid;
		if (proc_stat(p->pid, &ticks, &p->rss_kb))
			continue;
		before = prev_ticks(pr, p->pid);
		if (before && ticks >= before && hz > 0 && pr->prev_ms && dt)
			p->busy_milli = (ticks - before) * 1000000ULL / hz / dt;
		p->here_ms = now > (time_t)rows[i].since ?
			     (uint64_t)(now - rows[i].since) * 1000 : 0;
		p->moves = rows[i].migrations;
		now_prev[k].pid = p->pid;
		now_prev[k].ticks = ticks;
		*busy_milli += p->busy_milli;
		k++;
	}
	memcpy(pr->prev, now_prev, sizeof(now_prev[0]) * k);
	pr->nr_prev = k;
	pr->prev_ms = t;
	return k;
}
