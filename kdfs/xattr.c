// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs extended attributes and POSIX ACLs. An inode's attributes are one
 * kDDM object (set xattrs, id = the inode number, homed with the inode):
 * packed entries, at most KDFS_XATTR_ROOM bytes, stored in x/<ino> of the
 * home's backing directory. The inode object counts them, so that an
 * inode without any costs no message. ACLs are the attributes
 * system.posix_acl_access and system.posix_acl_default in the kernel's
 * xattr format; they are not cached in the VFS inode (another node may
 * change them): every check reads the object, a local copy after the
 * first time.
 *
 * Lock order: the inode object, then its attributes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/slab.h>
#include <linux/xattr.h>

#include "kdfs.h"

/* ---- the io-linker ---- */

static void *x_alloc(struct kddm_set *set, u64 objid)
{
	return kzalloc(sizeof(struct kdfs_xobj), GFP_KERNEL);
}

static void x_free(struct kddm_set *set, u64 objid, void *data)
{
	struct kdfs_xobj *x = data;

	kvfree(x->buf);
	kfree(x);
}

/* @x takes @len bytes of entries at @buf (a copy); 0 or -errno. */
static int x_replace(struct kdfs_xobj *x, const void *buf, u32 len,
		     u32 count)
{
	u8 *nb = NULL;

	if (len) {
		nb = kvmalloc(len, GFP_KERNEL);
		if (!nb)
			return -ENOMEM;
		memcpy(nb, buf, len);
	}
	kvfree(x->buf);
	x->buf = nb;
	x->len = len;
	x->count = count;
	return 0;
}

/* Entries from a peer or a store: each within @len; their count or -1. */
static int x_count(const u8 *buf, u32 len)
{
	u32 off = 0;
	int n = 0;

	while (off < len) {
		const struct kdfs_xent *xe = (const void *)(buf + off);

		if (len - off < sizeof(*xe) || !xe->nlen ||
		    len - off < kdfs_xent_size(xe))
			return -1;
		off += kdfs_xent_size(xe);
		n++;
	}
	return n;
}

static int x_load(struct kddm_set *set, u64 objid, void *data)
{
	u8 *buf = kvmalloc(KDFS_XATTR_ROOM, GFP_KERNEL);
	int len, ret;

	if (!buf)
		return -ENOMEM;
	len = kdfs_load_xattrs(objid, buf);
	ret = len < 0 ? len : x_replace(data, buf, len, x_count(buf, len));
	kvfree(buf);
	return ret;
}

/*
 * On the wire: the entries' length (kDDM ships no empty payload), then
 * the entries.
 */
static u32 x_size(struct kddm_set *set, u64 objid, void *data)
{
	return sizeof(u32) + ((struct kdfs_xobj *)data)->len;
}

static int x_export(struct kddm_set *set, u64 objid, void *data, void *buf,
		    size_t len)
{
	struct kdfs_xobj *x = data;

	if (sizeof(u32) + x->len > len)
		return -EMSGSIZE;
	memcpy(buf, &x->len, sizeof(u32));
	memcpy(buf + sizeof(u32), x->buf, x->len);
	return sizeof(u32) + x->len;
}

static int x_import(struct kddm_set *set, u64 objid, void *data,
		    const void *buf, size_t len)
{
	u32 n_len;
	int n = -1;

	if (len >= sizeof(u32)) {
		memcpy(&n_len, buf, sizeof(u32));
		buf += sizeof(u32);
		len -= sizeof(u32);
		if (n_len == len)
			n = x_count(buf, len);
	}

	if (n < 0) {
		pr_warn_ratelimited("attributes of %llx: malformed copy dropped\n",
				    objid);
		x_replace(data, NULL, 0, 0);
		return -EPROTO;
	}
	return x_replace(data, buf, len, n);
}

static int x_sync(struct kddm_set *set, u64 objid, void *data)
{
	struct kdfs_xobj *x = data;

	return kdfs_store_xattrs(objid, x->buf, x->len);
}

const struct kddm_io_linker_ops kdfs_xattr_linker = {
	.name = "kdfs_xattr",
	.owner = THIS_MODULE,
	.alloc_object = x_alloc,
	.free_object = x_free,
	.first_touch = x_load,
	.export_object = x_export,
	.export_size = x_size,
	.import_object = x_import,
	.sync_object = x_sync,
	.reload_object = x_load,
};

/* ---- get, set, list ---- */

