/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/kddm_load (kddm_mig.ko): every node's load vector, as kDDM objects.
 *
 * One well-known kDDM set (io-linker "kddm_load"), one object per node:
 * object (N << 48) is node N's vector, homed on node N. The balancer of
 * each node writes its own vector (PUBLISH: a grab of its object, local,
 * which invalidates the copies other nodes read) and reads the others'
 * (READ: a get, a copy fetched from that node once it changed). A node
 * that never published reads as all zeros (@seq 0); a node that is down
 * reads as an error (EHOSTDOWN, or ENOENT for a node never seen).
 *
 * NODES lists the nodes to read. PUBLISH needs CAP_SYS_ADMIN; READ and
 * NODES are open to every user.
 */
#ifndef _UAPI_KDDM_KDDM_LOAD_H
#define _UAPI_KDDM_KDDM_LOAD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KDDM_LOAD_VERSION	1
#define KDDM_LOAD_POLICY_LEN	16

/* kddm_load_vec.flags */
#define KDDM_LOAD_F_BALANCER	0x1	/* its balancer runs */
#define KDDM_LOAD_F_PAUSED	0x2	/* ... but moves nothing */

struct kddm_load_vec {
	__u32 node;		/* set by the module at PUBLISH */
	__u32 version;		/* KDDM_LOAD_VERSION */
	__u64 seq;		/* the publisher's count: 0, never published */
	__u64 time_ms;		/* the publisher's CLOCK_REALTIME */
	__u32 ncpus;		/* online CPUs */
	__u32 nr_running;	/* runnable tasks, averaged over the period */
	__u32 load_milli[3];	/* load averages (1, 5, 15 min) x 1000 */
	__u32 busy_permille;	/* CPU time used, last period, of all CPUs */
	__u64 mem_total_kb;
	__u64 mem_avail_kb;	/* MemAvailable */
	__u32 nr_movable;	/* processes the balancer may move from here */
	__u32 movable_busy;	/* their CPU use, last period, CPUs x 1000 */
	__u32 flags;		/* KDDM_LOAD_F_* */
	__u32 moves_out;	/* moves this balancer made since it started */
	char policy[KDDM_LOAD_POLICY_LEN];	/* NUL-terminated */
	__u32 run_milli;	/* nr_running x 1000, not rounded */
	__u32 pad;		/* zero */
	__u64 reserved[7];	/* zero */
};

struct kddm_load_read {
	__u32 node;		/* in */
	__u32 pad;
	__u64 vec;		/* user pointer to a struct kddm_load_vec */
};

#define KDDM_LOAD_NODES_MAX	256

/* NODES: the nodes this one knows (up now, or up since it joined) */
struct kddm_load_nodes {
	__u32 nr;		/* out: how many (ids[] holds the first 256) */
	__u32 self;		/* out: this node's id */
	__u32 ids[KDDM_LOAD_NODES_MAX];	/* ascending */
};

#define KDDM_LOAD_PUBLISH	_IOW('k', 0x60, struct kddm_load_vec)
#define KDDM_LOAD_READ		_IOW('k', 0x61, struct kddm_load_read)
#define KDDM_LOAD_NODES		_IOR('k', 0x62, struct kddm_load_nodes)

#endif /* _UAPI_KDDM_KDDM_LOAD_H */
