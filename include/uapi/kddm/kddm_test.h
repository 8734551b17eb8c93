/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The test io-linker's character device, /dev/kddm_test: lets user space
 * drive kDDM objects of "kddm_test" sets (selftests and benchmarks only).
 */
#ifndef _UAPI_KDDM_TEST_H
#define _UAPI_KDDM_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KDDM_TEST_MAX_SIZE	(1U << 20)	/* KDDM_MAX_OBJ_SIZE */

struct kddm_test_set {
	__u64 set_id;		/* out of CREATE, in otherwise */
	__u32 obj_size;		/* 1..KDDM_TEST_MAX_SIZE */
	__u32 policy;		/* enum kddm_owner_policy */
	__u32 fixed_node;	/* 0: the creating node */
	__u32 pad;
};

#define KDDM_TEST_F_NO_FT	0x1	/* no first touch */
#define KDDM_TEST_F_TRY		0x2	/* try-grab: -EBUSY, never wait */
#define KDDM_TEST_F_HOLD	0x4	/* stay frozen until KDDM_TEST_PUT */
#define KDDM_TEST_F_ASYNC	0x8	/* GET: prefetch only */

struct kddm_test_obj {
	__u64 set_id;
	__u64 obj_id;
	__u64 buf;		/* user pointer: data out (GET) or in (WRITE) */
	__u32 len;		/* bytes of buf; GET: set to the bytes copied */
	__u32 flags;		/* KDDM_TEST_F_* */
	__u64 value;		/* INCR: value after the increment */
};

#define KDDM_TEST_IOC		0xdd
#define KDDM_TEST_CREATE	_IOWR(KDDM_TEST_IOC, 1, struct kddm_test_set)
#define KDDM_TEST_DESTROY	_IOW(KDDM_TEST_IOC, 2, struct kddm_test_set)
#define KDDM_TEST_GET		_IOWR(KDDM_TEST_IOC, 3, struct kddm_test_obj)
#define KDDM_TEST_WRITE		_IOWR(KDDM_TEST_IOC, 4, struct kddm_test_obj)
#define KDDM_TEST_INCR		_IOWR(KDDM_TEST_IOC, 5, struct kddm_test_obj)
#define KDDM_TEST_PUT		_IOW(KDDM_TEST_IOC, 6, struct kddm_test_obj)
#define KDDM_TEST_REMOVE	_IOW(KDDM_TEST_IOC, 7, struct kddm_test_obj)
#define KDDM_TEST_FLUSH		_IOW(KDDM_TEST_IOC, 8, struct kddm_test_obj)
#define KDDM_TEST_FIND		_IOWR(KDDM_TEST_IOC, 9, struct kddm_test_obj)
#define KDDM_TEST_GRAB		_IOWR(KDDM_TEST_IOC, 10, struct kddm_test_obj)
/* kddm_sync_object(): the home copies the object into its store */
#define KDDM_TEST_SYNC		_IOW(KDDM_TEST_IOC, 11, struct kddm_test_obj)
/* this node's store: the first KDDM_TEST_STORE_MAX bytes last synced */
#define KDDM_TEST_STORED	_IOWR(KDDM_TEST_IOC, 12, struct kddm_test_obj)
#define KDDM_TEST_STORE_MAX	256

#endif /* _UAPI_KDDM_TEST_H */
