// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs super block and module: mount -t kdfs -o backing=DIR[,root=N]
 * [,place=N] none MNT, on every node of the cluster, one mount per node.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <kddm/version.h>

#include "kdfs.h"

struct kdfs_sb *kdfs_this;
static DEFINE_MUTEX(mount_lock);
static struct kmem_cache *inode_cache;
static struct proc_dir_entry *proc_dir;	/* /proc/fs/kdfs */

/* ---- inodes ---- */

static struct inode *kdfs_alloc_inode(struct super_block *sb)
{
	struct kdfs_inode *ki = alloc_inode_sb(sb, inode_cache, GFP_KERNEL);

	if (!ki)
		return NULL;
	mutex_init(&ki->open_lock);
	ki->opens = 0;
	ki->dirty = false;
	xa_init(&ki->dirty_pages);
	ki->all_dirty = false;
	ki->open_nodes = 0;
	ki->ra_next = 0;
	ki->wb_pos = 0;
	ki->wb = NULL;
	memset(&ki->lay, 0, sizeof(ki->lay));
	ki->locked = false;
	return &ki->vfs;
}

static void kdfs_free_inode(struct inode *inode)
{
	kmem_cache_free(inode_cache, KDFS_I(inode));
}

static void init_once(void *p)
{
	struct kdfs_inode *ki = p;

	inode_init_once(&ki->vfs);
}

/*
 * Written files of this node, then every metadata change marked here,
 * written back (sync, syncfs, umount).
 */
static int kdfs_sync_fs(struct super_block *sb, int wait)
{
	struct inode *inode, *prev = NULL;
	int ret = 0, err;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		spin_lock(&inode->i_lock);
		if ((inode->i_state & (I_FREEING | I_WILL_FREE | I_NEW)) ||
		    !KDFS_I(inode)->dirty) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		__iget(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);
		iput(prev);
		prev = inode;
		err = kdfs_fsync_inode(inode);
		if (err && err != -ENOENT && !ret)
			ret = err;
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(prev);
	err = kdfs_meta_flush();
	return ret ?: err;
}

/* ---- usage: each node publishes its own, statfs sums them ---- */

#define DF_PERIOD	(10 * HZ)

/*
 * Writes this node's usage into its kdfs_df. Unless @force, only if the
 * copy this node holds differs (or it holds none: never published, or
 * kDDM reset the set): a statfs then reads only copies every node holds
 * already (stress-ng's link stressor calls statfs at each link; a grab
 * each time took the other nodes' copies away).
 */
static int df_publish(struct kdfs_sb *s, bool mounted, bool force)
{
	u64 id = kdfs_alloc_id(s->node);
	struct kdfs_df now = { 0 }, *df;
	struct kstatfs st;
	int ret = vfs_statfs(&s->backing, &st);

	BUILD_BUG_ON(sizeof(now) != 7 * sizeof(u64));	/* no hidden padding */
	if (ret)
		return ret;
	now.blocks = st.f_blocks * st.f_bsize;
	now.bfree = st.f_bfree * st.f_bsize;
	now.bavail = st.f_bavail * st.f_bsize;
	now.files = st.f_files;
	now.ffree = st.f_ffree;
	now.mounted = mounted;
	now.epoch = s->epoch;
	if (!force) {
		bool same;

		df = kddm_find_object(kdfs_dfs, id);
		if (df) {
			same = !memcmp(df, &now, sizeof(now));
			kddm_put_object(kdfs_dfs, id);
			if (same)
				return 0;
		}
	}
	df = kddm_grab_object(kdfs_dfs, id);
	if (IS_ERR(df))
		return kdfs_errno(PTR_ERR(df));
	*df = now;
	kddm_put_object(kdfs_dfs, id);
	return 0;
}

/*
 * /proc/fs/kdfs/df: "NODE SIZE USED AVAIL FILES FFREE" in bytes and
 * inodes, a line per node with kdfs mounted, as each last published it.
 */
