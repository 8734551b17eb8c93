// SPDX-License-Identifier: GPL-2.0
/*
 * kipc message queues: msgget, msgsnd, msgrcv, msgctl for the tasks of a
 * cluster-enabled IPC namespace, with the semantics of ipc/msg.c.
 *
 * A queue, header and messages, is one kDDM object of the set
 * KIPC_SET_MSG (object id = msqid), homed on its creator; the key tables
 * (util.c) list the queues each node created. Lock order, cluster-wide:
 * the key tables before any queue.
 *
 * Every operation grabs the queue. One that cannot proceed (msgrcv of an
 * empty queue, msgsnd to a full one) keeps a read copy and sleeps on the
 * queue's watch (watch.c): the next grab anywhere invalidates the copy,
 * which wakes it. Changes made on this node wake the local sleepers
 * directly, as they invalidate nothing here. A woken sleeper looks at a
 * fresh read copy and grabs only if it can go on, so that sleepers on
 * different nodes do not wake each other for nothing. IPC_SET wakes the
 * sleepers too, which look again: as expunge_all() and ss_wakeup() make
 * them do in ipc/msg.c.
 *
 * Limits beyond ipc/msg.c: a queue holds at most KIPC_MSG_OBJ_SIZE bytes
 * (1 MiB), message headers included: msg_qbytes above KIPC_MSG_MAX_QBYTES
 * is refused (IPC_SET: EINVAL), and a queue whose object is full counts as
 * full even below msg_qbytes (many small messages).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ipc_namespace.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/msg.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "kipc.h"
#include "msg.h"

/* msgrcv search modes, as ipc/msg.c */
enum {
	SEARCH_ANY, SEARCH_EQUAL, SEARCH_NOTEQUAL, SEARCH_LESSEQUAL,
	SEARCH_NUMBER
};

/* An operation must wait for the queue to change. */
#define MSG_WAIT	1

static struct kddm_set *msg_set;

static u64 watch_key(int id)
{
	return (u64)KIPC_MSG << 32 | (u32)id;
}

/* ---- io-linker: only the header and the used part travel ---- */

static u32 q_used(const struct kipc_msg_queue *q)
{
	return min3(q->used, q->cap, (u32)KIPC_MSG_AREA);
}

/* Room for @n bytes of messages at @q->area, those in use kept. */
static int q_reserve(struct kipc_msg_queue *q, u32 n)
{
	u8 *area;

	if (n <= q->cap)
		return 0;
	if (n > KIPC_MSG_AREA)
		return -ENOSPC;
	n = max3(n, min_t(u32, 2 * q->cap, KIPC_MSG_AREA), 1024U);
	area = kvmalloc(n, GFP_KERNEL);
	if (!area)
		return -ENOMEM;
	if (q->area)
		memcpy(area, q->area, q_used(q));
	kvfree(q->area);
	q->area = area;
	q->cap = n;
	return 0;
}

/* No queue at @q any more (its id is free). */
static void q_clear(struct kipc_msg_queue *q)
{
	kvfree(q->area);
	memset(q, 0, sizeof(*q));
}

static void *q_alloc(struct kddm_set *set, u64 objid)
{
	return kzalloc(sizeof(struct kipc_msg_queue), GFP_KERNEL);
}

static void q_free(struct kddm_set *set, u64 objid, void *data)
{
	q_clear(data);
	kfree(data);
}

static int q_first_touch(struct kddm_set *set, u64 objid, void *data)
{
	q_clear(data);
	return 0;
}

static u32 q_shipped(const struct kipc_msg_queue *q)
{
	return q->exists && !q->nomem ? q_used(q) : 0;
}

static u32 q_export_size(struct kddm_set *set, u64 objid, void *data)
{
	return KIPC_MSG_HDR + q_shipped(data);
}

