// SPDX-License-Identifier: GPL-2.0
/*
 * kipc msg: for now the kernel's own, node-local implementation.
 */
#include <linux/ptrace.h>

#include "msg.h"

long kipc_sys_msgget(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return orig(regs);
}

long kipc_sys_msgsnd(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return orig(regs);
}

long kipc_sys_msgrcv(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return orig(regs);
}

long kipc_sys_msgctl(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return orig(regs);
}

int kipc_msg_init(void)
{
	return 0;
}

void kipc_msg_exit(void)
{
}
