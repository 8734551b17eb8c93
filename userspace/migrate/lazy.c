// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: memory that moves after the process runs again.
 *
 * The source has CRIU dump lazily: every private anonymous page it may
 * restore lazily is marked PE_LAZY in the task's pagemap image and kept
 * out of the pages image, in CRIU's page pipes; the source's daemon copies
 * them into a file of its own per task (drain.c) once the process runs on
 * the destination, and exports those files as a kDDM set (kddm_mig.ko).
 * The destination restores with CRIU's lazy_pages option: CRIU's restorer
 * registers the lazy areas of each task with userfaultfd and hands the
 * descriptors to a lazy-pages daemon over "lazy-pages.socket" in the
 * images directory (its own protocol: the task's PID as an int, then the
 * descriptor with one byte; 0x52535446 when the restore is over). This
 * file is that daemon: it copies each page the process touches from its
 * kDDM object, and every other one in the background, then tells the
 * source, which destroys the set. If an object cannot be read (the source
 * died), the process is killed: it never runs on with a page it did not
 * have.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <kddm/kddm_mig_mem.h>

#include "migrated.h"

#define IMG_COMMON_MAGIC	0x54564319U
#define PAGEMAP_MAGIC		0x56084025U
#define PE_LAZY			(1U << 1)
#define LAZY_SOCK		"lazy-pages.socket"
#define LAZY_FINISHED		0x52535446U
#define MAX_ENTRIES		(1 << 20)

/* ---- CRIU's pagemap images (protobuf, decoded by hand) ---- */

int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int shift;

	*v = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -EBADMSG;
}

/* The varint fields 1..4 of one message; anything else is an error. */
static int pb_fields(const uint8_t *p, size_t len, uint64_t *f, int nf)
{
	const uint8_t *end = p + len;
	uint64_t key, v, fn;

	while (p < end) {
		if (pb_varint(&p, end, &key) || (key & 7) != 0 ||
		    pb_varint(&p, end, &v))
			return -EBADMSG;
		fn = key >> 3;
		if (fn >= 1 && fn <= (uint64_t)nf)
			f[fn - 1] = v;
	}
	return 0;
}

/* The next record of an image: its length (<= @max), 0 at the end. */
static int record(FILE *fp, uint8_t *buf, size_t max)
{
	uint32_t len;

	if (fread(&len, 4, 1, fp) != 1)
		return 0;
	if (!len || len > max || fread(buf, 1, len, fp) != len)
		return -EBADMSG;
	return len;
}

static int entries_add(struct pm_entry **e, int n, const uint64_t *f,
		       uint64_t *off)
{
	if (n >= MAX_ENTRIES || f[1] > (1UL << 36) / PAGE || !f[1] ||
	    f[0] & (PAGE - 1))
		return -EBADMSG;
	if (!(n & (n - 1))) {	/* 0, 1, 2, 4...: double */
		struct pm_entry *b = realloc(*e, sizeof(**e) * (n ? 2 * n : 1));

		if (!b)
			return -ENOMEM;
		*e = b;
	}
	(*e)[n] = (struct pm_entry){ .vaddr = f[0], .nr_pages = f[1],
				     .flags = f[3], .off = *off };
	if (f[3] & PE_LAZY)
		*off += f[1] * PAGE;
	return 0;
}

/*
 * The entries of pagemap image @name in @dir, each with its offset in the
 * task's lazy file: the PE_LAZY pages only, one after the other.
 * Return: their number, or -errno.
 */
int pagemap_read(int dir, const char *name, uint32_t *pages_id,
		 struct pm_entry **out)
{
	struct pm_entry *e = NULL;
	uint32_t hdr[2];
	uint64_t f[4], off = 0;
	int fd, n = 0, len, err = -EBADMSG;
	uint8_t msg[64];
	FILE *fp;

	fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fp = fdopen(fd, "re");
	if (!fp) {
		close(fd);
		return -ENOMEM;
	}
	if (fread(hdr, 4, 2, fp) != 2 || hdr[0] != IMG_COMMON_MAGIC ||
	    hdr[1] != PAGEMAP_MAGIC)
		goto out;
	memset(f, 0, sizeof(f));
	len = record(fp, msg, sizeof(msg));	/* the head: pages_id */
	if (len <= 0 || pb_fields(msg, len, f, 1))
		goto out;
	*pages_id = f[0];
	while ((len = record(fp, msg, sizeof(msg))) > 0) {
		memset(f, 0, sizeof(f));
		err = pb_fields(msg, len, f, 4) ?:
		      entries_add(&e, n, f, &off);
		if (err)
			goto out;
		n++;
	}
	err = len < 0 ? len : n;
out:
	fclose(fp);
	if (err < 0)
		free(e);
	else
		*out = e;
	return err;
}

