// SPDX-License-Identifier: GPL-2.0
/*
 * kipc for 32-bit (ia32) tasks: the ia32 entry points of System V IPC, the
 * ipc(2) multiplexer __ia32_compat_sys_ipc and the direct calls of
 * syscall_32.tbl, redirected to kipc's implementations. The compat
 * structures are converted exactly as the kernel's compat code does
 * (ipc/compat.c, the CONFIG_COMPAT parts of ipc/shm.c, msg.c, sem.c and
 * ipc/syscall.c): 64-bit layouts with IPC_64, the old ones (16-bit ids in
 * struct compat_ipc_perm) without it where the kernel takes a version,
 * a 32-bit mtype, 32-bit timespecs.
 *
 * ia32 system calls take their arguments in bx, cx, dx, si, di, bp.
 */
#include <linux/compat.h>
#include <linux/highuid.h>
#include <linux/ipc.h>
#include <linux/msg.h>
#include <linux/ptrace.h>
#include <linux/seq_file.h>
#include <linux/sem.h>
#include <linux/shm.h>
#include <linux/time32.h>
#include <linux/uaccess.h>
#include <uapi/linux/shm.h>

#include "compat.h"
#include "hook.h"
#include "kipc.h"
#include "msg.h"
#include "sem.h"

/* The ipc(2) calls, as include/uapi/linux/ipc.h (not exported there). */
#define KIPC_SEMOP		1
#define KIPC_SEMGET		2
#define KIPC_SEMCTL		3
#define KIPC_SEMTIMEDOP		4
#define KIPC_MSGSND		11
#define KIPC_MSGRCV		12
#define KIPC_MSGGET		13
#define KIPC_MSGCTL		14
#define KIPC_SHMAT		21
#define KIPC_SHMDT		22
#define KIPC_SHMGET		23
#define KIPC_SHMCTL		24

/* Layouts private to ipc/util.h, shm.c, msg.c, sem.c and syscall.c. */
struct compat_ipc_perm {
	key_t key;
	__compat_uid_t uid;
	__compat_gid_t gid;
	__compat_uid_t cuid;
	__compat_gid_t cgid;
	compat_mode_t mode;
	unsigned short seq;
};

struct compat_shmid_ds {
	struct compat_ipc_perm shm_perm;
	int shm_segsz;
	old_time32_t shm_atime;
	old_time32_t shm_dtime;
	old_time32_t shm_ctime;
	compat_ipc_pid_t shm_cpid;
	compat_ipc_pid_t shm_lpid;
	unsigned short shm_nattch;
	unsigned short shm_unused;
	compat_uptr_t shm_unused2;
	compat_uptr_t shm_unused3;
};

struct compat_shminfo64 {
	compat_ulong_t shmmax;
	compat_ulong_t shmmin;
	compat_ulong_t shmmni;
	compat_ulong_t shmseg;
	compat_ulong_t shmall;
	compat_ulong_t __unused1;
	compat_ulong_t __unused2;
	compat_ulong_t __unused3;
	compat_ulong_t __unused4;
};

struct compat_shm_info {
	compat_int_t used_ids;
	compat_ulong_t shm_tot, shm_rss, shm_swp;
	compat_ulong_t swap_attempts, swap_successes;
};

struct compat_msqid_ds {
	struct compat_ipc_perm msg_perm;
	compat_uptr_t msg_first;
	compat_uptr_t msg_last;
	old_time32_t msg_stime;
	old_time32_t msg_rtime;
	old_time32_t msg_ctime;
	compat_ulong_t msg_lcbytes;
	compat_ulong_t msg_lqbytes;
	unsigned short msg_cbytes;
	unsigned short msg_qnum;
	unsigned short msg_qbytes;
	compat_ipc_pid_t msg_lspid;
	compat_ipc_pid_t msg_lrpid;
};

