/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KIPC_SEM_H
#define _KIPC_SEM_H

struct pt_regs;
#ifndef KIPC_ORIG_FN
#define KIPC_ORIG_FN
typedef long (*kipc_orig_fn)(const struct pt_regs *regs);
#endif

long kipc_sys_semget(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_semop(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_semtimedop(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_semctl(const struct pt_regs *regs, kipc_orig_fn orig);
int kipc_sem_init(void);
void kipc_sem_exit(void);

#endif /* _KIPC_SEM_H */
