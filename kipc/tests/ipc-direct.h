/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipc-diff built with -m32 -DIPC_DIRECT: the System V calls go to the
 * direct ia32 system calls of syscall_32.tbl (shmget 395 ... msgctl 402,
 * semtimedop_time64 420) instead of glibc's ipc(2). The structures are
 * glibc's 32-bit ones, whose layouts are the kernel's compat_*64_ds.
 */
#ifndef IPC_DIRECT_H
#define IPC_DIRECT_H

#include <stdarg.h>
#include <stdint.h>

#ifndef __i386__
#error "ipc-direct.h is for -m32 builds"
#endif

static inline int d_shmget(key_t key, size_t size, int flg)
{
	return syscall(395, key, size, flg);
}

static inline int d_shmctl(int id, int cmd, struct shmid_ds *ds)
{
	return syscall(396, id, cmd, ds);
}

static inline void *d_shmat(int id, const void *addr, int flg)
{
	return (void *)syscall(397, id, addr, flg);
}

static inline int d_shmdt(const void *addr)
{
	return syscall(398, addr);
}

static inline int d_msgget(key_t key, int flg)
{
	return syscall(399, key, flg);
}

static inline int d_msgsnd(int id, const void *msgp, size_t sz, int flg)
{
	return syscall(400, id, msgp, sz, flg);
}

static inline ssize_t d_msgrcv(int id, void *msgp, size_t sz, long type,
			       int flg)
{
	return syscall(401, id, msgp, sz, type, flg);
}

static inline int d_msgctl(int id, int cmd, struct msqid_ds *ds)
{
	return syscall(402, id, cmd, ds);
}

static inline int d_semget(key_t key, int nsems, int flg)
{
	return syscall(393, key, nsems, flg);
}

static inline int d_semctl(int id, int num, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	/* GETVAL and the like pass nothing: what is there is ignored */
	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return syscall(394, id, num, cmd, arg);
}

static inline int d_semtimedop(int id, struct sembuf *sops, size_t n,
			       const struct timespec *ts)
{
	struct { int64_t sec, nsec; } t;

	if (ts) {
		t.sec = ts->tv_sec;
		t.nsec = ts->tv_nsec;
	}
	return syscall(420, id, sops, n, ts ? &t : NULL);
}

static inline int d_semop(int id, struct sembuf *sops, size_t n)
{
	return d_semtimedop(id, sops, n, NULL);
}

#define shmget d_shmget
#define shmctl d_shmctl
#define shmat d_shmat
#define shmdt d_shmdt
#define msgget d_msgget
#define msgsnd d_msgsnd
#define msgrcv d_msgrcv
#define msgctl d_msgctl
#define semget d_semget
#define semctl d_semctl
#define semtimedop d_semtimedop
#define semop d_semop

#endif /* IPC_DIRECT_H */