static int q_export(struct kddm_set *set, u64 objid, void *data,
		    void *buf, size_t len)
{
	struct kipc_msg_queue *q = data;
	u32 n = q_shipped(q);

	if (len < KIPC_MSG_HDR + n)
		return -ENOSPC;
	memcpy(buf, q, KIPC_MSG_HDR);
	((struct kipc_msg_queue *)buf)->used = n;
	if (n)
		memcpy(buf + KIPC_MSG_HDR, q->area, n);
	return KIPC_MSG_HDR + n;
}

/*
 * A copy from a peer. One that does not hold its messages, or that finds
 * no memory here, leaves the queue unusable on this node (-ENOMEM).
 */
static int q_import(struct kddm_set *set, u64 objid, void *data,
		    const void *buf, size_t len)
{
	struct kipc_msg_queue *q = data;

	memset(q, 0, KIPC_MSG_HDR);
	memcpy(q, buf, min_t(size_t, len, KIPC_MSG_HDR));
	q->nomem = 0;
	if (!q->exists)
		return 0;
	q->used = 0;		/* nothing of the old copy is kept */
	if (len < KIPC_MSG_HDR || len - KIPC_MSG_HDR > KIPC_MSG_AREA ||
	    q_reserve(q, len - KIPC_MSG_HDR)) {
		pr_warn_ratelimited("queue %d: bad or unplaceable copy (%zu bytes)\n",
				    (int)objid, len);
		q->nomem = 1;
		return -ENOMEM;
	}
	memcpy(q->area, buf + KIPC_MSG_HDR, len - KIPC_MSG_HDR);
	q->used = len - KIPC_MSG_HDR;
	return 0;
}

static void q_invalidate(struct kddm_set *set, u64 objid, void *data)
{
	kipc_watch_changed(watch_key((int)objid));
}

static u32 q_home(struct kddm_set *set, u64 objid,
		  const unsigned long *nodes_up)
{
	return kipc_id_node((int)objid);
}

static const struct kddm_io_linker_ops msg_linker = {
	.name = "kipc_msg",
	.owner = THIS_MODULE,
	.alloc_object = q_alloc,
	.free_object = q_free,
	.first_touch = q_first_touch,
	.export_object = q_export,
	.export_size = q_export_size,
	.import_object = q_import,
	.invalidate_object = q_invalidate,
	.default_owner = q_home,
};

/* ---- queues ---- */

static bool id_ok(int id)
{
	return id >= 0 && kipc_id_node(id) != KDDM_NODE_NONE;
}

/* The queue @id, grabbed (@write) or a read copy; -EINVAL if none. */
static struct kipc_msg_queue *q_get(int id, bool write)
{
	struct kipc_msg_queue *q;

	if (!id_ok(id))
		return ERR_PTR(-EINVAL);
	q = write ? kddm_grab_object_no_ft(msg_set, id) :
		    kddm_get_object_no_ft(msg_set, id);
	if (IS_ERR(q))
		return ERR_PTR(kipc_err(PTR_ERR(q)));
	if (!q->exists || q->nomem) {
		kddm_put_object(msg_set, id);
		return ERR_PTR(q->exists ? -ENOMEM : -EINVAL);
	}
	return q;
}

static void q_put(int id)
{
	kddm_put_object(msg_set, id);
}

static u64 rec_size(u64 len)
{
	return sizeof(struct kipc_msg_rec) + ALIGN(len, 8);
}

/* The message at @off, or NULL past the last one. */
static struct kipc_msg_rec *rec_at(struct kipc_msg_queue *q, u32 off)
{
	struct kipc_msg_rec *r;

	if (off + sizeof(*r) > q_used(q))
		return NULL;
	r = (struct kipc_msg_rec *)(q->area + off);
	if (off + rec_size(r->len) > q_used(q))
		return NULL;
	return r;
}

#define for_each_rec(q, r, off) \
	for ((off) = 0; ((r) = rec_at(q, off)); (off) += rec_size((r)->len))

static bool msg_fits(const struct kipc_msg_queue *q, size_t len)
{
	return q->cbytes + len <= q->qbytes && q->qnum + 1 <= q->qbytes &&
	       q_used(q) + rec_size(len) <= KIPC_MSG_AREA;
}

