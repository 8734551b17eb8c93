// SPDX-License-Identifier: GPL-2.0
/*
 * kddm.ko control plane: the "kddm" generic netlink family.
 *
 * Described by Documentation/netlink/specs/kddm.yaml and
 * include/uapi/kddm/kddm_netlink.h. Every operation has its own policy and
 * is validated strictly; operations that change state need CAP_NET_ADMIN.
 * Requests that take no attribute get the core's reject-all policy. Every
 * error a user can cause carries an extended-ack message.
 *
 * The family is not parallel_ops: the genetlink mutex serialises all
 * requests, so the checks made before calling into membership are not
 * raced by another request.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <kddm/compat.h>
#include <uapi/kddm/kddm_netlink.h>

#include "internal.h"

static struct genl_family kddm_nl_family;

/* Resume point of a dump, kept in netlink_callback.ctx between calls. */
struct kddm_nl_dump_ctx {
	u64 cursor;	/* nodes: next id to dump; sets: last id dumped */
	bool done;
};

static struct kddm_nl_dump_ctx *kddm_nl_dump_ctx(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct kddm_nl_dump_ctx) > sizeof(cb->ctx));
	return (struct kddm_nl_dump_ctx *)cb->ctx;
}

/* Not const: 6.1's nla_policy.range points to a non-const struct. */
static struct netlink_range_validation kddm_nl_node_id_range __ro_after_init = {
	.min = 1,
	.max = KDDM_MAX_NODE,
};

static const struct nla_policy kddm_nl_node_set_id_policy[KDDM_A_NODE_ID + 1] = {
	[KDDM_A_NODE_ID] = NLA_POLICY_FULL_RANGE(NLA_U32,
						 &kddm_nl_node_id_range),
};

static const struct nla_policy kddm_nl_set_get_policy[KDDM_A_SET_ID + 1] = {
	[KDDM_A_SET_ID] = { .type = NLA_U64 },
};

#define KDDM_KEY_MIN	16
#define KDDM_KEY_MAX	64

static const struct nla_policy kddm_nl_join_policy[KDDM_A_KEY + 1] = {
	[KDDM_A_KEY] = { .type = NLA_BINARY, .len = KDDM_KEY_MAX },
};

static const struct nla_policy kddm_nl_mac_policy[KDDM_A_MAC_DATA + 1] = {
	[KDDM_A_MAC_DATA] = NLA_POLICY_RANGE(NLA_BINARY, 1, KDDM_MAC_DATA_MAX),
};

/* ---- node id, join, leave ---- */

static int kddm_nl_node_set_id(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *attr = info->attrs[KDDM_A_NODE_ID];
	int err;

	if (!attr) {
		NL_SET_ERR_MSG(extack, "missing node id");
		NL_SET_ERR_ATTR_MISS(extack, NULL, KDDM_A_NODE_ID);
		return -EINVAL;
	}
	if (kddm_joined()) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "cannot change the node id while joined");
		return -EBUSY;
	}

	err = kddm_set_self(nla_get_u32(attr));
	switch (err) {
	case 0:
		break;
	case -EBUSY:
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "cannot change the node id while joined");
		break;
	case -ERANGE:
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "node id out of range (1..65535)");
		break;
	default:
		NL_SET_ERR_MSG_ATTR(extack, attr, "cannot set the node id");
		break;
	}
	return err;
}

static int kddm_nl_join(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *key = info->attrs[KDDM_A_KEY];
	int err;

	if (kddm_joined()) {
		NL_SET_ERR_MSG(extack, "already joined");
		return -EALREADY;
	}
	if (!kddm_self()) {
		NL_SET_ERR_MSG(extack, "node id not set");
		return -EINVAL;
	}
	if (key && nla_len(key) < KDDM_KEY_MIN) {
		NL_SET_ERR_MSG_ATTR(extack, key,
				    "cluster key too short (16..64 bytes)");
		return -EINVAL;
	}
	err = key ? kddm_set_key(nla_data(key), nla_len(key)) : 0;
	if (err) {
		NL_SET_ERR_MSG_ATTR(extack, key, "cannot use the cluster key");
		return err;
	}

	err = kddm_join();
	switch (err) {
	case 0:
		break;
	case -EINVAL:
		NL_SET_ERR_MSG(extack, "node id not set");
		break;
	case -EALREADY:
	case -EBUSY:
		NL_SET_ERR_MSG(extack, "already joined");
		break;
	default:
		NL_SET_ERR_MSG(extack, "cannot join the cluster");
		break;
	}
	return err;
}

