/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kDDM tracepoints: protocol events (messages in and out, coherence
 * messages handed to the engine, object operations, membership).
 * Enable with: echo 1 > /sys/kernel/tracing/events/kddm/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kddm

#if !defined(_KDDM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KDDM_TRACE_H

#include <linux/tracepoint.h>
#include <kddm/compat.h>

TRACE_EVENT(kddm_msg_send,
	TP_PROTO(u32 dst, u8 type, u64 set_id, u64 obj_id, u32 len, int ret),
	TP_ARGS(dst, type, set_id, obj_id, len, ret),
	TP_STRUCT__entry(
		__field(u32, dst)
		__field(u8, type)
		__field(u64, set_id)
		__field(u64, obj_id)
		__field(u32, len)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->dst = dst;
		__entry->type = type;
		__entry->set_id = set_id;
		__entry->obj_id = obj_id;
		__entry->len = len;
		__entry->ret = ret;
	),
	TP_printk("dst=%u type=%u set=%llx obj=%llx len=%u ret=%d",
		  __entry->dst, __entry->type, __entry->set_id,
		  __entry->obj_id, __entry->len, __entry->ret)
);

TRACE_EVENT(kddm_msg_recv,
	TP_PROTO(u32 src, u8 type, u64 set_id, u64 obj_id, u32 len),
	TP_ARGS(src, type, set_id, obj_id, len),
	TP_STRUCT__entry(
		__field(u32, src)
		__field(u8, type)
		__field(u64, set_id)
		__field(u64, obj_id)
		__field(u32, len)
	),
	TP_fast_assign(
		__entry->src = src;
		__entry->type = type;
		__entry->set_id = set_id;
		__entry->obj_id = obj_id;
		__entry->len = len;
	),
	TP_printk("src=%u type=%u set=%llx obj=%llx len=%u",
		  __entry->src, __entry->type, __entry->set_id,
		  __entry->obj_id, __entry->len)
);

TRACE_EVENT(kddm_coh_rx,
	TP_PROTO(u64 set_id, u64 obj_id, u32 src, u16 type, u32 req,
		 u8 state, int ret),
	TP_ARGS(set_id, obj_id, src, type, req, state, ret),
	TP_STRUCT__entry(
		__field(u64, set_id)
		__field(u64, obj_id)
		__field(u32, src)
		__field(u16, type)
		__field(u32, req)
		__field(u8, state)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->set_id = set_id;
		__entry->obj_id = obj_id;
		__entry->src = src;
		__entry->type = type;
		__entry->req = req;
		__entry->state = state;
		__entry->ret = ret;
	),
	TP_printk("set=%llx obj=%llx src=%u coh_type=%u req=%u state=%u ret=%d",
		  __entry->set_id, __entry->obj_id, __entry->src,
		  __entry->type, __entry->req, __entry->state, __entry->ret)
);

TRACE_EVENT(kddm_obj_op,
	TP_PROTO(const char *op, u64 set_id, u64 obj_id, int ret),
	TP_ARGS(op, set_id, obj_id, ret),
	TP_STRUCT__entry(
		__string(op, op)
		__field(u64, set_id)
		__field(u64, obj_id)
		__field(int, ret)
	),
	TP_fast_assign(
		kddm_assign_str(op, op);
		__entry->set_id = set_id;
		__entry->obj_id = obj_id;
		__entry->ret = ret;
	),
	TP_printk("%s set=%llx obj=%llx ret=%d", __get_str(op),
		  __entry->set_id, __entry->obj_id, __entry->ret)
);

TRACE_EVENT(kddm_node,
	TP_PROTO(u32 node, bool up),
	TP_ARGS(node, up),
	TP_STRUCT__entry(
		__field(u32, node)
		__field(bool, up)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->up = up;
	),
	TP_printk("node=%u %s", __entry->node, __entry->up ? "up" : "down")
);

#endif /* _KDDM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