/* The message msgrcv takes: as find_msg() of ipc/msg.c. */
static struct kipc_msg_rec *find_msg(struct kipc_msg_queue *q, long type,
				     int mode, u32 *at)
{
	struct kipc_msg_rec *r, *found = NULL;
	long count = 0;
	u32 off;

	for_each_rec(q, r, off) {
		if ((mode == SEARCH_ANY) ||
		    (mode == SEARCH_EQUAL && r->mtype == type) ||
		    (mode == SEARCH_NOTEQUAL && r->mtype != type) ||
		    (mode == SEARCH_NUMBER && count++ == type)) {
			*at = off;
			return r;
		}
		if (mode == SEARCH_LESSEQUAL && r->mtype <= type &&
		    (!found || r->mtype < found->mtype)) {
			found = r;
			*at = off;
		}
	}
	return found;
}

static void msg_unlink(struct kipc_msg_queue *q, struct kipc_msg_rec *r,
		       u32 off)
{
	u32 size = rec_size(r->len);

	q->qnum--;
	q->cbytes -= min(q->cbytes, r->len);
	memmove(q->area + off, q->area + off + size, q_used(q) - off - size);
	q->used = q_used(q) - size;
}

/* What a msgsnd or msgrcv does with the queue, and its outcome. */
struct msg_op {
	int flg;
	int mode;		/* msgrcv: SEARCH_* */
	long type;		/* msgrcv: what to search */
	size_t size;		/* msgsnd: text length; msgrcv: buffer size */
	char *text;		/* kernel copy of the text */
	long mtype;		/* msgsnd: in; msgrcv: out */
	size_t len;		/* msgrcv: bytes of text */
	bool changed;		/* the queue was changed */
};

/*
 * Tries @op on @q: 0, -errno or MSG_WAIT. With @dry, only tells whether
 * it would still have to wait.
 */
typedef int (*msg_try_fn)(struct kipc_msg_queue *q, struct msg_op *op,
			  bool dry);

static int try_send(struct kipc_msg_queue *q, struct msg_op *op, bool dry)
{
	struct kipc_msg_rec *r;

	if (kipc_perms(&KIPC_PERM(q), 0222))
		return -EACCES;
	if (!msg_fits(q, op->size))
		return (op->flg & IPC_NOWAIT) ? -EAGAIN : MSG_WAIT;
	if (dry)
		return 0;
	if (q_reserve(q, q_used(q) + rec_size(op->size)))
		return -ENOMEM;
	r = (struct kipc_msg_rec *)(q->area + q_used(q));
	memset(r, 0, rec_size(op->size));
	r->mtype = op->mtype;
	r->len = op->size;
	memcpy(r + 1, op->text, op->size);
	q->used = q_used(q) + rec_size(op->size);
	q->cbytes += op->size;
	q->qnum++;
	q->lspid = task_tgid_vnr(current);
	q->stime = ktime_get_real_seconds();
	op->changed = true;
	return 0;
}

static int try_recv(struct kipc_msg_queue *q, struct msg_op *op, bool dry)
{
	struct kipc_msg_rec *r;
	u32 off = 0;

	if (kipc_perms(&KIPC_PERM(q), 0444))
		return -EACCES;
	r = find_msg(q, op->type, op->mode, &off);
	if (!r)
		return (op->flg & IPC_NOWAIT) ? -ENOMSG : MSG_WAIT;
	if (dry)
		return 0;
	if (op->size < r->len && !(op->flg & MSG_NOERROR))
		return -E2BIG;
	/* ipc/msg.c's copy_msg(): the copy is min(bufsz, msgmax) bytes */
	if ((op->flg & MSG_COPY) &&
	    r->len > min_t(size_t, op->size, kipc_ns()->msg_ctlmax))
		return -EINVAL;
	op->len = min_t(size_t, op->size, r->len);
	op->mtype = r->mtype;
	memcpy(op->text, r + 1, op->len);
	if (op->flg & MSG_COPY)
		return 0;
	msg_unlink(q, r, off);
	q->rtime = ktime_get_real_seconds();
	q->lrpid = task_tgid_vnr(current);
	op->changed = true;
	return 0;
}