static int kddm_nl_leave(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	int err;

	if (!kddm_joined()) {
		NL_SET_ERR_MSG(extack, "not joined");
		return -ENOTCONN;
	}

	err = kddm_leave();
	switch (err) {
	case 0:
		break;
	case -EBUSY:
		NL_SET_ERR_MSG(extack,
			       "sets exist on this node: destroy them first");
		break;
	default:
		NL_SET_ERR_MSG(extack, "cannot leave the cluster");
		break;
	}
	return err;
}

/* ---- nodes ---- */

static int kddm_nl_node_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(nla_total_size(sizeof(u32)) +
			  2 * nla_total_size(sizeof(u8)), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	hdr = genlmsg_put_reply(msg, info, &kddm_nl_family, 0,
				KDDM_CMD_NODE_GET);
	if (!hdr)
		goto nospace;
	if (nla_put_u32(msg, KDDM_A_NODE_ID, kddm_self()) ||
	    nla_put_u8(msg, KDDM_A_NODE_JOINED, kddm_joined()) ||
	    nla_put_u8(msg, KDDM_A_NODE_ACTIVE, kddm_active()))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

struct kddm_nl_node_walk {
	struct sk_buff *skb;
	struct netlink_callback *cb;
};

static u8 kddm_nl_node_state(enum kddm_node_state st)
{
	switch (st) {
	case KDDM_NODE_SELF:
		return KDDM_NODE_STATE_SELF;
	case KDDM_NODE_UP:
		return KDDM_NODE_STATE_UP;
	default:
		return KDDM_NODE_STATE_DOWN;
	}
}

static int kddm_nl_node_fill(u32 node, enum kddm_node_state st, void *arg)
{
	struct kddm_nl_node_walk *w = arg;
	struct sk_buff *skb = w->skb;
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(w->cb->skb).portid,
			  w->cb->nlh->nlmsg_seq, &kddm_nl_family, NLM_F_MULTI,
			  KDDM_CMD_NODE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, KDDM_A_NODE_ID, node) ||
	    nla_put_u8(skb, KDDM_A_NODE_STATE, kddm_nl_node_state(st))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	kddm_nl_dump_ctx(w->cb)->cursor = (u64)node + 1;
	return 0;
}

static int kddm_nl_node_get_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	struct kddm_nl_dump_ctx *ctx = kddm_nl_dump_ctx(cb);
	struct kddm_nl_node_walk w = { .skb = skb, .cb = cb };
	int err;

	if (ctx->done || ctx->cursor > KDDM_MAX_NODE)
		return 0;

	err = kddm_nodes_walk(ctx->cursor, kddm_nl_node_fill, &w);
	if (!err)
		ctx->done = true;
	else if (err != -EMSGSIZE || !skb->len)
		return err;
	return skb->len;
}

/* ---- sets ---- */

static int kddm_nl_put_lat_hist(struct sk_buff *msg, const u64 *lat)
{
	struct nlattr *nest;
	int i;

	BUILD_BUG_ON(KDDM_LAT_BUCKETS != KDDM_STAT_LAT_BUCKETS);

	nest = nla_nest_start(msg, KDDM_A_STAT_LAT_HIST);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < KDDM_LAT_BUCKETS; i++)
		if (nla_put_u64_64bit(msg, KDDM_A_LAT_BUCKET, lat[i],
				      KDDM_A_LAT_PAD))
			goto cancel;
	nla_nest_end(msg, nest);
	return 0;

cancel:
	nla_nest_cancel(msg, nest);
	return -EMSGSIZE;
}

static int kddm_nl_put_set_stats(struct sk_buff *msg,
				 const struct kddm_set_stats *st)
{
	struct nlattr *nest;

	nest = nla_nest_start(msg, KDDM_A_SET_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(msg, KDDM_A_STAT_GETS, st->gets,
			      KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_GRABS, st->grabs,
			      KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_INVALIDATIONS,
			      st->invalidations, KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_MSGS_SENT, st->msgs_sent,
			      KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_MSGS_RCVD, st->msgs_rcvd,
			      KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_BYTES_SENT, st->bytes_sent,
			      KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_BYTES_RCVD, st->bytes_rcvd,
			      KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_COPIES, st->copies,
			      KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_CACHE_MAX, st->cache_max,
			      KDDM_A_STAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_STAT_EVICTIONS, st->evictions,
			      KDDM_A_STAT_PAD) ||
	    kddm_nl_put_lat_hist(msg, st->lat))
		goto cancel;
	nla_nest_end(msg, nest);
	return 0;

cancel:
	nla_nest_cancel(msg, nest);
	return -EMSGSIZE;
}

