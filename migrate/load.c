// SPDX-License-Identifier: GPL-2.0
/*
 * kddm_mig.ko: the load vector of every node, as kDDM objects.
 *
 * The balancers (kddm-balancer, one per node) share the cluster's load
 * through one well-known kDDM set: object (N << 48) is node N's vector,
 * homed on node N (KDDM_OWNER_OBJID_BITS). A node writes only its own
 * vector (a grab, local to its home), which invalidates the read copies
 * the other nodes hold; they fetch it again at their next read. The
 * cluster's state is kDDM data: no protocol of the balancer's own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <kddm/kddm.h>
#include <kddm/kddm_load.h>
#include "mig.h"

#define LOAD_LINKER	"kddm_load"
#define LOAD_SET	0x4b4c4f44U	/* "KLOD" */
#define LOAD_NODE_MAX	0xffffU		/* node ids fit objid bits 48..63 */

static struct kddm_set *load_set;

/* Objects are plain bytes, zero until their node publishes. */
static const struct kddm_io_linker_ops load_linker = {
	.name = LOAD_LINKER,
	.owner = THIS_MODULE,
};

static u64 load_objid(u32 node)
{
	return (u64)node << 48;
}

static bool vec_valid(const struct kddm_load_vec *v)
{
	unsigned int i;

	if (v->version != KDDM_LOAD_VERSION || v->pad ||
	    !memchr(v->policy, 0, sizeof(v->policy)))
		return false;
	for (i = 0; i < ARRAY_SIZE(v->reserved); i++)
		if (v->reserved[i])
			return false;
	return true;
}

static long load_publish(void __user *arg)
{
	struct kddm_load_vec v;
	u32 self = kddm_node_id();
	void *data;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&v, arg, sizeof(v)))
		return -EFAULT;
	if (!vec_valid(&v))
		return -EINVAL;
	if (!self || self > LOAD_NODE_MAX)
		return -ENOTCONN;
	v.node = self;
	data = kddm_grab_object(load_set, load_objid(self));
	if (IS_ERR(data))
		return PTR_ERR(data);
	memcpy(data, &v, sizeof(v));
	kddm_put_object(load_set, load_objid(self));
	return 0;
}

static long load_read(void __user *arg)
{
	struct kddm_load_read rd;
	struct kddm_load_vec v;
	void *data;

	if (copy_from_user(&rd, arg, sizeof(rd)))
		return -EFAULT;
	if (rd.pad || !rd.node || rd.node > LOAD_NODE_MAX)
		return -EINVAL;
	if (!kddm_node_id())
		return -ENOTCONN;
	if (!kddm_node_known(rd.node))
		return -ENOENT;
	data = kddm_get_object(load_set, load_objid(rd.node));
	if (IS_ERR(data))
		return PTR_ERR(data);
	memcpy(&v, data, sizeof(v));
	kddm_put_object(load_set, load_objid(rd.node));
	if (copy_to_user(u64_to_user_ptr(rd.vec), &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

static long load_nodes(void __user *arg)
{
	struct kddm_load_nodes *n = kzalloc(sizeof(*n), GFP_KERNEL);
	long ret = 0;
	u32 node;

	if (!n)
		return -ENOMEM;
	n->self = kddm_node_id();
	for (node = 1; node <= LOAD_NODE_MAX; node++) {
		if (!kddm_node_known(node))
			continue;
		if (n->nr < KDDM_LOAD_NODES_MAX)
			n->ids[n->nr] = node;
		n->nr++;
	}
	if (copy_to_user(arg, n, sizeof(*n)))
		ret = -EFAULT;
	kfree(n);
	return ret;
}

static long load_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case KDDM_LOAD_NODES:
		return load_nodes((void __user *)arg);
	case KDDM_LOAD_PUBLISH:
		return load_publish((void __user *)arg);
	case KDDM_LOAD_READ:
		return load_read((void __user *)arg);
	}
	return -ENOTTY;
}

static const struct file_operations load_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = load_ioctl,
};

static struct miscdevice load_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kddm_load",
	.fops = &load_fops,
	.mode = 0644,
};

int mig_load_init(void)
{
	struct kddm_set_attr attr = {
		.linker = LOAD_LINKER,
		.obj_size = sizeof(struct kddm_load_vec),
		.policy = KDDM_OWNER_OBJID_BITS,
	};
	int ret = kddm_register_io_linker(&load_linker);

	if (ret)
		return ret;
	load_set = kddm_open_set(LOAD_SET, &attr);
	if (IS_ERR(load_set)) {
		ret = PTR_ERR(load_set);
		goto unregister;
	}
	ret = misc_register(&load_dev);
	if (ret)
		goto put;
	return 0;
put:
	kddm_put_set(load_set);
unregister:
	kddm_unregister_io_linker(&load_linker);
	return ret;
}

void mig_load_exit(void)
{
	misc_deregister(&load_dev);
	kddm_put_set(load_set);
	kddm_unregister_io_linker(&load_linker);
}