/* On a read copy, which the next grab anywhere invalidates. */
static bool must_wait(int id, msg_try_fn try, struct msg_op *op)
{
	struct kipc_msg_queue *q = kddm_get_object_no_ft(msg_set, id);
	bool wait;

	if (IS_ERR(q))
		return false;
	wait = q->exists && try(q, op, true) == MSG_WAIT;
	q_put(id);
	return wait;
}

/* Runs @op on the queue @id, waiting as long as it must. */
static long msg_run(int id, msg_try_fn try, struct msg_op *op)
{
	struct kipc_msg_queue *q;
	struct kipc_watch *w;
	bool waited = false;
	long ret;
	int gen;

	if (!id_ok(id))
		return -EINVAL;
	w = kipc_watch_get(watch_key(id));
	if (!w)
		return -ENOMEM;
	for (;;) {
		gen = kipc_watch_gen(w);
		/*
		 * Once it had to wait, it looks at a read copy and grabs
		 * only when it may go on (or fail): a grab invalidates the
		 * read copies of the sleepers on the other nodes, whose
		 * grabs would then wake it, and so on, for ever.
		 */
		if (waited && must_wait(id, try, op)) {
			if (kipc_watch_wait(w, gen, MAX_SCHEDULE_TIMEOUT) < 0) {
				ret = -ERESTARTNOHAND;
				break;
			}
			continue;
		}
		q = q_get(id, true);
		if (IS_ERR(q)) {
			ret = PTR_ERR(q);
			break;
		}
		ret = try(q, op, false);
		q_put(id);
		if (ret != MSG_WAIT)
			break;
		waited = true;
	}
	if (op->changed)
		kipc_watch_changed(watch_key(id));
	kipc_watch_put(watch_key(id), w);
	/* removed while we waited */
	if (waited && ret == -EINVAL)
		ret = -EIDRM;
	return ret;
}

/* msgsnd of @msgsz bytes at @mtext, of type @mtype read by the caller. */
long kipc_do_msgsnd(int id, long mtype, const void __user *mtext,
		    size_t msgsz, int flg)
{
	struct ipc_namespace *ns = kipc_ns();
	struct msg_op op = { .flg = flg, .size = msgsz, .mtype = mtype };
	long ret;

	if (msgsz > ns->msg_ctlmax || (long)msgsz < 0 || id < 0)
		return -EINVAL;
	if (op.mtype < 1)
		return -EINVAL;
	/* would never fit in a queue object */
	if (rec_size(msgsz) > KIPC_MSG_AREA)
		return -EINVAL;
	op.text = kvmalloc(max_t(size_t, msgsz, 1), GFP_KERNEL);
	if (!op.text)
		return -ENOMEM;
	ret = -EFAULT;
	if (!copy_from_user(op.text, mtext, msgsz))
		ret = msg_run(id, try_send, &op);
	kvfree(op.text);
	return ret;
}

static int convert_mode(long *type, int flg)
{
	if (flg & MSG_COPY)
		return SEARCH_NUMBER;
	if (*type == 0)
		return SEARCH_ANY;
	if (*type < 0) {
		*type = *type == LONG_MIN ? LONG_MAX : -*type;
		return SEARCH_LESSEQUAL;
	}
	if (flg & MSG_EXCEPT)
		return SEARCH_NOTEQUAL;
	return SEARCH_EQUAL;
}

static long msgsnd(int id, struct msgbuf __user *msgp, size_t msgsz, int flg)
{
	long mtype;

	if (get_user(mtype, &msgp->mtype))
		return -EFAULT;
	return kipc_do_msgsnd(id, mtype, msgp->mtext, msgsz, flg);
}

