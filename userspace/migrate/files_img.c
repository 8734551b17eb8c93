// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: CRIU's files image, before the destination restores it.
 *
 * CRIU records the size of each regular file a process has open (but
 * for those open write-only with O_APPEND) and its restore fails if the
 * file it opens again has another size: a file changed since the dump is
 * not the one the process had. A kdfs file is the same file on every
 * node, shared with processes elsewhere, which may well grow or cut it
 * while the process moves: for those, the size goes from the image, and
 * CRIU's restore opens them as they are now. Other files keep it.
 *
 * The image comes from the source's daemon: it is parsed with care, and
 * left as it is if anything in it is not what CRIU 3.17 writes (CRIU then
 * reads it itself).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrated.h"

#define FILES_IMG		"files.img"
#define IMG_COMMON_MAGIC	0x54564319
#define FILES_MAGIC		0x56303138
#define FILES_IMG_MAX		(64U << 20)
#define FD_TYPE_REG		1	/* fd_types.REG */
#define FE_TYPE			1	/* file_entry.type */
#define FE_REG			3	/* file_entry.reg */
#define RFE_NAME		6	/* reg_file_entry.name */
#define RFE_SIZE		8	/* reg_file_entry.size */
#define KDFS_MNT_MAX		16

struct pb {
	const uint8_t *p;
	size_t len, off;
};

static int pb_get(struct pb *b, uint64_t *v)
{
	const uint8_t *p = b->p + b->off;
	int err = pb_varint(&p, b->p + b->len, v);

	b->off = p - b->p;
	return err;
}

/*
 * The next field: its number and wire type, its value (varint) or its
 * bytes (length-delimited: @data, @dlen); its extent is [@start, b->off).
 */
struct pb_field {
	uint32_t num, type;
	uint64_t v;
	const uint8_t *data;
	size_t dlen, start;
};

static int pb_next(struct pb *b, struct pb_field *f)
{
	uint64_t key, n;

	f->start = b->off;
	if (pb_get(b, &key) || !(key >> 3) || key >> 32)
		return -EINVAL;
	f->num = key >> 3;
	f->type = key & 7;
	f->data = NULL;
	f->dlen = 0;
	switch (f->type) {
	case 0:
		return pb_get(b, &f->v);
	case 1:
		n = 8;
		break;
	case 5:
		n = 4;
		break;
	case 2:
		if (pb_get(b, &n))
			return -EINVAL;
		f->data = b->p + b->off;
		f->dlen = n;
		break;
	default:
		return -EINVAL;
	}
	if (n > b->len - b->off)
		return -EINVAL;
	b->off += n;
	return 0;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	return n;
}

static bool under(const uint8_t *name, size_t len, char dirs[][PATH_MAX],
		  int n)
{
	int i;

	for (i = 0; i < n; i++) {
		size_t dl = strlen(dirs[i]);

		if (dl == 1 && len && name[0] == '/')
			return true;	/* kdfs on / */
		if (len > dl && !memcmp(name, dirs[i], dl) && name[dl] == '/')
			return true;
	}
	return false;
}

/*
 * File entry @e (@len bytes) into @out (room for @len bytes): without the
 * size of its regular file if that is on kdfs. How many bytes it has now,
 * or -EINVAL if @e is not a file entry CRIU could have written.
 */
static ssize_t entry_unsize(const uint8_t *e, size_t len, uint8_t *out,
			    char dirs[][PATH_MAX], int ndirs)
{
	struct pb b = { .p = e, .len = len }, r;
	struct pb_field f, reg = { 0 };
	size_t o, rlen, hdr, s_start = 0, s_end = 0, reg_end;
	bool is_reg = false, kdfs = false;
	uint8_t key[16];

	while (b.off < b.len) {
		if (pb_next(&b, &f))
			return -EINVAL;
		if (f.num == FE_TYPE && f.type == 0)
			is_reg = f.v == FD_TYPE_REG;
		if (f.num == FE_REG && f.type == 2) {
			if (reg.data)
				return -EINVAL;	/* not CRIU's */
			reg = f;
		}
	}
	memcpy(out, e, len);
	if (!is_reg || !reg.data)
		return len;
	r = (struct pb){ .p = reg.data, .len = reg.dlen };
	while (r.off < r.len) {
		if (pb_next(&r, &f))
			return -EINVAL;
		if (f.num == RFE_NAME && f.type == 2)
			kdfs = under(f.data, f.dlen, dirs, ndirs);
		if (f.num == RFE_SIZE) {
			if (s_end || f.type)
				return -EINVAL;
			s_start = f.start;
			s_end = r.off;
		}
	}
	if (!kdfs || !s_end)
		return len;
	/* fields before reg as they are; reg without size; fields after */
	rlen = reg.dlen - (s_end - s_start);
	hdr = put_varint(key, FE_REG << 3 | 2);
	hdr += put_varint(key + hdr, rlen);
	reg_end = (reg.data - e) + reg.dlen;
	o = reg.start;
	memcpy(out + o, key, hdr);
	o += hdr;
	memcpy(out + o, reg.data, s_start);
	o += s_start;
	memcpy(out + o, reg.data + s_end, reg.dlen - s_end);
	o += reg.dlen - s_end;
	memcpy(out + o, e + reg_end, len - reg_end);
	return o + len - reg_end;
}

static int read_image(int dir_fd, uint8_t **buf, size_t *len)
{
	int fd = openat(dir_fd, FILES_IMG, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	*buf = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 8 ||
	    st.st_size > FILES_IMG_MAX) {
		close(fd);
		return -EINVAL;
	}
	*len = st.st_size;
	*buf = malloc(*len);
	n = *buf ? read(fd, *buf, *len) : -1;
	close(fd);
	if (n != (ssize_t)*len) {
		free(*buf);
		*buf = NULL;
		return -EIO;
	}
	return 0;
}

static int write_image(int dir_fd, const uint8_t *buf, size_t len)
{
	static const char tmp[] = FILES_IMG ".kddm";
	int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);
	int err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len);
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dir_fd, tmp, dir_fd, FILES_IMG))
		err = -errno;
	if (err)
		unlinkat(dir_fd, tmp, 0);
	return err;
}

/* @p's 32-bit little-endian word (CRIU's images are the host's: x86). */
static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

int files_unsize_kdfs(int dir_fd)
{
	static __thread char dirs[KDFS_MNT_MAX][PATH_MAX];
	int ndirs = kdfs_mounts(NULL, dirs, KDFS_MNT_MAX), err, changed = 0;
	uint8_t *in, *out = NULL;
	size_t len, off = 8, o = 8, n;
	ssize_t m;

	if (!ndirs)
		return 0;
	err = read_image(dir_fd, &in, &len);
	if (err)
		return err == -ENOENT ? 0 : err;
	err = -EINVAL;
	if (le32(in) != IMG_COMMON_MAGIC || le32(in + 4) != FILES_MAGIC)
		goto out;
	out = malloc(len);
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(out, in, 8);
	while (off < len) {
		if (len - off < 4)
			goto out;
		n = le32(in + off);
		off += 4;
		if (n > len - off)
			goto out;
		m = entry_unsize(in + off, n, out + o + 4, dirs, ndirs);
		if (m < 0)
			goto out;
		put_le32(out + o, m);
		changed += (size_t)m != n;
		o += 4 + m;
		off += n;
	}
	err = changed ? write_image(dir_fd, out, o) : 0;
out:
	free(in);
	free(out);
	return err;
}
