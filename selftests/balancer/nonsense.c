// SPDX-License-Identifier: GPL-2.0
/* A policy that moves PID 1 to a node that does not exist. */
#include <stdio.h>
#include "kddm_policy.h"

static int nonsense_decide(void *state, const struct kddm_bal_view *view,
			   struct kddm_bal_decision *d)
{
	(void)state;
	(void)view;
	d->pid = 1;
	d->to = 4000;
	snprintf(d->reason, sizeof(d->reason), "because");
	return 0;
}

const struct kddm_policy kddm_policy = {
	.api = KDDM_POLICY_API,
	.name = "nonsense",
	.decide = nonsense_decide,
};
