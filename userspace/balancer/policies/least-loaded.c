// SPDX-License-Identifier: GPL-2.0
/*
 * The "least-loaded" policy, with hysteresis.
 *
 * A node's load is its runnable tasks per CPU. A process moves from here
 * to the least-loaded node up when, for HOLD periods in a row, the move
 * would leave both nodes less unequal than they are: here - to > 1/c_here
 * + 1/c_to (one task fewer here, one more there). The busiest movable
 * process goes, unless it was moved here less than SETTLE periods ago (no
 * ping-pong); after a move this node waits COOL periods (the vectors catch
 * up with it).
 */
#include <stdio.h>
#include <stdlib.h>
#include "kddm_policy.h"

#define HOLD	3
#define SETTLE	5
#define COOL	2

struct ll {
	int streak;	/* periods in a row the move was worth it */
	int cool;	/* periods to wait after a move */
};

static void *ll_init(const char *args)
{
	(void)args;
	return calloc(1, sizeof(struct ll));
}

static double load_of(const struct kddm_bal_node *n)
{
	return n->v.run_milli / 1000.0 / (n->v.ncpus ? n->v.ncpus : 1);
}

static const struct kddm_bal_node *node_of(const struct kddm_bal_view *v,
					   uint32_t id)
{
	uint32_t i;

	for (i = 0; i < v->nr_nodes; i++)
		if (v->nodes[i].node == id)
			return &v->nodes[i];
	return NULL;
}

static int ll_decide(void *state, const struct kddm_bal_view *v,
		     struct kddm_bal_decision *d)
{
	const struct kddm_bal_node *self = node_of(v, v->self), *to = NULL;
	const struct kddm_bal_proc *p = NULL;
	struct ll *s = state;
	double gap, need;
	uint32_t i;

	d->pid = 0;
	if (!s || !self)
		return -1;
	if (s->cool > 0) {
		s->cool--;
		snprintf(d->reason, sizeof(d->reason), "cooling down after a move");
		return 0;
	}
	for (i = 0; i < v->nr_nodes; i++) {
		const struct kddm_bal_node *n = &v->nodes[i];

		if (n->up && n->node != v->self && n->v.ncpus &&
		    (!to || load_of(n) < load_of(to)))
			to = n;
	}
	for (i = 0; i < v->nr_procs; i++) {
		const struct kddm_bal_proc *q = &v->procs[i];

		if (q->moves && q->here_ms < (uint64_t)SETTLE * v->period_ms)
			continue;
		if (!p || q->busy_milli > p->busy_milli)
			p = q;
	}
	if (!to || !p) {
		s->streak = 0;
		snprintf(d->reason, sizeof(d->reason), "%s",
			 !to ? "no other node up" : "nothing here may move now");
		return 0;
	}
	gap = load_of(self) - load_of(to);
	need = 1.0 / (self->v.ncpus ? self->v.ncpus : 1) + 1.0 / to->v.ncpus;
	if (gap <= need) {
		s->streak = 0;
		snprintf(d->reason, sizeof(d->reason),
			 "balanced: load %.2f here, %.2f on node %u (least)",
			 load_of(self), load_of(to), to->node);
		return 0;
	}
	if (++s->streak < HOLD) {
		snprintf(d->reason, sizeof(d->reason),
			 "load %.2f here, %.2f on node %u: waiting (%d/%d)",
			 load_of(self), load_of(to), to->node, s->streak, HOLD);
		return 0;
	}
	s->streak = 0;
	s->cool = COOL;
	d->pid = p->pid;
	d->to = to->node;
	snprintf(d->reason, sizeof(d->reason),
		 "load %.2f here, %.2f on node %u (least loaded) for %d periods; process %d uses %.2f CPU",
		 load_of(self), load_of(to), to->node, HOLD, p->pid,
		 p->busy_milli / 1000.0);
	return 0;
}

const struct kddm_policy kddm_policy = {
	.api = KDDM_POLICY_API,
	.name = "least-loaded",
	.init = ll_init,
	.decide = ll_decide,
};
