// SPDX-License-Identifier: GPL-2.0
/* The "none" policy: observe only, never move anything. */
#include <stdio.h>
#include "kddm_policy.h"

static int none_decide(void *state, const struct kddm_bal_view *view,
		       struct kddm_bal_decision *d)
{
	(void)state;
	(void)view;
	d->pid = 0;
	snprintf(d->reason, sizeof(d->reason), "observe only");
	return 0;
}

const struct kddm_policy kddm_policy = {
	.api = KDDM_POLICY_API,
	.name = "none",
	.decide = none_decide,
};