static const struct kdfs_xent *x_find(const struct kdfs_xobj *x,
				      const char *name)
{
	const struct kdfs_xent *xe;
	size_t len = strlen(name);
	u32 off;

	kdfs_for_each_xent(x->buf, x->len, off, xe)
		if (xe->nlen == len && !memcmp(xe->name, name, len))
			return xe;
	return NULL;
}

/*
 * The value of @name of @inode into @buf (@size bytes, 0: only its
 * length); its length or -errno (-ENODATA: none).
 */
static int x_get(struct inode *inode, const char *name, void *buf,
		 size_t size)
{
	const struct kdfs_xent *xe;
	struct kdfs_xobj *x;
	int ret;

	if (!KDFS_I(inode)->xattrs)
		return -ENODATA;
	x = kddm_get_object(kdfs_xattrs, inode->i_ino);
	if (IS_ERR(x))
		return kdfs_errno(PTR_ERR(x));
	xe = x_find(x, name);
	ret = -ENODATA;
	if (xe) {
		ret = xe->vlen;
		if (size && size < xe->vlen)
			ret = -ERANGE;
		else if (size)
			memcpy(buf, xe->name + xe->nlen, xe->vlen);
	}
	kddm_put_object(kdfs_xattrs, inode->i_ino);
	return ret;
}

/* @x with @name set to @value (NULL: removed), as XATTR_* @flags say. */
static int x_edit(struct kdfs_xobj *x, const char *name, const void *value,
		  size_t size, int flags)
{
	const struct kdfs_xent *old = x_find(x, name);
	u32 nlen = strlen(name), oldsz = old ? kdfs_xent_size(old) : 0;
	u32 off = old ? (const u8 *)old - x->buf : x->len, len;
	struct kdfs_xent *xe;
	u8 *nb;
	int ret;

	if (old && (flags & XATTR_CREATE))
		return -EEXIST;
	if (!old && (!value || (flags & XATTR_REPLACE)))
		return -ENODATA;
	len = x->len - oldsz + (value ? sizeof(*xe) + nlen + size : 0);
	if (len > KDFS_XATTR_ROOM)
		return -ENOSPC;
	nb = kvmalloc(max(len, 1U), GFP_KERNEL);
	if (!nb)
		return -ENOMEM;
	/* the others in their order, then the new value last */
	memcpy(nb, x->buf, off);
	memcpy(nb + off, x->buf + off + oldsz, x->len - off - oldsz);
	if (value) {
		xe = (void *)(nb + x->len - oldsz);
		xe->nlen = nlen;
		memset(xe->pad, 0, sizeof(xe->pad));
		xe->vlen = size;
		memcpy(xe->name, name, nlen);
		memcpy(xe->name + nlen, value, size);
	}
	ret = x_replace(x, nb, len, x->count - !!old + !!value);
	kvfree(nb);
	return ret;
}

/*
 * Sets (or, @value NULL, removes) @name of @inode, durably; @mode, if
 * not NULL, becomes the inode's mode in the same step (ACL updates).
 */
static int x_set(struct inode *inode, const char *name, const void *value,
		 size_t size, int flags, const umode_t *mode)
{
	struct kdfs_iobj *io;
	struct kdfs_xobj *x;
	int ret;

	if (strlen(name) > XATTR_NAME_MAX)
		return -ERANGE;
	io = kdfs_iobj_grab(inode->i_ino);
	if (IS_ERR(io))
		return PTR_ERR(io);
	x = kddm_grab_object(kdfs_xattrs, inode->i_ino);
	ret = kdfs_errno(PTR_ERR_OR_ZERO(x));
	if (!ret) {
		ret = x_edit(x, name, value, size, flags);
		if (ret == -ENODATA && !value && mode)
			ret = 0;	/* no ACL to remove, a mode to set */
		if (!ret) {
			io->xattrs = x->count;
			if (mode)
				io->mode = (io->mode & S_IFMT) |
					   (*mode & ~S_IFMT);
			kdfs_touch(io, false);
		}
		kddm_put_object(kdfs_xattrs, inode->i_ino);
	}
	kdfs_fill_inode(inode, io);
	kdfs_iobj_put(inode->i_ino);
	if (!ret)
		ret = kdfs_errno(kddm_sync_object(kdfs_xattrs, inode->i_ino)) ?:
		      kdfs_sync_meta(inode->i_ino);
	return ret;
}