struct compat_semid_ds {
	struct compat_ipc_perm sem_perm;
	old_time32_t sem_otime;
	old_time32_t sem_ctime;
	compat_uptr_t sem_base;
	compat_uptr_t sem_pending;
	compat_uptr_t sem_pending_last;
	compat_uptr_t undo;
	unsigned short sem_nsems;
};

struct compat_kipc_msgbuf {
	compat_long_t mtype;
	char mtext[];
};

struct compat_ipc_kludge {
	compat_uptr_t msgp;
	compat_long_t msgtyp;
};

/* ---- ipc/compat.c ---- */

static int get_compat_ipc64_perm(struct ipc64_perm *to,
				 struct compat_ipc64_perm __user *from)
{
	struct compat_ipc64_perm v;

	if (copy_from_user(&v, from, sizeof(v)))
		return -EFAULT;
	to->uid = v.uid;
	to->gid = v.gid;
	to->mode = v.mode;
	return 0;
}

static int get_compat_ipc_perm(struct ipc64_perm *to,
			       struct compat_ipc_perm __user *from)
{
	struct compat_ipc_perm v;

	if (copy_from_user(&v, from, sizeof(v)))
		return -EFAULT;
	to->uid = v.uid;
	to->gid = v.gid;
	to->mode = v.mode;
	return 0;
}

static void to_compat_ipc64_perm(struct compat_ipc64_perm *to,
				 const struct ipc64_perm *from)
{
	to->key = from->key;
	to->uid = from->uid;
	to->gid = from->gid;
	to->cuid = from->cuid;
	to->cgid = from->cgid;
	to->mode = from->mode;
	to->seq = from->seq;
}

static void to_compat_ipc_perm(struct compat_ipc_perm *to,
			       const struct ipc64_perm *from)
{
	to->key = from->key;
	SET_UID(to->uid, from->uid);
	SET_GID(to->gid, from->gid);
	SET_UID(to->cuid, from->cuid);
	SET_GID(to->cgid, from->cgid);
	to->mode = from->mode;
	to->seq = from->seq;
}

static int compat_parse_version(int *cmd)
{
	int version = *cmd & IPC_64;

	*cmd &= ~IPC_64;
	return version;
}

/* ---- shared memory ---- */

static int copy_compat_shminfo_to_user(void __user *buf,
				       struct shminfo64 *in, int version)
{
	struct compat_shminfo64 info64;
	struct shminfo info;

	if (in->shmmax > INT_MAX)
		in->shmmax = INT_MAX;
	if (version == IPC_64) {
		memset(&info64, 0, sizeof(info64));
		info64.shmmax = in->shmmax;
		info64.shmmin = in->shmmin;
		info64.shmmni = in->shmmni;
		info64.shmseg = in->shmseg;
		info64.shmall = in->shmall;
		return copy_to_user(buf, &info64, sizeof(info64)) ? -EFAULT : 0;
	}
	memset(&info, 0, sizeof(info));
	info.shmmax = in->shmmax;
	info.shmmin = in->shmmin;
	info.shmmni = in->shmmni;
	info.shmseg = in->shmseg;
	info.shmall = in->shmall;
	return copy_to_user(buf, &info, sizeof(info)) ? -EFAULT : 0;
}

static int put_compat_shm_info(const struct shm_info *ip,
			       struct compat_shm_info __user *uip)
{
	struct compat_shm_info info;

	memset(&info, 0, sizeof(info));
	info.used_ids = ip->used_ids;
	info.shm_tot = ip->shm_tot;
	info.shm_rss = ip->shm_rss;
	info.shm_swp = ip->shm_swp;
	info.swap_attempts = ip->swap_attempts;
	info.swap_successes = ip->swap_successes;
	return copy_to_user(uip, &info, sizeof(info)) ? -EFAULT : 0;
}