/* ---- the source: what stays behind ---- */

/* A DIR of @dir's own: rewound (the offset is @dir's too). */
static DIR *opendir_dup(int dir)
{
	int fd = dup(dir);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;

	if (!dp && fd >= 0)
		close(fd);
	if (dp)
		rewinddir(dp);
	return dp;
}

static int plan_file(struct lazy_plan *p, uint32_t id, uint32_t pid)
{
	int i;

	for (i = 0; i < p->nr; i++)
		if (p->files[i].id == id)
			return -EPROTO;	/* one pages image per task */
	if (p->nr == KDDM_MIG_MAX_FILES)
		return -E2BIG;
	memset(&p->files[p->nr], 0, sizeof(p->files[0]));
	p->files[p->nr].id = id;
	p->files[p->nr].pid = pid;
	return p->nr++;
}

static int plan_extent(struct lazy_file *f, const struct pm_entry *e)
{
	struct lazy_ext *x;

	if (!(f->nr & (f->nr - 1))) {
		x = realloc(f->ext, sizeof(*x) * (f->nr ? 2 * f->nr : 1));
		if (!x)
			return -ENOMEM;
		f->ext = x;
	}
	f->ext[f->nr++] = (struct lazy_ext){ .vaddr = e->vaddr, .off = e->off,
					     .nr_pages = e->nr_pages };
	f->size += e->nr_pages * PAGE;
	return 0;
}

static bool task_pagemap(const char *name)
{
	const char *p = name + 8;

	if (strncmp(name, "pagemap-", 8) || !*p)
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return p != name + 8 && !strcmp(p, ".img");
}

/* What CRIU left in its page pipes, task by task: the PE_LAZY extents. */
int lazy_plan(int dir, struct lazy_plan *p)
{
	struct pm_entry *e;
	struct dirent *d;
	uint32_t id;
	DIR *dp;
	int i, n, f, err = 0;

	p->nr = 0;
	p->lazy_bytes = 0;
	dp = opendir_dup(dir);
	if (!dp)
		return -errno;
	while (!err && (d = readdir(dp))) {
		if (!task_pagemap(d->d_name))
			continue;
		n = pagemap_read(dir, d->d_name, &id, &e);
		if (n < 0) {
			err = n;
			break;
		}
		f = plan_file(p, id, atoi(d->d_name + 8));
		if (f < 0)
			err = f;
		for (i = 0; !err && i < n; i++)
			if (e[i].flags & PE_LAZY)
				err = plan_extent(&p->files[f], &e[i]);
		if (!err)
			p->lazy_bytes += p->files[f].size;
		free(e);
	}
	closedir(dp);
	return err;
}

void lazy_plan_free(struct lazy_plan *p)
{
	int i;

	for (i = 0; i < p->nr; i++)
		free(p->files[i].ext);
	p->nr = 0;
}

/* ---- the destination: the lazy-pages daemon ---- */

struct range {
	uint64_t start, end;	/* addresses in the task */
	uint64_t off;		/* of start in the task's lazy file */
	uint32_t file;		/* index in the exported set */
};

struct ranges {
	struct range *r;
	int nr, cap;
};

struct task_tab {
	int pid;
	struct ranges rs;
};

struct lpi {
	int pid;		/* as CRIU said: the task's */
	int uffd;		/* -1 once its process is gone */
	uint64_t retry[16];	/* faults to serve again (EAGAIN), 0: none */
	struct ranges rs;
};

struct lazy_srv {
	pthread_t th;
	int listen, client;
	int wake;		/* eventfd: aborted */
	char sock[PATH_MAX];
	uint64_t set_id;
	uint32_t source;
	struct task_tab *tabs;
	int nr_tabs;
	struct lpi *l;
	int nl;
	bool fin, failed;
	uint8_t *buf;
	uint64_t copied;
	uint64_t read_us, copy_us;	/* in KDDM_MIG_READ, in UFFDIO_COPY */
	/* the last chunk asked for ahead: by the background copy, by faults */
	uint64_t ahead, fault_ahead;
	/* handed over once restored, or aborted */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;			/* to the source: DONE goes there */
	bool handed, abort;
};

