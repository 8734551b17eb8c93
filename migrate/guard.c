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
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <kddm/kddm_mig_mem.h>
#include "mig.h"

/* per daemon: a process tree of 4096 tasks, forking all it can */
#define MIG_GUARDS_MAX		65536
/* an ancestry at most this deep */
#define MIG_DEPTH_MAX		4096

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

/* Every thread of it gone: none of them can fault any more. */
static bool gone(struct task_struct *p)
{
	return p->exit_state && thread_group_empty(p);
}

/* Gone, or killed already (a group exit under way). */
static bool dying(struct task_struct *p)
{
	return gone(p) || (p->signal->flags & SIGNAL_GROUP_EXIT);
}

/* Does @p map an area of one of the guarded userfaultfds (a child)? */
static bool uses_guarded_uffd(struct mig_guards *g, struct task_struct *p)
{
	bool ret = false;
#ifdef CONFIG_USERFAULTFD
	struct mm_struct *mm = get_task_mm(p);
	struct vm_area_struct *vma;
	struct mig_guard *m;

	if (!mm)
		return false;
	mmap_read_lock(mm);
	{
		VMA_ITERATOR(vmi, mm, 0);

		for_each_vma(vmi, vma) {
			void *ctx = vma->vm_userfaultfd_ctx.ctx;

			if (!ctx)
				continue;
			list_for_each_entry(m, &g->list, list)
				if (m->uffd->private_data == ctx)
					ret = true;
			if (ret)
				break;
		}
	}
	mmap_read_unlock(mm);
	mmput(mm);
#endif
	return ret;
}

struct victims {
	struct task_struct **t;
	bool *sure;		/* under a guarded process: no need to look */
	unsigned int n, cap;
};

static unsigned int count_processes(void)
{
	struct task_struct *p;
	unsigned int n = 0;

	rcu_read_lock();
	for_each_process(p)
		n++;
	rcu_read_unlock();
	return n;
}

/*
 * Every live process: under a guarded one (@sure), or to be looked at
 * (it may map a guarded userfaultfd: a child forked after the restore,
 * given away since). -EAGAIN if more than @v->cap (processes came).
 */
static int collect(struct mig_guards *g, struct victims *v)
{
	struct task_struct *p;
	int ret = 0;

	v->n = 0;
	rcu_read_lock();
	for_each_process(p) {
		if (dying(p) || (p->flags & PF_KTHREAD))
			continue;
		if (v->n == v->cap) {
			ret = -EAGAIN;
			break;
		}
		get_task_struct(p);
		v->sure[v->n] = guarded(g, p);
		v->t[v->n++] = p;
	}
	rcu_read_unlock();
	return ret;
}

static void victims_put(struct victims *v)
{
	while (v->n)
		put_task_struct(v->t[--v->n]);
}

/*
 * Kills the processes under a guard and those that map a guarded
 * userfaultfd, all found before any is killed (a killed parent hands its
 * children to another), then waits until they stopped running (5 s at
 * most): a process still running when its userfaultfd goes would find
 * zero pages. Their forks wait meanwhile: nobody reads their events.
 * Returns how many were killed, or -ENOMEM.
 */
static int guards_kill(struct mig_guards *g)
{
	struct victims v = {};
	unsigned int i, k, tries;
	int ret = -ENOMEM, killed = 0;

	for (tries = 0; tries < 4; tries++) {
		v.cap = count_processes() + 64;
		v.t = kvcalloc(v.cap, sizeof(*v.t), GFP_KERNEL);
		v.sure = kvcalloc(v.cap, sizeof(*v.sure), GFP_KERNEL);
		if (!v.t || !v.sure)
			goto out;
		ret = collect(g, &v);
		if (!ret)
			break;
		victims_put(&v);
		kvfree(v.t);
		kvfree(v.sure);
		v.t = NULL;
		v.sure = NULL;
	}
	if (ret)
		goto out;
	for (i = 0, k = 0; i < v.n; i++) {
		if (v.sure[i] || uses_guarded_uffd(g, v.t[i]))
			v.t[k++] = v.t[i];
		else
			put_task_struct(v.t[i]);
	}
	v.n = k;
	for (i = 0; i < v.n; i++)
		kill_pid(task_tgid(v.t[i]), SIGKILL, 1);
	killed = v.n;
	for (tries = 0; tries < 250; tries++) {
		for (i = 0; i < v.n && gone(v.t[i]); i++)
			;
		if (i == v.n)
			break;
		msleep(20);
	}
	ret = killed;
out:
	victims_put(&v);
	kvfree(v.t);
	kvfree(v.sure);
	return ret;
}

/* The daemon closed its file, or died: what it still guarded is killed. */
void mig_guards_release(struct mig_guards *g)
{
	struct mig_guard *m, *tmp;
	unsigned int logged = 0;
	int killed;

	if (list_empty(&g->list))
		goto out;
	killed = guards_kill(g);
	if (killed < 0) {
		/* the guarded processes at least */
		list_for_each_entry(m, &g->list, list)
			if (m->pid)
				kill_pid(m->pid, SIGKILL, 1);
	}
	list_for_each_entry(m, &g->list, list) {
		if (!m->pid)
			continue;
		if (logged++ == 8) {
			pr_err("and more: %u guards in all\n", g->nr);
			break;
		}
		pr_err("killed process %d and its descendants: kddm-migrated died before its memory came from node %u (%d processes killed)\n",
		       pid_nr(m->pid), m->source, killed);
	}
out:
	list_for_each_entry_safe(m, tmp, &g->list, list) {
		list_del(&m->list);
		guard_free(m);
	}
	g->nr = 0;
	mutex_destroy(&g->lock);
}
