// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs backing store: what a node's objects are made of on its own disk,
 * under BACKING/kdfs, in files a person can read:
 *
 *   node            this node's id (a backing directory serves one node)
 *   alloc           the next inode number n this node gives out
 *   i/<ino>         an inode: "mode=... nlink=... uid=... size=..." (text)
 *   d/<ino>         a directory: one "<ino> <type> <name>" line per entry,
 *                   bytes of the name below '!', '%' and DEL as %XX
 *   f/<ino>         a regular file's or a symlink's data, as is
 *   x/<ino>         extended attributes (and POSIX ACLs): one
 *                   "<name> <value in hex>" line each, the name encoded
 *                   as in d/
 *
 * <ino> is the inode number in hex (16 digits). Files are rewritten in
 * place and fsync'ed; the I/O runs with the credentials of the mount,
 * without file system recursion into reclaim (memalloc_nofs).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs_struct.h>
#include <linux/mm.h>
#include <linux/namei.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <linux/workqueue.h>

#include "kdfs.h"

/*
 * The mount's backing store is used by the io-linkers, on any thread and
 * for requests of any node, while this node's mount lives: kdfs_mount_sem
 * (read) keeps it from going; mount and umount take it for write.
 */
DECLARE_RWSEM(kdfs_mount_sem);

struct io_ctx {
	const struct cred *old;
	unsigned int nofs;
	bool up;
};

static void io_begin(struct io_ctx *c)
{
	down_read(&kdfs_mount_sem);
	c->up = kdfs_this && kdfs_this->backing.dentry;
	if (c->up)
		c->old = override_creds(kdfs_this->cred);
	c->nofs = memalloc_nofs_save();
}

static void io_end(struct io_ctx *c)
{
	memalloc_nofs_restore(c->nofs);
	if (c->up)
		revert_creds(c->old);
	up_read(&kdfs_mount_sem);
}

struct open_work {
	struct work_struct work;
	const char *name;
	int flags;
	struct file *file;
};

static struct file *do_open_rel(const char *name, int flags)
{
	return file_open_root(&kdfs_this->backing, name,
			      flags | O_LARGEFILE | O_NOFOLLOW, 0600);
}

static void open_work_fn(struct work_struct *w)
{
	struct open_work *ow = container_of(w, struct open_work, work);
	const struct cred *old = override_creds(kdfs_this->cred);

	ow->file = do_open_rel(ow->name, ow->flags);
	revert_creds(old);
}

/*
 * Between io_begin() and io_end(). A task that is exiting (its last
 * fput writes back) has no fs_struct any more, which a create needs (its
 * umask): a worker opens for it.
 */
static struct file *open_rel(const char *name, int flags)
{
	struct open_work ow = { .name = name, .flags = flags };

	if (!kdfs_this || !kdfs_this->backing.dentry)
		return ERR_PTR(-ENODEV);
	if (current->fs)
		return do_open_rel(name, flags);
	INIT_WORK_ONSTACK(&ow.work, open_work_fn);
	queue_work(system_unbound_wq, &ow.work);
	flush_work(&ow.work);
	destroy_work_on_stack(&ow.work);
	return ow.file;
}

/* Replaces the file @name with @len bytes of @buf, durably if @sync. */
static int write_file_sync(const char *name, const void *buf, size_t len,
			   bool sync)
{
	struct io_ctx c;
	struct file *f;
	loff_t pos = 0;
	ssize_t n;
	int ret;

	io_begin(&c);
	f = open_rel(name, O_WRONLY | O_CREAT | O_TRUNC);
	ret = PTR_ERR_OR_ZERO(f);
	if (ret)
		goto out;
	n = kernel_write(f, buf, len, &pos);
	ret = n < 0 ? n : n != len ? -EIO : sync ? vfs_fsync(f, 1) : 0;
	fput(f);
out:
	io_end(&c);
	return ret;
}

