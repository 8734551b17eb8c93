// SPDX-License-Identifier: GPL-2.0
/*
 * kipc store detection. A hold on a page written through a fault
 * (shm_map.c) ends when the store that faulted has landed. Polling the
 * page for the change costs a timer and a context switch every few
 * microseconds, and the timers of a guest whose CPU spins in user space
 * fire late. Instead, the write fault sets the trap flag in the faulting
 * task's user registers: the CPU raises a single-step debug exception
 * right after the store instruction retires. A die notifier recognizes
 * the step as one of ours (the task is in the table below), clears the
 * flag and consumes the trap; the hold ends on the task's way back to
 * user space (task_work), in process context.
 *
 * Tasks already stepped by someone else (ptrace, uprobes, their own trap
 * flag) are left alone: their hold ends by polling, as before. A signal
 * delivered before the store saves the flag in the signal frame and
 * clears it for the handler; sigreturn restores it and the store then
 * traps; a fault in the handler does not arm the task again (polling
 * then). A handler that forks leaves the flag in the child's copy of the
 * frame too: the child gets an entry of its own (copy_semundo() hook).
 * Only a task faulting in its own memory is armed (not process_vm_writev
 * or a debugger's poke): the segment it maps pins the module until the
 * store. The table is keyed by task and start time; an entry whose task
 * died without trapping is dropped at its exit (exit_sem() hook) or
 * replaced when the address is reused.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/kdebug.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>
#include <linux/wait.h>
#include <asm/debugreg.h>

#include "kipc.h"

static bool store_step = true;
module_param(store_step, bool, 0644);
MODULE_PARM_DESC(store_step, "end holds on written pages by single-stepping the store (else by polling)");

struct kipc_step {
	struct hlist_node node;
	struct callback_head work;
	struct task_struct *task;	/* compared, never dereferenced */
	u64 start;			/* its start_time; 0: a child being
					 * cloned, whose start is not set yet
					 */
	u64 objid;
	bool hold;			/* ends the hold of @objid */
};

static DEFINE_HASHTABLE(steps, 6);
static DEFINE_SPINLOCK(steps_lock);	/* also taken with IRQs off (#DB) */
static atomic_t steps_running = ATOMIC_INIT(0);	/* queued task_works */
static DECLARE_WAIT_QUEUE_HEAD(steps_wq);

/* @tsk's entry, or NULL. Called with steps_lock held. */
static struct kipc_step *step_find(struct task_struct *tsk)
{
	struct kipc_step *st;

	hash_for_each_possible(steps, st, node, (unsigned long)tsk)
		if (st->task == tsk)
			return st;
	return NULL;
}

/* @st is the current task's (not a dead task's at the same address). */
static bool step_mine(const struct kipc_step *st)
{
	return st && (!st->start || st->start == current->start_time);
}

/* Takes @tsk's entry out of the table. Called with steps_lock held. */
static struct kipc_step *step_take(struct task_struct *tsk)
{
	struct kipc_step *st = step_find(tsk);

	if (st)
		hash_del(&st->node);
	return st;
}

/*
 * An entry for write fault @vmf of the current task if it may be stepped;
 * NULL for a kernel thread, another task's memory, a task stepped by
 * someone else or with a step of ours pending (a fault in a signal
 * handler). page_mkwrite() does not see FAULT_FLAG_USER: a fault in a
 * system call's copy to user space traps after the first user instruction
 * that follows the call, when the copy has landed too.
 */
struct kipc_step *kipc_step_alloc(struct vm_fault *vmf)
{
	struct kipc_step *st;
	unsigned long flags;
	bool pending;

	if (!store_step || current->mm != vmf->vma->vm_mm ||
	    (current->flags & (PF_KTHREAD | PF_IO_WORKER | PF_EXITING)) ||
	    current->ptrace || test_thread_flag(TIF_SINGLESTEP) ||
	    (current_pt_regs()->flags & X86_EFLAGS_TF))
		return NULL;
	spin_lock_irqsave(&steps_lock, flags);
	pending = step_mine(step_find(current));
	spin_unlock_irqrestore(&steps_lock, flags);
	if (pending)
		return NULL;
	st = kmalloc(sizeof(*st), GFP_KERNEL);
	if (st) {
		st->task = current;
		st->start = current->start_time;
	}
	return st;
}

void kipc_step_free(struct kipc_step *st)
{
	kfree(st);
}

/*
 * Arms @st: the current task traps once its faulting store has landed,
 * and kipc_shm_store_landed(@objid) runs. May be called in atomic context.
 */
