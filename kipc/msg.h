/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KIPC_MSG_H
#define _KIPC_MSG_H

struct pt_regs;
#ifndef KIPC_ORIG_FN
#define KIPC_ORIG_FN
typedef long (*kipc_orig_fn)(const struct pt_regs *regs);
#endif

long kipc_sys_msgget(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_msgsnd(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_msgrcv(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_msgctl(const struct pt_regs *regs, kipc_orig_fn orig);
int kipc_msg_init(void);
void kipc_msg_exit(void);

#endif /* _KIPC_MSG_H */
