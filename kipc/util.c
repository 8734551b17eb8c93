// SPDX-License-Identifier: GPL-2.0
/*
 * kipc common parts: the key tables, permissions as ipc/util.c checks
 * them, id allocation, the io-linker of kipc's plain objects.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ipc.h>
#include <linux/ipc_namespace.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "kipc.h"

struct kddm_set *kipc_keys_set;
static atomic_t next_slot = ATOMIC_INIT(0);

struct ipc_namespace *kipc_ns(void)
{
	return current->nsproxy->ipc_ns;
}

/* kDDM errors as the IPC calls report them, for object @id. */
int kipc_id_err(int id, long err)
{
	/* An id of a node never seen is no id at all. */
	if (err == -EHOSTDOWN && !kddm_node_known(kipc_id_node(id)))
		return -EINVAL;
	return kipc_err(err);
}

/* kDDM errors as the IPC calls report them. */
int kipc_err(long err)
{
	/* An object homed on a node that left is gone for us. */
	if (err == -EHOSTDOWN || err == -EIDRM)
		return -EIDRM;
	if (err == -ENOENT)
		return -EINVAL;
	return err;
}

/* ---- key tables ---- */

struct kipc_key_table *kipc_keys_grab(enum kipc_type type)
{
	return kddm_grab_object(kipc_keys_set, type);
}

void kipc_keys_put(enum kipc_type type)
{
	kddm_put_object(kipc_keys_set, type);
}

/* The entry of @key (unless IPC_PRIVATE) or of @id (unless 0), or -1. */
int kipc_keys_find(struct kipc_key_table *t, s32 key, s32 id)
{
	u32 i;

	for (i = 0; i < t->n && i < KIPC_MAX_ENTRIES; i++)
		if ((key != IPC_PRIVATE && t->e[i].key == key) ||
		    (id && t->e[i].id == id))
			return i;
	return -1;
}

void kipc_keys_del(struct kipc_key_table *t, u32 i)
{
	if (i >= t->n)
		return;
	t->e[i] = t->e[--t->n];
}

int kipc_keys_add(struct kipc_key_table *t, s32 key, s32 id)
{
	if (t->n >= KIPC_MAX_ENTRIES)
		return -ENOSPC;
	t->e[t->n].key = key;
	t->e[t->n].id = id;
	t->n++;
	return 0;
}

/* IPC_RMID of an object still in use: its key is free for a new one. */
void kipc_unkey(enum kipc_type type, int id)
{
	struct kipc_key_table *t = kipc_keys_grab(type);
	int i;

	if (IS_ERR(t))
		return;
	i = kipc_keys_find(t, IPC_PRIVATE, id);
	if (i >= 0)
		t->e[i].key = IPC_PRIVATE;
	kipc_keys_put(type);
}

/* Forgets @id; returns the table's @total after subtracting @amount. */
void kipc_keys_forget(enum kipc_type type, int id, u64 amount)
{
	struct kipc_key_table *t = kipc_keys_grab(type);
	int i;

	if (IS_ERR(t))
		return;
	i = kipc_keys_find(t, IPC_PRIVATE, id);
	if (i >= 0)
		kipc_keys_del(t, i);
	t->total -= min(t->total, amount);
	kipc_keys_put(type);
}

/* *_STAT and *_STAT_ANY name an object by its index in the table. */
int kipc_index_to_id(enum kipc_type type, int idx)
{
	struct kipc_key_table *t = kipc_keys_grab(type);
	int id = -EINVAL;

	if (IS_ERR(t))
		return kipc_err(PTR_ERR(t));
	if (idx >= 0 && idx < t->n)
		id = t->e[idx].id;
	kipc_keys_put(type);
	return id;
}

/* ---- permissions, as ipc/util.c ---- */

