// SPDX-License-Identifier: GPL-2.0
/*
 * kipc semaphores: semget, semop, semtimedop, semctl for the tasks of a
 * cluster-enabled IPC namespace, with the semantics of ipc/sem.c.
 *
 * A semaphore set is one kDDM object (set KIPC_SET_SEM, object id = semid)
 * homed on its creator; the key tables (util.c) list the sets each node
 * created and their semaphores. Lock order, cluster-wide: the key tables
 * before a set, never the reverse.
 *
 * semop applies its operations under the set's only writable copy (grab),
 * all or nothing. A task that must wait counts itself in semncnt/semzcnt
 * of the blocking semaphore, then watches a read copy (watch.c): the next
 * writer's grab invalidates it and wakes it. A waiter re-checks on a fresh
 * read copy and grabs only when its operations can proceed, so waiters do
 * not wake each other for nothing.
 *
 * SEM_UNDO adjustments live in the memory of the process's node, per
 * undo list (shared as CLONE_SYSVSEM shares the kernel's) and set; they
 * are applied when the last task of the list leaves it (hooks of
 * exit_sem() and copy_semundo(), see main.c). SETVAL and SETALL void the
 * adjustments of a semaphore cluster-wide by bumping its undo_gen.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/ipc_namespace.h>
#include <linux/mutex.h>
#include <linux/ptrace.h>
#include <linux/random.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/time64.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "kipc.h"
#include "sem.h"

/* The limits of ipc/sem.c (its own private names). */
#define sc_semmsl	sem_ctls[0]
#define sc_semmns	sem_ctls[1]
#define sc_semopm	sem_ctls[2]
#define sc_semmni	sem_ctls[3]

static struct kddm_set *sem_set;

static u64 sem_key(int id)
{
	return (u64)KIPC_SEM << 32 | (u32)id;
}

/* ---- sets ---- */

static struct kipc_sem_array *sem_obj(int id, bool write)
{
	struct kipc_sem_array *a;

	if (id < 0)
		return ERR_PTR(-EINVAL);
	if (write)
		a = kddm_grab_object_no_ft(sem_set, id);
	else
		a = kddm_get_object_no_ft(sem_set, id);
	if (IS_ERR(a))
		return ERR_PTR(kipc_err(PTR_ERR(a)));
	if (!a->exists || a->nomem) {
		kddm_put_object(sem_set, id);
		return ERR_PTR(a->exists ? -ENOMEM : -EINVAL);
	}
	return a;
}

/* Room for @n semaphores at @a->sems (their values are not kept). */
static int sem_resize(struct kipc_sem_array *a, u32 n)
{
	struct kipc_sem_one *sems;

	if (n <= a->cap)
		return 0;
	sems = kvcalloc(n, sizeof(*sems), GFP_KERNEL);
	if (!sems)
		return -ENOMEM;
	kvfree(a->sems);
	a->sems = sems;
	a->cap = n;
	return 0;
}

/* No set at @a any more (its id is free). */
static void sem_clear(struct kipc_sem_array *a)
{
	kvfree(a->sems);
	memset(a, 0, sizeof(*a));
}

/* The writable copy of set @id, or ERR_PTR (-EINVAL: no such set). */
static struct kipc_sem_array *sem_grab(int id)
{
	return sem_obj(id, true);
}

/* A read copy of set @id. */
static struct kipc_sem_array *sem_get(int id)
{
	return sem_obj(id, false);
}

/* Puts set @id; @changed: wake the waiters of this node too. */
static void sem_put(int id, bool changed)
{
	kddm_put_object(sem_set, id);
	if (changed)
		kipc_watch_changed(sem_key(id));
}

/* Under the key locks: a new set, homed here, entered in our table. */
static int newary(struct kipc_keyget *g, int nsems, int flg)
{
	struct ipc_namespace *ns = kipc_ns();
	struct kipc_sem_array *a;
	int id, ret;

	if (!nsems)
		return -EINVAL;
	if (g->total + nsems > ns->sc_semmns)
		return -ENOSPC;
	if (g->count >= ns->sc_semmni)
		return -ENOSPC;
	id = kipc_new_id(sem_set, KIPC_SEM, (void **)&a);
	if (id < 0)
		return id;
	sem_clear(a);
	if (sem_resize(a, nsems)) {
		sem_put(id, false);
		return -ENOMEM;
	}
	a->exists = 1;
	a->key = g->key;
	KIPC_PERM_INIT(a, flg);
	a->nsems = nsems;
	a->stamp = get_random_u64();
	a->ctime = ktime_get_real_seconds();
	sem_put(id, false);
	ret = kipc_keys_add(g, id, nsems);
	if (!ret)
		return id;
	/* nobody knows the id yet */
	a = sem_grab(id);
	if (!IS_ERR(a)) {
		sem_clear(a);
		sem_put(id, false);
	}
	return ret;
}

