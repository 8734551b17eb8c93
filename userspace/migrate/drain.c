// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-migrated: the source's side of a lazy move.
 *
 * CRIU dumps lazily: the process's private anonymous pages stay in its
 * page pipes (references to the frozen process's pages, no copy), and
 * the pagemap images mark them PE_LAZY. Once the callback after the dump
 * returns (the process runs on the destination by then), CRIU serves
 * them as its page server over a socket it was given ("ps-socket" in a
 * configuration file of the request), keeps the tasks frozen meanwhile,
 * and kills them once the client closes.
 *
 * This file is that client. After the dump it creates one file per task
 * ("kddm-lazy-ID" in the images directory, the task's lazy pages one
 * after the other) and exports them as a kDDM set that is still being
 * filled; then, while the destination restores the process and once it
 * runs there, it asks CRIU for the pages chunk by chunk (PS_IOV_GET, a few
 * requests ahead), the chunks the destination asked for first (WANTED:
 * the restore itself touches some), writes them into the files, and tells
 * kddm_mig.ko which chunks are written. Where the module can, the pages
 * are exported as they are in the frozen processes instead (export_mm()):
 * nothing is copied, and CRIU's page server is only ended once the move
 * is decided.
 *
 * CRIU's post-dump callback comes before its page server starts, and the
 * restore needs pages: so the callback returns at once, and the move is
 * decided later (drain_decide()). CRIU runs with leave_running: once it
 * reads the end of its page server's input (our end shut, or this daemon
 * dead), it thaws the tree. Committed, move.c killed the tree before (its
 * pages stay in CRIU's pipes); aborted, the tree goes on here.
 *
 * CRIU is started here, not by libcriu, so that no other descriptor of
 * the daemon reaches it and the page server's end of the socket reaches
 * nothing else (a program that "kddm run" starts, say).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "migrated.h"

/* CRIU's page server protocol (criu/page-xfer.c) */
#define PS_IOV_ADD_F	6
#define PS_IOV_GET	7
#define PS_CMD_BITS	16
#define PE_PRESENT	(1U << 2)

struct ps_iov {
	uint32_t cmd;
	uint32_t nr_pages;
	uint64_t vaddr;
	uint64_t dst_id;
};

/*
 * CRIU answers a request by tee()ing its page pipe up to the pages asked
 * for: requests of a few pages cost it as much as large ones. The pages
 * in order go in requests of up to 1 MiB (the chunks in a row not asked
 * for yet, merged), those of a chunk the destination wants on their own.
 */
#define GET_PAGES	256	/* a request: 1 MiB at most */
#define GET_DEPTH	4	/* requests ahead */
#define GET_QUEUE	64	/* the requests being made, and the rests */
#define RUN_CHUNKS	16	/* chunks in a row asked for together */
#define WANT_POLL_US	1000	/* before the move is decided */
#define GET_PAGES_CHUNK	(KDDM_MIG_CHUNK / PAGE)
#define SWRK_FD		3	/* in CRIU: its RPC socket */
#define PS_FD		4	/* and the page server's */

struct get {
	int file;
	uint32_t nr;
	uint64_t off, vaddr;
};

struct drain {
	pthread_t th;
	bool started;
	int ps;			/* our end of the page server's socket */
	uint64_t set_id;	/* 0: nothing exported */
	struct lazy_plan *plan;
	int *fds;		/* the lazy files, in plan order */
	uint32_t **written;	/* bytes written per chunk, per file */
	uint8_t **asked;	/* per chunk, per file: asked of CRIU */
	int fi;			/* the next chunk in order */
	uint32_t ci;
	uint64_t wanted[KDDM_MIG_WANTED_MAX];
	int nw, iw;
	struct get q[GET_QUEUE];
	int qh, qn;
	int unsent;		/* the last ones of q, being made */
	uint8_t *buf;
	int pipe[2];		/* the pages, socket to file: no copy to us */
	uint64_t bytes;
	uint64_t t_start, t_end;
	int err;
	int criu;		/* CRIU's pidfd: killed if it hangs */
	uint64_t reserved;	/* of the tmpfs, for the lazy files */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int decision;		/* 1 committed, -1 aborted, 0 not yet */
	bool failed;		/* some page will not come */
	bool mm;		/* exported from the processes' memory */
};

/* tmpfs room promised to the drains running: they fill it later */
static pthread_mutex_t room_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t room_promised;

/*
 * Starts "criu swrk" with its RPC socket on descriptor 3 and @ps (CRIU's
 * end of the page server's socket) on 4, nothing else but 0-2. Return:
 * our end of the RPC socket (libcriu's service descriptor), or -errno.
 */
int criu_swrk_spawn(const char *bin, int ps, pid_t *pid)
{
	char fdarg[] = "3";
	char *argv[] = { (char *)bin, "swrk", fdarg, NULL };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	long fd, max = sysconf(_SC_OPEN_MAX);
	int sk[2];
	sigset_t all;

	if (max < 0 || max > 65536)
		max = 65536;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk))
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		close(sk[0]);
		close(sk[1]);
		return -errno;
	}
	if (!*pid) {
		/* async-signal-safe calls only, up to exec */
		int a = fcntl(sk[1], F_DUPFD, 10);
		int b = fcntl(ps, F_DUPFD, 10);

		if (a < 0 || b < 0 || dup2(a, SWRK_FD) < 0 ||
		    dup2(b, PS_FD) < 0)
			_exit(127);
		if (syscall(SYS_close_range, PS_FD + 1, ~0U, 0))
			for (fd = PS_FD + 1; fd < max; fd++)
				close(fd);
		/* the daemon ignores SIGPIPE: CRIU gets the default */
		sigaction(SIGPIPE, &dfl, NULL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execv(bin, argv);
		_exit(127);
	}
	close(sk[1]);
	return sk[0];
}

