// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/kddm: deep internals for developers.
 *   nodes    every node known, with its TIPC address
 *   engine   coherence engine counters, messages sent per type, bytes held
 *   objects  every local object: state, freezes, and on its home the
 *            directory (owner, copies, transaction in progress)
 *   lose_bye   fault injection: write 1, and the next BYE is lost
 *   lose_next  fault injection: write a node id, and the next message
 *            to that node is lost as if TIPC had dropped it (0: none)
 *   send_raw   fault injection: a hostile member. Write one message: a
 *            struct kddm_debug_raw (destination node, type), then its
 *            payload; it leaves with a true header (this node, the
 *            incarnations, ids 0), whatever the payload says.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "membership.h"
#include "msg.h"
#include "set.h"

static struct dentry *kddm_dir;

static int node_line(u32 node, enum kddm_node_state st, void *arg)
{
	static const char * const names[] = { "down", "up", "self" };
	u32 tipc, ref, inc = 0;

	if (st == KDDM_NODE_SELF)
		inc = kddm_self_inc();
	else if (kddm_peer_addr(node, &tipc, &ref, &inc))
		inc = 0;
	seq_printf(arg, "%u\t%s\t%x\t%u\n", node, names[st],
		   kddm_node_tipc(node), inc);
	return 0;
}

static int nodes_show(struct seq_file *m, void *v)
{
	seq_printf(m, "self %u joined %d\n", kddm_self(), kddm_joined());
	seq_puts(m, "node\tstate\ttipc\tincarnation\n");
	return kddm_nodes_walk(1, node_line, m);
}
DEFINE_SHOW_ATTRIBUTE(nodes);

/* What a write to send_raw starts with (little endian). */
struct kddm_debug_raw {
	__le32 dst;
	u8 type;
	u8 pad[3];
};

static ssize_t send_raw_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	struct kddm_debug_raw r;
	void *buf;
	int ret;

	if (len < sizeof(r) ||
	    len > sizeof(r) + KDDM_WIRE_MSG_MAX - sizeof(struct kddm_wire_hdr))
		return -EINVAL;
	buf = memdup_user(ubuf, len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	memcpy(&r, buf, sizeof(r));
	ret = kddm_msg_send(le32_to_cpu(r.dst), r.type, 0, 0,
			    buf + sizeof(r), len - sizeof(r), NULL, 0);
	kfree(buf);
	return ret ?: len;
}

static const struct file_operations send_raw_fops = {
	.owner = THIS_MODULE,
	.write = send_raw_write,
	.llseek = noop_llseek,
};

static int engine_show(struct seq_file *m, void *v)
{
	const struct coh_stats *st = &kddm_coh.stats;
	int i;

	seq_printf(m, "gets %llu\ngrabs %llu\nget_misses %llu\n"
		   "grab_misses %llu\ninvalidations %llu\nflushes %llu\n"
		   "evictions %llu\nremoves %llu\nerrors %llu\ndropped %llu\nstale %llu\n",
		   st->gets, st->grabs, st->get_misses, st->grab_misses,
		   st->invalidations, st->flushes, st->evictions, st->removes, st->errors,
		   st->dropped, st->stale);
	for (i = 1; i < COH_MSG_NR; i++)
		seq_printf(m, "sent[%d] %llu\n", i, st->sent[i]);
	seq_printf(m, "bytes %ld\n", kddm_engine_bytes());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(engine);

static void obj_line(struct seq_file *m, struct kddm_set *set,
		     struct kddm_obj *obj)
{
	const struct coh_obj *o = &obj->coh;
	const struct coh_dir *d = &o->dir;

	mutex_lock(&obj->lock);
	seq_printf(m, "%llx\t%llx\t%u\t%u\t%u\t%d\t%d", set->id, o->obj_id,
		   o->home, o->state, o->readers, o->writer, o->dead);
	if (o->home == kddm_self())
		seq_printf(m, "\towner=%d copies=%u txn=%u valid=%d lost=%d exists=%d queued=%u",
			   d->owner == COH_NODE_NONE ? -1 : (int)d->owner,
			   d->copyset.count, d->txn, d->valid, d->lost,
			   d->exists, coh_dir_queued(o, COH_NODE_NONE));
	seq_putc(m, '\n');
	mutex_unlock(&obj->lock);
}

static int objects_show(struct seq_file *m, void *v)
{
	struct kddm_obj *obj;
	struct kddm_set *set;
	unsigned long id;
	u64 cursor = 0;

	seq_puts(m, "set\tobject\thome\tstate\treaders\twriter\tdead\tdirectory\n");
	while ((set = kddm_set_next(&cursor))) {
		xa_for_each(&set->objs, id, obj) {
			obj = kddm_obj_ref(set, id);
			if (!obj)
				continue;
			obj_line(m, set, obj);
			kddm_obj_unref(obj);
		}
		kddm_put_set(set);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(objects);

void kddm_debugfs_init(void)
{
	kddm_dir = debugfs_create_dir("kddm", NULL);
	debugfs_create_file("nodes", 0400, kddm_dir, NULL, &nodes_fops);
	debugfs_create_file("engine", 0400, kddm_dir, NULL, &engine_fops);
	debugfs_create_file("objects", 0400, kddm_dir, NULL, &objects_fops);
	debugfs_create_u32("lose_next", 0600, kddm_dir, &kddm_lose_next);
	debugfs_create_u32("lose_bye", 0600, kddm_dir, &kddm_lose_bye);
	debugfs_create_file("send_raw", 0200, kddm_dir, NULL, &send_raw_fops);
}

void kddm_debugfs_exit(void)
{
	debugfs_remove_recursive(kddm_dir);
}