long kipc_do_semget(key_t key, int nsems, int flg)
{
	struct ipc_namespace *ns = kipc_ns();
	struct kipc_sem_array *a;
	struct kipc_keyget g;
	long ret;
	s32 now;

	if (nsems < 0 || nsems > ns->sc_semmsl || nsems > KIPC_SEMMSL)
		return -EINVAL;
	kipc_keyget_init(&g, KIPC_SEM, key, flg);
	while ((ret = kipc_keyget_next(&g)) == KIPC_KEY_FOUND) {
		/* the set the key names, if it is still there */
		a = sem_get(g.id);
		if (IS_ERR(a)) {
			ret = kipc_keyget_stale(&g, PTR_ERR(a), 0);
			if (ret)
				break;
			continue;
		}
		if (a->key != key) {
			now = a->key;
			sem_put(g.id, false);
			kipc_keyget_stale(&g, 0, now);
			continue;
		}
		ret = -EEXIST;
		if (!((flg & IPC_CREAT) && (flg & IPC_EXCL))) {
			if (nsems > a->nsems)
				ret = -EINVAL;
			else
				ret = kipc_perms(&KIPC_PERM(a), flg);
			if (!ret)
				ret = g.id;
		}
		sem_put(g.id, false);
		break;
	}
	if (ret == KIPC_KEY_CREATE)
		ret = newary(&g, nsems, flg);
	kipc_keyget_end(&g);
	return ret;
}

/* ---- SEM_UNDO ---- */

/*
 * Undo lists follow CLONE_SYSVSEM as ipc/sem.c does: the tasks that share
 * the kernel's undo list (tsk->sysvsem.undo_list: pthreads, clone() with
 * CLONE_SYSVSEM) share their adjustments, applied when the last of them
 * leaves it (exit, unshare or setns of the IPC namespace); a task without
 * one (fork(), a thread cloned without CLONE_SYSVSEM) has its own. So an
 * entry belongs to the kernel's list of the task or, while it has none,
 * to the task itself (see kipc_sem_shared() for when it gets one).
 */
struct sem_undo {
	struct hlist_node node;
	const void *owner;	/* a struct sem_undo_list or a task */
	int semid;
	u64 stamp;
	u32 nsems;
	struct {
		s32 adj;
		u32 gen;	/* undo_gen of the semaphore adj belongs to */
	} a[];
};

static DEFINE_HASHTABLE(undo_hash, 6);	/* by owner */
static DEFINE_SPINLOCK(undo_lock);
/* Serializes the last-sharer check of exiting sharers (see below). */
static DEFINE_MUTEX(undo_exit_mutex);

static const void *undo_owner(struct task_struct *tsk)
{
	return tsk->sysvsem.undo_list ? (void *)tsk->sysvsem.undo_list :
					(void *)tsk;
}

static struct sem_undo *undo_find_locked(const void *owner, int semid)
{
	struct sem_undo *u;

	hash_for_each_possible(undo_hash, u, node, (unsigned long)owner)
		if (u->owner == owner && u->semid == semid)
			return u;
	return NULL;
}

/*
 * The undo entry of the calling task's list for set @a (grabbed, id
 * @semid). Only the sharers of the list use it, under the set's grab; it
 * is freed when the last of them leaves the list.
 */
/* A new entry of @owner for set @a (id @semid), no adjustment yet. */
static struct sem_undo *undo_new(const void *owner, int semid,
				 const struct kipc_sem_array *a)
{
	struct sem_undo *u = kvzalloc(struct_size(u, a, a->nsems), GFP_KERNEL);
	u32 i;

	if (!u)
		return NULL;
	u->owner = owner;
	u->semid = semid;
	u->stamp = a->stamp;
	u->nsems = a->nsems;
	for (i = 0; i < a->nsems; i++)
		u->a[i].gen = a->sems[i].undo_gen;
	return u;
}

static struct sem_undo *undo_get(struct kipc_sem_array *a, int semid)
{
	const void *owner = undo_owner(current);
	struct sem_undo *u, *stale = NULL;

	spin_lock(&undo_lock);
	u = undo_find_locked(owner, semid);
	if (u && (u->stamp != a->stamp || u->nsems != a->nsems)) {
		/* of a removed set whose id was reused */
		hash_del(&u->node);
		stale = u;
		u = NULL;
	}
	spin_unlock(&undo_lock);
	kvfree(stale);
	if (u)
		return u;
	u = undo_new(owner, semid, a);
	if (!u)
		return ERR_PTR(-ENOMEM);
	spin_lock(&undo_lock);
	hash_add(undo_hash, &u->node, (unsigned long)owner);
	spin_unlock(&undo_lock);
	return u;
}

/*
 * From the copy_semundo() hook, after a clone with CLONE_SYSVSEM by the
 * calling task: the kernel gave it an undo list if it had none, shared
 * with the child now; the task's own entries go to that list.
 */
void kipc_sem_shared(void)
{
	const void *list = current->sysvsem.undo_list;
	struct hlist_node *tmp;
	struct sem_undo *u;

	if (!list)
		return;
	spin_lock(&undo_lock);
	hash_for_each_possible_safe(undo_hash, u, tmp, node,
				    (unsigned long)current) {
		/* one of the list already (ipc(2), not redirected): stays */
		if (u->owner != current || undo_find_locked(list, u->semid))
			continue;
		hash_del(&u->node);
		u->owner = list;
		hash_add(undo_hash, &u->node, (unsigned long)list);
	}
	spin_unlock(&undo_lock);
}

/* The adjustment of semaphore @n, zero if SETVAL/SETALL voided it. */
static s32 *undo_adj(struct sem_undo *u, const struct kipc_sem_array *a,
		     unsigned int n)
{
	if (u->a[n].gen != a->sems[n].undo_gen) {
		u->a[n].gen = a->sems[n].undo_gen;
		u->a[n].adj = 0;
	}
	return &u->a[n].adj;
}

