/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kdfs selftests, driven from the host: kdfs mounted on /kdfs on every
 * node (kddm-load kdfs, node 1 first: it holds the root directory).
 */
#ifndef _KDFS_SELFTEST_COMMON_H
#define _KDFS_SELFTEST_COMMON_H

#include "cluster.h"

/*
 * kdfs on every node, kDDM joined on all of them first (a node alone is
 * no majority); 0 or the node that failed (its output in @out).
 */
static inline int kdfs_mount_all(char *out)
{
	int n;

	for (n = 1; n <= nodes(); n++)
		if (node_run(n, out, "kddm-load"))
			return n;
	for (n = 1; n <= nodes(); n++)
		if (node_run(n, out, "kddm-load kdfs"))
			return n;
	return 0;
}

/* Starts @cmd on @node; its output is read with bg_wait(). */
static inline FILE *bg_start(int node, const char *cmd)
{
	char line[OUT_MAX];

	snprintf(line, sizeof(line), "%s exec %d -n -t 300 -- sh -c '%s' 2>&1",
		 cluster_vm(), node, cmd);
	return popen(line, "r");
}

/* The output of a command from bg_start() and its exit status. */
static inline int bg_wait(FILE *p, char *out)
{
	size_t len = 0, n;
	int st;

	while (len < OUT_MAX - 1 &&
	       (n = fread(out + len, 1, OUT_MAX - 1 - len, p)) > 0)
		len += n;
	out[len] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

#endif