static int write_file(const char *name, const void *buf, size_t len)
{
	return write_file_sync(name, buf, len, true);
}

/*
 * Reads from @f (or gives its error) and puts it. Past its end, no read
 * at all: a new file's pages are first touched there, one by one.
 */
static ssize_t read_at(struct file *f, void *buf, size_t len, loff_t pos)
{
	ssize_t n = 0;

	if (IS_ERR(f))
		return PTR_ERR(f);
	if (pos < i_size_read(file_inode(f)))
		n = kernel_read(f, buf, len, &pos);
	fput(f);
	return n;
}

/* Reads up to @len bytes of @name; the count, or -errno (-ENOENT). */
static ssize_t read_file(const char *name, void *buf, size_t len, loff_t pos)
{
	struct io_ctx c;
	ssize_t n;

	io_begin(&c);
	n = read_at(open_rel(name, O_RDONLY), buf, len, pos);
	io_end(&c);
	return n;
}

static void ino_name(char *buf, size_t len, char kind, u64 ino)
{
	snprintf(buf, len, "%c/%016llx", kind, ino);
}

/* ---- inodes ---- */

#define INODE_TEXT	400

/* Writes the inode file of @ino, durably if @sync. */
int kdfs_write_inode(u64 ino, const struct kdfs_iobj *io, bool sync)
{
	char name[24], *buf;
	int len, ret;

	buf = kmalloc(INODE_TEXT, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	len = scnprintf(buf, INODE_TEXT,
			"mode=%o nlink=%u uid=%u gid=%u size=%llu rdev=%u gen=%llu atime=%lld.%09u mtime=%lld.%09u ctime=%lld.%09u xattrs=%u",
			io->mode, io->nlink, io->uid, io->gid, io->size,
			io->rdev, io->gen, io->atime, io->atime_ns,
			io->mtime, io->mtime_ns, io->ctime, io->ctime_ns,
			io->xattrs);
	/* a striped file's layout, and the cut its stripe nodes owe */
	if (io->lay.nodes && kdfs_iobj_lay_ok(ino, io))
		len += scnprintf(buf + len, INODE_TEXT - len,
				 " stripe_nodes=%llx stripe_unit=%u cut_nodes=%llx cut_size=%llu",
				 io->lay.nodes, io->lay.unit,
				 io->cut_nodes & io->lay.nodes, io->cut_size);
	len += scnprintf(buf + len, INODE_TEXT - len, "\n");
	ino_name(name, sizeof(name), 'i', ino);
	ret = write_file_sync(name, buf, len, sync);
	kfree(buf);
	return ret;
}

/* Room left for new inodes, whose files may wait for the write-back. */
#define ROOM_BYTES	(64ULL << 20)
#define ROOM_FILES	4096

bool kdfs_store_roomy(void)
{
	struct kstatfs st;
	struct io_ctx c;
	bool roomy = false;

	io_begin(&c);
	if (c.up && !vfs_statfs(&kdfs_this->backing, &st))
		roomy = st.f_bavail * st.f_bsize >= ROOM_BYTES &&
			(!st.f_files || st.f_ffree >= ROOM_FILES);
	io_end(&c);
	return roomy;
}

int kdfs_store_inode(u64 ino, const struct kdfs_iobj *io)
{
	return kdfs_write_inode(ino, io, true);
}

int kdfs_load_inode(u64 ino, struct kdfs_iobj *io)
{
	char name[24], *buf;
	ssize_t n;
	int ret = -EUCLEAN;

	buf = kzalloc(INODE_TEXT + 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ino_name(name, sizeof(name), 'i', ino);
	n = read_file(name, buf, INODE_TEXT, 0);
	if (n < 0) {
		ret = n;
		goto out;
	}
	memset(io, 0, sizeof(*io));
	/* xattrs= is optional (stores made before it existed); stripe_ too */
	if (sscanf(buf,
		   "mode=%o nlink=%u uid=%u gid=%u size=%llu rdev=%u gen=%llu atime=%lld.%u mtime=%lld.%u ctime=%lld.%u xattrs=%u stripe_nodes=%llx stripe_unit=%u cut_nodes=%llx cut_size=%llu",
		   &io->mode, &io->nlink, &io->uid, &io->gid, &io->size,
		   &io->rdev, &io->gen, &io->atime, &io->atime_ns,
		   &io->mtime, &io->mtime_ns, &io->ctime, &io->ctime_ns,
		   &io->xattrs, &io->lay.nodes, &io->lay.unit, &io->cut_nodes,
		   &io->cut_size) >= 13 &&
	    io->mode && io->size <= KDFS_MAX_FILE_SIZE &&
	    kdfs_iobj_lay_ok(ino, io))
		ret = 0;
	else
		pr_warn_ratelimited("inode %llx: damaged %s, ignored\n", ino,
				    name);
out:
	kfree(buf);
	return ret;
}

/* ---- directories ---- */

static bool plain(u8 c)
{
	return c > ' ' && c != '%' && c != 0x7f;
}

/* @len bytes of @name at @buf (room for 3 each): the text's length. */
static size_t encode_name(char *buf, const char *name, int len)
{
	size_t n = 0;
	int i;

	for (i = 0; i < len; i++) {
		u8 c = name[i];

		if (plain(c)) {
			buf[n++] = c;
		} else {
			buf[n++] = '%';
			n += bin2hex(buf + n, &c, 1) - (buf + n);
		}
	}
	return n;
}

/* The name in the text @p (NUL-ended) into @out: its length or -EUCLEAN. */
static int decode_name(const char *p, char *out, int max)
{
	int len = 0;

	for (; *p; p++) {
		u8 c = *p;

		if (len >= max)
			return -EUCLEAN;
		if (c == '%') {
			if (!p[1] || !p[2] || hex2bin(&c, p + 1, 1))
				return -EUCLEAN;
			p += 2;
		} else if (!plain(c)) {
			return -EUCLEAN;
		}
		out[len++] = c;
	}
	return len ?: -EUCLEAN;
}

/* At most 3 bytes a name byte, plus "<ino> <type> " and a newline. */
#define DIR_TEXT_MAX	(KDFS_DIR_ROOM * 3 + 64)

/* The whole text of a split node of a listing (a leaf's is its entries). */
#define DIR_SPLIT_TEXT	"split\n"

/* Node @id of a listing (kdfs_dir_id()): its file d/<id>, durably. */
int kdfs_store_dir(u64 id, const struct kdfs_dobj *d)
{
	struct kdfs_dirent *de;
	char name[24], *buf;
	size_t len = 0;
	int ret;

	buf = kvmalloc(DIR_TEXT_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (d->flags & KDFS_DIR_SPLIT)
		len = strscpy(buf, DIR_SPLIT_TEXT, DIR_TEXT_MAX);
	kdfs_for_each_dirent(d, de) {
		len += scnprintf(buf + len, DIR_TEXT_MAX - len, "%016llx %u ",
				 de->ino, de->type);
		len += encode_name(buf + len, de->name, de->len);
		buf[len++] = '\n';
	}
	ino_name(name, sizeof(name), 'd', id);
	ret = write_file(name, buf, len);
	kvfree(buf);
	return ret;
}

/* One "<ino> <type> <name>" line into @de (room for a whole entry). */
static int parse_entry(char *line, struct kdfs_dirent *de)
{
	unsigned long long ino;
	unsigned int type;
	int n = 0, len;

	if (sscanf(line, "%llx %u %n", &ino, &type, &n) != 2 || !n)
		return -EUCLEAN;
	len = decode_name(line + n, de->name, NAME_MAX);
	if (len < 0 || !kdfs_name_valid(de->name, len) || !ino ||
	    type > DT_WHT)
		return -EUCLEAN;
	de->ino = ino;
	de->type = type;
	de->len = len;
	return 0;
}

/* Does node @id's file say "split"? 1, 0 (also if it has no file) or -errno. */
int kdfs_dir_split_on_disk(u64 id)
{
	char name[24], head[sizeof(DIR_SPLIT_TEXT)];
	ssize_t n;

	ino_name(name, sizeof(name), 'd', id);
	n = read_file(name, head, sizeof(head), 0);
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return n;
	return n == sizeof(head) - 1 && !memcmp(head, DIR_SPLIT_TEXT, n);
}

/*
 * In *@a: the topmost node of @ino's listing on the way to node @t whose
 * file does not say "split" (@t if none). 0 or -errno.
 */
int kdfs_dir_unsplit_above(u64 ino, u32 t, u32 *a)
{
	unsigned int depth = kdfs_dir_depth(t), k;
	int ret;

	*a = 1;
	for (k = 0; *a != t; k++) {
		ret = kdfs_dir_split_on_disk(kdfs_dir_id(ino, *a));
		if (ret <= 0)
			return ret;
		*a = t >> (depth - k - 1);
	}
	return 0;
}

/*
 * The entries of file @name that belong under node @t into @d; 1 if the
 * file says "split" (then @d is left empty), 0, or -errno.
 */
static int load_node(const char *name, u32 t, struct kdfs_dobj *d)
{
	u8 ent[sizeof(struct kdfs_dirent) + NAME_MAX];
	char *buf, *line, *next;
	struct kdfs_dirent *de;
	ssize_t n;
	int ret = 0;

	buf = kvmalloc(DIR_TEXT_MAX + 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	n = read_file(name, buf, DIR_TEXT_MAX, 0);
	if (n < 0) {
		ret = n;
		goto out;
	}
	buf[n] = '\0';
	memset(d, 0, sizeof(*d));
	if (!strcmp(buf, DIR_SPLIT_TEXT)) {
		ret = 1;
		goto out;
	}
	for (line = buf; *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		de = (struct kdfs_dirent *)ent;
		if (parse_entry(line, de) ||
		    d->used + sizeof(*de) + de->len > KDFS_DIR_ROOM) {
			pr_warn_ratelimited("listing: damaged entry in %s, skipped\n",
					    name);
			continue;
		}
		if (!kdfs_hash_in_node(kdfs_name_hash(de->name, de->len), t))
			continue;	/* another half's (a split not on disk) */
		memcpy(d->entries + d->used, de, sizeof(*de) + de->len);
		d->used += sizeof(*de) + de->len;
		d->count++;
	}
out:
	kvfree(buf);
	return ret;
}

/*
 * Node @id of a listing, from the disk. A node is split on disk only
 * once its halves are there (dir_sync()): a half whose parent is not
 * split on disk yet (its split was lost with a node, or a crash) gets
 * its names from the deepest node on its way that is not split there,
 * not from a file of its own that a split never finished writing.
 */
int kdfs_load_dir(u64 id, struct kdfs_dobj *d)
{
	u64 ino = kdfs_dir_ino(id);
	u32 t = kdfs_dir_node(id), a;
	unsigned int depth = kdfs_dir_depth(t);
	char name[24];
	int ret, tries = 3;

	do {
		ret = kdfs_dir_unsplit_above(ino, t, &a);
		if (ret)
			return ret;
		ino_name(name, sizeof(name), 'd', kdfs_dir_id(ino, a));
		ret = load_node(name, t, d);
		if (ret == 1 && a == t && depth < KDFS_DIR_DEPTH) {
			d->flags = KDFS_DIR_SPLIT;
			return 0;
		}
		/* a != t: split meanwhile, its halves on disk: again */
	} while (ret == 1 && a != t && --tries);
	return ret == 1 ? -EUCLEAN : ret;	/* split too deep */
}

/* ---- data ---- */

/*
 * The data file used last stays open: a file's pages come and go one at a
 * time, mostly in order, and an open by name costs more than a page's I/O.
 * Dropped when its inode is freed and at unmount. So is the last inode
 * found to have none (a new file's pages, first touched one by one):
 * only data_open() makes data files.
 */
static DEFINE_MUTEX(data_lock);
static struct file *data_file;
static u64 data_ino;
static u64 data_missing;	/* 0: none known */

/* Between io_begin() and io_end(): the data file of @ino, referenced. */
static struct file *data_open(u64 ino, bool create)
{
	struct file *f, *old;
	char name[24];

	mutex_lock(&data_lock);
	f = data_file && data_ino == ino ? get_file(data_file) : NULL;
	if (!f && !create && data_missing == ino)
		f = ERR_PTR(-ENOENT);
	mutex_unlock(&data_lock);
	if (f)
		return f;
	ino_name(name, sizeof(name), 'f', ino);
	/* under data_lock: a create cannot slip between a miss and its note */
	mutex_lock(&data_lock);
	f = open_rel(name, O_RDWR | (create ? O_CREAT : 0));
	if (IS_ERR(f)) {
		if (PTR_ERR(f) == -ENOENT && !create)
			data_missing = ino;
		mutex_unlock(&data_lock);
		return f;
	}
	if (data_missing == ino)
		data_missing = 0;
	old = data_file;
	data_file = get_file(f);
	data_ino = ino;
	mutex_unlock(&data_lock);
	if (old)
		fput(old);
	return f;
}

/* Closes the kept data file if it is @ino's (any with @all). */
static void data_drop(u64 ino, bool all)
{
	struct file *old = NULL;

	mutex_lock(&data_lock);
	if (all || data_missing == ino)
		data_missing = 0;
	if (data_file && (all || data_ino == ino)) {
		old = data_file;
		data_file = NULL;
	}
	mutex_unlock(&data_lock);
	if (old)
		fput(old);
}

/* The @nr pages of @bv written at @pos of @f, with direct I/O if @direct. */
static ssize_t write_pages_at(struct file *f, loff_t pos, struct bio_vec *bv,
			      unsigned int nr, bool direct)
{
	struct iov_iter iter;
	struct kiocb kiocb;
	ssize_t n;

	iov_iter_bvec(&iter, WRITE, bv, nr, (size_t)nr << PAGE_SHIFT);
	init_sync_kiocb(&kiocb, f);
	kiocb.ki_pos = pos;
	if (direct)
		kiocb.ki_flags |= IOCB_DIRECT;
	file_start_write(f);	/* as kernel_write() */
	n = f->f_op->write_iter(&kiocb, &iter);
	file_end_write(f);
	return n;
}

/*
 * Pages @index.. (the @nr page objects of @bv), written whole at their
 * place in one write (the inode's sync cuts the file to its size: the
 * size is the inode's, not the data file's). With direct I/O from the
 * pages themselves where the backing file takes it: no copy into the
 * backing file system's page cache, no page allocated there (half the
 * cost of a store from memory, in perf, was that copy and the backing
 * file system's page handling). Direct I/O writes and invalidates what
 * the page cache holds of the range, so buffered reads that follow see
 * the data. A range it will not write directly (-EINVAL: alignment) is
 * written through the page cache.
 */
int kdfs_store_pagev(u64 ino, pgoff_t index, struct bio_vec *bv,
		     unsigned int nr)
{
	loff_t pos = (loff_t)index << PAGE_SHIFT;
	size_t len = (size_t)nr << PAGE_SHIFT;
	struct io_ctx c;
	struct file *f;
	bool direct;
	ssize_t n;
	int ret;

	io_begin(&c);
	f = c.up ? data_open(ino, true) : ERR_PTR(-ENODEV);
	ret = PTR_ERR_OR_ZERO(f);
	if (!ret) {
		/* durable at the inode's sync (trim_data), which follows */
		direct = f->f_mode & FMODE_CAN_ODIRECT;
		n = write_pages_at(f, pos, bv, nr, direct);
		if (direct && n == -EINVAL)
			n = write_pages_at(f, pos, bv, nr, false);
		ret = n < 0 ? n : n != len ? -EIO : 0;
		fput(f);
	}
	io_end(&c);
	return ret;
}

int kdfs_store_page(u64 ino, pgoff_t index, const void *page)
{
	struct bio_vec bv = {
		.bv_page = virt_to_page(page),
		.bv_len = PAGE_SIZE,
	};

	return kdfs_store_pagev(ino, index, &bv, 1);
}

int kdfs_load_page(u64 ino, pgoff_t index, void *page)
{
	loff_t pos = (loff_t)index << PAGE_SHIFT;
	struct io_ctx c;
	ssize_t n;

	io_begin(&c);
	n = read_at(c.up ? data_open(ino, false) : ERR_PTR(-ENODEV), page,
		    PAGE_SIZE, pos);
	io_end(&c);
	if (n == -ENOENT)
		n = 0;
	if (n < 0) {
		clear_page(page);	/* never what the page held before */
		return n;
	}
	memset(page + n, 0, PAGE_SIZE - n);
	return 0;
}

/*
 * Cuts the data file of @ino to @size (a truncate), if it is longer, and
 * makes the pages written before durable.
 */
static int trim_data(u64 ino, loff_t size)
{
	struct io_ctx c;
	char name[24];
	struct file *f;
	int ret;

	ino_name(name, sizeof(name), 'f', ino);
	io_begin(&c);
	f = open_rel(name, O_WRONLY);
	ret = PTR_ERR_OR_ZERO(f);
	if (!ret) {
		if (i_size_read(file_inode(f)) > size)
			ret = vfs_truncate(&f->f_path, size);
		if (!ret)
			ret = vfs_fsync(f, 1);
		fput(f);
	}
	io_end(&c);
	return ret == -ENOENT ? 0 : ret;
}

/* ---- extended attributes ---- */

static int unlink_in(char kind, const char *name);

/* A name byte: at most 3 text bytes; a value byte: 2. */
#define XATTR_TEXT_MAX	(KDFS_XATTR_ROOM * 3 + 64)

int kdfs_store_xattrs(u64 ino, const u8 *xb, u32 len)
{
	const struct kdfs_xent *xe;
	char name[24], *buf;
	size_t n = 0;
	u32 off;
	int ret;

	ino_name(name, sizeof(name), 'x', ino);
	if (!len)
		return unlink_in('x', name + 2);
	buf = kvmalloc(XATTR_TEXT_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	kdfs_for_each_xent(xb, len, off, xe) {
		n += encode_name(buf + n, xe->name, xe->nlen);
		buf[n++] = ' ';
		bin2hex(buf + n, xe->name + xe->nlen, xe->vlen);
		n += 2 * xe->vlen;
		buf[n++] = '\n';
	}
	ret = write_file(name, buf, n);
	kvfree(buf);
	return ret;
}

/* One "<name> <hex>" line into @xe (@room bytes there). */
static int parse_xattr(char *line, struct kdfs_xent *xe, u32 room)
{
	char *sp = strchr(line, ' '), xname[XATTR_NAME_MAX];
	size_t hex;
	int len;

	if (!sp)
		return -EUCLEAN;
	*sp = '\0';
	len = decode_name(line, xname, XATTR_NAME_MAX);
	hex = strlen(sp + 1);
	if (len < 0 || hex % 2 || sizeof(*xe) + len + hex / 2 > room)
		return -EUCLEAN;
	memcpy(xe->name, xname, len);
	if (hex2bin(xe->name + len, sp + 1, hex / 2))
		return -EUCLEAN;
	xe->nlen = len;
	xe->vlen = hex / 2;
	return 0;
}

/* The attributes of @ino into @xb (KDFS_XATTR_ROOM); their bytes. */
int kdfs_load_xattrs(u64 ino, u8 *xb)
{
	char name[24], *buf, *line, *next;
	u32 used = 0;
	ssize_t n;

	buf = kvmalloc(XATTR_TEXT_MAX + 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ino_name(name, sizeof(name), 'x', ino);
	n = read_file(name, buf, XATTR_TEXT_MAX, 0);
	if (n < 0) {
		kvfree(buf);
		return n == -ENOENT ? 0 : n;
	}
	buf[n] = '\0';
	for (line = buf; *line; line = next) {
		struct kdfs_xent *xe = (void *)(xb + used);

		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (parse_xattr(line, xe, KDFS_XATTR_ROOM - used)) {
			pr_warn_ratelimited("attributes of %llx: damaged line in %s, skipped\n",
					    ino, name);
			continue;
		}
		used += kdfs_xent_size(xe);
	}
	kvfree(buf);
	return used;
}

/* ---- allocator ---- */

int kdfs_store_alloc(u32 node, const struct kdfs_aobj *a)
{
	char buf[32];

	/* what is reserved: numbers below it are never given out again */
	return write_file("alloc", buf,
			  scnprintf(buf, sizeof(buf), "%llu\n",
				    max(a->limit, a->next)));
}

int kdfs_load_alloc(u32 node, struct kdfs_aobj *a)
{
	char buf[32] = "";
	ssize_t n = read_file("alloc", buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return n;
	if (kstrtoull(strim(buf), 10, &a->next) || !a->next ||
	    a->next > KDFS_INO_MAX + 1)
		return -EUCLEAN;
	a->limit = a->next;
	a->durable = a->next;
	return 0;
}

/* ---- removal ---- */

/* Removes @name (a hex inode number) from the subdirectory @kind. */
static int unlink_in(char kind, const char *name)
{
	struct dentry *dir, *d;
	struct io_ctx c;
	int ret;

	io_begin(&c);
	if (!c.up) {
		io_end(&c);
		return -ENODEV;
	}
	dir = kdfs_this->sub[kind == 'i' ? 0 : kind == 'd' ? 1 :
			     kind == 'f' ? 2 : 3].dentry;
	inode_lock_nested(d_inode(dir), I_MUTEX_PARENT);
	d = lookup_one_len(name, dir, strlen(name));
	ret = PTR_ERR_OR_ZERO(d);
	if (!ret) {
		ret = d_is_positive(d) ?
		      vfs_unlink(KDDM_NOP_IDMAP, d_inode(dir), d, NULL) : 0;
		dput(d);
	}
	inode_unlock(d_inode(dir));
	io_end(&c);
	return ret;
}

/*
 * The files of a directory's listing, d/<id> for each node of its tree:
 * a split node's halves are found from its file.
 */
static int forget_listing(u64 ino)
{
	u32 stack[KDFS_DIR_DEPTH + 2], t;
	int n = 0, ret = 0, r;
	char name[24];

	stack[n++] = 1;
	while (n) {
		t = stack[--n];
		ino_name(name, sizeof(name), 'd', kdfs_dir_id(ino, t));
		if (kdfs_dir_depth(t) < KDFS_DIR_DEPTH &&
		    kdfs_dir_split_on_disk(kdfs_dir_id(ino, t)) > 0) {
			stack[n++] = 2 * t + 1;
			stack[n++] = 2 * t;
		}
		r = unlink_in('d', name + 2);
		ret = ret ?: r;
	}
	return ret;
}

/* The inode is gone: so are its files. */
int kdfs_forget_inode(u64 ino)
{
	char name[17];
	int ret, r;

	snprintf(name, sizeof(name), "%016llx", ino);
	data_drop(ino, false);
	ret = unlink_in('f', name);
	r = forget_listing(ino);
	ret = ret ?: r;
	r = unlink_in('x', name);
	ret = ret ?: r;
	r = unlink_in('i', name);
	return ret ?: r;
}

/* A striped file is freed: this node's share of its data goes. */
int kdfs_forget_data(u64 ino)
{
	char name[17];

	snprintf(name, sizeof(name), "%016llx", ino);
	data_drop(ino, false);
	return unlink_in('f', name);
}

/* A regular file's data cut to @size if longer, and made durable. */
int kdfs_trim_data(u64 ino, loff_t size)
{
	return trim_data(ino, size);
}

/* ---- mount ---- */

static int mkdir_path(const char *path)
{
	struct dentry *d;
	struct path p;
	int ret;

	d = kern_path_create(AT_FDCWD, path, &p, LOOKUP_DIRECTORY);
	if (IS_ERR(d))
		return PTR_ERR(d) == -EEXIST ? 0 : PTR_ERR(d);
	ret = vfs_mkdir(kddm_mnt_idmap(p.mnt), d_inode(p.dentry), d, 0700);
	done_path_create(&p, d);
	return ret;
}

/* The node file: written at the first mount, checked at the others. */
static int check_node(struct kdfs_sb *s)
{
	char buf[16] = "";
	u32 node;
	ssize_t n = read_file("node", buf, sizeof(buf) - 1, 0);

	if (n == -ENOENT) {
		n = scnprintf(buf, sizeof(buf), "%u\n", s->node);
		return write_file("node", buf, n);
	}
	if (n < 0)
		return n;
	if (kstrtou32(strim(buf), 10, &node))
		return -EUCLEAN;
	if (node != s->node) {
		pr_err("backing directory belongs to node %u, this is node %u\n",
		       node, s->node);
		return -EXDEV;
	}
	return 0;
}

/*
 * Opens (making it if needed) BACKING/kdfs and its subdirectories. @dir
 * must be a writable directory of a local file system.
 */
int kdfs_backing_open(struct kdfs_sb *s, const char *dir)
{
	static const char *const subs[] = { "i", "d", "f", "x" };
	struct path p;
	char *buf;
	int i, ret;

	ret = kern_path(dir, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &p);
	if (ret) {
		pr_err("backing directory %s: error %d\n", dir, ret);
		return ret;
	}
	ret = -EROFS;
	if (__mnt_is_readonly(p.mnt) || sb_rdonly(p.dentry->d_sb))
		goto bad;
	ret = -EINVAL;
	if (p.dentry->d_sb->s_magic == KDFS_MAGIC)
		goto bad;	/* kdfs over kdfs */
	ret = inode_permission(kddm_mnt_idmap(p.mnt), d_inode(p.dentry),
			       MAY_WRITE | MAY_EXEC);
	if (ret)
		goto bad;
	path_put(&p);
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	snprintf(buf, PATH_MAX, "%s/kdfs", dir);
	ret = mkdir_path(buf) ?: kern_path(buf, 0, &s->backing);
	for (i = 0; !ret && i < ARRAY_SIZE(subs); i++) {
		snprintf(buf, PATH_MAX, "%s/kdfs/%s", dir, subs[i]);
		ret = mkdir_path(buf) ?: kern_path(buf, 0, &s->sub[i]);
	}
	kfree(buf);
	if (!ret)
		ret = check_node(s);
	if (ret) {
		pr_err("backing directory %s: error %d\n", dir, ret);
		kdfs_backing_close(s);
	}
	return ret;
bad:
	pr_err("backing directory %s: error %d\n", dir, ret);
	path_put(&p);
	return ret;
}

void kdfs_backing_close(struct kdfs_sb *s)
{
	int i;

	data_drop(0, true);

	for (i = 0; i < ARRAY_SIZE(s->sub); i++)
		if (s->sub[i].dentry)
			path_put(&s->sub[i]);
	if (s->backing.dentry)
		path_put(&s->backing);
	memset(&s->backing, 0, sizeof(s->backing));
	memset(s->sub, 0, sizeof(s->sub));
}