static int df_show(struct seq_file *m, void *v)
{
	u32 n;

	seq_puts(m, "node size used avail files ffree\n");
	mutex_lock(&mount_lock);
	for (n = 1; kdfs_this && n <= 64; n++) {
		u64 id = kdfs_alloc_id(n);
		struct kdfs_df *df;

		if (!kddm_node_known(n))
			continue;
		df = kddm_get_object_no_ft(kdfs_dfs, id);
		if (IS_ERR(df))
			continue;
		if (df->mounted)
			seq_printf(m, "%u %llu %llu %llu %llu %llu\n", n,
				   df->blocks, df->blocks - df->bfree,
				   df->bavail, df->files, df->ffree);
		kddm_put_object(kdfs_dfs, id);
	}
	mutex_unlock(&mount_lock);
	return 0;
}

/* Whether @node has kdfs mounted (as it last published). */
bool kdfs_node_mounted(u32 node)
{
	u64 id = kdfs_alloc_id(node);
	struct kdfs_df *df;
	bool ret;

	if (!kddm_node_known(node))
		return false;
	df = kddm_get_object_no_ft(kdfs_dfs, id);
	if (IS_ERR(df))
		return false;
	ret = df->mounted;
	kddm_put_object(kdfs_dfs, id);
	return ret;
}

static void df_work_fn(struct work_struct *w)
{
	struct kdfs_sb *s = container_of(to_delayed_work(w), struct kdfs_sb,
					 df_work);

	df_publish(s, true, true);
	schedule_delayed_work(&s->df_work, DF_PERIOD);
}

/*
 * The backing file systems of every node that has kdfs mounted, summed
 * (each as it last published it: at most DF_PERIOD old, fresh for this
 * node). Nodes that are down are left out.
 */
static int kdfs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct kdfs_sb *s = dentry->d_sb->s_fs_info;
	u64 blocks = 0, bfree = 0, bavail = 0, files = 0, ffree = 0;
	u32 n;
	int ret = df_publish(s, true, false);

	if (ret)
		return ret;
	for (n = 1; n <= 64; n++) {
		u64 id = kdfs_alloc_id(n);
		struct kdfs_df *df;

		if (!kddm_node_known(n))
			continue;
		df = kddm_get_object_no_ft(kdfs_dfs, id);
		if (IS_ERR(df))
			continue;	/* never mounted, or down */
		if (df->mounted) {
			blocks += df->blocks;
			bfree += df->bfree;
			bavail += df->bavail;
			files += df->files;
			ffree += df->ffree;
		}
		kddm_put_object(kdfs_dfs, id);
	}
	buf->f_type = KDFS_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_frsize = PAGE_SIZE;
	buf->f_blocks = blocks >> PAGE_SHIFT;
	buf->f_bfree = bfree >> PAGE_SHIFT;
	buf->f_bavail = bavail >> PAGE_SHIFT;
	buf->f_files = files;
	buf->f_ffree = ffree;
	buf->f_namelen = NAME_MAX;
	return 0;
}

static void kdfs_evict_inode(struct inode *inode)
{
	/* in memory reclaim, no waiting on the network (close wrote back) */
	if (KDFS_I(inode)->dirty && (current->flags & PF_MEMALLOC)) {
		pr_warn_ratelimited("inode %lx: evicted in reclaim with data not written back\n",
				    inode->i_ino);
	} else if (KDFS_I(inode)->dirty) {
		int ret = kdfs_fsync_inode(inode);

		/* the copies live on in kDDM: only their store is missing */
		if (ret && ret != -ENOENT)
			pr_warn_ratelimited("inode %lx: writing back its data failed (%d), not durable yet\n",
					    inode->i_ino, ret);
	}
	kdfs_mmap_forget(inode);
	kdfs_wb_free(inode);
	xa_destroy(&KDFS_I(inode)->dirty_pages);
	clear_inode(inode);
}

static const struct super_operations kdfs_sops = {
	.alloc_inode = kdfs_alloc_inode,
	.free_inode = kdfs_free_inode,
	.evict_inode = kdfs_evict_inode,
	.sync_fs = kdfs_sync_fs,
	.statfs = kdfs_statfs,
	.drop_inode = generic_delete_inode,
};

/* ---- mount ---- */

struct kdfs_opts {
	char *backing;
	u32 root;
	u32 place;
};

enum { OPT_BACKING, OPT_ROOT, OPT_PLACE };

static const struct fs_parameter_spec kdfs_params[] = {
	fsparam_string("backing", OPT_BACKING),
	fsparam_u32("root", OPT_ROOT),
	fsparam_u32("place", OPT_PLACE),
	{}
};

