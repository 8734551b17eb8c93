// SPDX-License-Identifier: GPL-2.0
/*
 * kddm_mig.ko: guards on processes whose memory is still coming.
 *
 * On the destination, kddm-migrated serves the faults of a restored
 * process through its userfaultfd. If the daemon died with the
 * userfaultfd, the kernel would unregister its areas and the process
 * would find zero pages where its memory was not copied yet, and run on
 * with them. So the daemon hands the module a reference to each such
 * userfaultfd (GUARD): if the daemon dies, the faults wait (nobody
 * answers them, the context lives on), and when its /dev/kddm_mig file
 * is released the guarded processes and their descendants are killed,
 * with a kernel log line. Only then do the userfaultfds go.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <kddm/kddm_mig_mem.h>
#include "mig.h"

/* per daemon: a process tree of 4096 tasks, forking all it can */
#define MIG_GUARDS_MAX		65536
/* processes killed per pass; an ancestry at most this deep */
#define MIG_KILL_BATCH		512
#define MIG_DEPTH_MAX		4096
#define MIG_KILL_PASSES		16

struct mig_guard {
	struct list_head list;
	u64 set_id;
	struct pid *pid;	/* NULL: only the userfaultfd */
	struct file *uffd;
	u32 source;
};

void mig_guards_init(struct mig_guards *g)
{
	mutex_init(&g->lock);
	INIT_LIST_HEAD(&g->list);
	g->nr = 0;
}

static void guard_free(struct mig_guard *m)
{
	if (m->uffd)
		fput(m->uffd);
	put_pid(m->pid);
	kfree(m);
}

static bool is_userfaultfd(struct file *f)
{
	return !strcmp(file_dentry(f)->d_name.name, "[userfaultfd]");
}

long mig_guard(struct mig_guards *g, void __user *arg)
{
	struct kddm_mig_guard a;
	struct mig_guard *m;
	long ret;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.pad || a.pid < 0 || a.uffd < 0)
		return -EINVAL;
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->set_id = a.set_id;
	m->source = a.source;
	m->uffd = fget(a.uffd);
	ret = -EBADF;
	if (!m->uffd)
		goto free;
	ret = -EINVAL;
	if (!is_userfaultfd(m->uffd))
		goto free;
	ret = -ESRCH;
	if (a.pid) {
		m->pid = find_get_pid(a.pid);
		if (!m->pid)
			goto free;
	}
	mutex_lock(&g->lock);
	ret = g->nr < MIG_GUARDS_MAX ? 0 : -ENOSPC;
	if (!ret) {
		list_add_tail(&m->list, &g->list);
		g->nr++;
	}
	mutex_unlock(&g->lock);
	if (!ret)
		return 0;
free:
	guard_free(m);
	return ret;
}

long mig_unguard(struct mig_guards *g, void __user *arg)
{
	struct mig_guard *m, *tmp;
	LIST_HEAD(gone);
	u64 id;

	if (copy_from_user(&id, arg, sizeof(id)))
		return -EFAULT;
	mutex_lock(&g->lock);
	list_for_each_entry_safe(m, tmp, &g->list, list) {
		if (m->set_id == id) {
			list_move(&m->list, &gone);
			g->nr--;
		}
	}
	mutex_unlock(&g->lock);
	if (list_empty(&gone))
		return -ENOENT;
	list_for_each_entry_safe(m, tmp, &gone, list)
		guard_free(m);
	return 0;
}

/* Under RCU: is @p @root's thread group, or a descendant of it? */
static bool descends(struct task_struct *p, struct pid *root)
{
	int depth;

	for (depth = 0; p != &init_task && depth < MIG_DEPTH_MAX; depth++) {
		if (task_tgid(p) == root)
			return true;
		p = rcu_dereference(p->real_parent);
	}
	return false;
}

static bool guarded(struct mig_guards *g, struct task_struct *p)
{
	struct mig_guard *m;

	list_for_each_entry(m, &g->list, list)
		if (m->pid && descends(p, m->pid))
			return true;
	return false;
}

/*
 * The live processes under a guard, not dying already. All are found
 * before any is killed: a killed parent hands its children to another.
 */
static unsigned int guards_collect(struct mig_guards *g, struct pid **found)
{
	struct task_struct *p;
	unsigned int n = 0;

	rcu_read_lock();
	for_each_process(p) {
		if (p->exit_state || (p->signal->flags & SIGNAL_GROUP_EXIT))
			continue;
		if (guarded(g, p))
			found[n++] = get_pid(task_tgid(p));
		if (n == MIG_KILL_BATCH)
			break;
	}
	rcu_read_unlock();
	return n;
}

static void guards_kill(struct mig_guards *g)
{
	struct pid **found = kcalloc(MIG_KILL_BATCH, sizeof(*found),
				     GFP_KERNEL);
	unsigned int n, i, pass = 0, killed = 0;
	struct mig_guard *m;

	if (!found) {
		/* the guarded processes at least */
		list_for_each_entry(m, &g->list, list)
			if (m->pid)
				kill_pid(m->pid, SIGKILL, 1);
		pass = MIG_KILL_PASSES;
	}
	while (found && pass++ < MIG_KILL_PASSES) {
		n = guards_collect(g, found);
		for (i = 0; i < n; i++) {
			kill_pid(found[i], SIGKILL, 1);
			put_pid(found[i]);
		}
		killed += n;
		if (n < MIG_KILL_BATCH)
			break;
	}
	kfree(found);
	list_for_each_entry(m, &g->list, list)
		if (m->pid)
			pr_err("killed process %d and its descendants: kddm-migrated died before its memory came from node %u (%u processes killed)\n",
			       pid_nr(m->pid), m->source, killed);
}

/* The daemon closed its file, or died: what it still guarded is killed. */
void mig_guards_release(struct mig_guards *g)
{
	struct mig_guard *m, *tmp;

	if (!list_empty(&g->list))
		guards_kill(g);
	list_for_each_entry_safe(m, tmp, &g->list, list) {
		list_del(&m->list);
		guard_free(m);
	}
	g->nr = 0;
	mutex_destroy(&g->lock);
}