/* The configuration that has CRIU serve its lazy pages on PS_FD. */
int drain_conf(int dir_fd, const char *name)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL |
			O_CLOEXEC | O_NOFOLLOW, 0600);
	static const char conf[] = "lazy-pages\nps-socket 4\n";
	int err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, conf, sizeof(conf) - 1);
	close(fd);
	return err;
}

static void drain_free(struct drain *d)
{
	int i;

	for (i = 0; d->fds && i < d->plan->nr; i++)
		if (d->fds[i] >= 0)
			close(d->fds[i]);
	for (i = 0; d->written && d->asked && i < d->plan->nr; i++) {
		free(d->written[i]);
		free(d->asked[i]);
	}
	pthread_mutex_lock(&room_lock);
	room_promised -= d->reserved;
	pthread_mutex_unlock(&room_lock);
	free(d->fds);
	free(d->written);
	free(d->asked);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d->buf);
	if (d->pipe[0] >= 0) {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
	lazy_plan_free(d->plan);
	free(d->plan);
	free(d);
}

static uint32_t file_chunks(const struct lazy_file *f)
{
	return (f->size + KDDM_MIG_CHUNK - 1) / KDDM_MIG_CHUNK;
}

static int lazy_files(struct drain *d, int dir_fd)
{
	struct lazy_plan *p = d->plan;
	size_t n = p->nr > 0 ? (size_t)p->nr : 1;
	char name[32];
	int i;

	d->fds = calloc(n, sizeof(*d->fds));
	if (d->fds)
		for (i = 0; i < p->nr; i++)
			d->fds[i] = -1;
	d->written = calloc(n, sizeof(*d->written));
	d->asked = calloc(n, sizeof(*d->asked));
	if (!d->fds || !d->written || !d->asked)
		return -ENOMEM;
	for (i = 0; i < p->nr; i++) {
		size_t chunks = file_chunks(&p->files[i]);

		snprintf(name, sizeof(name), DRAIN_PREFIX "%u", p->files[i].id);
		d->fds[i] = openat(dir_fd, name, O_RDWR | O_CREAT | O_EXCL |
				   O_CLOEXEC | O_NOFOLLOW, 0600);
		if (d->fds[i] < 0 || ftruncate(d->fds[i], p->files[i].size))
			return -errno;
		d->written[i] = calloc(chunks ?: 1, sizeof(uint32_t));
		d->asked[i] = calloc(chunks ?: 1, 1);
		if (!d->written[i] || !d->asked[i])
			return -ENOMEM;
	}
	return 0;
}

/*
 * Room for the pages in the images' file system (tmpfs: memory), beyond
 * what the other drains running will fill; promised to this one.
 */
static int room_for(struct drain *d, int dir_fd, uint64_t bytes)
{
	struct statvfs s;
	uint64_t avail;
	int err = 0;

	if (fstatvfs(dir_fd, &s))
		return -errno;
	avail = (uint64_t)s.f_bavail * s.f_frsize;
	pthread_mutex_lock(&room_lock);
	if (avail < room_promised || avail - room_promised < bytes)
		err = -ENOSPC;
	else
		room_promised += bytes;
	pthread_mutex_unlock(&room_lock);
	if (!err)
		d->reserved = bytes;
	return err;
}