/* Applies one undo entry, as exit_sem(): values capped to 0..SEMVMX. */
static void undo_apply(struct sem_undo *u, pid_t pid)
{
	struct kipc_sem_array *a = sem_grab(u->semid);
	bool changed = false;
	u32 i;

	if (IS_ERR(a))
		return;
	for (i = 0; a->stamp == u->stamp && i < min(u->nsems, a->nsems); i++) {
		struct kipc_sem_one *s = &a->sems[i];

		if (!u->a[i].adj || u->a[i].gen != s->undo_gen)
			continue;
		s->semval = clamp(s->semval + u->a[i].adj, 0, SEMVMX);
		s->sempid = pid;
		changed = true;
	}
	sem_put(u->semid, changed);
}

struct undo_work {
	struct work_struct work;
	struct hlist_head list;
	pid_t pid;
};

static void undo_work_fn(struct work_struct *work)
{
	struct undo_work *uw = container_of(work, struct undo_work, work);
	struct hlist_node *tmp;
	struct sem_undo *u;

	hlist_for_each_entry_safe(u, tmp, &uw->list, node) {
		undo_apply(u, uw->pid);
		kvfree(u);
	}
}

/* Moves the entries of @owner to @list. */
static void undo_take(const void *owner, struct hlist_head *list)
{
	struct hlist_node *tmp;
	struct sem_undo *u;

	spin_lock(&undo_lock);
	hash_for_each_possible_safe(undo_hash, u, tmp, node,
				    (unsigned long)owner) {
		if (u->owner != owner)
			continue;
		hash_del(&u->node);
		hlist_add_head(&u->node, list);
	}
	spin_unlock(&undo_lock);
}

/*
 * The reference count of the kernel's undo list: struct sem_undo_list is
 * private to ipc/sem.c, and (6.1, 6.12) starts with it.
 */
static unsigned int undo_list_users(const void *list)
{
	return refcount_read((const refcount_t *)list);
}

/*
 * exit_sem() of @tsk: do_exit(), unshare() and setns() of the IPC
 * namespace, or a failed clone (@tsk the child). The kernel's own
 * exit_sem(), @orig, drops @tsk's reference on its undo list; whoever
 * drops the last one applies and frees the list's entries, as the kernel
 * does with its own: the check and the drop are one step under
 * undo_exit_mutex, so that of two sharers leaving at once one sees itself
 * last. Entries of @tsk itself (no list) go with it. The grabs run in a
 * worker: a task killed by SIGKILL could not wait for a remote set.
 */
void kipc_sem_exit_task(struct task_struct *tsk,
			void (*orig)(struct task_struct *tsk))
{
	struct undo_work uw = { .list = HLIST_HEAD_INIT };
	const void *list = tsk->sysvsem.undo_list;

	if (list) {
		mutex_lock(&undo_exit_mutex);
		if (undo_list_users(list) == 1)
			undo_take(list, &uw.list);
		orig(tsk);
		mutex_unlock(&undo_exit_mutex);
	} else {
		orig(tsk);
	}
	undo_take(tsk, &uw.list);
	if (hlist_empty(&uw.list))
		return;
	uw.pid = task_tgid_vnr(tsk);
	INIT_WORK_ONSTACK(&uw.work, undo_work_fn);
	queue_work(system_unbound_wq, &uw.work);
	flush_work(&uw.work);
	destroy_work_on_stack(&uw.work);
}

/* ---- moving undo entries with a process (kddm-migrated) ---- */

static struct task_struct *undo_task(pid_t pid)
{
	struct task_struct *t;

	rcu_read_lock();
	t = get_pid_task(find_vpid(pid), PIDTYPE_PID);
	rcu_read_unlock();
	return t;
}

static size_t undo_bytes(u32 nsems)
{
	return struct_size((struct kipc_undo *)NULL, a, nsems);
}

static void undo_put_back(const void *owner, struct hlist_head *list)
{
	struct hlist_node *tmp;
	struct sem_undo *u;

	spin_lock(&undo_lock);
	hlist_for_each_entry_safe(u, tmp, list, node) {
		hlist_del(&u->node);
		hash_add(undo_hash, &u->node, (unsigned long)owner);
	}
	spin_unlock(&undo_lock);
}

