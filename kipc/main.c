// SPDX-License-Identifier: GPL-2.0
/*
 * kipc.ko: cluster-wide System V IPC. Every SysV IPC system call of a
 * task of an enabled IPC namespace is redirected here (hook.c) and served
 * cluster-wide from kDDM objects: shared memory (shm.c, shm_map.c,
 * shm_step.c), message queues (msg.c) and semaphores (sem.c), with the
 * key tables and ids of util.c.
 *
 *   /sys/kernel/debug/kipc/counts  calls redirected, per system call
 *   /sys/kernel/debug/kipc/ns      inode numbers of the enabled namespaces;
 *                                  write "enable" or "disable" to act on
 *                                  the writer's own IPC namespace
 *
 * The x86_64 entry points are hooked here; the 32-bit ones (ipc(2) and
 * the direct calls of syscall_32.tbl) in compat.c.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/ipc_namespace.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <kddm/version.h>

#include "compat.h"
#include "hook.h"
#include "kipc.h"
#include "msg.h"
#include "sem.h"

static bool enable_init_ns;
module_param(enable_init_ns, bool, 0444);
MODULE_PARM_DESC(enable_init_ns,
		 "Redirect the SysV IPC calls of the initial IPC namespace");

enum kipc_call {
	KIPC_SHMGET, KIPC_SHMAT, KIPC_SHMDT, KIPC_SHMCTL,
	KIPC_MSGGET, KIPC_MSGSND, KIPC_MSGRCV, KIPC_MSGCTL,
	KIPC_SEMGET, KIPC_SEMOP, KIPC_SEMTIMEDOP, KIPC_SEMCTL,
	KIPC_EXIT_SEM,		/* not a system call: see kipc_exit_sem_entry() */
	KIPC_COPY_SEMUNDO,	/* nor this: see kipc_copy_semundo_entry() */
	KIPC_PROC_OPEN,		/* /proc/sysvipc files: kipc_proc_open_entry() */
	KIPC_PROC_RELEASE,	/* and kipc_proc_release_entry() */
	KIPC_NR_CALLS
};

static atomic64_t kipc_counts[KIPC_NR_CALLS];
static struct kipc_hook kipc_hooks[KIPC_NR_CALLS];

/*
 * Pass-through replacements: count, then run the original. They are the
 * place of the cluster-wide implementations.
 */