static int ranges_insert(struct ranges *rs, int at, const struct range *r)
{
	if (rs->nr == rs->cap) {
		int cap = rs->cap ? 2 * rs->cap : 16;
		struct range *n = realloc(rs->r, sizeof(*n) * cap);

		if (!n)
			return -ENOMEM;
		rs->r = n;
		rs->cap = cap;
	}
	memmove(rs->r + at + 1, rs->r + at, sizeof(*rs->r) * (rs->nr - at));
	rs->r[at] = *r;
	rs->nr++;
	return 0;
}

static void ranges_del(struct ranges *rs, int at)
{
	memmove(rs->r + at, rs->r + at + 1, sizeof(*rs->r) * (rs->nr - at - 1));
	rs->nr--;
}

/* Splits the range holding @addr at @addr; the index of what starts there. */
static int ranges_split(struct ranges *rs, uint64_t addr)
{
	int i;

	for (i = 0; i < rs->nr; i++) {
		struct range *r = &rs->r[i], tail;

		if (addr <= r->start)
			return i;
		if (addr >= r->end)
			continue;
		tail = *r;
		tail.start = addr;
		tail.off += addr - r->start;
		r->end = addr;
		return ranges_insert(rs, i + 1, &tail) ? -ENOMEM : i + 1;
	}
	return rs->nr;
}

/* Forgets [start, end): unmapped, or emptied by MADV_DONTNEED. */
static int ranges_cut(struct ranges *rs, uint64_t start, uint64_t end)
{
	int i = ranges_split(rs, start), j;

	if (i < 0 || (j = ranges_split(rs, end)) < 0)
		return -ENOMEM;
	while (j-- > i)
		ranges_del(rs, i);
	return 0;
}

/* mremap() moved [from, from + len) to @to. */
static int ranges_move(struct ranges *rs, uint64_t from, uint64_t to,
		       uint64_t len)
{
	struct ranges moved = {};
	int i = ranges_split(rs, from), j, k, err = 0;

	if (i < 0 || (j = ranges_split(rs, from + len)) < 0)
		return -ENOMEM;
	for (k = i; k < j && !err; k++) {
		struct range r = rs->r[k];

		r.start = r.start - from + to;
		r.end = r.end - from + to;
		err = ranges_insert(&moved, moved.nr, &r);
	}
	while (j-- > i)
		ranges_del(rs, i);
	for (k = 0; k < moved.nr && !err; k++) {
		for (i = 0; i < rs->nr && rs->r[i].start < moved.r[k].start; i++)
			;
		err = ranges_insert(rs, i, &moved.r[k]);
	}
	free(moved.r);
	return err;
}

static int ranges_copy(struct ranges *dst, const struct ranges *src)
{
	dst->r = malloc(sizeof(*dst->r) * (src->nr ? src->nr : 1));
	if (!dst->r)
		return -ENOMEM;
	memcpy(dst->r, src->r, sizeof(*dst->r) * src->nr);
	dst->nr = dst->cap = src->nr;
	return 0;
}

/* The lazy ranges of each task, from its pagemap image. */
static int tabs_read(struct lazy_srv *s, int dir, const uint32_t *ids,
		     int nr_ids)
{
	struct pm_entry *e;
	struct dirent *d;
	uint32_t id;
	DIR *dp = opendir_dup(dir);
	int i, f, n, err = 0;

	if (!dp)
		return -errno;
	while (!err && (d = readdir(dp))) {
		struct task_tab *t;

		if (!task_pagemap(d->d_name))
			continue;
		n = pagemap_read(dir, d->d_name, &id, &e);
		if (n < 0) {
			err = n;
			break;
		}
		for (f = 0; f < nr_ids && ids[f] != id; f++)
			;
		t = realloc(s->tabs, sizeof(*t) * (s->nr_tabs + 1));
		if (!t || f == nr_ids) {
			err = t ? -EPROTO : -ENOMEM;	/* not exported */
			free(e);
			if (t)
				s->tabs = t;
			break;
		}
		s->tabs = t;
		t = &s->tabs[s->nr_tabs++];
		memset(t, 0, sizeof(*t));
		t->pid = atoi(d->d_name + 8);
		for (i = 0; i < n && !err; i++) {
			struct range r = {
				.start = e[i].vaddr,
				.end = e[i].vaddr + e[i].nr_pages * PAGE,
				.off = e[i].off, .file = f,
			};

			if (e[i].flags & PE_LAZY)
				err = ranges_insert(&t->rs, t->rs.nr, &r);
		}
		free(e);
	}
	closedir(dp);
	return err;
}