static int export_files(struct drain *d)
{
	struct kddm_mig_export ex = {
		.nr_files = d->plan->nr,
		.fds = (uintptr_t)d->fds,
		.flags = KDDM_MIG_EXPORT_FILLING,
	};

	if (ioctl(mig_dev, KDDM_MIG_EXPORT, &ex))
		return -errno;
	d->set_id = ex.set_id;
	return 0;
}

/*
 * The lazy pages exported as they are in the frozen processes: kddm_mig
 * keeps their address spaces (after the processes are killed, once the
 * move is committed) and reads each chunk out of them when the
 * destination asks for it. Nothing is copied out of CRIU, no file is
 * written: CRIU's page server only has to end.
 */
static int export_mm(struct drain *d)
{
	const struct lazy_plan *p = d->plan;
	struct kddm_mig_mm_file *mf = calloc(p->nr, sizeof(*mf));
	struct kddm_mig_ext **ext = calloc(p->nr, sizeof(*ext));
	struct kddm_mig_export_mm ex = { .nr_files = p->nr,
					 .files = (uintptr_t)mf };
	int i, j, err = mf && ext ? 0 : -ENOMEM;

	for (i = 0; !err && i < p->nr; i++) {
		const struct lazy_file *f = &p->files[i];

		ext[i] = calloc(f->nr ?: 1, sizeof(**ext));
		if (!ext[i]) {
			err = -ENOMEM;
			break;
		}
		for (j = 0; j < f->nr; j++) {
			ext[i][j].vaddr = f->ext[j].vaddr;
			ext[i][j].off = f->ext[j].off;
			ext[i][j].len = (uint64_t)f->ext[j].nr_pages * PAGE;
		}
		mf[i].pid = f->pid;
		mf[i].nr_ext = f->nr;
		mf[i].size = f->size;
		mf[i].ext = (uintptr_t)ext[i];
	}
	if (!err && ioctl(mig_dev, KDDM_MIG_EXPORT_MM, &ex))
		err = -errno;
	if (!err)
		d->set_id = ex.set_id;
	else
		logmsg("exporting the memory of process %u as it is: %s (through files)",
		       p->nr ? p->files[0].pid : 0, strerror(-err));
	for (i = 0; ext && i < p->nr; i++)
		free(ext[i]);
	free(ext);
	free(mf);
	return err;
}

/*
 * After the dump, the tasks frozen: the lazy pages of @plan (which the
 * drain owns from now on) exported as they are in the processes (if
 * @mm_ok: the tasks @plan names are those seen here), else as files in
 * @dir_fd, a set still being filled; nothing exported if nothing is
 * lazy. NULL with the reason in @why.
 */
struct drain *drain_prepare(int dir_fd, struct lazy_plan *plan, int ps,
			    int criu, bool mm_ok, char *why, size_t wl)
{
	struct drain *d = calloc(1, sizeof(*d));
	int err;

	if (!d) {
		lazy_plan_free(plan);
		free(plan);
		snprintf(why, wl, "out of memory");
		return NULL;
	}
	d->plan = plan;
	d->ps = ps;
	d->criu = criu;
	d->pipe[0] = d->pipe[1] = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->buf = malloc(GET_PAGES * PAGE);
	if (pipe2(d->pipe, O_CLOEXEC))
		d->pipe[0] = d->pipe[1] = -1;
	else
		fcntl(d->pipe[0], F_SETPIPE_SZ, GET_PAGES * PAGE);
	/* straight from the frozen processes' memory, else through files */
	if (mm_ok && plan->lazy_bytes && d->buf && !export_mm(d)) {
		d->mm = true;
		return d;
	}
	err = d->buf && d->pipe[0] >= 0 ?
	      room_for(d, dir_fd, plan->lazy_bytes) : -ENOMEM;
	if (err == -ENOSPC)
		snprintf(why, wl, "no room for %llu bytes of memory in %s",
			 (unsigned long long)plan->lazy_bytes, MIG_RUN_DIR);
	if (!err && plan->lazy_bytes)
		err = lazy_files(d, dir_fd) ?: export_files(d);
	if (err && !why[0])
		snprintf(why, wl, "exporting its memory: %s", strerror(-err));
	if (err) {
		drain_free(d);
		return NULL;
	}
	return d;
}

uint64_t drain_set_id(const struct drain *d)
{
	return d->set_id;
}

