/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * kddm_policy.h: the API of kddm-balancer's policies.
 *
 * A policy is a shared object that defines one symbol:
 *
 *	const struct kddm_policy kddm_policy = {
 *		.api = KDDM_POLICY_API,
 *		.name = "mine",
 *		.decide = mine_decide,
 *	};
 *
 * Every period (1 s by default) the balancer of each node builds a view
 * of the cluster (every node's load vector, read from kDDM, and the
 * processes this node may move) and asks the policy for at most one move
 * of a process of this node. The policy runs in a process of its own: if
 * it crashes, hangs (more than a period) or answers nonsense (a process
 * not offered, a node that is down or is this one), the balancer logs it
 * and goes on with the policy "none". Its state (init()'s return) lives
 * in that process from one period to the next.
 *
 * Build one with: cc -shared -fPIC -o mine.so mine.c; start the balancer
 * with it (kddm-balancer --policy ./mine.so) or switch to it (kddm
 * balancer policy /path/to/mine.so; a bare name is looked for in the
 * balancer's policy directory).
 */
#ifndef KDDM_POLICY_H
#define KDDM_POLICY_H

#include <stdint.h>
#include <kddm/kddm_load.h>

#define KDDM_POLICY_API		1
#define KDDM_POLICY_REASON	160

/* A node, as its balancer last published it. */
struct kddm_bal_node {
	uint32_t node;
	uint32_t up;		/* published within the last 3 periods */
	struct kddm_load_vec v;
};

/* A process of this node that the balancer may move. */
struct kddm_bal_proc {
	int32_t pid;
	uint32_t busy_milli;	/* CPU used last period: 1000 = one CPU */
	uint64_t rss_kb;
	uint64_t here_ms;	/* since it started or came here */
	uint32_t moves;		/* times kddm moved it */
	uint32_t pad;
};

struct kddm_bal_view {
	uint32_t self;		/* this node */
	uint32_t period_ms;
	uint64_t now_ms;	/* CLOCK_MONOTONIC */
	uint32_t nr_nodes;
	uint32_t nr_procs;
	const struct kddm_bal_node *nodes;	/* by node id, ascending */
	const struct kddm_bal_proc *procs;
};

/* What the policy answers: @pid 0 for no move; @reason is logged. */
struct kddm_bal_decision {
	int32_t pid;
	uint32_t to;
	char reason[KDDM_POLICY_REASON];
};

struct kddm_policy {
	uint32_t api;		/* KDDM_POLICY_API */
	const char *name;
	/* optional: state for decide(); @args from --policy-args */
	void *(*init)(const char *args);
	/* 0 with @d filled in, or -1 (logged, no move) */
	int (*decide)(void *state, const struct kddm_bal_view *view,
		      struct kddm_bal_decision *d);
};

#endif /* KDDM_POLICY_H */