/*
 * Every task the restore made, and what they forked since: killed. The
 * children (of every thread) are read first, before the parent's death
 * hands them to another.
 */
void kill_tree(pid_t pid, int depth)
{
	char path[64], buf[4096], *p, *end;
	struct dirent *d;
	DIR *dir;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = depth < 64 ? opendir(path) : NULL;
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", pid,
			 d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		for (p = buf; *p; p = end) {
			long c = strtol(p, &end, 10);

			if (end == p)
				break;
			kill_tree(c, depth + 1);
		}
	}
	if (dir)
		closedir(dir);
	kill(pid, SIGKILL);
}

void kmsg(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	logmsg("%s", buf);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, buf, n > 0 ? n : 0) < 0)
			n = 0;
		close(fd);
	}
}

static void lazy_fail(struct lazy_srv *s, int err)
{
	int i;

	if (s->failed)
		return;
	s->failed = true;
	for (i = 0; i < s->nl; i++) {
		if (s->l[i].uffd < 0)
			continue;
		kmsg("kddm-migrated: killed process %d: its memory on node %u cannot be read (%s)\n",
		     s->l[i].pid, s->source, strerror(-err));
		kill_tree(s->l[i].pid, 0);
	}
}

/*
 * The kernel keeps @uffd (and @pid's tree) for us: should this daemon die
 * before every page came, the processes are killed rather than left to
 * find zero pages where their memory was.
 */
static int guard(struct lazy_srv *s, int pid, int uffd)
{
	struct kddm_mig_guard g = {
		.set_id = s->set_id, .pid = pid, .uffd = uffd,
		.source = s->source,
	};

	return ioctl(mig_dev, KDDM_MIG_GUARD, &g) ? -errno : 0;
}

static void lpi_gone(struct lpi *l)
{
	if (l->uffd >= 0)
		close(l->uffd);
	l->uffd = -1;
	l->rs.nr = 0;
}

#define PULL_AHEAD	16	/* chunks asked for ahead of the copy */
#define PULL_STEP	4	/* asked for together, in one message */
#define PULL_NICE	-10	/* the pulling thread's nice value */

/*
 * Keeps up to PULL_AHEAD chunks of @r's on their way: the window slides
 * by PULL_STEP chunks at a time (or to the range's end), each step one
 * message to the source. @ahead: where this window is (the background
 * copy's and the faults' each have their own: a fault elsewhere does not
 * move the other past chunks it never asked for).
 */
static void read_ahead(struct lazy_srv *s, const struct range *r,
		       uint64_t *ahead)
{
	struct kddm_mig_read rd = { .set_id = s->set_id };
	uint64_t cur, last, k, to;

	cur = (uint64_t)r->file << 32 | r->off / KDDM_MIG_CHUNK;
	last = (uint64_t)r->file << 32 |
	       (r->off + (r->end - r->start) - 1) / KDDM_MIG_CHUNK;
	k = *ahead > cur && *ahead <= cur + PULL_AHEAD ? *ahead + 1 : cur + 1;
	to = cur + PULL_AHEAD < last ? cur + PULL_AHEAD : last;
	if (k > to || (to - k + 1 < PULL_STEP && to < last && k > cur + 1))
		return;
	rd.obj_id = k;
	rd.len = to - k + 1;
	ioctl(mig_dev, KDDM_MIG_PREFETCH, &rd);
	*ahead = to;
}

/*
 * Whether the bytes of @l's range @i up to its chunk's end (@len of
 * them) are all that its ranges still need of that chunk: its
 * neighbours (in the file's order) need none of it.
 */
static bool chunk_last_use(const struct lpi *l, int i, uint64_t len)
{
	const struct range *r = &l->rs.r[i], *o;
	uint64_t c0 = r->off - r->off % KDDM_MIG_CHUNK;
	int j;

	if ((r->off + len) % KDDM_MIG_CHUNK)
		return false;	/* the range ends inside the chunk */
	for (j = i - 1; j <= i + 1; j += 2) {
		if (j < 0 || j >= l->rs.nr)
			continue;
		o = &l->rs.r[j];
		if (o->file == r->file && o->off < c0 + KDDM_MIG_CHUNK &&
		    o->off + (o->end - o->start) > c0)
			return false;
	}
	return true;
}