static int undo_copy_out(struct hlist_head *list, size_t len, u64 ubuf)
{
	struct sem_undo *u;
	size_t off = 0;
	void *buf;
	u32 i;
	int ret = 0;

	buf = kvzalloc(len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	hlist_for_each_entry(u, list, node) {
		struct kipc_undo *r = buf + off;

		r->semid = u->semid;
		r->nsems = u->nsems;
		r->stamp = u->stamp;
		for (i = 0; i < u->nsems; i++) {
			r->a[i].adj = u->a[i].adj;
			r->a[i].gen = u->a[i].gen;
		}
		off += undo_bytes(u->nsems);
	}
	if (copy_to_user(u64_to_user_ptr(ubuf), buf, len))
		ret = -EFAULT;
	kvfree(buf);
	return ret;
}

/*
 * KIPC_UNDO_EXPORT: the undo entries of process @io->pid (frozen by CRIU)
 * leave this node for @io->buf, their size in *@ulen; its exit here applies
 * them no more. On any error they stay. A list shared with another process
 * (clone(CLONE_SYSVSEM) without CLONE_THREAD), which could use an entry
 * meanwhile, cannot go: -EBUSY.
 */
long kipc_sem_undo_export(const struct kipc_undo_io *io, u32 __user *ulen)
{
	struct hlist_head list = HLIST_HEAD_INIT;
	struct task_struct *t = undo_task(io->pid);
	struct hlist_node *tmp;
	struct sem_undo *u;
	const void *owner;
	size_t need = 0;
	long ret = 0;

	if (!t)
		return -ESRCH;
	owner = undo_owner(t);
	if (owner != t && undo_list_users(owner) > get_nr_threads(t)) {
		put_task_struct(t);
		return -EBUSY;
	}
	undo_take(owner, &list);
	hlist_for_each_entry(u, &list, node)
		need += undo_bytes(u->nsems);
	if (need > KIPC_UNDO_MAX_BYTES)
		ret = -E2BIG;
	else if (put_user(need, ulen))
		ret = -EFAULT;
	else if (need > io->len)
		ret = -ENOSPC;
	else if (need)
		ret = undo_copy_out(&list, need, io->buf);
	if (ret) {
		undo_put_back(owner, &list);
	} else {
		hlist_for_each_entry_safe(u, tmp, &list, node)
			kvfree(u);
	}
	put_task_struct(t);
	return ret;
}

/*
 * The entry of record @r as set @a (grabbed) sees it: adjustments of
 * another set (its id reused) or of an older generation (SETVAL, SETALL)
 * count for nothing. NULL if nothing is left of it.
 */
static struct sem_undo *undo_from(const struct kipc_undo *r,
				  const struct kipc_sem_array *a,
				  const void *owner)
{
	struct sem_undo *u;
	bool any = false;
	u32 i;

	if (r->stamp != a->stamp || r->nsems != a->nsems)
		return NULL;
	u = undo_new(owner, r->semid, a);
	if (!u)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < r->nsems; i++) {
		if (r->a[i].gen == u->a[i].gen)
			u->a[i].adj = clamp(r->a[i].adj, -SEMVMX, SEMVMX);
		any |= u->a[i].adj;
	}
	if (!any) {
		kvfree(u);
		return NULL;
	}
	return u;
}

/*
 * Adds record @r to @owner's entry of its set, under the set's grab; if
 * @t is exiting (its exit_sem() may be past) or gone (@t NULL), applies it
 * instead, as its exit would have.
 */
static int undo_merge(struct task_struct *t, const struct kipc_undo *r)
{
	struct kipc_sem_array *a = sem_grab(r->semid);
	const void *owner = t ? undo_owner(t) : NULL;
	struct sem_undo *u, *old;
	bool apply = false;
	u32 i;

	if (IS_ERR(a))
		return 0;	/* the set is gone: so are its adjustments */
	u = undo_from(r, a, owner);
	if (IS_ERR_OR_NULL(u)) {
		sem_put(r->semid, false);
		return PTR_ERR_OR_ZERO(u);
	}
	/* semop changes an entry under the set's grab: merged under it */
	spin_lock(&undo_lock);
	if (!t || (t->flags & PF_EXITING)) {
		apply = true;
	} else {
		old = undo_find_locked(owner, r->semid);
		if (old && old->stamp == u->stamp && old->nsems == u->nsems) {
			for (i = 0; i < u->nsems; i++) {
				if (old->a[i].gen != u->a[i].gen)
					old->a[i].adj = 0;
				old->a[i].gen = u->a[i].gen;
				old->a[i].adj = clamp(old->a[i].adj +
						      u->a[i].adj,
						      -SEMVMX, SEMVMX);
			}
			swap(old, u);	/* u is freed */
		} else {
			if (old)	/* of a removed set whose id was reused */
				hash_del(&old->node);
			hash_add(undo_hash, &u->node, (unsigned long)owner);
			u = old;
		}
	}
	spin_unlock(&undo_lock);
	sem_put(r->semid, false);
	if (apply)
		undo_apply(u, t ? task_tgid_vnr(t) : 0);
	kvfree(u);
	return 0;
}

/* Checks that @buf holds whole records only. */
static int undo_records_ok(const void *buf, size_t len)
{
	const struct kipc_undo *r;
	size_t off = 0;

	while (off < len) {
		r = buf + off;
		if (len - off < sizeof(*r) || r->semid <= 0 || !r->nsems ||
		    r->nsems > KIPC_SEMMSL ||
		    undo_bytes(r->nsems) > len - off)
			return -EINVAL;
		off += undo_bytes(r->nsems);
	}
	return 0;
}

/*
 * KIPC_UNDO_IMPORT: process @io->pid gets the entries in @io->buf, or, if
 * it ended, they are applied now.
 */