static int copy_compat_shmid_to_user(void __user *buf,
				     const struct shmid64_ds *in, int version)
{
	struct compat_shmid64_ds v64;
	struct compat_shmid_ds v;

	if (version == IPC_64) {
		memset(&v64, 0, sizeof(v64));
		to_compat_ipc64_perm(&v64.shm_perm, &in->shm_perm);
		v64.shm_atime = lower_32_bits(in->shm_atime);
		v64.shm_atime_high = upper_32_bits(in->shm_atime);
		v64.shm_dtime = lower_32_bits(in->shm_dtime);
		v64.shm_dtime_high = upper_32_bits(in->shm_dtime);
		v64.shm_ctime = lower_32_bits(in->shm_ctime);
		v64.shm_ctime_high = upper_32_bits(in->shm_ctime);
		v64.shm_segsz = in->shm_segsz;
		v64.shm_nattch = in->shm_nattch;
		v64.shm_cpid = in->shm_cpid;
		v64.shm_lpid = in->shm_lpid;
		return copy_to_user(buf, &v64, sizeof(v64)) ? -EFAULT : 0;
	}
	memset(&v, 0, sizeof(v));
	to_compat_ipc_perm(&v.shm_perm, &in->shm_perm);
	v.shm_atime = in->shm_atime;
	v.shm_dtime = in->shm_dtime;
	v.shm_ctime = in->shm_ctime;
	v.shm_segsz = in->shm_segsz;
	v.shm_nattch = in->shm_nattch;
	v.shm_cpid = in->shm_cpid;
	v.shm_lpid = in->shm_lpid;
	return copy_to_user(buf, &v, sizeof(v)) ? -EFAULT : 0;
}

static int copy_compat_shmid_from_user(struct shmid64_ds *out,
				       void __user *buf, int version)
{
	struct compat_shmid64_ds __user *p64 = buf;
	struct compat_shmid_ds __user *p = buf;

	memset(out, 0, sizeof(*out));
	if (version == IPC_64)
		return get_compat_ipc64_perm(&out->shm_perm, &p64->shm_perm);
	return get_compat_ipc_perm(&out->shm_perm, &p->shm_perm);
}

/* compat_ksys_shmctl(): @cmd without IPC_64, @version parsed off it. */
static long compat_shmctl(int id, int cmd, void __user *uptr, int version)
{
	struct shminfo64 info;
	struct shm_info sinfo;
	struct shmid64_ds ds;
	long err;

	if (cmd < 0 || id < 0)
		return -EINVAL;
	switch (cmd) {
	case IPC_INFO:
	case SHM_INFO:
		err = kipc_shm_info(cmd, &info, &sinfo);
		if (err < 0)
			return err;
		if (cmd == IPC_INFO &&
		    copy_compat_shminfo_to_user(uptr, &info, version))
			err = -EFAULT;
		if (cmd == SHM_INFO && put_compat_shm_info(&sinfo, uptr))
			err = -EFAULT;
		return err;
	case IPC_STAT:
	case SHM_STAT_ANY:
	case SHM_STAT:
		err = kipc_shm_stat(id, cmd, &ds);
		if (err < 0)
			return err;
		if (copy_compat_shmid_to_user(uptr, &ds, version))
			err = -EFAULT;
		return err;
	case IPC_SET:
		if (copy_compat_shmid_from_user(&ds, uptr, version))
			return -EFAULT;
		fallthrough;
	case IPC_RMID:
	case SHM_LOCK:
	case SHM_UNLOCK:
		return kipc_shm_down(id, cmd, &ds);
	}
	return -EINVAL;
}

/* ---- message queues ---- */

static int copy_compat_msqid_from_user(struct msqid64_ds *out,
				       void __user *buf, int version)
{
	struct compat_msqid64_ds __user *p64 = buf;
	struct compat_msqid_ds __user *p = buf;

	memset(out, 0, sizeof(*out));
	if (version == IPC_64) {
		if (get_compat_ipc64_perm(&out->msg_perm, &p64->msg_perm))
			return -EFAULT;
		if (get_user(out->msg_qbytes, &p64->msg_qbytes))
			return -EFAULT;
		return 0;
	}
	if (get_compat_ipc_perm(&out->msg_perm, &p->msg_perm))
		return -EFAULT;
	if (get_user(out->msg_qbytes, &p->msg_qbytes))
		return -EFAULT;
	return 0;
}