/*
 * Copies pages from the start of range @i of @l, up to the end of its
 * chunk; 0, 1 to retry after the pending events, or -errno (the source).
 */
static int uffd_copy(int uffd, uint64_t dst, const void *src, uint64_t len,
		     uint64_t *done)
{
	struct uffdio_copy c = { .dst = dst, .src = (uintptr_t)src,
				 .len = len };

	*done = len;
	if (!ioctl(uffd, UFFDIO_COPY, &c))
		return 0;
	*done = c.copy > 0 ? c.copy : 0;
	return -errno;
}

#define READ_RETRY_MS	15000	/* a link that breaks and comes back */
#define FILL_WAIT_MS	120000	/* the source copying it out of CRIU */

/*
 * One chunk from its home. Under load a TIPC link may break and come back
 * within seconds, and kDDM fails what waited on it: try again for a while
 * before the process is given up. A chunk the source has not copied out
 * of CRIU yet (EAGAIN) comes soon: asked again, more and more slowly.
 */
static int read_chunk(struct kddm_mig_read *rd)
{
	int waited = 0, filling = 0, nap = 1;

	while (ioctl(mig_dev, KDDM_MIG_READ, rd)) {
		if (errno == EAGAIN && filling < FILL_WAIT_MS) {
			usleep(nap * 1000);
			filling += nap;
			nap = nap < 8 ? 2 * nap : nap;
			continue;
		}
		if ((errno != EHOSTDOWN && errno != ENOLINK &&
		     errno != ETIMEDOUT && errno != ENOTCONN) ||
		    waited >= READ_RETRY_MS)
			return -errno;
		usleep(200000);
		waited += 200;
	}
	return 0;
}

static int copy_front(struct lazy_srv *s, struct lpi *l, int i)
{
	struct range *r = &l->rs.r[i];
	uint64_t in = r->off % KDDM_MIG_CHUNK, len, done, t0 = now_us(), t1;
	struct kddm_mig_read rd = {
		.set_id = s->set_id,
		.obj_id = (uint64_t)r->file << 32 | r->off / KDDM_MIG_CHUNK,
		.buf = (uintptr_t)s->buf, .len = KDDM_MIG_CHUNK,
	};
	int err;

	len = KDDM_MIG_CHUNK - in;
	if (len > r->end - r->start)
		len = r->end - r->start;
	/* its copy here goes once read: the source can let it go too */
	if (chunk_last_use(l, i, len))
		rd.flags = KDDM_MIG_READ_DROP;
	err = read_chunk(&rd);
	t1 = now_us();
	s->read_us += t1 - t0;
	if (err)
		return err;
	err = uffd_copy(l->uffd, r->start, s->buf + in, len, &done);
	if (err == -ENOENT && !done && len > PAGE) {
		/* one pagemap entry over several areas: page by page */
		len = PAGE;
		err = uffd_copy(l->uffd, r->start, s->buf + in, len, &done);
	}
	s->copy_us += now_us() - t1;
	switch (err) {
	case 0:
		break;
	case -EAGAIN:		/* an mm change pending: after its event */
		if (!done)
			return 1;
		len = done;
		break;
	case -ESRCH:		/* the process is gone */
	case -ENOSPC:
		lpi_gone(l);
		return 0;
	case -EEXIST:		/* a page there already: skip it */
		len = done + PAGE;
		break;
	case -ENOENT:		/* no longer mapped: nothing to fill */
		len = done ? done : PAGE;
		break;
	default:
		return err;
	}
	s->copied += len;
	r->start += len;
	r->off += len;
	if (r->start >= r->end)
		ranges_del(&l->rs, i);
	return 0;
}

static void retry_add(struct lpi *l, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(l->retry); i++) {
		if (l->retry[i] == addr)
			return;
		if (!l->retry[i]) {
			l->retry[i] = addr;
			return;
		}
	}
	/* full: the background copy wakes the rest when it gets there */
}