static int kddm_nl_fill_set(struct sk_buff *msg, u32 portid, u32 seq,
			    int flags, const struct kddm_set_info *si)
{
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &kddm_nl_family, flags,
			  KDDM_CMD_SET_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(msg, KDDM_A_SET_ID, si->id, KDDM_A_PAD) ||
	    nla_put_string(msg, KDDM_A_SET_LINKER, si->linker) ||
	    nla_put_u32(msg, KDDM_A_SET_OBJ_SIZE, si->obj_size) ||
	    nla_put_u32(msg, KDDM_A_SET_POLICY, si->policy) ||
	    nla_put_u32(msg, KDDM_A_SET_MANAGER, si->manager) ||
	    nla_put_u64_64bit(msg, KDDM_A_SET_NR_OBJECTS, si->nr_objects,
			      KDDM_A_PAD) ||
	    kddm_nl_put_set_stats(msg, &si->stats)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

/* The linker name is put as a string: make sure it is terminated. */
static void kddm_nl_fix_info(struct kddm_set_info *si)
{
	si->linker[sizeof(si->linker) - 1] = '\0';
}

static int kddm_nl_set_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *attr = info->attrs[KDDM_A_SET_ID];
	struct kddm_set_info si;
	struct sk_buff *msg;
	int err;

	if (!attr) {
		NL_SET_ERR_MSG(extack, "missing set id (or use a dump)");
		NL_SET_ERR_ATTR_MISS(extack, NULL, KDDM_A_SET_ID);
		return -EINVAL;
	}

	err = kddm_set_info_get(nla_get_u64(attr), &si);
	if (err == -ENOENT) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "no such set");
		return err;
	}
	if (err) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "cannot read the set");
		return err;
	}
	kddm_nl_fix_info(&si);

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	err = kddm_nl_fill_set(msg, info->snd_portid, info->snd_seq, 0, &si);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int kddm_nl_set_get_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct nlattr **attrs = kddm_dump_attrs(genl_dumpit_info(cb));
	struct kddm_nl_dump_ctx *ctx = kddm_nl_dump_ctx(cb);
	struct kddm_set_info si;
	u64 next;
	int err;

	if (attrs && attrs[KDDM_A_SET_ID]) {
		NL_SET_ERR_MSG(cb->extack,
			       "a set dump takes no set id: use a plain request");
		return -EINVAL;
	}

	while (!ctx->done) {
		next = ctx->cursor;
		err = kddm_set_info_next(&next, &si);
		if (err == -ENOENT) {
			ctx->done = true;
			break;
		}
		if (err)
			return err;
		kddm_nl_fix_info(&si);
		err = kddm_nl_fill_set(skb, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI, &si);
		if (err)
			return skb->len ? skb->len : err;
		ctx->cursor = next;
	}
	return skb->len;
}

/* ---- global statistics ---- */