static int kdfs_parse_param(struct fs_context *fc, struct fs_parameter *p)
{
	struct kdfs_opts *o = fc->fs_private;
	struct fs_parse_result r;
	int opt = fs_parse(fc, kdfs_params, p, &r);

	if (opt < 0)
		return opt;
	switch (opt) {
	case OPT_BACKING:
		kfree(o->backing);
		o->backing = p->string;
		p->string = NULL;
		break;
	case OPT_ROOT:
		if (!r.uint_32 || r.uint_32 > KDDM_MAX_NODE)
			return invalf(fc, "kdfs: root=%u is no node id",
				      r.uint_32);
		o->root = r.uint_32;
		break;
	case OPT_PLACE:
		if (r.uint_32 > KDDM_MAX_NODE)
			return invalf(fc, "kdfs: place=%u is no node id",
				      r.uint_32);
		o->place = r.uint_32;
		break;
	}
	return 0;
}

/* The root directory, made by its home node the first time. */
static int make_root(u64 ino)
{
	struct kdfs_iobj *io;
	bool made = false;
	int ret;

	io = kddm_grab_object(kdfs_inodes, ino);
	if (IS_ERR(io))
		return kdfs_errno(PTR_ERR(io));
	if (!io->mode) {
		memset(io, 0, sizeof(*io));
		io->mode = S_IFDIR | 0755;
		io->nlink = 2;
		kdfs_touch(io, true);
		io->atime = io->mtime;
		made = true;
	}
	kdfs_iobj_put(ino);
	if (!made)
		return 0;
	ret = kdfs_init_dir(ino);
	return ret ?: kdfs_sync_dir(ino) ?: kdfs_sync_meta(ino);
}

static int kdfs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct kdfs_opts *o = fc->fs_private;
	struct kdfs_sb *s;
	struct inode *root;
	u64 root_ino;
	int ret;

	if (!o->backing)
		return invalf(fc, "kdfs: backing=DIR is required");
	if (!kddm_node_id() || !kddm_node_known(kddm_node_id()))
		return invalf(fc, "kdfs: this node is not in a kDDM cluster");
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->node = kddm_node_id();
	s->root_node = o->root ?: 1;
	s->place = o->place;
	s->epoch = get_random_u64() | 1;
	s->sb = sb;
	s->cred = prepare_kernel_cred(&init_task);
	ret = -ENOMEM;
	if (!s->cred)
		goto free;
	mutex_lock(&mount_lock);
	ret = -EBUSY;
	if (kdfs_this) {
		errorf(fc, "kdfs: already mounted on this node");
		goto unlock;
	}
	down_write(&kdfs_mount_sem);
	kdfs_this = s;
	up_write(&kdfs_mount_sem);
	ret = kdfs_backing_open(s, o->backing);
	if (ret) {
		errorf(fc, "kdfs: backing directory %s unusable (%d)",
		       o->backing, ret);
		goto unset;
	}
	ret = kdfs_sets_open();
	if (ret)
		goto close;
	root_ino = kdfs_ino(s->root_node, KDFS_ROOT_N);
	if (s->root_node == s->node) {
		ret = make_root(root_ino);
		if (ret)
			goto sets;
	}
	sb->s_fs_info = s;
	sb->s_magic = KDFS_MAGIC;
	sb->s_op = &kdfs_sops;
	sb->s_xattr = kdfs_xattr_handlers;
	sb->s_flags |= SB_POSIXACL;
	sb->s_d_op = &kdfs_dops;
	sb->s_maxbytes = KDFS_MAX_FILE_SIZE;
	sb->s_time_gran = 1;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	root = kdfs_iget(sb, root_ino);
	if (IS_ERR(root)) {
		ret = PTR_ERR(root);
		errorf(fc, "kdfs: no root directory on node %u (%d): mount there first",
		       s->root_node, ret);
		goto sets;
	}
	sb->s_root = d_make_root(root);
	ret = -ENOMEM;
	if (!sb->s_root)
		goto sets;
	/* this mount's epoch known before any lock of it (lock.c) */
	ret = df_publish(s, true, true);
	if (ret) {
		errorf(fc, "kdfs: publishing this node's mount failed (%d)",
		       ret);
		goto sets;
	}
	INIT_DELAYED_WORK(&s->df_work, df_work_fn);
	schedule_delayed_work(&s->df_work, 0);
	kdfs_flush_start();
	mutex_unlock(&mount_lock);
	pr_info("node %u mounted, backing %s, root on node %u\n", s->node,
		o->backing, s->root_node);
	return 0;