static bool list_trusted(void)
{
	return capable(CAP_SYS_ADMIN);
}

ssize_t kdfs_listxattr(struct dentry *dentry, char *list, size_t size)
{
	struct inode *inode = d_inode(dentry);
	const struct kdfs_xent *xe;
	struct kdfs_xobj *x;
	size_t used = 0;
	ssize_t ret;
	u32 off;

	ret = kdfs_refresh(inode);
	if (ret || !KDFS_I(inode)->xattrs)
		return ret;
	x = kddm_get_object(kdfs_xattrs, inode->i_ino);
	if (IS_ERR(x))
		return kdfs_errno(PTR_ERR(x));
	kdfs_for_each_xent(x->buf, x->len, off, xe) {
		if (xe->nlen >= XATTR_TRUSTED_PREFIX_LEN &&
		    !memcmp(xe->name, XATTR_TRUSTED_PREFIX,
			    XATTR_TRUSTED_PREFIX_LEN) && !list_trusted())
			continue;
		if (size && used + xe->nlen + 1 > size) {
			used = -ERANGE;
			break;
		}
		if (size) {
			memcpy(list + used, xe->name, xe->nlen);
			list[used + xe->nlen] = '\0';
		}
		used += xe->nlen + 1;
	}
	kddm_put_object(kdfs_xattrs, inode->i_ino);
	return used;
}

/* The inode is gone: so are its attributes, everywhere. */
void kdfs_xattrs_drop(u64 ino)
{
	kddm_remove_object(kdfs_xattrs, ino);
}

/* ---- handlers: user., trusted., security. ---- */

static int kdfs_xattr_get(const struct xattr_handler *h,
			  struct dentry *dentry, struct inode *inode,
			  const char *name, void *buf, size_t size)
{
	char *full = (char *)xattr_full_name(h, name);
	int ret = kdfs_refresh(inode);

	return ret ?: x_get(inode, full, buf, size);
}

static int kdfs_xattr_set(const struct xattr_handler *h,
			  struct kddm_idmap *idmap, struct dentry *dentry,
			  struct inode *inode, const char *name,
			  const void *value, size_t size, int flags)
{
	return x_set(inode, xattr_full_name(h, name), value, size, flags,
		     NULL);
}

static const struct xattr_handler user_handler = {
	.prefix = XATTR_USER_PREFIX,
	.get = kdfs_xattr_get,
	.set = kdfs_xattr_set,
};

static const struct xattr_handler trusted_handler = {
	.prefix = XATTR_TRUSTED_PREFIX,
	.get = kdfs_xattr_get,
	.set = kdfs_xattr_set,
};

static const struct xattr_handler security_handler = {
	.prefix = XATTR_SECURITY_PREFIX,
	.get = kdfs_xattr_get,
	.set = kdfs_xattr_set,
};


/* ---- kdfs.placement: where a directory's new inodes live ---- */

#define PLACEMENT	"kdfs.placement"

#define PLACE_RR	U32_MAX		/* round-robin */
#define PLACE_STRIPE	(U32_MAX - 1)	/* striped (@unit) */
#define STRIPE_UNIT	256		/* pages: 1 MiB by default */

/*
 * The stripe unit of "stripe:SIZE": a power of two from 4k to 16m (a
 * number of bytes, with k or m).
 */
static int parse_unit(const char *v, u32 *unit)
{
	char num[16];
	size_t len = strlen(v);
	unsigned int shift = 0;
	u64 n;

	if (!len || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, len + 1);
	if (num[len - 1] == 'k' || num[len - 1] == 'K')
		shift = 10;
	else if (num[len - 1] == 'm' || num[len - 1] == 'M')
		shift = 20;
	if (shift)
		num[len - 1] = '\0';
	if (kstrtou64(num, 10, &n) || n > U32_MAX)
		return -EINVAL;
	n <<= shift;
	if (n < PAGE_SIZE || n > (u64)KDFS_STRIPE_MAX_UNIT << PAGE_SHIFT ||
	    !is_power_of_2(n))
		return -EINVAL;
	*unit = n >> PAGE_SHIFT;
	return 0;
}

/*
 * "local" (the creating node), "node:N", "round-robin" (over the nodes
 * with kdfs mounted) or "stripe[:SIZE]" (a new file's data over the
 * nodes with kdfs mounted then, SIZE bytes on each in turn); @node: 0
 * (local), a node id, PLACE_RR or PLACE_STRIPE (@unit: pages, else 0).
 */