/* The first extent of @f that ends after @off. */
static int ext_find(const struct lazy_file *f, uint64_t off)
{
	int lo = 0, hi = f->nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		const struct lazy_ext *x = &f->ext[mid];

		if (x->off + (uint64_t)x->nr_pages * PAGE <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool chunk_new(struct drain *d, uint64_t id, int *fi, uint32_t *ci)
{
	uint32_t f = id >> 32, c = (uint32_t)id;

	if (f >= (uint32_t)d->plan->nr || c >= file_chunks(&d->plan->files[f]) ||
	    d->asked[f][c])
		return false;
	*fi = f;
	*ci = c;
	return true;
}

/*
 * The next chunk to ask CRIU for: one the destination read too early,
 * else (@in_order) the next in order. False when there is none.
 */
static bool next_chunk(struct drain *d, int *fi, uint32_t *ci, bool *wanted,
		       bool in_order)
{
	struct kddm_mig_wanted w = { .set_id = d->set_id };
	int i;

	if (!d->set_id)
		return false;
	for (;;) {
		*wanted = true;
		while (d->iw < d->nw)
			if (chunk_new(d, d->wanted[d->iw++], fi, ci))
				return true;
		if (ioctl(mig_dev, KDDM_MIG_WANTED, &w) || !w.nr)
			break;
		for (i = 0; i < (int)w.nr && i < KDDM_MIG_WANTED_MAX; i++)
			d->wanted[i] = w.chunks[i];
		d->nw = i;
		d->iw = 0;
	}
	*wanted = false;
	while (in_order && d->fi < d->plan->nr) {
		if (d->ci >= file_chunks(&d->plan->files[d->fi])) {
			d->fi++;
			d->ci = 0;
		} else if (chunk_new(d, (uint64_t)d->fi << 32 | d->ci++, fi,
				     ci)) {
			return true;
		}
	}
	return false;
}

static int send_get(struct drain *d, const struct get *g)
{
	struct ps_iov pi = {
		.cmd = PS_IOV_GET,
		.nr_pages = g->nr,
		.vaddr = g->vaddr,
		.dst_id = d->plan->files[g->file].pid,
	};

	return write_all(d->ps, &pi, sizeof(pi));
}

/* @g to the requests being made: merged with the last if it follows it. */
static int queue_get(struct drain *d, const struct get *g)
{
	struct get *last = &d->q[(d->qh + d->qn + GET_QUEUE - 1) % GET_QUEUE];

	if (d->unsent && last->file == g->file &&
	    last->off + (uint64_t)last->nr * PAGE == g->off &&
	    last->vaddr + (uint64_t)last->nr * PAGE == g->vaddr &&
	    last->nr + g->nr <= GET_PAGES) {
		last->nr += g->nr;
		return 0;
	}
	if (d->qn == GET_QUEUE)
		return -EOVERFLOW;
	d->q[(d->qh + d->qn) % GET_QUEUE] = *g;
	d->qn++;
	d->unsent++;
	return 0;
}

static int send_gets(struct drain *d)
{
	int err = 0;

	for (; !err && d->unsent; d->unsent--)
		err = send_get(d, &d->q[(d->qh + d->qn - d->unsent) % GET_QUEUE]);
	return err;
}

/* Room for a chunk's requests (16 at most), and a rest for each. */
static bool queue_room(const struct drain *d)
{
	return d->qn + 2 * (int)GET_PAGES_CHUNK <= GET_QUEUE;
}

/* Every page of chunk @ci of file @fi, asked of CRIU. */
static int ask_chunk(struct drain *d, int fi, uint32_t ci)
{
	const struct lazy_file *f = &d->plan->files[fi];
	uint64_t cs = (uint64_t)ci * KDDM_MIG_CHUNK, ce = cs + KDDM_MIG_CHUNK;
	int i, err = 0;

	if (ce > f->size)
		ce = f->size;
	d->asked[fi][ci] = 1;
	for (i = ext_find(f, cs); !err && i < f->nr && f->ext[i].off < ce; i++) {
		const struct lazy_ext *x = &f->ext[i];
		uint64_t xe = x->off + (uint64_t)x->nr_pages * PAGE;
		uint64_t a = x->off > cs ? x->off : cs, b = xe < ce ? xe : ce;
		struct get g = { .file = fi, .nr = (b - a) / PAGE, .off = a,
				 .vaddr = x->vaddr + (a - x->off) };

		err = queue_get(d, &g);
	}
	return err;
}

/* @len bytes at @off of file @fi are written: chunks complete, to say. */
static int written(struct drain *d, int fi, uint64_t off, uint64_t len)
{
	struct kddm_mig_filled f = { .set_id = d->set_id, .file = fi };
	uint64_t size = d->plan->files[fi].size, c, end = off + len;
	uint64_t first = UINT64_MAX, last = 0;

	for (c = off / KDDM_MIG_CHUNK; c * KDDM_MIG_CHUNK < end; c++) {
		uint64_t cs = c * KDDM_MIG_CHUNK, ce = cs + KDDM_MIG_CHUNK;
		uint64_t a = off > cs ? off : cs, b = end < ce ? end : ce;

		if (ce > size)
			ce = size;
		d->written[fi][c] += b - a;
		if (d->written[fi][c] != ce - cs)
			continue;
		if (first == UINT64_MAX)
			first = c;
		last = c;
	}
	if (first == UINT64_MAX)
		return 0;
	f.first = first;
	f.nr = last - first + 1;
	return ioctl(mig_dev, KDDM_MIG_FILLED, &f) ? -errno : 0;
}

/*
 * @len bytes of the socket to @off of @fd. CRIU's pages reach the socket
 * by reference (AF_UNIX takes pages spliced into it as they are) and reach
 * the pipe the same way: the one copy is into the file.
 */
static int splice_in(struct drain *d, int fd, uint64_t off, size_t len)
{
	loff_t o = off;
	ssize_t n, m;

	while (len) {
		n = splice(d->ps, NULL, d->pipe[1], NULL, len, SPLICE_F_MOVE);
		if (n <= 0)
			return n ? -errno : -EPIPE;
		len -= n;
		while (n) {
			m = splice(d->pipe[0], NULL, fd, &o, n, SPLICE_F_MOVE);
			if (m <= 0)
				return m ? -errno : -EIO;
			n -= m;
		}
	}
	return 0;
}

/* CRIU's answer to the oldest request, into its file. */
static int receive_pages(struct drain *d)
{
	struct get *g = &d->q[d->qh];
	const struct lazy_file *f = &d->plan->files[g->file];
	struct ps_iov pi;
	size_t len;
	int err;

	err = read_all(d->ps, &pi, sizeof(pi));
	if (err)
		return err;
	if (pi.cmd != (PE_PRESENT << PS_CMD_BITS | PS_IOV_ADD_F) ||
	    pi.vaddr != g->vaddr || pi.dst_id != f->pid || !pi.nr_pages ||
	    pi.nr_pages > g->nr)
		return -EPROTO;
	len = (size_t)pi.nr_pages * PAGE;
	err = splice_in(d, d->fds[g->file], g->off, len);
	if (err)
		return err;
	d->bytes += len;
	err = written(d, g->file, g->off, len);
	if (!err && pi.nr_pages < g->nr) {
		/* CRIU stops at the end of its buffer: the rest, again */
		struct get rest = { .file = g->file, .nr = g->nr - pi.nr_pages,
				    .off = g->off + len, .vaddr = g->vaddr + len };

		err = queue_get(d, &rest) ?: send_gets(d);
	}
	d->qh = (d->qh + 1) % GET_QUEUE;
	d->qn--;
	return err;
}

static int decision(struct drain *d, bool wait)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	while (wait && !d->decision)
		pthread_cond_wait(&d->cond, &d->lock);
	ret = d->decision;
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* The chunks after @ci of file @fi not asked for yet, up to RUN_CHUNKS. */
static int ask_run(struct drain *d, int fi, uint32_t ci)
{
	uint32_t n = file_chunks(&d->plan->files[fi]);
	int k, err = 0;

	for (k = 1; !err && k < RUN_CHUNKS && ci + k < n && queue_room(d) &&
	     !d->asked[fi][ci + k]; k++)
		err = ask_chunk(d, fi, ci + k);
	if (fi == d->fi && d->ci > ci && d->ci < ci + k)
		d->ci = ci + k;
	return err;
}

/*
 * Every page asked for and written, GET_DEPTH requests ahead. Until the
 * move is decided, only the chunks the restore there wants (the CPU goes
 * to the restore, and if it fails, nothing else was copied for nothing).
 */
static int drain_pages(struct drain *d)
{
	bool wanted;
	uint32_t ci;
	int fi, err = 0, dec;

	for (;;) {
		dec = decision(d, false);
		while (!err && d->qn < GET_DEPTH && queue_room(d) && dec >= 0 &&
		       next_chunk(d, &fi, &ci, &wanted, dec > 0)) {
			/* once it runs there, the chunks after a wanted one too */
			err = ask_chunk(d, fi, ci);
			if (!err && (!wanted || dec > 0))
				err = ask_run(d, fi, ci);
			if (!err)
				err = send_gets(d);
			dec = decision(d, false);
		}
		if (err)
			return err;
		if (d->qn) {
			err = receive_pages(d);
			continue;
		}
		/*
		 * Committed since the chunks were looked at (they were only
		 * the wanted ones then): look again, the rest is to ask for.
		 */
		if (decision(d, false) != dec)
			continue;
		if (dec || !d->set_id)
			return 0;	/* all asked for, or aborted */
		usleep(WANT_POLL_US);
	}
}

/*
 * Once the move is decided: our end shut for writing, what CRIU still
 * answers is read (it reads nothing while it cannot write) until it
 * closes its end. It takes the end of its input for a success and thaws
 * the tree (leave_running): the tree goes on here if the move was
 * aborted, and was killed if it was committed.
 */
static void ps_finish(struct drain *d)
{
	decision(d, true);
	shutdown(d->ps, SHUT_WR);
	while (read(d->ps, d->buf, GET_PAGES * PAGE) > 0)
		;
}

static void *drain_main(void *arg)
{
	struct drain *d = arg;

	d->t_start = now_us();
	if (d->mm)
		d->bytes = d->plan->lazy_bytes;	/* all there, as they are */
	else
		d->err = drain_pages(d);
	d->t_end = now_us();
	if (d->err) {
		logmsg("copying the memory out of CRIU: %s", strerror(-d->err));
		pthread_mutex_lock(&d->lock);
		d->failed = true;
		pthread_mutex_unlock(&d->lock);
		/* a CRIU that answers nothing for PS_WAIT s is stuck: it goes */
		if (d->err == -EAGAIN && d->criu >= 0 &&
		    syscall(SYS_pidfd_send_signal, d->criu, SIGKILL, NULL, 0))
			logmsg("cannot kill CRIU: %s", strerror(errno));
	}
	ps_finish(d);
	return NULL;
}

/*
 * Exported from the processes' memory: the move is committed and the
 * processes stopped, about to be killed; their death writes nothing into
 * their memory (KDDM_MIG_SEAL).
 */
void drain_seal(struct drain *d)
{
	if (d->mm && ioctl(mig_dev, KDDM_MIG_SEAL, &d->set_id))
		logmsg("sealing the memory of set %llx: %s",
		       (unsigned long long)d->set_id, strerror(errno));
}

/*
 * Exported from the processes' memory, and the move aborted: the set
 * goes before CRIU thaws them (the copy there, killed without COMMIT,
 * reads nothing of a running process meanwhile).
 */
void drain_unexport(struct drain *d)
{
	if (d->mm && d->set_id && ioctl(mig_dev, KDDM_MIG_UNEXPORT, &d->set_id))
		logmsg("unexport: %s", strerror(errno));
}

/* The move is decided: @commit, the process runs there. */
void drain_decide(struct drain *d, bool commit)
{
	pthread_mutex_lock(&d->lock);
	d->decision = commit ? 1 : -1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* After the dump: the pages come out of CRIU in a thread. */
int drain_start(struct drain *d)
{
	int err = pthread_create(&d->th, NULL, drain_main, d);

	d->started = !err;
	return -err;
}

bool drain_started(const struct drain *d)
{
	return d->started;
}

/* Will some page not come (the move must not be committed)? */
bool drain_failed(struct drain *d)
{
	bool failed;

	pthread_mutex_lock(&d->lock);
	failed = d->failed;
	pthread_mutex_unlock(&d->lock);
	return failed;
}

/*
 * Once CRIU returned (@criu_failed: it may have died mid-way): the drain's
 * result and the bytes it copied; its memory is let go (the set stays).
 */
int drain_end(struct drain *d, bool criu_failed, uint64_t *bytes)
{
	int err = 0;

	if (d->started) {
		if (criu_failed)
			shutdown(d->ps, SHUT_RDWR);
		pthread_join(d->th, NULL);
		err = d->err;
		if (d->bytes && !d->mm)
			logmsg("copied %llu bytes out of CRIU in %llu ms",
			       (unsigned long long)d->bytes,
			       (unsigned long long)(d->t_end - d->t_start) / 1000);
	}
	*bytes = d->bytes;
	drain_free(d);
	return err;
}