void kipc_step_arm(struct kipc_step *st, u64 objid)
{
	struct kipc_step *stale;
	unsigned long flags;

	st->objid = objid;
	st->hold = true;
	spin_lock_irqsave(&steps_lock, flags);
	stale = step_take(current);	/* a dead task's (checked at alloc) */
	hash_add(steps, &st->node, (unsigned long)current);
	spin_unlock_irqrestore(&steps_lock, flags);
	kfree(stale);
	current_pt_regs()->flags |= X86_EFLAGS_TF;
}

static void step_done(struct callback_head *work)
{
	struct kipc_step *st = container_of(work, struct kipc_step, work);

	if (st->hold)
		kipc_shm_store_landed(st->objid);
	kfree(st);
	if (atomic_dec_and_test(&steps_running))
		wake_up_all(&steps_wq);
}

/*
 * @child is being cloned by the current task: if a step of ours is
 * pending here (a signal handler forking before the store), the child's
 * copy of the signal frame holds the flag too, and the child needs an
 * entry. Threads and vfork children do not return through that frame.
 */
int kipc_step_fork(unsigned long clone_flags, struct task_struct *child)
{
	struct kipc_step *st, *stale;
	unsigned long flags;
	bool pending;

	if (clone_flags & CLONE_VM)
		return 0;
	spin_lock_irqsave(&steps_lock, flags);
	pending = step_mine(step_find(current));
	spin_unlock_irqrestore(&steps_lock, flags);
	if (!pending)
		return 0;
	st = kmalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->task = child;
	st->start = 0;		/* set later by copy_process() */
	st->hold = false;	/* the parent's trap ends the hold */
	spin_lock_irqsave(&steps_lock, flags);
	stale = step_take(child);	/* the address was reused */
	hash_add(steps, &st->node, (unsigned long)child);
	spin_unlock_irqrestore(&steps_lock, flags);
	kfree(stale);
	return 0;
}

/*
 * exit_sem(@tsk): the task exits, or a clone of it failed (@tsk is the
 * child that never ran): its entry, if it never trapped, goes.
 */
void kipc_step_task_exit(struct task_struct *tsk)
{
	struct kipc_step *st;
	unsigned long flags;

	if (tsk == current && !(tsk->flags & PF_EXITING))
		return;		/* unshare(): a step may still be pending */
	spin_lock_irqsave(&steps_lock, flags);
	st = step_take(tsk);
	spin_unlock_irqrestore(&steps_lock, flags);
	kfree(st);
}

/* #DB from user mode, IRQs off: is it the step of one of our stores? */
static int step_notify(struct notifier_block *nb, unsigned long val,
		       void *data)
{
	struct die_args *args = data;
	unsigned long *dr6 = (unsigned long *)ERR_PTR(args->err);
	struct pt_regs *regs = args->regs;
	struct kipc_step *st;

	if (val != DIE_DEBUG || !user_mode(regs) || !(*dr6 & DR_STEP) ||
	    test_thread_flag(TIF_SINGLESTEP))
		return NOTIFY_DONE;
	spin_lock(&steps_lock);
	st = step_find(current);
	if (step_mine(st))
		hash_del(&st->node);
	else
		st = NULL;
	spin_unlock(&steps_lock);
	if (!st)
		return NOTIFY_DONE;
	regs->flags &= ~X86_EFLAGS_TF;
	*dr6 &= ~DR_STEP;
	current->thread.virtual_dr6 &= ~DR_STEP;
	atomic_inc(&steps_running);
	init_task_work(&st->work, step_done);
	if (task_work_add(current, &st->work, TWA_RESUME)) {
		/* Exiting: the hold ends at its deadline. */
		kfree(st);
		if (atomic_dec_and_test(&steps_running))
			wake_up_all(&steps_wq);
	}
	return *dr6 & (DR_TRAP_BITS | DR_BUS_LOCK) ? NOTIFY_DONE : NOTIFY_STOP;
}

static struct notifier_block step_nb = {
	.notifier_call = step_notify,
	.priority = INT_MIN,	/* after kprobes, uprobes, hw_breakpoint */
};

int kipc_step_init(void)
{
	return register_die_notifier(&step_nb);
}

/*
 * Called once no segment file is left (a task between its write fault and
 * its store has the segment mapped, which pins the module).
 */
void kipc_step_exit(void)
{
	struct hlist_node *tmp;
	struct kipc_step *st;
	int bkt;

	unregister_die_notifier(&step_nb);
	wait_event(steps_wq, !atomic_read(&steps_running));
	hash_for_each_safe(steps, bkt, tmp, st, node) {
		hash_del(&st->node);
		kfree(st);
	}
}