static int parse_placement(const char *v, size_t len, u32 *node, u32 *unit)
{
	char buf[16];

	*unit = 0;
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (!strcmp(buf, "local")) {
		*node = 0;
		return 0;
	}
	if (!strcmp(buf, "round-robin")) {
		*node = PLACE_RR;
		return 0;
	}
	if (!strcmp(buf, "stripe") || !strncmp(buf, "stripe:", 7)) {
		*node = PLACE_STRIPE;
		if (!buf[6]) {
			*unit = STRIPE_UNIT;
			return 0;
		}
		return parse_unit(buf + 7, unit);
	}
	if (strncmp(buf, "node:", 5) || kstrtou32(buf + 5, 10, node) ||
	    !*node || *node > KDDM_MAX_NODE)
		return -EINVAL;
	return 0;
}

/*
 * kdfs.layout (read only): where a file's data is, "node=N", or
 * "stripe unit=BYTES nodes=N,M,..." for a striped file.
 */
static int layout_get(struct inode *inode, void *buf, size_t size)
{
	const struct kdfs_layout *l = &KDFS_I(inode)->lay;
	char *text;
	u64 m;
	int len;

	text = kmalloc(512, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	if (!l->nodes) {
		len = scnprintf(text, 512, "node=%u", kdfs_ino_node(inode->i_ino));
	} else {
		len = scnprintf(text, 512, "stripe unit=%lu nodes=",
				(unsigned long)l->unit << PAGE_SHIFT);
		for (m = l->nodes; m; m &= m - 1)
			len += scnprintf(text + len, 512 - len, "%s%u",
					 m == l->nodes ? "" : ",",
					 (unsigned int)__ffs64(m) + 1);
	}
	if (!size)
		goto out;
	if (len > size)
		len = -ERANGE;
	else
		memcpy(buf, text, len);
out:
	kfree(text);
	return len;
}

static int placement_get(const struct xattr_handler *h,
			 struct dentry *dentry, struct inode *inode,
			 const char *name, void *buf, size_t size)
{
	int ret = kdfs_refresh(inode);

	if (ret)
		return ret;
	if (!strcmp(name, "layout"))
		return layout_get(inode, buf, size);
	if (strcmp(name, "placement"))
		return -EOPNOTSUPP;
	return x_get(inode, PLACEMENT, buf, size);
}

static int placement_set(const struct xattr_handler *h,
			 struct kddm_idmap *idmap, struct dentry *dentry,
			 struct inode *inode, const char *name,
			 const void *value, size_t size, int flags)
{
	u32 node, unit;

	if (strcmp(name, "placement"))
		return -EOPNOTSUPP;
	if (!S_ISDIR(inode->i_mode))
		return -ENOTDIR;
	if (value && parse_placement(value, size, &node, &unit))
		return -EINVAL;
	return x_set(inode, PLACEMENT, value, size, flags, NULL);
}

static const struct xattr_handler placement_handler = {
	.prefix = "kdfs.",
	.get = placement_get,
	.set = placement_set,
};

/* The next node with kdfs mounted after the one chosen last. */
static u32 rr_node(void)
{
	static atomic_t last = ATOMIC_INIT(0);
	u32 prev = (u32)atomic_read(&last), i, n;

	for (i = 1; i <= 64; i++) {
		n = (prev + i - 1) % 64 + 1;
		if (kdfs_node_mounted(n)) {
			atomic_set(&last, n);
			return n;
		}
	}
	return 0;
}

/*
 * The layout of a new regular file homed on @home, striped by @unit
 * pages over the nodes with kdfs mounted (1..64); not striped if @home
 * is past 64.
 */
static void stripe_layout(struct inode *dir, u32 home, u32 unit,
			  struct kdfs_layout *lay)
{
	u32 n;

	if (home > KDFS_STRIPE_NODES) {
		pr_warn_ratelimited("directory %lx: stripes need a node id up to %u, not %u: a new file is not striped\n",
				    dir->i_ino, KDFS_STRIPE_NODES, home);
		return;
	}
	for (n = 1; n <= KDFS_STRIPE_NODES; n++)
		if (kdfs_node_mounted(n))
			lay->nodes |= BIT_ULL(n - 1);
	lay->unit = lay->nodes ? unit : 0;
}

/*
 * The node a new inode in @dir goes to, or @dflt; with @lay, the layout
 * a new regular file gets there.
 */
u32 kdfs_dir_placement(struct inode *dir, u32 dflt, struct kdfs_layout *lay)
{
	char buf[16];
	u32 node, unit;
	int len;

	len = x_get(dir, PLACEMENT, buf, sizeof(buf));
	if (len <= 0 || parse_placement(buf, len, &node, &unit))
		return dflt;
	if (node == PLACE_STRIPE) {
		if (lay)
			stripe_layout(dir, dflt, unit, lay);
		return dflt;
	}
	if (node == PLACE_RR)
		node = rr_node();
	else if (node && !kdfs_node_mounted(node)) {
		pr_warn_ratelimited("directory %lx: placement on node %u, which has no kdfs mounted: the creating node holds the new inode\n",
				    dir->i_ino, node);
		node = 0;
	}
	return node ?: kdfs_this->node;
}

/* A new subdirectory keeps its parent's placement. */
int kdfs_inherit_placement(struct inode *dir, struct inode *inode)
{
	char buf[16];
	int len = x_get(dir, PLACEMENT, buf, sizeof(buf));

	if (len == -ENODATA)
		return 0;
	if (len < 0)
		return len;
	return x_set(inode, PLACEMENT, buf, len, 0, NULL);
}

const struct xattr_handler *kdfs_xattr_handlers[] = {
	KDDM_POSIX_ACL_XATTR_HANDLERS
	&user_handler,
	&trusted_handler,
	&security_handler,
	&placement_handler,
	NULL
};

/* ---- POSIX ACLs ---- */

static const char *acl_name(int type)
{
	return type == ACL_TYPE_ACCESS ? XATTR_NAME_POSIX_ACL_ACCESS :
					 XATTR_NAME_POSIX_ACL_DEFAULT;
}

struct posix_acl *kdfs_get_acl(struct inode *inode, int type, bool rcu)
{
	struct posix_acl *acl;
	void *buf;
	int len;

	if (rcu)
		return ERR_PTR(-ECHILD);
	len = x_get(inode, acl_name(type), NULL, 0);
	if (len == -ENODATA)
		return NULL;
	if (len < 0)
		return ERR_PTR(len);
	buf = kvmalloc(max(len, 1), GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	len = x_get(inode, acl_name(type), buf, len);
	if (len == -ENODATA || len == -ERANGE)
		acl = NULL;	/* changed meanwhile: as if read before */
	else if (len < 0)
		acl = ERR_PTR(len);
	else
		acl = posix_acl_from_xattr(&init_user_ns, buf, len);
	kvfree(buf);
	return acl;
}

/* Stores @acl of @type (NULL: none), and @mode with it if not NULL. */
static int acl_store(struct inode *inode, struct posix_acl *acl, int type,
		     const umode_t *mode)
{
	void *buf = NULL;
	int len = 0, ret;

	if (acl) {
		len = posix_acl_xattr_size(acl->a_count);
		buf = kvmalloc(len, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		ret = posix_acl_to_xattr(&init_user_ns, acl, buf, len);
		if (ret < 0)
			goto out;
	}
	ret = x_set(inode, acl_name(type), buf, len, 0, mode);
	if (ret == -ENODATA && !acl)
		ret = 0;	/* none to remove */
out:
	kvfree(buf);
	return ret;
}

int kdfs_set_acl(struct kddm_idmap *idmap, struct kddm_acl_target *target,
		 struct posix_acl *acl, int type)
{
	struct inode *inode = kddm_acl_inode(target);
	umode_t mode = inode->i_mode;
	int ret;

	if (type == ACL_TYPE_DEFAULT && !S_ISDIR(inode->i_mode))
		return acl ? -EACCES : 0;
	if (type == ACL_TYPE_ACCESS && acl) {
		ret = posix_acl_update_mode(idmap, inode, &mode, &acl);
		if (ret)
			return ret;
	}
	return acl_store(inode, acl, type,
			 mode != inode->i_mode ? &mode : NULL);
}

/*
 * The ACLs a new inode inherits from its directory (posix_acl_create()
 * computed them, and its mode, before it was made).
 */
int kdfs_init_acl(struct inode *inode, struct posix_acl *def,
		  struct posix_acl *acl)
{
	int ret = 0;

	if (def)
		ret = acl_store(inode, def, ACL_TYPE_DEFAULT, NULL);
	if (acl && !ret)
		ret = acl_store(inode, acl, ACL_TYPE_ACCESS, NULL);
	return ret;
}
