// SPDX-License-Identifier: GPL-2.0
/*
 * kipc sem: for now the kernel's own, node-local implementation.
 */
#include <linux/ptrace.h>

#include "sem.h"

long kipc_sys_semget(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return orig(regs);
}

long kipc_sys_semop(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return orig(regs);
}

long kipc_sys_semtimedop(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return orig(regs);
}

long kipc_sys_semctl(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return orig(regs);
}

int kipc_sem_init(void)
{
	return 0;
}

void kipc_sem_exit(void)
{
}
