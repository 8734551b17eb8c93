// SPDX-License-Identifier: GPL-2.0
/*
 * kddm_test.ko: a test io-linker ("kddm_test") whose objects are plain
 * byte arrays, and /dev/kddm_test, through which selftests and benchmarks
 * drive get/grab/put/remove/flush/find/sync from processes. Its
 * sync_object() copies the object into a store of the node (the home),
 * which STORED reads back. Like lib/test_*.ko, it exists for testing only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kddm/kddm.h>
#include <kddm/kddm_test.h>

struct held {
	struct list_head list;
	struct kddm_set *set;
	u64 obj_id;
};

struct test_file {
	struct mutex lock;
	struct list_head held;
};

/*
 * The backing store of this node: what sync_object() wrote, the first
 * KDDM_TEST_STORE_MAX bytes of each object synced here (on its home).
 */
struct stored {
	struct list_head list;
	u64 set_id, obj_id;
	u32 len;
	u8 data[KDDM_TEST_STORE_MAX];
};

#define STORE_MAX_OBJS	4096
static LIST_HEAD(store);
static DEFINE_MUTEX(store_lock);
static unsigned int store_n;

static struct stored *store_find(u64 set_id, u64 obj_id)
{
	struct stored *st;

	list_for_each_entry(st, &store, list)
		if (st->set_id == set_id && st->obj_id == obj_id)
			return st;
	return NULL;
}

static int test_sync_object(struct kddm_set *set, u64 objid, void *data)
{
	struct stored *st;
	int ret = 0;

	mutex_lock(&store_lock);
	st = store_find(kddm_set_id(set), objid);
	if (!st && store_n >= STORE_MAX_OBJS) {
		ret = -ENOSPC;
	} else if (!st) {
		st = kzalloc(sizeof(*st), GFP_KERNEL);
		if (st) {
			st->set_id = kddm_set_id(set);
			st->obj_id = objid;
			list_add(&st->list, &store);
			store_n++;
		} else {
			ret = -ENOMEM;
		}
	}
	if (st) {
		st->len = min_t(u32, kddm_set_obj_size(set), sizeof(st->data));
		memcpy(st->data, data, st->len);
	}
	mutex_unlock(&store_lock);
	return ret;
}

static void store_free(void)
{
	struct stored *st, *tmp;

	list_for_each_entry_safe(st, tmp, &store, list)
		kfree(st);
}

static const struct kddm_io_linker_ops test_linker = {
	.name = "kddm_test",
	.owner = THIS_MODULE,
	.sync_object = test_sync_object,
};

/* STORED: what this node's store holds of the object (no kDDM call). */
static long test_stored(struct kddm_test_obj *to)
{
	void __user *ubuf = u64_to_user_ptr(to->buf);
	struct stored *st;
	long ret = -ENOENT;

	mutex_lock(&store_lock);
	st = store_find(to->set_id, to->obj_id);
	if (st) {
		to->len = min(to->len, st->len);
		ret = copy_to_user(ubuf, st->data, to->len) ? -EFAULT : 0;
	}
	mutex_unlock(&store_lock);
	return ret;
}

static long test_create(void __user *arg)
{
	struct kddm_test_set ts;
	struct kddm_set_attr attr = { .linker = "kddm_test" };
	struct kddm_set *set;

	if (copy_from_user(&ts, arg, sizeof(ts)))
		return -EFAULT;
	if (!ts.obj_size || ts.obj_size > KDDM_TEST_MAX_SIZE)
		return -EINVAL;
	attr.obj_size = ts.obj_size;
	attr.policy = ts.policy;
	attr.fixed_node = ts.fixed_node;
	set = kddm_create_set(&attr);
	if (IS_ERR(set))
		return PTR_ERR(set);
	ts.set_id = kddm_set_id(set);
	kddm_put_set(set);
	return copy_to_user(arg, &ts, sizeof(ts)) ? -EFAULT : 0;
}

/*
 * The set @id, if it is one of ours: a set id from user space may name
 * any set of the node (kipc's, kdfs's), whose objects are not ours to
 * touch.
 */
static struct kddm_set *test_find_set(u64 id)
{
	struct kddm_set *set = kddm_find_set(id);

	if (!IS_ERR(set) && !kddm_set_uses(set, &test_linker)) {
		kddm_put_set(set);
		return ERR_PTR(-EINVAL);
	}
	return set;
}

static long test_destroy(void __user *arg)
{
	struct kddm_test_set ts;
	struct kddm_set *set;
	int ret;

	if (copy_from_user(&ts, arg, sizeof(ts)))
		return -EFAULT;
	set = test_find_set(ts.set_id);
	if (IS_ERR(set))
		return PTR_ERR(set);
	ret = kddm_destroy_set(set);
	kddm_put_set(set);
	return ret;
}

static int hold(struct test_file *tf, struct kddm_set *set, u64 obj_id)
{
	struct held *h = kmalloc(sizeof(*h), GFP_KERNEL);

	if (!h)
		return -ENOMEM;
	h->set = set;
	h->obj_id = obj_id;
	mutex_lock(&tf->lock);
	list_add(&h->list, &tf->held);
	mutex_unlock(&tf->lock);
	return 0;
}

static long test_put(struct test_file *tf, struct kddm_test_obj *to)
{
	struct held *h, *found = NULL;

	mutex_lock(&tf->lock);
	list_for_each_entry(h, &tf->held, list) {
		if (kddm_set_id(h->set) == to->set_id &&
		    h->obj_id == to->obj_id) {
			found = h;
			list_del(&h->list);
			break;
		}
	}
	mutex_unlock(&tf->lock);
	if (!found)
		return -ENOENT;
	kddm_put_object(found->set, found->obj_id);
	kddm_put_set(found->set);
	kfree(found);
	return 0;
}