static long msg_fill(void __user *dest, long mtype, const void *text,
		     size_t len)
{
	struct msgbuf __user *msgp = dest;

	if (put_user(mtype, &msgp->mtype) ||
	    copy_to_user(msgp->mtext, text, len))
		return -EFAULT;
	return len;
}

/*
 * msgrcv into @msgp, whose layout @fill knows (as do_msgrcv()'s msg_fill):
 * @fill stores the type and the @len bytes of text received.
 */
long kipc_do_msgrcv(int id, void __user *msgp, size_t bufsz, long type,
		    int flg, kipc_msg_fill_fn fill)
{
	struct msg_op op = { .flg = flg, .size = bufsz };
	long ret;

	if (id < 0 || (long)bufsz < 0)
		return -EINVAL;
	if ((flg & MSG_COPY) &&
	    ((flg & MSG_EXCEPT) || !(flg & IPC_NOWAIT)))
		return -EINVAL;
	op.mode = convert_mode(&type, flg);
	op.type = type;
	op.text = kvmalloc(clamp_t(size_t, bufsz, 1, KIPC_MSG_AREA),
			   GFP_KERNEL);
	if (!op.text)
		return -ENOMEM;
	ret = msg_run(id, try_recv, &op);
	if (!ret)
		ret = fill(msgp, op.mtype, op.text, op.len);
	kvfree(op.text);
	return ret;
}

/* ---- msgget ---- */

/* Under the key locks: a new queue, homed here, entered in our table. */
static int newque(struct kipc_keyget *g, int flg)
{
	struct ipc_namespace *ns = kipc_ns();
	struct kipc_msg_queue *q;
	int id, ret;

	if (g->count >= ns->msg_ctlmni)
		return -ENOSPC;
	id = kipc_new_id(msg_set, KIPC_MSG, (void **)&q);
	if (id < 0)
		return id;
	q_clear(q);
	q->exists = 1;
	q->key = g->key;
	KIPC_PERM_INIT(q, flg);
	q->qbytes = min_t(u32, ns->msg_ctlmnb, KIPC_MSG_MAX_QBYTES);
	q->ctime = ktime_get_real_seconds();
	q_put(id);
	ret = kipc_keys_add(g, id, 0);
	if (!ret)
		return id;
	/* nobody knows the id yet */
	q = q_get(id, true);
	if (!IS_ERR(q)) {
		q_clear(q);
		q_put(id);
	}
	return ret;
}

long kipc_do_msgget(key_t key, int flg)
{
	struct kipc_msg_queue *q;
	struct kipc_keyget g;
	long ret;
	s32 now;

	kipc_keyget_init(&g, KIPC_MSG, key, flg);
	while ((ret = kipc_keyget_next(&g)) == KIPC_KEY_FOUND) {
		/* the queue the key names, if it is still there */
		q = q_get(g.id, false);
		if (IS_ERR(q)) {
			ret = kipc_keyget_stale(&g, PTR_ERR(q), 0);
			if (ret)
				break;
			continue;
		}
		if (q->key != key) {
			now = q->key;
			q_put(g.id);
			kipc_keyget_stale(&g, 0, now);
			continue;
		}
		ret = -EEXIST;
		if (!((flg & IPC_CREAT) && (flg & IPC_EXCL))) {
			ret = kipc_perms(&KIPC_PERM(q), flg);
			if (!ret)
				ret = g.id;
		}
		q_put(g.id);
		break;
	}
	if (ret == KIPC_KEY_CREATE)
		ret = newque(&g, flg);
	kipc_keyget_end(&g);
	return ret;
}

/* ---- msgctl ---- */