static int on_fault(struct lazy_srv *s, struct lpi *l, uint64_t addr)
{
	struct uffdio_zeropage z = { .range = { .start = addr, .len = PAGE } };
	int i = ranges_split(&l->rs, addr);

	if (i < 0)
		return i;
	if (i < l->rs.nr && l->rs.r[i].start == addr) {
		int ret;

		/* the next chunks of the area: faults tend to follow */
		read_ahead(s, &l->rs.r[i], &s->fault_ahead);
		ret = copy_front(s, l, i);
		/* an mm change pending: after its event, once more */
		if (ret == 1)
			retry_add(l, addr);
		return ret < 0 ? ret : 0;
	}
	/* never written before the dump, or copied already */
	if (ioctl(l->uffd, UFFDIO_ZEROPAGE, &z)) {
		if (errno == ESRCH)
			lpi_gone(l);
		else if (errno == EAGAIN)
			retry_add(l, addr);
	}
	return 0;
}

static int on_event(struct lazy_srv *s, int li)
{
	struct uffd_msg m;
	struct lpi *l = &s->l[li];
	ssize_t n = read(l->uffd, &m, sizeof(m));

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n != sizeof(m)) {
		lpi_gone(l);
		return 0;
	}
	switch (m.event) {
	case UFFD_EVENT_PAGEFAULT:
		return on_fault(s, l, m.arg.pagefault.address & ~(PAGE - 1));
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP: {
		struct uffdio_range u = {
			.start = m.arg.remove.start,
			.len = m.arg.remove.end - m.arg.remove.start,
		};

		/* emptied by MADV_DONTNEED: its next faults are the kernel's */
		if (m.event == UFFD_EVENT_REMOVE &&
		    ioctl(l->uffd, UFFDIO_UNREGISTER, &u) && errno == ENOMEM) {
			lpi_gone(l);
			return 0;
		}
		return ranges_cut(&l->rs, m.arg.remove.start, m.arg.remove.end);
	}
	case UFFD_EVENT_REMAP:
		return ranges_move(&l->rs, m.arg.remap.from, m.arg.remap.to,
				   m.arg.remap.len);
	case UFFD_EVENT_FORK: {
		struct lpi *nl = realloc(s->l, sizeof(*nl) * (s->nl + 1));
		int err;

		if (!nl) {
			close(m.arg.fork.ufd);
			return -ENOMEM;
		}
		s->l = nl;
		l = &s->l[li];
		nl = &s->l[s->nl];
		memset(nl, 0, sizeof(*nl));
		nl->pid = l->pid;	/* its parent's: kill_tree() finds it */
		nl->uffd = m.arg.fork.ufd;
		err = guard(s, 0, nl->uffd);
		if (!err)
			err = ranges_copy(&nl->rs, &l->rs);
		if (err) {
			close(nl->uffd);
			return err;
		}
		s->nl++;
		return 0;
	}
	}
	return 0;
}

