/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kDDM generic netlink control plane.
 *
 * Described by Documentation/netlink/specs/kddm.yaml; keep both in step.
 * Every command that changes state needs CAP_NET_ADMIN. Requests are
 * validated strictly: unknown attributes, attributes of the wrong size and
 * attributes sent to a command that does not take them are refused.
 */
#ifndef _UAPI_KDDM_KDDM_NETLINK_H
#define _UAPI_KDDM_KDDM_NETLINK_H

#include <linux/types.h>

#define KDDM_GENL_NAME		"kddm"
#define KDDM_GENL_VERSION	1

/* Number of buckets of KDDM_A_STAT_LAT_HIST. */
#define KDDM_STAT_LAT_BUCKETS	16

/* KDDM_A_NODE_STATE values. */
enum kddm_nl_node_state {
	KDDM_NODE_STATE_DOWN,	/* was up, is gone */
	KDDM_NODE_STATE_UP,
	KDDM_NODE_STATE_SELF,	/* this node */
};

/* Top-level attributes. */
enum kddm_attr {
	KDDM_A_UNSPEC,
	KDDM_A_PAD,
	KDDM_A_NODE_ID,		/* u32, 1..65535 (0 in replies: unset) */
	KDDM_A_NODE_STATE,	/* u8, enum kddm_nl_node_state */
	KDDM_A_NODE_JOINED,	/* u8, 0 or 1 */
	KDDM_A_SET_ID,		/* u64 */
	KDDM_A_SET_LINKER,	/* string, io-linker name */
	KDDM_A_SET_OBJ_SIZE,	/* u32, bytes */
	KDDM_A_SET_POLICY,	/* u32, default-owner policy */
	KDDM_A_SET_MANAGER,	/* u32, node id */
	KDDM_A_SET_NR_OBJECTS,	/* u64, objects with local state */
	KDDM_A_SET_STATS,	/* nest, enum kddm_stat_attr */
	KDDM_A_GSTATS,		/* nest, enum kddm_gstat_attr */
	KDDM_A_KEY,		/* binary, 16..64 bytes: the cluster key (JOIN) */
	KDDM_A_NODE_ACTIVE,	/* u8: in the majority (0: fenced or joining) */
	KDDM_A_MAC_DATA,	/* binary, 1..KDDM_MAC_DATA_MAX bytes (MAC) */
	KDDM_A_MAC,		/* binary, KDDM_MAC_LEN bytes (MAC reply) */

	__KDDM_A_MAX,
	KDDM_A_MAX = __KDDM_A_MAX - 1
};

/* Per-set statistics, nested in KDDM_A_SET_STATS. */
enum kddm_stat_attr {
	KDDM_A_STAT_UNSPEC,
	KDDM_A_STAT_PAD,
	KDDM_A_STAT_GETS,		/* u64 */
	KDDM_A_STAT_GRABS,		/* u64 */
	KDDM_A_STAT_INVALIDATIONS,	/* u64 */
	KDDM_A_STAT_MSGS_SENT,		/* u64 */
	KDDM_A_STAT_MSGS_RCVD,		/* u64 */
	KDDM_A_STAT_BYTES_SENT,		/* u64 */
	KDDM_A_STAT_BYTES_RCVD,		/* u64 */
	KDDM_A_STAT_LAT_HIST,		/* nest, enum kddm_lat_attr */
	KDDM_A_STAT_COPIES,		/* u64, objects with storage here */
	KDDM_A_STAT_CACHE_MAX,		/* u64, bound on them (0: none) */
	KDDM_A_STAT_EVICTIONS,		/* u64, written back and dropped */

	__KDDM_A_STAT_MAX,
	KDDM_A_STAT_MAX = __KDDM_A_STAT_MAX - 1
};

/*
 * Latency histogram, nested in KDDM_A_STAT_LAT_HIST: exactly
 * KDDM_STAT_LAT_BUCKETS KDDM_A_LAT_BUCKET attributes in order; the i-th
 * (from 0) counts the gets and grabs that needed messages and took
 * [2^i, 2^(i+1)) microseconds (the first one also counts those under 1us).
 */
enum kddm_lat_attr {
	KDDM_A_LAT_UNSPEC,
	KDDM_A_LAT_PAD,
	KDDM_A_LAT_BUCKET,		/* u64, multi-attr */

	__KDDM_A_LAT_MAX,
	KDDM_A_LAT_MAX = __KDDM_A_LAT_MAX - 1
};

/* Node-wide counters, nested in KDDM_A_GSTATS. */
enum kddm_gstat_attr {
	KDDM_A_GSTAT_UNSPEC,
	KDDM_A_GSTAT_PAD,
	KDDM_A_GSTAT_MSGS_SENT,		/* u64 */
	KDDM_A_GSTAT_MSGS_RCVD,		/* u64 */
	KDDM_A_GSTAT_BYTES_SENT,	/* u64 */
	KDDM_A_GSTAT_BYTES_RCVD,	/* u64 */
	KDDM_A_GSTAT_MSGS_DROPPED,	/* u64 */
	KDDM_A_GSTAT_RPC_TIMEOUTS,	/* u64 */
	KDDM_A_GSTAT_FENCES,		/* u64: times this node was fenced */
	KDDM_A_GSTAT_BAD_HELLOS,	/* u64: HELLOs that failed the key */

	__KDDM_A_GSTAT_MAX,
	KDDM_A_GSTAT_MAX = __KDDM_A_GSTAT_MAX - 1
};

/*
 * KDDM_CMD_MAC: HMAC-SHA256 under the cluster key of "KDDMUSER" followed by
 * MAC_DATA, for root's user-space services (kddm-migrated) to prove to
 * each other that they run on member nodes. Never a valid kDDM HELLO.
 */
#define KDDM_MAC_LEN		32
#define KDDM_MAC_DATA_MAX	256

enum kddm_cmd {
	KDDM_CMD_UNSPEC,
	KDDM_CMD_NODE_SET_ID,	/* admin; req: NODE_ID */
	KDDM_CMD_JOIN,		/* admin */
	KDDM_CMD_LEAVE,		/* admin; -EBUSY while sets exist */
	KDDM_CMD_NODE_GET,	/* do: NODE_ID (self), NODE_JOINED;
				 * dump: NODE_ID, NODE_STATE per node
				 */
	KDDM_CMD_SET_GET,	/* do (req: SET_ID) or dump: SET_* */
	KDDM_CMD_STATS_GET,	/* do: GSTATS */
	KDDM_CMD_MAC,		/* admin; req: MAC_DATA; reply: MAC */

	__KDDM_CMD_MAX,
	KDDM_CMD_MAX = __KDDM_CMD_MAX - 1
};

#endif /* _UAPI_KDDM_KDDM_NETLINK_H */
