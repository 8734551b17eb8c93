/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for selftests that run on the host and drive the nodes of the
 * test cluster through `kddm-vm exec` (KDDM_VM names the launcher, and
 * KDDM_VM_DIR the cluster; the test driver sets both).
 */
#ifndef _KDDM_SELFTEST_CLUSTER_H
#define _KDDM_SELFTEST_CLUSTER_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define OUT_MAX 16384

/*
 * Runs the shell command @fmt on node @node; stdout (trailing newline cut)
 * goes to @out if not NULL, stderr is appended to it after a '|'.
 * Returns the command's exit status, 255 if the node is lost.
 */
static int node_run(int node, char *out, const char *fmt, ...)
{
	const char *vm = getenv("KDDM_VM") ?: "userspace/kddm-vm";
	char cmd[OUT_MAX], line[2 * OUT_MAX + 64], buf[OUT_MAX] = "";
	size_t len = 0, n;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s exec %d -n -t 120 -- sh -c '%s' 2>&1",
		 vm, node, cmd);
	p = popen(line, "r");
	if (!p)
		return -1;
	while (len < sizeof(buf) - 1 &&
	       (n = fread(buf + len, 1, sizeof(buf) - 1 - len, p)) > 0)
		len += n;
	buf[len] = '\0';
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	st = pclose(p);
	if (out)
		strcpy(out, buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* The launcher the driver names (KDDM_VM), or the tree's own. */
static inline const char *cluster_vm(void)
{
	return getenv("KDDM_VM") ?: "userspace/kddm-vm";
}

/* An IPC key no earlier test of this run used, from @base. */
static inline int cluster_key(int base)
{
	static int seq;

	return base + (getpid() & 0xffff) * 16 + ++seq;
}

static inline int nodes(void)
{
	const char *v = getenv("KDDM_NODES");

	return v ? atoi(v) : 3;
}

/* Loads kipc.ko on every node (kddm-load kipc); 0 or the failing node. */
static inline int cluster_load_kipc(char *out)
{
	int n;

	for (n = 1; n <= nodes(); n++)
		if (node_run(n, out, "kddm-load kipc"))
			return n;
	return 0;
}

static inline double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Fences counted on @node (kddm stats), -1 if unknown. */
static inline int fence_count(int node)
{
	char out[OUT_MAX], *p;

	if (node_run(node, out, "kddm stats --json"))
		return -1;
	p = strstr(out, "\"fences\":");
	return p ? atoi(p + strlen("\"fences\":")) : -1;
}

#endif /* _KDDM_SELFTEST_CLUSTER_H */
