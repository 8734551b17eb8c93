/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transport: kernel TIPC sockets. One reliable-datagram socket per node,
 * bound to the TIPC service {KDDM_TIPC_TYPE, node id}, carries every kDDM
 * message; one topology-server subscription to that service type tells who
 * joins and leaves. Socket callbacks only queue work for one receive
 * thread: messages and membership events are handled there, in order.
 */
#ifndef _KDDM_TRANSPORT_H
#define _KDDM_TRANSPORT_H

#include <linux/types.h>
#include <linux/uio.h>
#include <kddm/kddm_wire.h>

#define KDDM_TIPC_MAX	KDDM_WIRE_DGRAM_MAX	/* TIPC_MAX_USER_MSG_SIZE */

struct kddm_transport_ops {
	/* a datagram from port @tipc_node:@ref, in worker context */
	void (*recv)(u32 tipc_node, u32 ref, void *buf, size_t len);
	/* port @tipc_node:@ref published / withdrew kDDM node id @id */
	void (*node_event)(u32 id, u32 tipc_node, u32 ref, bool up);
	/* TIPC returned a datagram sent to @tipc_node:@ref (TIPC_ERR_*) */
	void (*returned)(u32 tipc_node, u32 ref, u32 err);
	/* the datagrams there were are handled (for now) */
	void (*drained)(void);
};

int kddm_transport_start(u32 self, const struct kddm_transport_ops *ops);
void kddm_transport_stop(void);
int kddm_transport_send(u32 tipc, u32 ref, struct kvec *vec, size_t nvec,
			size_t len);
u32 kddm_transport_port(u32 *ref);
void kddm_transport_close_data(void);
int kddm_transport_open_data(u32 self);

/* Handles the topology events already received, from the receive thread. */
void kddm_transport_sync_topology(void);

/* Whether the caller is the receive thread, handling datagrams. */
bool kddm_transport_on_rx(void);

/* Waits until what the receive thread has queued is handled. */
void kddm_transport_flush(void);
struct kthread_work;
void kddm_transport_queue(struct kthread_work *w);

int kddm_transport_init(void);
void kddm_transport_exit(void);

#endif /* _KDDM_TRANSPORT_H */
