/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipc interception layer: redirect the System V IPC system calls of the
 * tasks of "cluster-enabled" IPC namespaces to functions of this module,
 * on an unmodified kernel, with ftrace (the way livepatch does it).
 *
 * A hook names a kernel function (the pt_regs-based syscall entry point,
 * e.g. "__x64_sys_shmget") and the function to run instead. The ftrace
 * callback redirects a call when, and only when:
 *   - the calling task's IPC namespace is enabled (kipc_ns_enabled()), and
 *   - the call does not come from this module: a replacement may call
 *     hook->orig(regs) to run the kernel's own implementation;
 *   - a reference on this module could be taken (it is not being unloaded).
 * Everything else, including every task of a namespace not enabled, runs
 * the kernel's code untouched.
 *
 * The module reference taken by the callback is dropped by the entry thunk
 * that KIPC_HOOK_ENTRY() defines, after the replacement returned: so the
 * module cannot be unloaded while a task is inside a replacement (sleeping
 * in msgrcv, say); rmmod fails with EWOULDBLOCK meanwhile.
 */
#ifndef _KIPC_HOOK_H
#define _KIPC_HOOK_H

#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/types.h>

struct ipc_namespace;
struct pt_regs;

/* A pt_regs-based syscall entry point: long __x64_sys_foo(const struct pt_regs *) */
typedef long (*kipc_syscall_fn)(const struct pt_regs *regs);

struct kipc_hook {
	const char *name;	/* kernel function to intercept */
	kipc_syscall_fn func;	/* where to redirect: impl##_entry */
	kipc_syscall_fn orig;	/* the intercepted function, set by install */
	bool any_ns;		/* redirect every call, not only those of
				 * the tasks of enabled namespaces
				 */
	/* private */
	struct ftrace_ops ops;
	bool registered;
};

/*
 * KIPC_HOOK_ENTRY(impl) defines impl_entry, the redirect target for the
 * replacement impl (long impl(const struct pt_regs *regs)): it runs impl,
 * then drops the module reference the ftrace callback took for this call.
 * Always redirect to such an entry, never to impl itself: KIPC_HOOK() does.
 */
#define KIPC_HOOK(_name, impl) { .name = (_name), .func = impl##_entry }

#define KIPC_HOOK_ENTRY(impl)						\
static long impl##_entry(const struct pt_regs *regs)			\
{									\
	long ret = impl(regs);						\
									\
	module_put(THIS_MODULE);					\
	return ret;							\
}

/*
 * Resolve and register hooks[0..n-1], all or nothing: 0 or -errno (-ENOENT
 * when a function does not exist or cannot be traced, -EBUSY when another
 * IP-modifying ftrace user, a livepatch say, already owns one). Call it last
 * in module init: nothing may fail after it.
 */
int kipc_hooks_install(struct kipc_hook *hooks, unsigned int n);

/*
 * Unregister hooks[0..n-1]. On return no task executes, or will execute, a
 * callback of them nor is left between a redirect and its entry thunk;
 * tasks inside replacements hold module references (see above).
 */
void kipc_hooks_remove(struct kipc_hook *hooks, unsigned int n);

/*
 * The registry of enabled IPC namespaces, by ns->ns.inum. The caller of
 * enable must hold a reference on ns (its own namespace, typically). An
 * entry goes away with its namespace: the registry watches the namespace
 * teardown (shm_exit_ns(), called before the inode number is freed), so an
 * inode number reused by a later namespace is not found enabled.
 * kipc_ns_enabled() is lock-free (RCU) and callable in atomic context.
 */
int kipc_ns_enable(struct ipc_namespace *ns);	/* 0 (also if already) or -errno */
void kipc_ns_disable(struct ipc_namespace *ns);
bool kipc_ns_enabled(const struct ipc_namespace *ns);
bool kipc_ns_enabled_inum(unsigned int inum);
/* Call fn for every enabled namespace (under RCU: fn must not sleep). */
void kipc_ns_walk(void (*fn)(unsigned int inum, void *arg), void *arg);

/* Module init/exit of the registry and its namespace teardown watch. */
int kipc_ns_registry_init(void);
void kipc_ns_registry_exit(void);	/* after kipc_hooks_remove() */

#endif /* _KIPC_HOOK_H */