long kipc_sem_undo_import(const struct kipc_undo_io *io)
{
	struct task_struct *t;
	size_t off = 0;
	long ret;
	void *buf;

	if (io->len > KIPC_UNDO_MAX_BYTES || io->len % 8)
		return -EINVAL;
	if (!io->len)
		return 0;
	buf = vmemdup_user(u64_to_user_ptr(io->buf), io->len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	ret = undo_records_ok(buf, io->len);
	/* a process that is gone gets them applied, as at its exit */
	t = ret ? NULL : undo_task(io->pid);
	while (!ret && off < io->len) {
		const struct kipc_undo *r = buf + off;

		ret = undo_merge(t, r);
		off += undo_bytes(r->nsems);
	}
	if (t)
		put_task_struct(t);
	kvfree(buf);
	return ret;
}

/* ---- semop ---- */

struct semop_ctx {
	int id;
	struct sembuf *sops;
	unsigned int nsops;
	unsigned int max;	/* highest sem_num */
	bool alter, undos;
	u64 stamp;		/* of the set found by the first attempt */
	int waiting;		/* index of the op counted as waiting, or -1 */
};

/*
 * Tries the operations on @a, in order, all or nothing: 0 done, 1 would
 * block at *@blocking, -EAGAIN (IPC_NOWAIT) or -ERANGE.
 */
static int try_ops(struct kipc_sem_array *a, struct semop_ctx *c,
		   struct sem_undo *u, unsigned int *blocking)
{
	struct sembuf *sop;
	unsigned int i;
	int err, v;

	for (i = 0; i < c->nsops; i++) {
		struct kipc_sem_one *s;

		sop = &c->sops[i];
		s = &a->sems[sop->sem_num];
		v = s->semval;
		if (!sop->sem_op && v)
			goto block;
		v += sop->sem_op;
		if (v < 0)
			goto block;
		err = -ERANGE;
		if (v > SEMVMX)
			goto undo;
		if (sop->sem_flg & SEM_UNDO) {
			s32 *adj = undo_adj(u, a, sop->sem_num);

			if (*adj - sop->sem_op < -SEMAEM - 1 ||
			    *adj - sop->sem_op > SEMAEM)
				goto undo;
			*adj -= sop->sem_op;
		}
		s->semval = v;
	}
	return 0;

block:
	*blocking = i;
	err = (sop->sem_flg & IPC_NOWAIT) ? -EAGAIN : 1;
undo:
	while (i--) {
		sop = &c->sops[i];
		a->sems[sop->sem_num].semval -= sop->sem_op;
		if (sop->sem_flg & SEM_UNDO)
			u->a[sop->sem_num].adj += sop->sem_op;
	}
	return err;
}

/* Whether the operations would block on @a (a read copy). */
static bool would_block(const struct kipc_sem_array *a,
			const struct semop_ctx *c)
{
	unsigned int i, j;
	int v;

	if (!a->exists || a->stamp != c->stamp || c->max >= a->nsems)
		return false;
	for (i = 0; i < c->nsops; i++) {
		v = a->sems[c->sops[i].sem_num].semval;
		for (j = 0; j < i; j++)
			if (c->sops[j].sem_num == c->sops[i].sem_num)
				v += c->sops[j].sem_op;
		if (c->sops[i].sem_op ? v + c->sops[i].sem_op < 0 : v)
			return true;
	}
	return false;
}

/* Counts (@d = 1) or uncounts (-1) the waiter of op @i in semncnt/semzcnt. */
static void count_waiter(struct kipc_sem_array *a, struct semop_ctx *c,
			 int i, int d)
{
	struct kipc_sem_one *s = &a->sems[c->sops[i].sem_num];

	if (c->sops[i].sem_op)
		s->semncnt += d;
	else
		s->semzcnt += d;
}

static void semop_done(struct kipc_sem_array *a, struct semop_ctx *c)
{
	pid_t pid = task_tgid_vnr(current);
	unsigned int i;

	for (i = 0; i < c->nsops; i++)
		a->sems[c->sops[i].sem_num].sempid = pid;
	a->otime = ktime_get_real_seconds();
}

/* One try under the grab: 0 done, 1 must wait (counted), or -errno. */
static int semop_attempt(struct semop_ctx *c, bool first)
{
	struct kipc_sem_array *a = sem_grab(c->id);
	struct sem_undo *u = NULL;
	unsigned int blocking;
	bool changed = false;
	int err;

	if (IS_ERR(a))
		return (!first && PTR_ERR(a) == -EINVAL) ? -EIDRM : PTR_ERR(a);
	if (first) {
		err = -EFBIG;
		if (c->max >= a->nsems)
			goto out;
		err = kipc_perms(&KIPC_PERM(a), c->alter ? 0222 : 0444);
		if (err)
			goto out;
		c->stamp = a->stamp;
	} else if (a->stamp != c->stamp) {
		err = -EIDRM;
		goto out;
	}
	if (c->waiting >= 0) {
		count_waiter(a, c, c->waiting, -1);
		c->waiting = -1;
		changed = true;
	}
	if (c->undos) {
		u = undo_get(a, c->id);
		err = PTR_ERR(u);
		if (IS_ERR(u))
			goto out;
	}
	err = try_ops(a, c, u, &blocking);
	if (!err) {
		semop_done(a, c);
		changed = true;
	} else if (err == 1) {
		count_waiter(a, c, blocking, 1);
		c->waiting = blocking;
		changed = true;
	}
out:
	sem_put(c->id, changed);
	return err;
}

static void semop_uncount(struct semop_ctx *c)
{
	struct kipc_sem_array *a = sem_grab(c->id);

	if (IS_ERR(a))
		return;
	if (a->stamp == c->stamp)
		count_waiter(a, c, c->waiting, -1);
	c->waiting = -1;
	sem_put(c->id, true);
}

struct cancel_work {
	struct work_struct work;
	struct semop_ctx *c;
};

static void cancel_work_fn(struct work_struct *work)
{
	semop_uncount(container_of(work, struct cancel_work, work)->c);
}

/*
 * Timeout, signal or error: no longer waiting. A killed task cannot wait
 * for a remote set (kDDM waits are killable): a worker uncounts it.
 */
static void semop_cancel(struct semop_ctx *c)
{
	struct cancel_work cw = { .c = c };

	if (c->waiting < 0)
		return;
	if (!fatal_signal_pending(current)) {
		semop_uncount(c);
		return;
	}
	INIT_WORK_ONSTACK(&cw.work, cancel_work_fn);
	queue_work(system_unbound_wq, &cw.work);
	flush_work(&cw.work);
	destroy_work_on_stack(&cw.work);
}

/*
 * Sleeps until a read copy of the set says the operations may proceed (or
 * the set is gone). Returns the remaining timeout, -EAGAIN or -EINTR.
 */
static long semop_wait(struct semop_ctx *c, struct kipc_watch *w, long left)
{
	struct kipc_sem_array *a;
	bool blocked;
	int gen;

	for (;;) {
		gen = kipc_watch_gen(w);
		a = kddm_get_object_no_ft(sem_set, c->id);
		if (IS_ERR(a))
			return left;
		blocked = would_block(a, c);
		kddm_put_object(sem_set, c->id);
		if (!blocked)
			return left;
		if (!left)
			return -EAGAIN;
		left = kipc_watch_wait(w, gen, left);
		if (left < 0)
			return -EINTR;
	}
}

static void semop_scan(struct semop_ctx *c)
{
	unsigned int i;

	c->max = 0;
	for (i = 0; i < c->nsops; i++) {
		c->max = max_t(unsigned int, c->max, c->sops[i].sem_num);
		if (c->sops[i].sem_flg & SEM_UNDO)
			c->undos = true;
		if (c->sops[i].sem_op)
			c->alter = true;
	}
}

static long semop_run(struct semop_ctx *c, long left)
{
	struct kipc_watch *w = kipc_watch_get(sem_key(c->id));
	long ret;

	if (!w)
		return -ENOMEM;
	ret = semop_attempt(c, true);
	while (ret == 1) {
		ret = semop_wait(c, w, left);
		if (ret < 0)
			break;
		left = ret;
		ret = semop_attempt(c, false);
	}
	if (ret < 0)
		semop_cancel(c);
	kipc_watch_put(sem_key(c->id), w);
	return ret;
}

long kipc_do_semtimedop(int id, struct sembuf __user *usops,
			unsigned int nsops, const struct timespec64 *ts)
{
	struct semop_ctx c = { .id = id, .nsops = nsops, .waiting = -1 };
	long ret, left = MAX_SCHEDULE_TIMEOUT;

	if (nsops > kipc_ns()->sc_semopm)
		return -E2BIG;
	if (nsops < 1)
		return -EINVAL;
	c.sops = kvmalloc_array(nsops, sizeof(*c.sops), GFP_KERNEL);
	if (!c.sops)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(c.sops, usops, nsops * sizeof(*c.sops)))
		goto out;
	ret = -EINVAL;
	if (id < 0 || (ts && !timespec64_valid(ts)))
		goto out;
	if (ts)
		left = timespec64_to_jiffies(ts);
	semop_scan(&c);
	ret = semop_run(&c, left);
out:
	kvfree(c.sops);
	return ret;
}

