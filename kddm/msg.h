/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messaging: the versioned wire header, per-type handlers with a maximum
 * payload length the layer enforces, request/reply with timeouts.
 */
#ifndef _KDDM_MSG_H
#define _KDDM_MSG_H

#include <linux/types.h>

#include <kddm/kddm_wire.h>

/* A received message, decoded and checked against its header. */
struct kddm_msg {
	u8 type;
	u32 src;
	u32 rpc_id;
	u64 set_id;
	u64 obj_id;
	u32 len;
	void *data;
	u32 src_inc, dst_inc;	/* incarnations from the header */
	u32 tipc, ref;		/* the TIPC port it came from */
};

typedef void (*kddm_msg_handler_t)(struct kddm_msg *msg);

void kddm_msg_register(u8 type, u32 max_len, kddm_msg_handler_t fn);
int kddm_msg_send(u32 dst, u8 type, u64 set_id, u64 obj_id,
		  const void *p1, u32 l1, const void *p2, u32 l2);
int kddm_msg_queue(u32 dst, u8 type, u64 set_id, u64 obj_id,
		   const void *p1, u32 l1, const void *p2, u32 l2);
typedef int (*kddm_fill_t)(void *buf, u32 room, void *arg);
int kddm_msg_queue_fill(u32 dst, u8 type, u64 set_id, u64 obj_id,
			const void *p1, u32 l1, u32 max2, kddm_fill_t fill,
			void *arg);
int kddm_msg_send_fill(u32 dst, u8 type, u64 set_id, u64 obj_id,
		       const void *p1, u32 l1, u32 max2, kddm_fill_t fill,
		       void *arg);
void kddm_msg_flush_all(void);
bool kddm_msg_queued(void);
int kddm_rpc_call(u32 dst, u8 type, u64 set_id, u64 obj_id,
		  const void *req, u32 len, void *reply, u32 reply_max,
		  unsigned long timeout);
struct kddm_rpc;
struct kddm_rpc *kddm_rpc_start(u32 dst, u8 type, u64 set_id, u64 obj_id,
				const void *p1, u32 l1, const void *p2, u32 l2);
int kddm_rpc_end(struct kddm_rpc *rpc, unsigned long timeout);
int kddm_rpc_reply(const struct kddm_msg *req, int status,
		   const void *data, u32 len);
int kddm_msg_send_port(u32 tipc, u32 ref, u32 dst, u32 dst_inc, u8 type,
		       const void *p, u32 l);
void kddm_msg_recv(u32 tipc_node, u32 ref, void *buf, size_t len);
void kddm_msg_node_down(u32 node);
void kddm_msg_count_drop(void);
extern u32 kddm_lose_next;
extern u32 kddm_lose_bye;
void kddm_msg_stats(u64 *sent, u64 *rcvd, u64 *bsent, u64 *brcvd,
		    u64 *dropped, u64 *timeouts);

int kddm_msg_init(void);
void kddm_msg_exit(void);

#endif /* _KDDM_MSG_H */
