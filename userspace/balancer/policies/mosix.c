// SPDX-License-Identifier: GPL-2.0
/*
 * The "mosix" policy, after MOSIX's: loads averaged over time, a move
 * only when what the process gains pays for what moving it costs, and a
 * process stays longer on a node each time it moved (no ping-pong).
 *
 * Each node's load (runnable tasks per CPU) is averaged here over the
 * periods (weight DECAY to the past). A CPU-bound process here gets about
 * 1 / max(1, load) of a CPU; on node n it would get 1 / max(1, load_n +
 * 1 / cpus_n). It is expected to run as long again as it ran here (its
 * age, at most HORIZON s), so moving it gains (share_n - share_here) x
 * age CPU seconds, and costs FIXED_S + rss / BW_KBS seconds (the
 * downtime and the pull of its memory). It moves if it gains more than
 * it costs, to the node where it gains most, once it has stayed
 * RESIDE_S x (moves + 1) s here; this node then waits COOL periods.
 */
#include <stdio.h>
#include <stdlib.h>
#include "kddm_policy.h"

#define MAX_NODES	256
#define DECAY		0.6
#define HORIZON		60.0	/* s */
#define FIXED_S		0.5
#define BW_KBS		20480.0	/* what a pull reaches on the test cluster */
#define RESIDE_S	5.0
#define COOL		3

struct mx {
	uint32_t id[MAX_NODES];
	double avg[MAX_NODES];
	int n, cool;
};

static void *mx_init(const char *args)
{
	(void)args;
	return calloc(1, sizeof(struct mx));
}

static double raw(const struct kddm_bal_node *n)
{
	return n->v.run_milli / 1000.0 / (n->v.ncpus ? n->v.ncpus : 1);
}

/* The node's averaged load, updated with this period's. */
static double average(struct mx *s, const struct kddm_bal_node *n)
{
	int i;

	for (i = 0; i < s->n && s->id[i] != n->node; i++)
		;
	if (i == s->n) {
		if (s->n == MAX_NODES)
			return raw(n);
		s->id[s->n] = n->node;
		s->avg[s->n++] = raw(n);
	} else {
		s->avg[i] = DECAY * s->avg[i] + (1 - DECAY) * raw(n);
	}
	return s->avg[i];
}

static double share(double load)
{
	return 1.0 / (load > 1.0 ? load : 1.0);
}

static int mx_decide(void *state, const struct kddm_bal_view *v,
		     struct kddm_bal_decision *d)
{
	double load[MAX_NODES], here = -1, best = 0, g, cost, age;
	const struct kddm_bal_proc *bp = NULL;
	struct mx *s = state;
	uint32_t i, k, bto = 0;

	d->pid = 0;
	if (!s || v->nr_nodes > MAX_NODES)
		return -1;
	for (i = 0; i < v->nr_nodes; i++) {
		/* a node down keeps the average it had */
		load[i] = v->nodes[i].up ? average(s, &v->nodes[i]) : 0;
		if (v->nodes[i].node == v->self)
			here = load[i];
	}
	if (here < 0)
		return -1;
	if (s->cool > 0) {
		s->cool--;
		snprintf(d->reason, sizeof(d->reason), "cooling down after a move");
		return 0;
	}
	for (k = 0; k < v->nr_procs; k++) {
		const struct kddm_bal_proc *p = &v->procs[k];

		age = p->here_ms / 1000.0;
		/* CPU-bound: half its share of a CPU here at least */
		if (age < RESIDE_S * (p->moves + 1) ||
		    p->busy_milli * (here > 1.0 ? here : 1.0) < 500)
			continue;	/* settling, or not CPU-bound */
		if (age > HORIZON)
			age = HORIZON;
		cost = FIXED_S + p->rss_kb / BW_KBS;
		for (i = 0; i < v->nr_nodes; i++) {
			const struct kddm_bal_node *n = &v->nodes[i];

			if (!n->up || n->node == v->self || !n->v.ncpus)
				continue;
			g = (share(load[i] + 1.0 / n->v.ncpus) - share(here)) *
			    age - cost;
			if (g > best) {
				best = g;
				bp = p;
				bto = n->node;
			}
		}
	}
	if (!bp) {
		snprintf(d->reason, sizeof(d->reason),
			 "no move pays for itself (load %.2f here, averaged)", here);
		return 0;
	}
	s->cool = COOL;
	d->pid = bp->pid;
	d->to = bto;
	snprintf(d->reason, sizeof(d->reason),
		 "process %d gains %.1f CPU s net on node %u (load %.2f here, averaged; %llu KiB to move)",
		 bp->pid, best, bto, here, (unsigned long long)bp->rss_kb);
	return 0;
}

const struct kddm_policy kddm_policy = {
	.api = KDDM_POLICY_API,
	.name = "mosix",
	.init = mx_init,
	.decide = mx_decide,
};
