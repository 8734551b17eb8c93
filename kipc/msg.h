/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipc message queues: one kDDM object per queue, homed on its creator
 * (set KIPC_SET_MSG, object id = msqid).
 */
#ifndef _KIPC_MSG_H
#define _KIPC_MSG_H

#include <linux/stddef.h>
#include <linux/types.h>
#include <kddm/kddm.h>

struct pt_regs;
#ifndef KIPC_ORIG_FN
#define KIPC_ORIG_FN
typedef long (*kipc_orig_fn)(const struct pt_regs *regs);
#endif

#define KIPC_SET_MSG		0x4b495004U	/* objid = msqid */

/* Largest size of a queue's kDDM object: header, then the messages. */
#define KIPC_MSG_OBJ_SIZE	KDDM_MAX_OBJ_SIZE

/*
 * A queue. The messages are packed in @area in arrival order, each one a
 * struct kipc_msg_rec followed by its text, padded to 8 bytes; @used
 * bytes of @area are in use. Only the header (up to @cap) and those bytes
 * travel; @area is allocated as the queue grows.
 */
struct kipc_msg_queue {
	u32 exists;		/* first: kipc_new_id() relies on it */
	s32 key;
	u32 uid, gid, cuid, cgid;
	u32 mode;
	u32 qbytes;		/* msg_qbytes */
	u32 cbytes;		/* bytes of text queued */
	u32 qnum;		/* messages queued */
	s32 lspid, lrpid;
	u32 used;		/* bytes of @area in use */
	u32 pad;
	s64 stime, rtime, ctime;
	/* local only */
	u32 cap;		/* bytes allocated at @area */
	u32 nomem;		/* a copy came that did not fit: unusable */
	u8 *area;
};

#define KIPC_MSG_HDR		offsetof(struct kipc_msg_queue, cap)

struct kipc_msg_rec {
	s64 mtype;
	u32 len;
	u32 pad;
};

#define KIPC_MSG_AREA		(KIPC_MSG_OBJ_SIZE - KIPC_MSG_HDR)

/*
 * Largest msg_qbytes: one message of that size still fits in an empty
 * queue. Larger values are refused by IPC_SET with EINVAL; the default
 * (msgmnb) is cut to it.
 */
#define KIPC_MSG_MAX_QBYTES \
	(KIPC_MSG_AREA - sizeof(struct kipc_msg_rec) - 8)

struct msqid64_ds;

/* Stores what msgrcv received: the length returned, or -EFAULT. */
typedef long (*kipc_msg_fill_fn)(void __user *dest, long mtype,
				 const void *text, size_t len);

long kipc_do_msgget(key_t key, int flg);
long kipc_do_msgsnd(int id, long mtype, const void __user *mtext,
		    size_t msgsz, int flg);
long kipc_do_msgrcv(int id, void __user *msgp, size_t bufsz, long type,
		    int flg, kipc_msg_fill_fn fill);
long kipc_do_msgctl(int id, int cmd, void __user *buf);
long kipc_msg_stat(int id, int cmd, struct msqid64_ds *ds);
long kipc_msg_set(int id, const struct msqid64_ds *ds);

long kipc_sys_msgget(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_msgsnd(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_msgrcv(const struct pt_regs *regs, kipc_orig_fn orig);
long kipc_sys_msgctl(const struct pt_regs *regs, kipc_orig_fn orig);
int kipc_msg_init(void);
void kipc_msg_exit(void);

#endif /* _KIPC_MSG_H */