static int copy_compat_msqid_to_user(void __user *buf,
				     const struct msqid64_ds *in, int version)
{
	struct compat_msqid64_ds v64;
	struct compat_msqid_ds v;

	if (version == IPC_64) {
		memset(&v64, 0, sizeof(v64));
		to_compat_ipc64_perm(&v64.msg_perm, &in->msg_perm);
		v64.msg_stime = lower_32_bits(in->msg_stime);
		v64.msg_stime_high = upper_32_bits(in->msg_stime);
		v64.msg_rtime = lower_32_bits(in->msg_rtime);
		v64.msg_rtime_high = upper_32_bits(in->msg_rtime);
		v64.msg_ctime = lower_32_bits(in->msg_ctime);
		v64.msg_ctime_high = upper_32_bits(in->msg_ctime);
		v64.msg_cbytes = in->msg_cbytes;
		v64.msg_qnum = in->msg_qnum;
		v64.msg_qbytes = in->msg_qbytes;
		v64.msg_lspid = in->msg_lspid;
		v64.msg_lrpid = in->msg_lrpid;
		return copy_to_user(buf, &v64, sizeof(v64)) ? -EFAULT : 0;
	}
	memset(&v, 0, sizeof(v));
	to_compat_ipc_perm(&v.msg_perm, &in->msg_perm);
	v.msg_stime = in->msg_stime;
	v.msg_rtime = in->msg_rtime;
	v.msg_ctime = in->msg_ctime;
	v.msg_cbytes = in->msg_cbytes;
	v.msg_qnum = in->msg_qnum;
	v.msg_qbytes = in->msg_qbytes;
	v.msg_lspid = in->msg_lspid;
	v.msg_lrpid = in->msg_lrpid;
	return copy_to_user(buf, &v, sizeof(v)) ? -EFAULT : 0;
}

/* compat_ksys_msgctl(); struct msginfo is the same for 32-bit tasks. */
static long compat_msgctl(int id, int cmd, void __user *uptr, int version)
{
	struct msqid64_ds ds;
	long err;

	if (id < 0 || cmd < 0)
		return -EINVAL;
	switch (cmd & ~IPC_64) {
	case IPC_INFO:
	case MSG_INFO:
	case IPC_RMID:
		return kipc_do_msgctl(id, cmd, uptr);
	case IPC_STAT:
	case MSG_STAT:
	case MSG_STAT_ANY:
		err = kipc_msg_stat(id, cmd & ~IPC_64, &ds);
		if (err < 0)
			return err;
		if (copy_compat_msqid_to_user(uptr, &ds, version))
			err = -EFAULT;
		return err;
	case IPC_SET:
		if (copy_compat_msqid_from_user(&ds, uptr, version))
			return -EFAULT;
		return kipc_msg_set(id, &ds);
	}
	return -EINVAL;
}

static long compat_msgsnd(int id, compat_uptr_t msgp, compat_ssize_t msgsz,
			  int flg)
{
	struct compat_kipc_msgbuf __user *up = compat_ptr(msgp);
	compat_long_t mtype;

	if (get_user(mtype, &up->mtype))
		return -EFAULT;
	return kipc_do_msgsnd(id, mtype, up->mtext, (ssize_t)msgsz, flg);
}

/* compat_do_msg_fill(): a 32-bit mtype. */
static long compat_msg_fill(void __user *dest, long mtype, const void *text,
			    size_t len)
{
	struct compat_kipc_msgbuf __user *msgp = dest;

	if (put_user((compat_long_t)mtype, &msgp->mtype) ||
	    copy_to_user(msgp->mtext, text, len))
		return -EFAULT;
	return len;
}

static long compat_msgrcv(int id, compat_uptr_t msgp, compat_ssize_t msgsz,
			  compat_long_t type, int flg)
{
	return kipc_do_msgrcv(id, compat_ptr(msgp), (ssize_t)msgsz,
			      (long)type, flg, compat_msg_fill);
}