/* ---- semctl ---- */

static long sem_info(int cmd, void __user *buf)
{
	struct ipc_namespace *ns = kipc_ns();
	struct seminfo info = {
		.semmni = ns->sc_semmni,
		.semmns = ns->sc_semmns,
		.semmsl = ns->sc_semmsl,
		.semopm = ns->sc_semopm,
		.semvmx = SEMVMX,
		.semmnu = SEMMNU,
		.semmap = SEMMAP,
		.semume = SEMUME,
		.semusz = SEMUSZ,
		.semaem = SEMAEM,
	};
	u64 total;
	long ret;
	u32 n;

	ret = kipc_keys_count(KIPC_SEM, &n, &total);
	if (ret)
		return ret;
	if (cmd == SEM_INFO) {
		info.semusz = n;
		info.semaem = min_t(u64, total, INT_MAX);
	}
	ret = n ? n - 1 : 0;
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	return ret;
}

static void fill_ds(struct semid64_ds *ds, const struct kipc_sem_array *a)
{
	memset(ds, 0, sizeof(*ds));
	ds->sem_perm.key = a->key;
	kipc_perm_out(&ds->sem_perm, &KIPC_PERM(a));
	ds->sem_otime = a->otime;
	ds->sem_ctime = a->ctime;
	ds->sem_nsems = a->nsems;
}

/* IPC_STAT, SEM_STAT, SEM_STAT_ANY into @ds: 0 or the id, or -errno. */
long kipc_sem_stat(int id, int cmd, struct semid64_ds *ds)
{
	struct kipc_sem_array *a;
	long ret = 0;

	if (cmd != IPC_STAT) {
		id = kipc_index_to_id(KIPC_SEM, id);
		if (id < 0)
			return id;
	}
	a = sem_get(id);
	if (IS_ERR(a))
		return PTR_ERR(a);
	if (cmd != SEM_STAT_ANY)
		ret = kipc_perms(&KIPC_PERM(a), 0444);
	fill_ds(ds, a);
	sem_put(id, false);
	if (ret)
		return ret;
	return cmd == IPC_STAT ? 0 : id;
}

/* GETVAL, GETPID, GETNCNT, GETZCNT */
static long sem_getone(int id, int semnum, int cmd)
{
	struct kipc_sem_array *a = sem_get(id);
	const struct kipc_sem_one *s;
	long ret;

	if (IS_ERR(a))
		return PTR_ERR(a);
	ret = kipc_perms(&KIPC_PERM(a), 0444);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (semnum < 0 || semnum >= a->nsems)
		goto out;
	s = &a->sems[semnum];
	if (cmd == GETVAL)
		ret = s->semval;
	else if (cmd == GETPID)
		ret = s->sempid;
	else if (cmd == GETNCNT)
		ret = s->semncnt;
	else
		ret = s->semzcnt;
out:
	sem_put(id, false);
	return ret;
}

