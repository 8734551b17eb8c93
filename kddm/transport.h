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
	/* a datagram from TIPC node address @tipc_node, in worker context */
	void (*recv)(u32 tipc_node, void *buf, size_t len);
	/* node @id (TIPC address @tipc_node) published / withdrew its socket */
	void (*node_event)(u32 id, u32 tipc_node, bool up);
};

int kddm_transport_start(u32 self, const struct kddm_transport_ops *ops);
void kddm_transport_stop(void);
int kddm_transport_send(u32 dst, struct kvec *vec, size_t nvec, size_t len);
u32 kddm_transport_tipc_addr(void);

/* Handles the topology events already received, from the receive thread. */
void kddm_transport_sync_topology(void);

/* Waits until what the receive thread has queued is handled. */
void kddm_transport_flush(void);

int kddm_transport_init(void);
void kddm_transport_exit(void);

#endif /* _KDDM_TRANSPORT_H */