#define KIPC_PASS(call, name)						\
static long kipc_##name(const struct pt_regs *regs)			\
{									\
	atomic64_inc(&kipc_counts[KIPC_##call]);			\
	return kipc_hooks[KIPC_##call].orig(regs);			\
}									\
KIPC_HOOK_ENTRY(kipc_##name)

/* Cluster-wide implementations (shm.c). */
#define KIPC_CLUSTER(call, name)					\
static long kipc_##name(const struct pt_regs *regs)			\
{									\
	atomic64_inc(&kipc_counts[KIPC_##call]);			\
	return kipc_sys_##name(regs);					\
}									\
KIPC_HOOK_ENTRY(kipc_##name)

KIPC_CLUSTER(SHMGET, shmget)
KIPC_CLUSTER(SHMAT, shmat)
KIPC_CLUSTER(SHMDT, shmdt)
KIPC_CLUSTER(SHMCTL, shmctl)
/* msg.c and sem.c get the kernel's own implementation too (orig). */
#define KIPC_CLUSTER_ORIG(call, name)					\
static long kipc_##name(const struct pt_regs *regs)			\
{									\
	atomic64_inc(&kipc_counts[KIPC_##call]);			\
	return kipc_sys_##name(regs, kipc_hooks[KIPC_##call].orig);	\
}									\
KIPC_HOOK_ENTRY(kipc_##name)

KIPC_CLUSTER_ORIG(MSGGET, msgget)
KIPC_CLUSTER_ORIG(MSGSND, msgsnd)
KIPC_CLUSTER_ORIG(MSGRCV, msgrcv)
KIPC_CLUSTER_ORIG(MSGCTL, msgctl)
KIPC_CLUSTER_ORIG(SEMGET, semget)
KIPC_CLUSTER_ORIG(SEMOP, semop)
KIPC_CLUSTER_ORIG(SEMTIMEDOP, semtimedop)
KIPC_CLUSTER_ORIG(SEMCTL, semctl)

/*
 * exit_sem(tsk), called by do_exit() for every task (and by unshare() and
 * setns() of the IPC namespace, and a failed clone), is hooked too: not a
 * pt_regs syscall, the redirect lands here with exit_sem()'s own argument.
 * kipc_sem_exit_task() runs the kernel's own exit_sem() (the kernel's undo
 * list) and applies kipc's SEM_UNDO adjustments if @tsk was the last user
 * of its list; then the module reference taken by the ftrace callback is
 * dropped, as KIPC_HOOK_ENTRY() does.
 */
static void kipc_exit_sem_entry(struct task_struct *tsk)
{
	void (*orig)(struct task_struct *tsk) =
		(void *)kipc_hooks[KIPC_EXIT_SEM].orig;

	atomic64_inc(&kipc_counts[KIPC_EXIT_SEM]);
	kipc_step_task_exit(tsk);
	kipc_sem_exit_task(tsk, orig);
	module_put(THIS_MODULE);
}

/*
 * copy_semundo(clone_flags, tsk), called by copy_process() in the parent:
 * with CLONE_SYSVSEM the child shares the parent's undo list, which the
 * kernel creates if the parent had none; kipc's adjustments of the parent
 * follow it there (kipc_sem_shared()).
 */
static int kipc_copy_semundo_entry(unsigned long clone_flags,
				   struct task_struct *tsk)
{
	int (*orig)(unsigned long clone_flags, struct task_struct *tsk) =
		(void *)kipc_hooks[KIPC_COPY_SEMUNDO].orig;
	int ret;

	atomic64_inc(&kipc_counts[KIPC_COPY_SEMUNDO]);
	/* First: a failure here must not leave the undo list referenced. */
	ret = kipc_step_fork(clone_flags, tsk);
	if (!ret) {
		ret = orig(clone_flags, tsk);
		if (ret)	/* no exit_sem() for @tsk then */
			kipc_step_task_exit(tsk);
	}
	if (!ret && (clone_flags & CLONE_SYSVSEM))
		kipc_sem_shared();
	module_put(THIS_MODULE);
	return ret;
}

/*
 * sysvipc_proc_open(inode, file) of ipc/util.c, for a task of an enabled
 * namespace: the kernel's open, then kipc's seq_operations (proc.c) list
 * the cluster's objects. The module reference taken for this call stays
 * with the file until kipc_proc_release_entry().
 */
static int kipc_proc_open_entry(struct inode *inode, struct file *file)
{
	int (*orig)(struct inode *inode, struct file *file) =
		(void *)kipc_hooks[KIPC_PROC_OPEN].orig;
	struct seq_file *s;
	int ret;

	atomic64_inc(&kipc_counts[KIPC_PROC_OPEN]);
	ret = orig(inode, file);
	if (ret) {
		module_put(THIS_MODULE);
		return ret;
	}
	s = file->private_data;
	s->op = &kipc_proc_seqops;
	return 0;
}

/* sysvipc_proc_release(), for every task: ours give their reference back. */
static int kipc_proc_release_entry(struct inode *inode, struct file *file)
{
	int (*orig)(struct inode *inode, struct file *file) =
		(void *)kipc_hooks[KIPC_PROC_RELEASE].orig;
	const struct seq_file *s = file->private_data;
	bool ours = s->op == &kipc_proc_seqops;
	int ret;

	ret = orig(inode, file);
	if (ours)
		module_put(THIS_MODULE);
	module_put(THIS_MODULE);
	return ret;
}

static struct kipc_hook kipc_hooks[KIPC_NR_CALLS] = {
	[KIPC_SHMGET] = KIPC_HOOK("__x64_sys_shmget", kipc_shmget),
	[KIPC_SHMAT] = KIPC_HOOK("__x64_sys_shmat", kipc_shmat),
	[KIPC_SHMDT] = KIPC_HOOK("__x64_sys_shmdt", kipc_shmdt),
	[KIPC_SHMCTL] = KIPC_HOOK("__x64_sys_shmctl", kipc_shmctl),
	[KIPC_MSGGET] = KIPC_HOOK("__x64_sys_msgget", kipc_msgget),
	[KIPC_MSGSND] = KIPC_HOOK("__x64_sys_msgsnd", kipc_msgsnd),
	[KIPC_MSGRCV] = KIPC_HOOK("__x64_sys_msgrcv", kipc_msgrcv),
	[KIPC_MSGCTL] = KIPC_HOOK("__x64_sys_msgctl", kipc_msgctl),
	[KIPC_SEMGET] = KIPC_HOOK("__x64_sys_semget", kipc_semget),
	[KIPC_SEMOP] = KIPC_HOOK("__x64_sys_semop", kipc_semop),
	[KIPC_SEMTIMEDOP] = KIPC_HOOK("__x64_sys_semtimedop",
				      kipc_semtimedop),
	[KIPC_SEMCTL] = KIPC_HOOK("__x64_sys_semctl", kipc_semctl),
	[KIPC_EXIT_SEM] = { .name = "exit_sem",
			    .func = (kipc_syscall_fn)(void *)kipc_exit_sem_entry },
	[KIPC_COPY_SEMUNDO] = {
		.name = "copy_semundo",
		.func = (kipc_syscall_fn)(void *)kipc_copy_semundo_entry },
	[KIPC_PROC_OPEN] = {
		.name = "sysvipc_proc_open",
		.func = (kipc_syscall_fn)(void *)kipc_proc_open_entry },
	[KIPC_PROC_RELEASE] = {
		.name = "sysvipc_proc_release",
		.func = (kipc_syscall_fn)(void *)kipc_proc_release_entry,
		.any_ns = true },
};

static struct dentry *kipc_dir;

static int counts_show(struct seq_file *m, void *v)
{
	unsigned int i;

	for (i = 0; i < KIPC_NR_CALLS; i++)
		seq_printf(m, "%s %lld\n", kipc_hooks[i].name +
			   str_has_prefix(kipc_hooks[i].name, "__x64_sys_"),
			   (long long)atomic64_read(&kipc_counts[i]));
	kipc_compat_counts_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counts);

static void ns_line(unsigned int inum, void *arg)
{
	seq_printf(arg, "%u\n", inum);
}

static int ns_show(struct seq_file *m, void *v)
{
	kipc_ns_walk(ns_line, m);
	return 0;
}

static int ns_open(struct inode *inode, struct file *file)
{
	return single_open(file, ns_show, NULL);
}

static ssize_t ns_write(struct file *file, const char __user *ubuf,
			size_t len, loff_t *ppos)
{
	struct ipc_namespace *ns = current->nsproxy->ipc_ns;
	char buf[16];
	int err = 0;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sysfs_streq(buf, "enable"))
		err = kipc_ns_enable(ns);
	else if (sysfs_streq(buf, "disable"))
		kipc_ns_disable(ns);
	else
		err = -EINVAL;
	return err ? err : len;
}

static const struct file_operations ns_fops = {
	.owner = THIS_MODULE,
	.open = ns_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = ns_write,
};

static int __init kipc_init(void)
{
	int err;

	if (!KDDM_KIPC_CHECKED_KERNEL) {
		pr_err("kipc: Linux %s is not a kernel whose private System V IPC structures kipc was checked against (6.1 and 6.12 are): not loading\n",
		       init_utsname()->release);
		return -EOPNOTSUPP;
	}
	err = kipc_ns_registry_init();
	if (err)
		return err;
	if (enable_init_ns) {
		err = kipc_ns_enable(current->nsproxy->ipc_ns);
		if (err)
			goto out_registry;
	}
	err = kipc_util_init();
	if (err)
		goto out_registry;
	err = kipc_shm_init();
	if (err)
		goto out_util;
	err = kipc_msg_init();
	if (err)
		goto out_shm;
	err = kipc_sem_init();
	if (err)
		goto out_msg;
	kipc_dir = debugfs_create_dir("kipc", NULL);
	debugfs_create_file("counts", 0444, kipc_dir, NULL, &counts_fops);
	debugfs_create_file("ns", 0600, kipc_dir, NULL, &ns_fops);
	/* Last: once a call may be redirected, init must not fail. */
	err = kipc_hooks_install(kipc_hooks, KIPC_NR_CALLS);
	if (err)
		goto out_debugfs;
	err = kipc_compat_install();
	if (err) {
		kipc_hooks_remove(kipc_hooks, KIPC_NR_CALLS);
		goto out_debugfs;
	}
	pr_info("kipc: %u system calls hooked%s\n", KIPC_NR_CALLS,
		enable_init_ns ? ", initial IPC namespace enabled" : "");
	return 0;

out_debugfs:
	debugfs_remove_recursive(kipc_dir);
	kipc_sem_exit();
out_msg:
	kipc_msg_exit();
out_shm:
	kipc_shm_exit();
out_util:
	kipc_util_exit();
out_registry:
	kipc_ns_registry_exit();
	return err;
}

static void __exit kipc_exit(void)
{
	debugfs_remove_recursive(kipc_dir);
	kipc_compat_remove();
	kipc_hooks_remove(kipc_hooks, KIPC_NR_CALLS);
	kipc_sem_exit();
	kipc_msg_exit();
	kipc_shm_exit();
	kipc_util_exit();
	kipc_ns_registry_exit();
}

module_init(kipc_init);
module_exit(kipc_exit);
MODULE_DESCRIPTION("kDDM cluster-wide System V IPC (interception layer)");
MODULE_LICENSE("GPL");
MODULE_VERSION(KDDM_VERSION);