/* One task's descriptor from CRIU's restorer, or the end of the restore. */
static int on_client(struct lazy_srv *s)
{
	char cbuf[CMSG_SPACE(sizeof(int))], dummy;
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	struct lpi *l;
	int32_t pid;
	int i, err, fd = -1;

	if (read_all(s->client, &pid, sizeof(pid)))
		return -EPROTO;
	if ((uint32_t)pid == LAZY_FINISHED) {
		s->fin = true;
		return 0;
	}
	if (pid <= 0)
		return 0;	/* a zombie: no memory */
	if (recvmsg(s->client, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -EPROTO;
	cm = CMSG_FIRSTHDR(&mh);
	if (mh.msg_flags & MSG_CTRUNC)
		return -EPROTO;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	if (fd < 0)
		return -EPROTO;
	l = realloc(s->l, sizeof(*l) * (s->nl + 1));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	s->l = l;
	l = &s->l[s->nl++];
	memset(l, 0, sizeof(*l));
	l->pid = pid;
	l->uffd = fd;
	for (i = 0; i < s->nr_tabs && s->tabs[i].pid != pid; i++)
		;
	if (i == s->nr_tabs)
		return -EPROTO;	/* a task the images do not have */
	err = guard(s, pid, fd);
	return err ? err : ranges_copy(&l->rs, &s->tabs[i].rs);
}

static bool all_copied(const struct lazy_srv *s)
{
	int i;

	for (i = 0; i < s->nl; i++)
		if (s->l[i].uffd >= 0 && s->l[i].rs.nr)
			return false;
	return s->fin;
}

/*
 * One background copy: the first range left, up to its chunk's end,
 * with the next chunks of that range on their way meanwhile.
 */
static int pull_one(struct lazy_srv *s)
{
	int i;

	for (i = 0; i < s->nl; i++) {
		if (s->l[i].uffd < 0 || !s->l[i].rs.nr)
			continue;
		read_ahead(s, &s->l[i].rs.r[0], &s->ahead);
		return copy_front(s, &s->l[i], 0);
	}
	return 0;
}

static int serve_once(struct lazy_srv *s)
{
	int nl = s->nl;		/* on_client() and FORK add some */
	struct pollfd *p = calloc(nl + 2, sizeof(*p));
	unsigned int k;
	int i, n, err = 0, timeout;

	if (!p)
		return -ENOMEM;
	p[0] = (struct pollfd){ .fd = s->fin ? -1 : s->client,
				.events = POLLIN };
	for (i = 0; i < nl; i++)
		p[i + 1] = (struct pollfd){ .fd = s->l[i].uffd,
					    .events = POLLIN };
	p[nl + 1] = (struct pollfd){ .fd = s->wake, .events = POLLIN };
	/* faults first; a background copy whenever none waits */
	timeout = s->fin ? 0 : -1;
	n = poll(p, nl + 2, timeout);
	for (i = 0; n > 0 && !err && i < nl; i++) {
		if (p[i + 1].revents & POLLIN)
			err = on_event(s, i);
		else if (p[i + 1].revents & (POLLHUP | POLLERR))
			lpi_gone(&s->l[i]);
	}
	if (!err && n > 0 && (p[0].revents & (POLLIN | POLLHUP)))
		err = on_client(s);
	free(p);
	for (i = 0; !err && i < s->nl; i++) {
		struct lpi *l = &s->l[i];
		uint64_t again[ARRAY_SIZE(l->retry)];

		memcpy(again, l->retry, sizeof(again));
		memset(l->retry, 0, sizeof(l->retry));
		for (k = 0; !err && k < ARRAY_SIZE(again) && again[k]; k++)
			if (l->uffd >= 0)
				err = on_fault(s, l, again[k]);
	}
	/* faults first, but the background copy goes on between them */
	if (!err && s->fin)
		err = pull_one(s);
	return err < 0 ? err : 0;
}

/*
 * The scheduler shares the CPU between autogroups (a session each) before
 * it looks at nice values: a restored session leader computing in its own
 * would still take half of the CPU from the pull. While pulls run, the
 * daemon's autogroup gets the pull's weight, and its own back after the
 * last (processes restored into the daemon's session, not session
 * leaders, share it meanwhile). Nothing to do without autogroups.
 */
static pthread_mutex_t ag_lock = PTHREAD_MUTEX_INITIALIZER;
static int ag_pulls, ag_saved;
static bool ag_set;

static int autogroup_nice(int set, int *get)
{
	char v[64] = "", *p;
	int fd = open("/proc/self/autogroup", (get ? O_RDONLY : O_WRONLY) |
		      O_CLOEXEC), n, ret = -1;

	if (fd < 0)
		return -1;
	if (get) {
		n = read(fd, v, sizeof(v) - 1);
		p = n > 0 ? strstr(v, " nice ") : NULL;
		if (p && sscanf(p, " nice %d", get) == 1)
			ret = 0;
	} else {
		n = snprintf(v, sizeof(v), "%d", set);
		ret = write(fd, v, n) == n ? 0 : -1;
		if (ret)
			logmsg("autogroup nice %d: %s", set, strerror(errno));
	}
	close(fd);
	return ret;
}

static void pull_boost(bool on)
{
	pthread_mutex_lock(&ag_lock);
	if (on && !ag_pulls++)
		ag_set = !autogroup_nice(0, &ag_saved) &&
			 ag_saved > PULL_NICE && !autogroup_nice(PULL_NICE, NULL);
	else if (!on && !--ag_pulls && ag_set)
		autogroup_nice(ag_saved, NULL);
	pthread_mutex_unlock(&ag_lock);
}

static void *lazy_main(void *arg)
{
	struct lazy_srv *s = arg;
	struct pollfd p[2] = {
		{ .fd = s->listen, .events = POLLIN },
		{ .fd = s->wake, .events = POLLIN },
	};
	struct kddm_mig_result done = { .to = self_node };
	int i, err = -ETIMEDOUT;
	uint64_t t0 = 0, pull_us = 0;	/* CRIU's connection to the last page */

	/*
	 * The pull before the process: it mostly waits for its pages, and
	 * one that computes on those it has would take half of a CPU from
	 * the thread that brings the rest.
	 */
	if (setpriority(PRIO_PROCESS, syscall(SYS_gettid), PULL_NICE))
		logmsg("pull priority: %s", strerror(errno));
	pull_boost(true);
	if (poll(p, 2, 120000) > 0 && (p[0].revents & POLLIN)) {
		s->client = accept4(s->listen, NULL, NULL, SOCK_CLOEXEC);
		err = s->client < 0 ? -errno : 0;
		t0 = now_us();
	}
	while (!err && !all_copied(s) && !s->failed) {
		pthread_mutex_lock(&s->lock);
		err = s->abort ? -ECANCELED : 0;
		pthread_mutex_unlock(&s->lock);
		if (!err)
			err = serve_once(s);
	}
	pull_boost(false);
	if (t0)
		pull_us = now_us() - t0;
	if (err && err != -ECANCELED)
		lazy_fail(s, err);
	/* every page came, or the processes were killed, or never ran */
	if (s->nl && ioctl(mig_dev, KDDM_MIG_UNGUARD, &s->set_id))
		logmsg("cannot drop the guards of set %llx: %s",
		       (unsigned long long)s->set_id, strerror(errno));
	for (i = 0; i < s->nl; i++)
		lpi_gone(&s->l[i]);
	/* the restore's thread decides what becomes of the connection */
	pthread_mutex_lock(&s->lock);
	while (!s->handed && !s->abort)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	if (s->handed) {
		done.err = s->failed ? err : 0;
		done.image_bytes = s->copied;
		send_msg(s->fd, KDDM_MIG_DONE, &done, sizeof(done));
		logmsg("pulled %llu bytes of memory from node %u in %llu ms (%llu ms reading, %llu ms copying in)%s",
		       (unsigned long long)s->copied, s->source,
		       (unsigned long long)pull_us / 1000,
		       (unsigned long long)s->read_us / 1000,
		       (unsigned long long)s->copy_us / 1000,
		       s->failed ? ": failed, process killed" : "");
	}
	return NULL;
}

static void lazy_free(struct lazy_srv *s)
{
	int i;

	for (i = 0; i < s->nr_tabs; i++)
		free(s->tabs[i].rs.r);
	for (i = 0; i < s->nl; i++)
		free(s->l[i].rs.r);
	free(s->tabs);
	free(s->l);
	free(s->buf);
	if (s->listen >= 0)
		close(s->listen);
	if (s->client >= 0)
		close(s->client);
	if (s->wake >= 0)
		close(s->wake);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

/*
 * Before CRIU restores the images in @dir: the lazy ranges of every task,
 * and a listener where CRIU's restorer will hand over their userfaultfds.
 */
struct lazy_srv *lazy_start(const char *dir, int dir_fd, uint64_t set_id,
			    const uint32_t *ids, int nr_ids, uint32_t source,
			    char *why, size_t wl)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct lazy_srv *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->listen = s->client = s->fd = -1;
	s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->set_id = set_id;
	s->source = source;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->buf = malloc(KDDM_MIG_CHUNK);
	err = s->buf && s->wake >= 0 ? tabs_read(s, dir_fd, ids, nr_ids) :
				       -ENOMEM;
	if (err) {
		snprintf(why, wl, "reading the pagemaps: %s", strerror(-err));
		goto fail;
	}
	if (mig_dev < 0) {
		snprintf(why, wl, "kddm_mig.ko is not loaded on node %u", self_node);
		goto fail;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/" LAZY_SOCK, dir);
	s->listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen < 0 || bind(s->listen, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->listen, 1) || pthread_create(&s->th, NULL, lazy_main, s)) {
		snprintf(why, wl, "lazy pages socket: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	lazy_free(s);
	return NULL;
}

/* The restore failed: no process, nothing to pull. */
void lazy_abort(struct lazy_srv *s)
{
	pthread_mutex_lock(&s->lock);
	s->abort = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (eventfd_write(s->wake, 1))
		logmsg("cannot wake the lazy pages thread");
	pthread_join(s->th, NULL);
	lazy_free(s);
}

/* Restored: pulls the rest (the thread), then says DONE on @fd. */
void lazy_handover(struct lazy_srv *s, int fd)
{
	pthread_mutex_lock(&s->lock);
	s->fd = fd;
	s->handed = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->th, NULL);
	lazy_free(s);
}