static long sem_getall(int id, void __user *buf)
{
	struct kipc_sem_array *a;
	u16 *vals;
	long ret;
	u32 i, n;

	vals = kvmalloc_array(KIPC_SEMMSL, sizeof(*vals), GFP_KERNEL);
	if (!vals)
		return -ENOMEM;
	a = sem_get(id);
	ret = PTR_ERR(a);
	if (IS_ERR(a))
		goto out;
	ret = kipc_perms(&KIPC_PERM(a), 0444);
	n = a->nsems;
	for (i = 0; i < n; i++)
		vals[i] = a->sems[i].semval;
	sem_put(id, false);
	if (!ret && copy_to_user(buf, vals, n * sizeof(*vals)))
		ret = -EFAULT;
out:
	kvfree(vals);
	return ret;
}

static long sem_setall(int id, void __user *buf)
{
	pid_t pid = task_tgid_vnr(current);
	struct kipc_sem_array *a;
	u16 *vals;
	long ret;
	u64 stamp;
	u32 i, n;

	vals = kvmalloc_array(KIPC_SEMMSL, sizeof(*vals), GFP_KERNEL);
	if (!vals)
		return -ENOMEM;
	a = sem_get(id);
	ret = PTR_ERR(a);
	if (IS_ERR(a))
		goto out;
	ret = kipc_perms(&KIPC_PERM(a), 0222);
	n = a->nsems;
	stamp = a->stamp;
	sem_put(id, false);
	if (ret)
		goto out;
	ret = -EFAULT;
	if (copy_from_user(vals, buf, n * sizeof(*vals)))
		goto out;
	ret = -ERANGE;
	for (i = 0; i < n; i++)
		if (vals[i] > SEMVMX)
			goto out;
	a = sem_grab(id);
	ret = PTR_ERR(a) == -EINVAL ? -EIDRM : PTR_ERR(a);
	if (IS_ERR(a))
		goto out;
	ret = -EIDRM;
	if (a->stamp == stamp && a->nsems == n) {
		for (i = 0; i < n; i++) {
			a->sems[i].semval = vals[i];
			a->sems[i].sempid = pid;
			a->sems[i].undo_gen++;
		}
		a->ctime = ktime_get_real_seconds();
		ret = 0;
	}
	sem_put(id, !ret);
out:
	kvfree(vals);
	return ret;
}

static long sem_setval(int id, int semnum, int val)
{
	struct kipc_sem_array *a;
	struct kipc_sem_one *s;
	long ret;

	if (val > SEMVMX || val < 0)
		return -ERANGE;
	a = sem_grab(id);
	if (IS_ERR(a))
		return PTR_ERR(a);
	ret = -EINVAL;
	if (semnum < 0 || semnum >= a->nsems)
		goto out;
	ret = kipc_perms(&KIPC_PERM(a), 0222);
	if (ret)
		goto out;
	s = &a->sems[semnum];
	s->semval = val;
	s->sempid = task_tgid_vnr(current);
	s->undo_gen++;
	a->ctime = ktime_get_real_seconds();
out:
	sem_put(id, !ret);
	return ret;
}

/* IPC_SET (owner and mode from @ds) and IPC_RMID. */
long kipc_sem_down(int id, int cmd, const struct semid64_ds *ds)
{
	struct kipc_sem_array *a;
	struct kipc_perm p;
	u32 nsems = 0;
	long ret = 0;

	a = sem_grab(id);
	if (IS_ERR(a))
		return PTR_ERR(a);
	p = KIPC_PERM(a);
	if (!kipc_owner(&p)) {
		ret = -EPERM;
	} else if (cmd == IPC_SET) {
		ret = kipc_perm_in(&ds->sem_perm, &a->uid, &a->gid);
		if (!ret) {
			a->mode = (a->mode & ~0777) |
				  (ds->sem_perm.mode & 0777);
			a->ctime = ktime_get_real_seconds();
		}
	} else {
		/* Waiters see it gone (EIDRM); then the table forgets it. */
		nsems = a->nsems;
		sem_clear(a);
	}
	sem_put(id, !ret);
	if (nsems)
		kipc_keys_forget(KIPC_SEM, id);
	return ret;
}

static long sem_stat(int id, int cmd, void __user *buf)
{
	struct semid64_ds ds;
	long ret = kipc_sem_stat(id, cmd, &ds);

	if (ret >= 0 && copy_to_user(buf, &ds, sizeof(ds)))
		ret = -EFAULT;
	return ret;
}

static long sem_set_rmid(int id, int cmd, void __user *buf)
{
	struct semid64_ds ds;

	if (cmd == IPC_SET && copy_from_user(&ds, buf, sizeof(ds)))
		return -EFAULT;
	return kipc_sem_down(id, cmd, &ds);
}

/* semctl of native layouts (also the compat ones but for semid_ds). */
long kipc_do_semctl(int id, int semnum, int cmd, unsigned long arg)
{
	void __user *p = (void __user *)arg;

	if (id < 0)
		return -EINVAL;
	cmd &= ~IPC_64;
	switch (cmd) {
	case IPC_INFO:
	case SEM_INFO:
		return sem_info(cmd, p);
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY:
		return sem_stat(id, cmd, p);
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
		return sem_getone(id, semnum, cmd);
	case GETALL:
		return sem_getall(id, p);
	case SETALL:
		return sem_setall(id, p);
	case SETVAL:
		return sem_setval(id, semnum, (int)arg);
	case IPC_SET:
	case IPC_RMID:
		return sem_set_rmid(id, cmd, p);
	}
	return -EINVAL;
}

