/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDDM_MEMBERSHIP_H
#define _KDDM_MEMBERSHIP_H

#include <linux/types.h>

u32 kddm_node_tipc(u32 node);
int kddm_membership_init(void);
void kddm_membership_exit(void);

#endif /* _KDDM_MEMBERSHIP_H */