static void fill_ds(struct msqid64_ds *ds, const struct kipc_msg_queue *q)
{
	memset(ds, 0, sizeof(*ds));
	ds->msg_perm.key = q->key;
	kipc_perm_out(&ds->msg_perm, &KIPC_PERM(q));
	ds->msg_stime = q->stime;
	ds->msg_rtime = q->rtime;
	ds->msg_ctime = q->ctime;
	ds->msg_cbytes = q->cbytes;
	ds->msg_qnum = q->qnum;
	ds->msg_qbytes = q->qbytes;
	ds->msg_lspid = q->lspid;
	ds->msg_lrpid = q->lrpid;
}

/* MSG_INFO: messages and bytes queued in the whole cluster. */
static int msg_totals(struct msginfo *info)
{
	struct kipc_msg_queue *q;
	u64 msgs = 0, bytes = 0;
	s32 *ids;
	int i, n;

	n = kipc_keys_ids(KIPC_MSG, &ids);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		q = q_get(ids[i], false);
		if (IS_ERR(q))
			continue;
		msgs += q->qnum;
		bytes += q->cbytes;
		q_put(ids[i]);
	}
	kvfree(ids);
	info->msgpool = n;
	info->msgmap = min_t(u64, msgs, INT_MAX);
	info->msgtql = min_t(u64, bytes, INT_MAX);
	return 0;
}

static long msg_info(int cmd, void __user *buf)
{
	struct ipc_namespace *ns = kipc_ns();
	struct msginfo info;
	long ret;
	u32 n;

	memset(&info, 0, sizeof(info));
	info.msgmni = ns->msg_ctlmni;
	info.msgmax = ns->msg_ctlmax;
	info.msgmnb = ns->msg_ctlmnb;
	info.msgssz = MSGSSZ;
	info.msgseg = MSGSEG;
	info.msgmap = MSGMAP;
	info.msgpool = MSGPOOL;
	info.msgtql = MSGTQL;
	if (cmd == MSG_INFO) {
		ret = msg_totals(&info);
		if (ret)
			return ret;
	}
	ret = kipc_keys_count(KIPC_MSG, &n, NULL);
	if (ret)
		return ret;
	/* the highest index in use */
	ret = n ? n - 1 : 0;
	if (copy_to_user(buf, &info, sizeof(info)))
		ret = -EFAULT;
	return ret;
}

/* IPC_STAT, MSG_STAT, MSG_STAT_ANY into @ds: 0 or the id, or -errno. */
long kipc_msg_stat(int id, int cmd, struct msqid64_ds *ds)
{
	struct kipc_msg_queue *q;
	long ret = 0;

	if (cmd != IPC_STAT) {
		id = kipc_index_to_id(KIPC_MSG, id);
		if (id < 0)
			return id;
	}
	q = q_get(id, false);
	if (IS_ERR(q))
		return PTR_ERR(q);
	if (cmd != MSG_STAT_ANY)
		ret = kipc_perms(&KIPC_PERM(q), 0444);
	fill_ds(ds, q);
	q_put(id);
	if (ret)
		return ret;
	return cmd == IPC_STAT ? 0 : id;
}

/*
 * IPC_SET: owner and mode, as ipc_update_perm(), and msg_qbytes. The
 * sleepers of the queue look again (as expunge_all() and ss_wakeup() make
 * them do): our grab invalidated their read copies on the other nodes,
 * and kipc_watch_changed() wakes those of this node. A receiver or a
 * sender that lost its permission fails with EACCES, a sender that fits
 * now sends, the others go back to sleep.
 */
long kipc_msg_set(int id, const struct msqid64_ds *ds)
{
	struct ipc_namespace *ns = kipc_ns();
	struct kipc_msg_queue *q;
	int qbytes;
	u32 uid, gid;
	long ret = 0;

	/* ksys_msgctl() hands msg_qbytes on as an int */
	qbytes = (int)ds->msg_qbytes;
	q = q_get(id, true);
	if (IS_ERR(q))
		return PTR_ERR(q);
	if (!kipc_owner(&KIPC_PERM(q)))
		ret = -EPERM;
	else if ((unsigned int)qbytes > ns->msg_ctlmnb &&
		 !capable(CAP_SYS_RESOURCE))
		ret = -EPERM;
	else if (kipc_perm_in(&ds->msg_perm, &uid, &gid) ||
		 qbytes < 0 || qbytes > KIPC_MSG_MAX_QBYTES)
		ret = -EINVAL;
	if (!ret) {
		q->uid = uid;
		q->gid = gid;
		q->mode = (q->mode & ~0777) | (ds->msg_perm.mode & 0777);
		q->qbytes = qbytes;
		q->ctime = ktime_get_real_seconds();
	}
	q_put(id);
	if (!ret)
		kipc_watch_changed(watch_key(id));
	return ret;
}