static int kddm_nl_put_gstats(struct sk_buff *msg,
			      const struct kddm_global_stats *st)
{
	struct nlattr *nest;

	nest = nla_nest_start(msg, KDDM_A_GSTATS);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(msg, KDDM_A_GSTAT_MSGS_SENT, st->msgs_sent,
			      KDDM_A_GSTAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_GSTAT_MSGS_RCVD, st->msgs_rcvd,
			      KDDM_A_GSTAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_GSTAT_BYTES_SENT, st->bytes_sent,
			      KDDM_A_GSTAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_GSTAT_BYTES_RCVD, st->bytes_rcvd,
			      KDDM_A_GSTAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_GSTAT_MSGS_DROPPED,
			      st->msgs_dropped, KDDM_A_GSTAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_GSTAT_RPC_TIMEOUTS,
			      st->rpc_timeouts, KDDM_A_GSTAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_GSTAT_FENCES, st->fences,
			      KDDM_A_GSTAT_PAD) ||
	    nla_put_u64_64bit(msg, KDDM_A_GSTAT_BAD_HELLOS, st->bad_hellos,
			      KDDM_A_GSTAT_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int kddm_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct kddm_global_stats st = {};
	struct sk_buff *msg;
	void *hdr;

	kddm_global_stats(&st);

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kddm_nl_family, 0,
				KDDM_CMD_STATS_GET);
	if (!hdr || kddm_nl_put_gstats(msg, &st))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* ---- MACs for user-space services ---- */

static int kddm_nl_mac(struct sk_buff *skb, struct genl_info *info)
{
	const struct nlattr *data = info->attrs[KDDM_A_MAC_DATA];
	u8 mac[KDDM_MAC_LEN];
	struct sk_buff *msg;
	void *hdr;
	int ret;

	/* what it proves may make a node run processes as root */
	if (!netlink_capable(skb, CAP_SYS_ADMIN))
		return -EPERM;
	if (!data) {
		GENL_SET_ERR_MSG(info, "MAC_DATA is required");
		return -EINVAL;
	}
	ret = kddm_user_mac(nla_data(data), nla_len(data), mac);
	if (ret == -ENOKEY)
		GENL_SET_ERR_MSG(info, "the cluster has no key (kddm join --key-file)");
	if (ret)
		return ret;
	msg = genlmsg_new(nla_total_size(sizeof(mac)), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kddm_nl_family, 0, KDDM_CMD_MAC);
	if (!hdr || nla_put(msg, KDDM_A_MAC, sizeof(mac), mac)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	memzero_explicit(mac, sizeof(mac));
	return genlmsg_reply(msg, info);
}

/* ---- family ---- */

/* No .policy: the core rejects every attribute (reject-all policy). */
static const struct genl_ops kddm_nl_ops[] = {
	{
		.cmd	 = KDDM_CMD_NODE_SET_ID,
		.flags	 = GENL_ADMIN_PERM,
		.doit	 = kddm_nl_node_set_id,
		.policy	 = kddm_nl_node_set_id_policy,
		.maxattr = ARRAY_SIZE(kddm_nl_node_set_id_policy) - 1,
	},
	{
		.cmd	 = KDDM_CMD_JOIN,
		.flags	 = GENL_ADMIN_PERM,
		.doit	 = kddm_nl_join,
		.policy	 = kddm_nl_join_policy,
		.maxattr = ARRAY_SIZE(kddm_nl_join_policy) - 1,
	},
	{
		.cmd	 = KDDM_CMD_LEAVE,
		.flags	 = GENL_ADMIN_PERM,
		.doit	 = kddm_nl_leave,
	},
	{
		.cmd	 = KDDM_CMD_NODE_GET,
		.doit	 = kddm_nl_node_get_doit,
		.dumpit	 = kddm_nl_node_get_dumpit,
	},
	{
		.cmd	 = KDDM_CMD_SET_GET,
		.doit	 = kddm_nl_set_get_doit,
		.dumpit	 = kddm_nl_set_get_dumpit,
		.policy	 = kddm_nl_set_get_policy,
		.maxattr = ARRAY_SIZE(kddm_nl_set_get_policy) - 1,
	},
	{
		.cmd	 = KDDM_CMD_STATS_GET,
		.doit	 = kddm_nl_stats_get_doit,
	},
	{
		.cmd	 = KDDM_CMD_MAC,
		.flags	 = GENL_ADMIN_PERM,
		.doit	 = kddm_nl_mac,
		.policy	 = kddm_nl_mac_policy,
		.maxattr = ARRAY_SIZE(kddm_nl_mac_policy) - 1,
	},
};

/*
 * resv_start_op is left at 0: every command checks the reserved genl
 * header field and the netlink flags, and none may relax validation.
 */
static struct genl_family kddm_nl_family __ro_after_init = {
	.name		= KDDM_GENL_NAME,
	.version	= KDDM_GENL_VERSION,
	.maxattr	= KDDM_A_MAX,
	.module		= THIS_MODULE,
	.ops		= kddm_nl_ops,
	.n_ops		= ARRAY_SIZE(kddm_nl_ops),
};

int kddm_netlink_init(void)
{
	int err;

	err = genl_register_family(&kddm_nl_family);
	if (err)
		pr_err("cannot register generic netlink family %s: %d\n",
		       KDDM_GENL_NAME, err);
	return err;
}

void kddm_netlink_exit(void)
{
	genl_unregister_family(&kddm_nl_family);
}
