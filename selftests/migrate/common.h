/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migration selftests, driven from the host: kddm-migrated on every node
 * (kddm-load migrate: kddm_mig.ko, kdfs on /kdfs, the daemon).
 */
#ifndef _MIGRATE_SELFTEST_COMMON_H
#define _MIGRATE_SELFTEST_COMMON_H

#include "cluster.h"

/*
 * Every node joined first (a node alone is no majority), then kdfs and
 * kddm-migrated; 0 or the node that failed (its output in @out).
 */
static inline int migrate_load_all(char *out)
{
	int n;

	for (n = 1; n <= nodes(); n++)
		if (node_run(n, out, "kddm-load"))
			return n;
	for (n = 1; n <= nodes(); n++)
		if (node_run(n, out, "kddm-load migrate"))
			return n;
	return 0;
}

#endif
