// SPDX-License-Identifier: GPL-2.0
/*
 * kipc interception layer: ftrace-based redirection of system calls, and
 * the registry of the IPC namespaces whose calls are redirected.
 *
 * The model is livepatch (kernel/livepatch/patch.c, klp_ftrace_handler):
 * an ftrace_ops with SAVE_REGS | IPMODIFY on the function's fentry site
 * whose callback rewrites regs->ip, so that ftrace's trampoline "returns"
 * into the replacement, with the original caller's return address still on
 * the stack and the original arguments in the registers.
 */
#include <linux/hashtable.h>
#include <linux/ipc_namespace.h>
#include <linux/kprobes.h>
#include <linux/nsproxy.h>
#include <linux/rcupdate.h>
#include <linux/rcupdate_wait.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "hook.h"

#define KIPC_FTRACE_FLAGS (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY | \
			   FTRACE_OPS_FL_RECURSION)

/*
 * The address of a kernel function. kallsyms_lookup_name() is not exported
 * by 6.1; the kprobes core resolves a symbol name for us. Only used at
 * install time, before our own ftrace_ops is registered on the function.
 */
static unsigned long kipc_lookup(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	unsigned long addr;

	if (register_kprobe(&kp))
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

/*
 * Runs at the fentry site of the hooked function with preemption disabled
 * (ftrace's recursion protection, FTRACE_OPS_FL_RECURSION).
 */
static void notrace kipc_ftrace_handler(unsigned long ip,
					unsigned long parent_ip,
					struct ftrace_ops *op,
					struct ftrace_regs *fregs)
{
	struct kipc_hook *hook = container_of(op, struct kipc_hook, ops);
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct nsproxy *nsp;

	if (unlikely(!regs || ip != (unsigned long)hook->orig))
		return;
	/* A replacement calling the original: let it run. */
	if (within_module(parent_ip, THIS_MODULE))
		return;
	/* Only current changes its own nsproxy: no lock needed to read it. */
	nsp = current->nsproxy;
	if (!hook->any_ns && (!nsp || !kipc_ns_enabled(nsp->ipc_ns)))
		return;
	/* Dropped by the KIPC_HOOK_ENTRY() entry; fails once unloading. */
	if (!try_module_get(THIS_MODULE))
		return;
	regs->ip = (unsigned long)hook->func;
}

static void kipc_hook_unregister(struct kipc_hook *hook)
{
	int err;

	if (!hook->registered)
		return;
	/*
	 * Our ops live in module data, so ftrace marks them DYNAMIC and this
	 * waits for synchronize_rcu_tasks_rude() and synchronize_rcu_tasks():
	 * no CPU is left in the callback, no task left on a trampoline.
	 */
	err = unregister_ftrace_function(&hook->ops);
	if (err)
		pr_err("kipc: unregistering the hook of %s: %d\n",
		       hook->name, err);
	ftrace_free_filter(&hook->ops);
	hook->registered = false;
}

static int kipc_hook_register(struct kipc_hook *hook)
{
	char *buf;
	int err;

	hook->orig = (kipc_syscall_fn)kipc_lookup(hook->name);
	if (!hook->orig || !hook->func)
		return -ENOENT;

	memset(&hook->ops, 0, sizeof(hook->ops));
	hook->ops.func = kipc_ftrace_handler;
	hook->ops.flags = KIPC_FTRACE_FLAGS;

	/* ftrace_set_filter() takes a writable buffer. */
	buf = kstrdup(hook->name, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = ftrace_set_filter(&hook->ops, buf, strlen(buf), 1);
	kfree(buf);
	if (err) {
		pr_err("kipc: %s cannot be traced: %d\n", hook->name, err);
		return -ENOENT;
	}
	err = register_ftrace_function(&hook->ops);
	if (err) {
		pr_err("kipc: hooking %s: %d\n", hook->name, err);
		ftrace_free_filter(&hook->ops);
		return err;
	}
	hook->registered = true;
	return 0;
}

int kipc_hooks_install(struct kipc_hook *hooks, unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++)
		hooks[i].registered = false;
	for (i = 0; i < n; i++) {
		err = kipc_hook_register(&hooks[i]);
		if (err) {
			kipc_hooks_remove(hooks, i);
			return err;
		}
	}
	return 0;
}

void kipc_hooks_remove(struct kipc_hook *hooks, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		kipc_hook_unregister(&hooks[i]);
	/*
	 * Already implied by unregister_ftrace_function() of a DYNAMIC ops,
	 * stated here because unloading relies on it: a task that dropped
	 * its module reference in a KIPC_HOOK_ENTRY() entry but has not yet
	 * returned from it has not switched voluntarily nor reached user
	 * mode, so this waits for it to leave our text.
	 */
	synchronize_rcu_tasks();
}

/* The registry of enabled namespaces. */

struct kipc_ns_entry {
	struct hlist_node node;
	struct rcu_head rcu;
	unsigned int inum;
};

static DEFINE_HASHTABLE(kipc_ns_table, 6);
static DEFINE_SPINLOCK(kipc_ns_lock);	/* writers of kipc_ns_table */

static struct kipc_ns_entry *kipc_ns_find(unsigned int inum)
{
	struct kipc_ns_entry *e;

	hash_for_each_possible_rcu(kipc_ns_table, e, node, inum)
		if (e->inum == inum)
			return e;
	return NULL;
}

bool kipc_ns_enabled_inum(unsigned int inum)
{
	bool ret;

	rcu_read_lock();
	ret = kipc_ns_find(inum);
	rcu_read_unlock();
	return ret;
}

bool kipc_ns_enabled(const struct ipc_namespace *ns)
{
	return ns && kipc_ns_enabled_inum(ns->ns.inum);
}

int kipc_ns_enable(struct ipc_namespace *ns)
{
	struct kipc_ns_entry *e = kzalloc(sizeof(*e), GFP_KERNEL);

	if (!e)
		return -ENOMEM;
	e->inum = ns->ns.inum;
	spin_lock(&kipc_ns_lock);
	if (kipc_ns_find(e->inum)) {
		spin_unlock(&kipc_ns_lock);
		kfree(e);
		return 0;
	}
	hash_add_rcu(kipc_ns_table, &e->node, e->inum);
	spin_unlock(&kipc_ns_lock);
	return 0;
}

static void kipc_ns_disable_inum(unsigned int inum)
{
	struct kipc_ns_entry *e;

	spin_lock(&kipc_ns_lock);
	e = kipc_ns_find(inum);
	if (e)
		hash_del_rcu(&e->node);
	spin_unlock(&kipc_ns_lock);
	if (e)
		kfree_rcu(e, rcu);
}

void kipc_ns_disable(struct ipc_namespace *ns)
{
	kipc_ns_disable_inum(ns->ns.inum);
}

void kipc_ns_walk(void (*fn)(unsigned int inum, void *arg), void *arg)
{
	struct kipc_ns_entry *e;
	unsigned int bkt;

	rcu_read_lock();
	hash_for_each_rcu(kipc_ns_table, bkt, e, node)
		fn(e->inum, arg);
	rcu_read_unlock();
}

/*
 * Namespace teardown. There is no notifier for IPC namespaces in 6.1, so we
 * trace shm_exit_ns(ns): free_ipc_ns() calls it (as does the error path of
 * create_ipc_ns()) when the last reference is gone, before ns_free_inum().
 * Dropping the entry there means an inode number is never found enabled
 * once it can belong to another namespace.
 */
static void notrace kipc_ns_teardown(unsigned long ip, unsigned long parent_ip,
				     struct ftrace_ops *op,
				     struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct ipc_namespace *ns;

	if (unlikely(!regs))
		return;
	ns = (struct ipc_namespace *)regs->di;
	kipc_ns_disable_inum(ns->ns.inum);
}

static struct ftrace_ops kipc_ns_teardown_ops = {
	.func = kipc_ns_teardown,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION,
};

int kipc_ns_registry_init(void)
{
	char buf[] = "shm_exit_ns";
	int err;

	err = ftrace_set_filter(&kipc_ns_teardown_ops, buf, strlen(buf), 1);
	if (err) {
		pr_err("kipc: cannot trace %s: %d\n", buf, err);
		return err;
	}
	err = register_ftrace_function(&kipc_ns_teardown_ops);
	if (err) {
		pr_err("kipc: watching %s: %d\n", buf, err);
		ftrace_free_filter(&kipc_ns_teardown_ops);
	}
	return err;
}

void kipc_ns_registry_exit(void)
{
	struct kipc_ns_entry *e;
	struct hlist_node *tmp;
	unsigned int bkt;

	unregister_ftrace_function(&kipc_ns_teardown_ops);
	ftrace_free_filter(&kipc_ns_teardown_ops);
	spin_lock(&kipc_ns_lock);
	hash_for_each_safe(kipc_ns_table, bkt, tmp, e, node) {
		hash_del_rcu(&e->node);
		kfree_rcu(e, rcu);
	}
	spin_unlock(&kipc_ns_lock);
}
