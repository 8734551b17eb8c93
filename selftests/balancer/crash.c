// SPDX-License-Identifier: GPL-2.0
/* A policy that crashes at its first decision. */
#include <signal.h>
#include "kddm_policy.h"

static int crash_decide(void *state, const struct kddm_bal_view *view,
			struct kddm_bal_decision *d)
{
	(void)state;
	(void)view;
	(void)d;
	raise(SIGSEGV);
	return 0;
}

const struct kddm_policy kddm_policy = {
	.api = KDDM_POLICY_API,
	.name = "crash",
	.decide = crash_decide,
};
