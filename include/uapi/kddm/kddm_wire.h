/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kDDM wire format: what nodes send each other over TIPC. All fields are
 * little endian. Shared by kddm.ko and the tests that play a hostile peer.
 */
#ifndef _UAPI_KDDM_WIRE_H
#define _UAPI_KDDM_WIRE_H

#include <linux/types.h>

#define KDDM_TIPC_TYPE		0x4b44444dU	/* TIPC service type "KDDM" */
#define KDDM_WIRE_MAGIC		0x4b44		/* "KD" */
/*
 * Bumped with any change to a message or to an object that kddm, kipc or
 * kdfs ship between nodes: nodes of different versions do not talk (see
 * Documentation/kddm/install.rst, rolling upgrades).
 */
#define KDDM_WIRE_VERSION	4

enum kddm_msg_type {
	KDDM_MSG_RPC_REPLY = 1,	/* reply to any rpc: __le32 status + data */
	KDDM_MSG_SET_LOOKUP,	/* rpc: set attributes by id */
	KDDM_MSG_SET_DESTROY,	/* the set is gone cluster-wide */
	KDDM_MSG_COH,		/* coherence protocol (struct kddm_wire_coh) */
	KDDM_MSG_PING,		/* rpc: echo, for tests and benchmarks */
	KDDM_MSG_SET_QUERY,	/* one-way: send me SET_INFO for this set */
	KDDM_MSG_SET_INFO,	/* one-way: set attributes (or none: gone) */
	KDDM_MSG_SET_LEAVE,	/* one-way: the sender closed the set */
	KDDM_MSG_FRAG,		/* a piece of a longer message */
	KDDM_MSG_HELLO,		/* one-way: a port proves it is node src */
	KDDM_MSG_BYE,		/* one-way: the sender declared us down */
	KDDM_MSG_SYNC,		/* rpc: home, write the object back */
	KDDM_MSG_CALL,		/* rpc: home, the io-linker's home_call */
	KDDM_MSG_BUNDLE,	/* messages to one node, sent as one */
	KDDM_MSG_NR,
};

/* Every message starts with this header. */
struct kddm_wire_hdr {
	__le16 magic;
	__u8 version;
	__u8 type;
	__le32 len;		/* payload bytes after the header */
	__le32 src;		/* sender's kDDM node id */
	__le32 rpc_id;		/* non-zero: rpc request or its reply */
	__le64 set_id;
	__le64 obj_id;
	__le32 src_inc;		/* sender's incarnation */
	__le32 dst_inc;		/* receiver's, as the sender knows it (0: HELLO) */
};

#define KDDM_HELLO_MAC		32

/*
 * KDDM_MSG_HELLO payload: HMAC-SHA256, keyed with the cluster key, of
 * "KDDMHELO" followed by these little-endian 32-bit words: sender id,
 * sender's TIPC node, sender's port, sender's incarnation (the header's
 * src_inc), receiver id, receiver's TIPC node, receiver's port. The
 * receiver takes the sender's port from TIPC, never from the payload.
 */
struct kddm_wire_hello {
	__u8 mac[KDDM_HELLO_MAC];
};

#define KDDM_BYE_LEAVING	1U	/* leaving on purpose: forget me */

/* KDDM_MSG_BYE payload. */
struct kddm_wire_bye {
	__le32 flags;
	__le32 pad;
};

/*
 * A message longer than one TIPC datagram (KDDM_WIRE_DGRAM_MAX bytes)
 * travels as KDDM_MSG_FRAG datagrams, sent in order and one message at a
 * time by each node: each carries this header and the next bytes of the
 * whole message (its own header included), at most KDDM_WIRE_MSG_MAX.
 * The outer header's set_id, obj_id and rpc_id are 0.
 */
struct kddm_wire_frag {
	__le32 seq;		/* the sender's message number */
	__le32 total;		/* bytes of the whole message */
	__le32 offset;		/* of these bytes in it */
	__le32 pad;
};

/*
 * KDDM_MSG_BUNDLE: several messages to one node in one datagram. Its
 * payload is the messages, each a whole message (header, then its len
 * bytes of payload) starting at a multiple of 8 bytes of the payload
 * (zero padding between). The outer header's set_id, obj_id and rpc_id
 * are 0; each inner message has the outer one's src, src_inc and
 * dst_inc, and is neither FRAG, HELLO, BYE nor BUNDLE. The receiver
 * handles them in order, as if they had come one by one.
 */

#define KDDM_WIRE_DGRAM_MAX	66000U		/* TIPC_MAX_USER_MSG_SIZE */
#define KDDM_WIRE_MSG_MAX	((1U << 20) + 4096)

/* KDDM_MSG_COH payload, followed by the object's data if any. */
struct kddm_wire_coh {
	__le16 type;		/* enum coh_msg_type (kddm/coh/coh.h) */
	__le16 flags;
	__le32 requester;
	__le32 req;
	__le32 owner_req;
	__le32 count;
	__le32 err;
	__le32 node;
	__le32 pad;
};

/* Set attributes: reply to SET_LOOKUP, payload of SET_INFO. */
struct kddm_wire_set {
	char linker[32];
	__le32 obj_size;
	__le32 policy;
	__le32 fixed_node;
	__le32 rr_max;
};

#endif /* _UAPI_KDDM_WIRE_H */