/* ---- semaphores ---- */

static int copy_compat_semid_from_user(struct semid64_ds *out,
				       void __user *buf, int version)
{
	struct compat_semid64_ds __user *p64 = buf;
	struct compat_semid_ds __user *p = buf;

	memset(out, 0, sizeof(*out));
	if (version == IPC_64)
		return get_compat_ipc64_perm(&out->sem_perm, &p64->sem_perm);
	return get_compat_ipc_perm(&out->sem_perm, &p->sem_perm);
}

static int copy_compat_semid_to_user(void __user *buf,
				     const struct semid64_ds *in, int version)
{
	struct compat_semid64_ds v64;
	struct compat_semid_ds v;

	if (version == IPC_64) {
		memset(&v64, 0, sizeof(v64));
		to_compat_ipc64_perm(&v64.sem_perm, &in->sem_perm);
		v64.sem_otime = lower_32_bits(in->sem_otime);
		v64.sem_otime_high = upper_32_bits(in->sem_otime);
		v64.sem_ctime = lower_32_bits(in->sem_ctime);
		v64.sem_ctime_high = upper_32_bits(in->sem_ctime);
		v64.sem_nsems = in->sem_nsems;
		return copy_to_user(buf, &v64, sizeof(v64)) ? -EFAULT : 0;
	}
	memset(&v, 0, sizeof(v));
	to_compat_ipc_perm(&v.sem_perm, &in->sem_perm);
	v.sem_otime = in->sem_otime;
	v.sem_ctime = in->sem_ctime;
	v.sem_nsems = in->sem_nsems;
	return copy_to_user(buf, &v, sizeof(v)) ? -EFAULT : 0;
}

/*
 * compat_ksys_semctl(). struct seminfo, the unsigned short arrays of
 * GETALL and SETALL and SETVAL's int are the same for 32-bit tasks.
 */
static long compat_semctl(int id, int semnum, int cmd, int arg, int version)
{
	void __user *p = compat_ptr(arg);
	struct semid64_ds ds;
	long err;

	if (id < 0)
		return -EINVAL;
	switch (cmd & ~IPC_64) {
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY:
		err = kipc_sem_stat(id, cmd & ~IPC_64, &ds);
		if (err < 0)
			return err;
		if (copy_compat_semid_to_user(p, &ds, version))
			err = -EFAULT;
		return err;
	case IPC_SET:
		if (copy_compat_semid_from_user(&ds, p, version))
			return -EFAULT;
		return kipc_sem_down(id, IPC_SET, &ds);
	case IPC_RMID:
		return kipc_sem_down(id, IPC_RMID, &ds);
	case SETVAL:
		return kipc_do_semctl(id, semnum, cmd, (unsigned long)arg);
	}
	return kipc_do_semctl(id, semnum, cmd, (unsigned long)p);
}

static long compat_semtimedop(int id, struct sembuf __user *sops,
			      unsigned int nsops,
			      const struct old_timespec32 __user *timeout)
{
	struct timespec64 ts;

	if (!timeout)
		return kipc_do_semtimedop(id, sops, nsops, NULL);
	if (get_old_timespec32(&ts, timeout))
		return -EFAULT;
	return kipc_do_semtimedop(id, sops, nsops, &ts);
}

/* ---- the ia32 entry points ---- */

enum kipc_compat_call {
	KIPC_C_IPC, KIPC_C_SHMGET, KIPC_C_SHMAT, KIPC_C_SHMDT, KIPC_C_SHMCTL,
	KIPC_C_MSGGET, KIPC_C_MSGSND, KIPC_C_MSGRCV, KIPC_C_MSGCTL,
	KIPC_C_SEMGET, KIPC_C_SEMTIMEDOP, KIPC_C_SEMCTL,
	KIPC_C_NR
};

static atomic64_t kipc_compat_counts[KIPC_C_NR];
static struct kipc_hook kipc_compat_hooks[KIPC_C_NR];

