// SPDX-License-Identifier: GPL-2.0
/*
 * kddm.ko: kernel Distributed Data Management.
 *
 * Layers, bottom up: transport.c (TIPC sockets), msg.c (framing, handlers,
 * rpc), membership.c (join, leave, node up/down), coh/ (the coherence state
 * machine, pure C), object.c (objects and the engine glue), set.c (sets and
 * io-linkers), netlink.c (control plane).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <kddm/version.h>
#include <kddm/kddm_wire.h>

#include "internal.h"
#include "membership.h"
#include "msg.h"
#include "set.h"
#include "transport.h"

static unsigned int node_id;
module_param(node_id, uint, 0444);
MODULE_PARM_DESC(node_id, "this node's kDDM id (1..65535); settable later");
static bool join;
module_param(join, bool, 0444);
MODULE_PARM_DESC(join, "join the cluster at load time (needs node_id)");

static int __init kddm_init(void)
{
	int ret;

	ret = kddm_membership_init();
	if (ret)
		return ret;
	ret = kddm_transport_init();
	if (ret)
		goto err_membership;
	kddm_msg_init();
	ret = kddm_object_init();
	if (ret)
		goto err_transport;
	kddm_set_init();
	if (node_id) {
		ret = kddm_set_self(node_id);
		if (!ret && join)
			ret = kddm_join();
		if (ret)
			goto err_object;
	}
	ret = kddm_netlink_init();
	if (ret)
		goto err_leave;
	kddm_debugfs_init();
	pr_info("version %s loaded\n", KDDM_VERSION);
	return 0;
err_leave:
	if (kddm_joined())
		kddm_leave();
err_object:
	kddm_object_exit();
err_transport:
	kddm_transport_exit();
err_membership:
	kddm_membership_exit();
	return ret;
}

static void __exit kddm_exit(void)
{
	kddm_debugfs_exit();
	kddm_netlink_exit();
	kddm_sets_shutdown();
	kddm_object_exit();
	if (kddm_joined())
		kddm_leave();
	kddm_transport_exit();
	kddm_set_exit();
	kddm_msg_exit();
	kddm_membership_exit();
	pr_info("version %s unloaded\n", KDDM_VERSION);
}

module_init(kddm_init);
module_exit(kddm_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kDDM: coherent cluster-wide objects");
MODULE_VERSION(KDDM_VERSION);
/* nodes talk only to nodes of the same wire version (rolling upgrades) */
MODULE_INFO(wire_version, __stringify(KDDM_WIRE_VERSION));
