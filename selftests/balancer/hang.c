// SPDX-License-Identifier: GPL-2.0
/* A policy that never answers. */
#include <unistd.h>
#include "kddm_policy.h"

static int hang_decide(void *state, const struct kddm_bal_view *view,
		       struct kddm_bal_decision *d)
{
	(void)state;
	(void)view;
	(void)d;
	for (;;)
		pause();
	return 0;
}

const struct kddm_policy kddm_policy = {
	.api = KDDM_POLICY_API,
	.name = "hang",
	.decide = hang_decide,
};