static int kflags(u32 flags)
{
	return (flags & KDDM_TEST_F_NO_FT ? KDDM_NO_FT : 0) |
	       (flags & KDDM_TEST_F_TRY ? KDDM_TRY : 0) |
	       (flags & KDDM_TEST_F_ASYNC ? KDDM_ASYNC : 0);
}

/* GET, GRAB, WRITE, INCR, FIND on a set we hold a reference to. */
static long test_obj_op(struct test_file *tf, unsigned int cmd,
			struct kddm_set *set, struct kddm_test_obj *to)
{
	size_t size = kddm_set_obj_size(set);
	void __user *ubuf = u64_to_user_ptr(to->buf);
	bool write = cmd == KDDM_TEST_WRITE;
	long ret = 0;
	void *data;

	if (cmd == KDDM_TEST_INCR && size < sizeof(u64))
		return -EINVAL;	/* no room for the counter */
	if (cmd == KDDM_TEST_FIND)
		data = kddm_find_object(set, to->obj_id) ?: ERR_PTR(-ENOENT);
	else if (cmd == KDDM_TEST_GET)
		data = kddm_get_object_flags(set, to->obj_id, kflags(to->flags));
	else
		data = kddm_grab_object_flags(set, to->obj_id,
					      kflags(to->flags));
	if (IS_ERR_OR_NULL(data))
		return PTR_ERR(data);
	if (cmd == KDDM_TEST_INCR) {
		to->value = ++*(u64 *)data;
	} else if (write) {
		memset(data, 0, size);
		if (copy_from_user(data, ubuf, min_t(size_t, to->len, size)))
			ret = -EFAULT;
	} else if (to->buf) {
		to->len = min_t(size_t, to->len, size);
		if (copy_to_user(ubuf, data, to->len))
			ret = -EFAULT;
	}
	if ((to->flags & KDDM_TEST_F_HOLD) && cmd != KDDM_TEST_FIND &&
	    !hold(tf, set, to->obj_id))
		return ret ?: 1;	/* the hold keeps the set reference */
	kddm_put_object(set, to->obj_id);
	return ret;
}

static long test_obj(struct test_file *tf, unsigned int cmd,
		     void __user *arg)
{
	struct kddm_test_obj to;
	struct kddm_set *set;
	long ret;

	if (copy_from_user(&to, arg, sizeof(to)))
		return -EFAULT;
	if (cmd == KDDM_TEST_PUT)
		return test_put(tf, &to);
	if (cmd == KDDM_TEST_STORED) {
		ret = test_stored(&to);
		if (!ret && copy_to_user(arg, &to, sizeof(to)))
			ret = -EFAULT;
		return ret;
	}
	set = test_find_set(to.set_id);
	if (IS_ERR(set))
		return PTR_ERR(set);
	if (cmd == KDDM_TEST_REMOVE)
		ret = kddm_remove_object(set, to.obj_id);
	else if (cmd == KDDM_TEST_FLUSH)
		ret = kddm_flush_object(set, to.obj_id);
	else if (cmd == KDDM_TEST_SYNC)
		ret = kddm_sync_object(set, to.obj_id);
	else
		ret = test_obj_op(tf, cmd, set, &to);
	if (ret == 1)
		ret = 0;	/* held: the set reference stays with the hold */
	else
		kddm_put_set(set);
	if (!ret && copy_to_user(arg, &to, sizeof(to)))
		ret = -EFAULT;
	return ret;
}

static long test_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KDDM_TEST_CREATE:
		return test_create(uarg);
	case KDDM_TEST_DESTROY:
		return test_destroy(uarg);
	case KDDM_TEST_GET:
	case KDDM_TEST_GRAB:
	case KDDM_TEST_WRITE:
	case KDDM_TEST_INCR:
	case KDDM_TEST_PUT:
	case KDDM_TEST_REMOVE:
	case KDDM_TEST_FLUSH:
	case KDDM_TEST_FIND:
	case KDDM_TEST_SYNC:
	case KDDM_TEST_STORED:
		return test_obj(file->private_data, cmd, uarg);
	}
	return -ENOTTY;
}

static int test_open(struct inode *inode, struct file *file)
{
	struct test_file *tf = kzalloc(sizeof(*tf), GFP_KERNEL);

	if (!tf)
		return -ENOMEM;
	mutex_init(&tf->lock);
	INIT_LIST_HEAD(&tf->held);
	file->private_data = tf;
	return 0;
}

/* Whatever the process still held is put when it closes (or dies). */
static int test_release(struct inode *inode, struct file *file)
{
	struct test_file *tf = file->private_data;
	struct held *h, *tmp;

	list_for_each_entry_safe(h, tmp, &tf->held, list) {
		kddm_put_object(h->set, h->obj_id);
		kddm_put_set(h->set);
		kfree(h);
	}
	mutex_destroy(&tf->lock);
	kfree(tf);
	return 0;
}

static const struct file_operations test_fops = {
	.owner = THIS_MODULE,
	.open = test_open,
	.release = test_release,
	.unlocked_ioctl = test_ioctl,
};

static struct miscdevice test_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kddm_test",
	.fops = &test_fops,
	.mode = 0600,
};

static int __init kddm_test_init(void)
{
	int ret = kddm_register_io_linker(&test_linker);

	if (ret)
		return ret;
	ret = misc_register(&test_dev);
	if (ret)
		kddm_unregister_io_linker(&test_linker);
	return ret;
}

static void __exit kddm_test_exit(void)
{
	misc_deregister(&test_dev);
	kddm_unregister_io_linker(&test_linker);
	store_free();
}

module_init(kddm_test_init);
module_exit(kddm_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kDDM test io-linker and /dev/kddm_test");