int kipc_perms(const struct kipc_perm *p, short flag)
{
	kuid_t euid = current_euid();
	int requested = (flag >> 6) | (flag >> 3) | flag;
	int granted = p->mode;

	if (uid_eq(euid, make_kuid(&init_user_ns, p->cuid)) ||
	    uid_eq(euid, make_kuid(&init_user_ns, p->uid)))
		granted >>= 6;
	else if (in_group_p(make_kgid(&init_user_ns, p->cgid)) ||
		 in_group_p(make_kgid(&init_user_ns, p->gid)))
		granted >>= 3;
	if ((requested & ~granted & 0007) &&
	    !ns_capable(kipc_ns()->user_ns, CAP_IPC_OWNER))
		return -EACCES;
	return 0;
}

/* Owner, creator or CAP_SYS_ADMIN may change or remove (ipcctl_obtain_check). */
bool kipc_owner(const struct kipc_perm *p)
{
	kuid_t euid = current_euid();

	return uid_eq(euid, make_kuid(&init_user_ns, p->cuid)) ||
	       uid_eq(euid, make_kuid(&init_user_ns, p->uid)) ||
	       ns_capable(kipc_ns()->user_ns, CAP_SYS_ADMIN);
}

/* Fills the owner fields of a new object for the calling task. */
void kipc_perm_init(struct kipc_perm *p, int flg)
{
	p->uid = from_kuid(&init_user_ns, current_euid());
	p->cuid = p->uid;
	p->gid = from_kgid(&init_user_ns, current_egid());
	p->cgid = p->gid;
	p->mode = flg & 0777;
}

/*
 * A fresh id homed on this node, its object in @set grabbed: objects of
 * kipc start with a u32 "exists" field.
 */
int kipc_new_id(struct kddm_set *set, void **obj)
{
	int tries, id;

	for (tries = 0; tries < KIPC_SLOTS; tries++) {
		u32 slot = (u32)atomic_inc_return(&next_slot) % KIPC_SLOTS;

		id = (int)(kddm_node_id() << KIPC_SLOT_BITS | slot);
		*obj = kddm_grab_object(set, id);
		if (IS_ERR(*obj))
			return PTR_ERR(*obj);
		if (!*(u32 *)*obj)
			return id;
		kddm_put_object(set, id);
	}
	return -ENOSPC;
}

/* ---- kDDM sets of kipc's plain objects ---- */

static u32 obj_home(struct kddm_set *set, u64 objid,
		    const unsigned long *nodes_up)
{
	return kipc_id_node((int)objid);
}

static const struct kddm_io_linker_ops obj_linker = {
	.name = "kipc_obj",
	.owner = THIS_MODULE,
	.default_owner = obj_home,
};

/* A well-known set of plain objects homed on their creator node. */
struct kddm_set *kipc_open_obj_set(u32 name, u32 obj_size)
{
	struct kddm_set_attr attr = {
		.linker = "kipc_obj",
		.obj_size = obj_size,
		.policy = KDDM_OWNER_CUSTOM,
	};

	return kddm_open_set(name, &attr);
}

int kipc_util_init(void)
{
	struct kddm_set_attr keys = {
		.linker = "kipc_obj",
		.obj_size = sizeof(struct kipc_key_table),
		.policy = KDDM_OWNER_FIXED,
		.fixed_node = KIPC_KEY_NODE,
	};
	int ret;

	BUILD_BUG_ON(sizeof(struct kipc_key_table) > KDDM_MAX_OBJ_SIZE);
	ret = kddm_register_io_linker(&obj_linker);
	if (ret)
		return ret;
	kipc_keys_set = kddm_open_set(KIPC_SET_KEYS, &keys);
	if (IS_ERR(kipc_keys_set)) {
		kddm_unregister_io_linker(&obj_linker);
		return PTR_ERR(kipc_keys_set);
	}
	return 0;
}

void kipc_util_exit(void)
{
	kddm_put_set(kipc_keys_set);
	kddm_unregister_io_linker(&obj_linker);
}
