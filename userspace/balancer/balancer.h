/* SPDX-License-Identifier: GPL-2.0 */
/* kddm-balancer: what its files share. */
#ifndef KDDM_BALANCER_H
#define KDDM_BALANCER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "kddm_policy.h"

#define BAL_MAX_NODES	KDDM_LOAD_NODES_MAX
#define BAL_MAX_PROCS	64	/* the rows of one kddm-migrated ps */
#define BAL_SOCK	"/run/kddm/balancer.sock"

struct policy_host {
	pid_t pid;	/* the policy's process, -1: none (policy "none") */
	int sk;
	char name[KDDM_LOAD_POLICY_LEN];	/* as the policy names itself */
};

int host_start(struct policy_host *h, const char *path, const char *args,
	       char *why, size_t wl);
int host_decide(struct policy_host *h, const struct kddm_bal_view *v,
		struct kddm_bal_decision *d, int ms, char *why, size_t wl);
void host_stop(struct policy_host *h);

/* probe.c */
struct probe_prev {
	int pid;
	unsigned long long ticks;
};

struct probe {
	unsigned long long busy, total;		/* /proc/stat, last period */
	struct probe_prev prev[BAL_MAX_PROCS];	/* the processes' CPU time */
	int nr_prev;
	uint64_t prev_ms;			/* when, CLOCK_MONOTONIC */
	unsigned long run_sum, run_n;		/* runnable tasks, sampled */
};

void probe_sample(struct probe *pr);

int probe_node(struct probe *pr, struct kddm_load_vec *v);
int probe_procs(struct probe *pr, uint32_t self, struct kddm_bal_proc *procs,
		uint32_t *busy_milli);

#endif