sets:
	sb->s_fs_info = NULL;
	kdfs_flush_stop();	/* the root's listing, if it was made */
	kdfs_sets_close();
close:
	down_write(&kdfs_mount_sem);
	kdfs_backing_close(s);
	up_write(&kdfs_mount_sem);
unset:
	down_write(&kdfs_mount_sem);
	kdfs_this = NULL;
	up_write(&kdfs_mount_sem);
unlock:
	mutex_unlock(&mount_lock);
	put_cred(s->cred);
free:
	kfree(s);
	return ret;
}

static int kdfs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, kdfs_fill_super);
}

static void kdfs_free_fc(struct fs_context *fc)
{
	struct kdfs_opts *o = fc->fs_private;

	if (o)
		kfree(o->backing);
	kfree(o);
}

static const struct fs_context_operations kdfs_context_ops = {
	.parse_param = kdfs_parse_param,
	.get_tree = kdfs_get_tree,
	.free = kdfs_free_fc,
};

static int kdfs_init_fs_context(struct fs_context *fc)
{
	fc->fs_private = kzalloc(sizeof(struct kdfs_opts), GFP_KERNEL);
	if (!fc->fs_private)
		return -ENOMEM;
	fc->ops = &kdfs_context_ops;
	return 0;
}

static void kdfs_kill_sb(struct super_block *sb)
{
	struct kdfs_sb *s = sb->s_fs_info;

	if (s) {
		cancel_delayed_work_sync(&s->df_work);
		df_publish(s, false, true);
	}
	kill_anon_super(sb);	/* syncs: data, then metadata */
	if (!s)
		return;
	mutex_lock(&mount_lock);
	kdfs_flush_stop();
	kdfs_mmap_drain();
	kdfs_sets_close();
	down_write(&kdfs_mount_sem);
	kdfs_backing_close(s);
	kdfs_this = NULL;
	up_write(&kdfs_mount_sem);
	mutex_unlock(&mount_lock);
	put_cred(s->cred);
	kfree(s);
	pr_info("unmounted\n");
}

static struct file_system_type kdfs_type = {
	.owner = THIS_MODULE,
	.name = "kdfs",
	.init_fs_context = kdfs_init_fs_context,
	.parameters = kdfs_params,
	.kill_sb = kdfs_kill_sb,
};
MODULE_ALIAS_FS("kdfs");

static int __init kdfs_init(void)
{
	int ret;

	kdfs_lock_init();
	inode_cache = kmem_cache_create("kdfs_inode", sizeof(struct kdfs_inode),
					0, SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					init_once);
	if (!inode_cache)
		return -ENOMEM;
	ret = kdfs_mmap_init();
	if (ret)
		goto cache;
	ret = kdfs_objects_init();
	if (ret)
		goto mmap;
	ret = -ENOMEM;
	proc_dir = proc_mkdir("fs/kdfs", NULL);
	if (!proc_dir || !proc_create_single("df", 0444, proc_dir, df_show) ||
	    !proc_create("locks", 0200, proc_dir, &kdfs_locks_proc_ops))
		goto proc;
	ret = register_filesystem(&kdfs_type);
	if (ret)
		goto proc;
	return 0;
proc:
	proc_remove(proc_dir);	/* NULL: nothing */
	kdfs_objects_exit();
mmap:
	kdfs_mmap_exit();
cache:
	kmem_cache_destroy(inode_cache);
	return ret;
}

static void __exit kdfs_exit(void)
{
	unregister_filesystem(&kdfs_type);
	proc_remove(proc_dir);
	kdfs_objects_exit();
	kdfs_mmap_exit();
	rcu_barrier();
	kmem_cache_destroy(inode_cache);
}

module_init(kdfs_init);
module_exit(kdfs_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(KDDM_VERSION);
MODULE_DESCRIPTION("kdfs: a symmetric cluster file system on kDDM");