/* The arguments of an ia32 system call, as SC_IA32_REGS_TO_ARGS(). */
#define A0 ((u32)regs->bx)
#define A1 ((u32)regs->cx)
#define A2 ((u32)regs->dx)
#define A3 ((u32)regs->si)
#define A4 ((u32)regs->di)
#define A5 ((u32)regs->bp)

/*
 * ipc(2): compat_ksys_ipc(). The calls it does not know (ENOSYS) go to
 * the kernel's.
 */
static long compat_ipc(const struct pt_regs *regs)
{
	u32 call = A0, third = A3, ptr = A4, fifth = A5;
	int first = A1, second = A2;
	int version = call >> 16;	/* hack for backward compatibility */
	void __user *uptr = compat_ptr(ptr);
	struct compat_ipc_kludge ipck;
	unsigned long raddr;
	long err;
	int cmd;
	u32 pad;

	switch (call & 0xffff) {
	case KIPC_SEMOP:
		return kipc_do_semtimedop(first, uptr, second, NULL);
	case KIPC_SEMTIMEDOP:
		if (!IS_ENABLED(CONFIG_COMPAT_32BIT_TIME))
			break;
		return compat_semtimedop(first, uptr, second,
					 compat_ptr(fifth));
	case KIPC_SEMGET:
		return kipc_do_semget(first, second, third);
	case KIPC_SEMCTL:
		if (!ptr)
			return -EINVAL;
		if (get_user(pad, (u32 __user *)uptr))
			return -EFAULT;
		cmd = third;
		version = compat_parse_version(&cmd);
		return compat_semctl(first, second, cmd, pad, version);
	case KIPC_MSGSND:
		return compat_msgsnd(first, ptr, second, third);
	case KIPC_MSGRCV:
		if (first < 0 || second < 0)
			return -EINVAL;
		if (version)
			return compat_msgrcv(first, ptr, second, fifth, third);
		if (!uptr)
			return -EINVAL;
		if (copy_from_user(&ipck, uptr, sizeof(ipck)))
			return -EFAULT;
		return compat_msgrcv(first, ipck.msgp, second, ipck.msgtyp,
				     third);
	case KIPC_MSGGET:
		return kipc_do_msgget(first, second);
	case KIPC_MSGCTL:
		version = compat_parse_version(&second);
		return compat_msgctl(first, second, uptr, version);
	case KIPC_SHMAT:
		if (version == 1)
			return -EINVAL;
		err = kipc_do_shmat(first, (unsigned long)uptr, second);
		if (IS_ERR_VALUE(err))
			return err;
		raddr = err;
		return put_user(raddr,
				(compat_ulong_t __user *)compat_ptr(third));
	case KIPC_SHMDT:
		return kipc_do_shmdt((unsigned long)uptr);
	case KIPC_SHMGET:
		return kipc_do_shmget(first, (unsigned int)second, third);
	case KIPC_SHMCTL:
		version = compat_parse_version(&second);
		return compat_shmctl(first, second, uptr, version);
	}
	return kipc_compat_hooks[KIPC_C_IPC].orig(regs);
}