/* ---- the redirected system calls (x86_64: di, si, dx, r10) ---- */

long kipc_sys_semget(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return kipc_do_semget((key_t)regs->di, (int)regs->si, (int)regs->dx);
}

long kipc_sys_semop(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return kipc_do_semtimedop((int)regs->di,
				  (struct sembuf __user *)regs->si,
				  (unsigned int)regs->dx, NULL);
}

long kipc_sys_semtimedop(const struct pt_regs *regs, kipc_orig_fn orig)
{
	const struct __kernel_timespec __user *uts = (void __user *)regs->r10;
	struct timespec64 ts;

	if (uts && get_timespec64(&ts, uts))
		return -EFAULT;
	return kipc_do_semtimedop((int)regs->di,
				  (struct sembuf __user *)regs->si,
				  (unsigned int)regs->dx, uts ? &ts : NULL);
}

long kipc_sys_semctl(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return kipc_do_semctl((int)regs->di, (int)regs->si, (int)regs->dx, regs->r10);
}

/* ---- the kDDM set and its io-linker ---- */

static void *sem_alloc(struct kddm_set *set, u64 objid)
{
	return kzalloc(sizeof(struct kipc_sem_array), GFP_KERNEL);
}

static void sem_free(struct kddm_set *set, u64 objid, void *data)
{
	struct kipc_sem_array *a = data;

	kvfree(a->sems);
	kfree(a);
}

static int sem_first_touch(struct kddm_set *set, u64 objid, void *data)
{
	sem_clear(data);
	return 0;
}

/* The semaphores that travel with the header. */
static u32 sem_shipped(const struct kipc_sem_array *a)
{
	return a->exists && !a->nomem ? min(a->nsems, a->cap) : 0;
}

static u32 sem_export_size(struct kddm_set *set, u64 objid, void *data)
{
	return KIPC_SEM_HDR + sem_shipped(data) * sizeof(struct kipc_sem_one);
}

static int sem_export(struct kddm_set *set, u64 objid, void *data,
		      void *buf, size_t len)
{
	struct kipc_sem_array *a = data;
	size_t n = sem_shipped(a) * sizeof(*a->sems);

	if (len < KIPC_SEM_HDR + n)
		return -ENOSPC;
	memcpy(buf, a, KIPC_SEM_HDR);
	if (n)
		memcpy(buf + KIPC_SEM_HDR, a->sems, n);
	return KIPC_SEM_HDR + n;
}

/*
 * A copy from a peer. One that does not hold its semaphores, or that
 * finds no memory here, leaves the set unusable on this node (-ENOMEM).
 */
static int sem_import(struct kddm_set *set, u64 objid, void *data,
		      const void *buf, size_t len)
{
	struct kipc_sem_array *a = data;
	size_t n;

	memset(a, 0, KIPC_SEM_HDR);
	memcpy(a, buf, min_t(size_t, len, KIPC_SEM_HDR));
	a->nomem = 0;
	if (!a->exists)
		return 0;
	n = (size_t)a->nsems * sizeof(*a->sems);
	if (len < KIPC_SEM_HDR || a->nsems > KIPC_SEMMSL ||
	    len - KIPC_SEM_HDR < n || sem_resize(a, a->nsems)) {
		pr_warn_ratelimited("semaphore set %d: bad or unplaceable copy (%zu bytes)\n",
				    (int)objid, len);
		a->nomem = 1;
		return -ENOMEM;
	}
	memcpy(a->sems, buf + KIPC_SEM_HDR, n);
	return 0;
}

static void sem_invalidate(struct kddm_set *set, u64 objid, void *data)
{
	kipc_watch_changed(sem_key((int)objid));
}

static u32 sem_home(struct kddm_set *set, u64 objid,
		    const unsigned long *nodes_up)
{
	return kipc_id_node((int)objid);
}

static const struct kddm_io_linker_ops sem_linker = {
	.name = "kipc_sem",
	.owner = THIS_MODULE,
	.alloc_object = sem_alloc,
	.free_object = sem_free,
	.first_touch = sem_first_touch,
	.export_object = sem_export,
	.export_size = sem_export_size,
	.import_object = sem_import,
	.invalidate_object = sem_invalidate,
	.default_owner = sem_home,
};

int kipc_sem_init(void)
{
	struct kddm_set_attr attr = {
		.linker = "kipc_sem",
		.obj_size = KIPC_SEM_OBJ_SIZE,
		.policy = KDDM_OWNER_CUSTOM,
	};
	int ret;

	BUILD_BUG_ON(KIPC_SEM_OBJ_SIZE > KDDM_MAX_OBJ_SIZE);
	ret = kddm_register_io_linker(&sem_linker);
	if (ret)
		return ret;
	sem_set = kddm_open_set(KIPC_SET_SEM, &attr);
	if (IS_ERR(sem_set)) {
		kddm_unregister_io_linker(&sem_linker);
		return PTR_ERR(sem_set);
	}
	return 0;
}

void kipc_sem_exit(void)
{
	struct hlist_node *tmp;
	struct sem_undo *u;
	int bkt;

	kddm_put_set(sem_set);
	kddm_unregister_io_linker(&sem_linker);
	/* Undo entries of processes still alive are lost. */
	hash_for_each_safe(undo_hash, bkt, tmp, u, node) {
		hash_del(&u->node);
		kvfree(u);
	}
}
