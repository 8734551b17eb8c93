/* SPDX-License-Identifier: GPL-2.0 */
/* kddm_mig.ko: what mem.c uses of guard.c. */
#ifndef _KDDM_MIG_H
#define _KDDM_MIG_H

#include <linux/list.h>
#include <linux/mutex.h>

/* The guards of one open /dev/kddm_mig (a destination's daemon). */
struct mig_guards {
	struct mutex lock;
	struct list_head list;
	unsigned int nr;
};

void mig_guards_init(struct mig_guards *g);
long mig_guard(struct mig_guards *g, void __user *arg);
long mig_unguard(struct mig_guards *g, void __user *arg);
void mig_guards_release(struct mig_guards *g);

int mig_load_init(void);
void mig_load_exit(void);

#endif