#define KIPC_COMPAT(call, name, expr)					\
static long kipc_ia32_##name(const struct pt_regs *regs)		\
{									\
	atomic64_inc(&kipc_compat_counts[KIPC_C_##call]);		\
	return expr;							\
}									\
KIPC_HOOK_ENTRY(kipc_ia32_##name)

KIPC_COMPAT(IPC, ipc, compat_ipc(regs))
KIPC_COMPAT(SHMGET, shmget, kipc_do_shmget((key_t)A0, (size_t)A1, (int)A2))
KIPC_COMPAT(SHMAT, shmat, kipc_do_shmat((int)A0, A1, (int)A2))
KIPC_COMPAT(SHMDT, shmdt, kipc_do_shmdt(A0))
KIPC_COMPAT(SHMCTL, shmctl, compat_shmctl((int)A0, (int)A1, compat_ptr(A2),
					   IPC_64))
KIPC_COMPAT(MSGGET, msgget, kipc_do_msgget((key_t)A0, (int)A1))
KIPC_COMPAT(MSGSND, msgsnd, compat_msgsnd((int)A0, A1, (compat_ssize_t)A2,
					   (int)A3))
KIPC_COMPAT(MSGRCV, msgrcv, compat_msgrcv((int)A0, A1, (compat_ssize_t)A2,
					   (compat_long_t)A3, (int)A4))
KIPC_COMPAT(MSGCTL, msgctl, compat_msgctl((int)A0, (int)A1, compat_ptr(A2),
					   IPC_64))
KIPC_COMPAT(SEMGET, semget, kipc_do_semget((key_t)A0, (int)A1, (int)A2))
KIPC_COMPAT(SEMCTL, semctl, compat_semctl((int)A0, (int)A1, (int)A2,
					   (int)A3, IPC_64))

/* semtimedop_time64: sys_semtimedop, a 64-bit __kernel_timespec. */
static long kipc_ia32_semtimedop(const struct pt_regs *regs)
{
	const struct __kernel_timespec __user *uts = compat_ptr(A3);
	struct timespec64 ts;

	atomic64_inc(&kipc_compat_counts[KIPC_C_SEMTIMEDOP]);
	if (uts && get_timespec64(&ts, uts))
		return -EFAULT;
	return kipc_do_semtimedop((int)A0, compat_ptr(A1), A2,
				  uts ? &ts : NULL);
}
KIPC_HOOK_ENTRY(kipc_ia32_semtimedop)

static struct kipc_hook kipc_compat_hooks[KIPC_C_NR] = {
	[KIPC_C_IPC] = KIPC_HOOK("__ia32_compat_sys_ipc", kipc_ia32_ipc),
	[KIPC_C_SHMGET] = KIPC_HOOK("__ia32_sys_shmget", kipc_ia32_shmget),
	[KIPC_C_SHMAT] = KIPC_HOOK("__ia32_compat_sys_shmat", kipc_ia32_shmat),
	[KIPC_C_SHMDT] = KIPC_HOOK("__ia32_sys_shmdt", kipc_ia32_shmdt),
	[KIPC_C_SHMCTL] = KIPC_HOOK("__ia32_compat_sys_shmctl",
				    kipc_ia32_shmctl),
	[KIPC_C_MSGGET] = KIPC_HOOK("__ia32_sys_msgget", kipc_ia32_msgget),
	[KIPC_C_MSGSND] = KIPC_HOOK("__ia32_compat_sys_msgsnd",
				    kipc_ia32_msgsnd),
	[KIPC_C_MSGRCV] = KIPC_HOOK("__ia32_compat_sys_msgrcv",
				    kipc_ia32_msgrcv),
	[KIPC_C_MSGCTL] = KIPC_HOOK("__ia32_compat_sys_msgctl",
				    kipc_ia32_msgctl),
	[KIPC_C_SEMGET] = KIPC_HOOK("__ia32_sys_semget", kipc_ia32_semget),
	[KIPC_C_SEMTIMEDOP] = KIPC_HOOK("__ia32_sys_semtimedop",
					kipc_ia32_semtimedop),
	[KIPC_C_SEMCTL] = KIPC_HOOK("__ia32_compat_sys_semctl",
				    kipc_ia32_semctl),
};

void kipc_compat_counts_show(struct seq_file *m)
{
	unsigned int i;

	for (i = 0; i < KIPC_C_NR; i++)
		seq_printf(m, "%s %lld\n", kipc_compat_hooks[i].name +
			   str_has_prefix(kipc_compat_hooks[i].name, "__"),
			   (long long)atomic64_read(&kipc_compat_counts[i]));
}

int kipc_compat_install(void)
{
	return kipc_hooks_install(kipc_compat_hooks, KIPC_C_NR);
}

void kipc_compat_remove(void)
{
	kipc_hooks_remove(kipc_compat_hooks, KIPC_C_NR);
}
