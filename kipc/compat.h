/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipc for 32-bit tasks (compat.c): the ia32 entry points of System V IPC,
 * hooked like the x86_64 ones when the kernel has CONFIG_IA32_EMULATION.
 */
#ifndef _KIPC_COMPAT_H
#define _KIPC_COMPAT_H

struct seq_file;

#ifdef CONFIG_IA32_EMULATION
int kipc_compat_install(void);		/* kipc_hooks_install() of them */
void kipc_compat_remove(void);
void kipc_compat_counts_show(struct seq_file *m);
#else
static inline int kipc_compat_install(void)
{
	return 0;
}

static inline void kipc_compat_remove(void)
{
}

static inline void kipc_compat_counts_show(struct seq_file *m)
{
}
#endif

#endif /* _KIPC_COMPAT_H */