static long msg_rmid(int id)
{
	struct kipc_msg_queue *q = q_get(id, true);
	long ret = 0;

	if (IS_ERR(q))
		return PTR_ERR(q);
	if (kipc_owner(&KIPC_PERM(q)))
		q_clear(q);
	else
		ret = -EPERM;
	q_put(id);
	if (ret)
		return ret;
	kipc_watch_changed(watch_key(id));
	kipc_keys_forget(KIPC_MSG, id);
	return 0;
}

static long msg_set_ds(int id, void __user *buf)
{
	struct msqid64_ds ds;

	if (copy_from_user(&ds, buf, sizeof(ds)))
		return -EFAULT;
	return kipc_msg_set(id, &ds);
}

static long msg_stat(int id, int cmd, void __user *buf)
{
	struct msqid64_ds ds;
	long ret = kipc_msg_stat(id, cmd, &ds);

	if (ret >= 0 && copy_to_user(buf, &ds, sizeof(ds)))
		ret = -EFAULT;
	return ret;
}

/* msgctl of native layouts (also the compat ones of msginfo). */
long kipc_do_msgctl(int id, int cmd, void __user *buf)
{
	if (id < 0 || cmd < 0)
		return -EINVAL;
	cmd &= ~IPC_64;
	switch (cmd) {
	case IPC_INFO:
	case MSG_INFO:
		return msg_info(cmd, buf);
	case IPC_STAT:
	case MSG_STAT:
	case MSG_STAT_ANY:
		return msg_stat(id, cmd, buf);
	case IPC_SET:
		return msg_set_ds(id, buf);
	case IPC_RMID:
		return msg_rmid(id);
	}
	return -EINVAL;
}

/* The redirected system calls (x86_64: arguments in di, si, dx, r10, r8). */
long kipc_sys_msgget(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return kipc_do_msgget((key_t)regs->di, (int)regs->si);
}

long kipc_sys_msgsnd(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return msgsnd((int)regs->di, (struct msgbuf __user *)regs->si,
		      (size_t)regs->dx, (int)regs->r10);
}

long kipc_sys_msgrcv(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return kipc_do_msgrcv((int)regs->di, (void __user *)regs->si,
			      (size_t)regs->dx, (long)regs->r10, (int)regs->r8,
			      msg_fill);
}

long kipc_sys_msgctl(const struct pt_regs *regs, kipc_orig_fn orig)
{
	return kipc_do_msgctl((int)regs->di, (int)regs->si, (void __user *)regs->dx);
}

int kipc_msg_init(void)
{
	struct kddm_set_attr attr = {
		.linker = "kipc_msg",
		.obj_size = KIPC_MSG_OBJ_SIZE,
		.policy = KDDM_OWNER_CUSTOM,
	};
	int ret;

	BUILD_BUG_ON(KIPC_MSG_OBJ_SIZE > KDDM_MAX_OBJ_SIZE);
	ret = kddm_register_io_linker(&msg_linker);
	if (ret)
		return ret;
	msg_set = kddm_open_set(KIPC_SET_MSG, &attr);
	if (IS_ERR(msg_set)) {
		kddm_unregister_io_linker(&msg_linker);
		return PTR_ERR(msg_set);
	}
	return 0;
}

void kipc_msg_exit(void)
{
	kddm_put_set(msg_set);
	kddm_unregister_io_linker(&msg_linker);
}
