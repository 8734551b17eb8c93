/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kddm-migrated: one daemon per node. It moves processes of its node to
 * another node's daemon (CRIU through libcriu dumps them, the images go
 * over an authenticated TIPC connection, the other daemon restores them),
 * and restores what other daemons send it.
 */
#ifndef _KDDM_MIGRATED_H
#define _KDDM_MIGRATED_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <kddm/kddm_migrate.h>
#include <kddm/kddm_mig_mem.h>

#define MIG_RUN_DIR	"/run/kddm/migrate"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define PAGE		4096UL

extern uint32_t self_node;

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_us(void);

/* ---- io.c: messages, the kddm genl family, peers ---- */
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);
int send_msg(int fd, uint32_t type, const void *p, size_t len);
int send_msg2(int fd, uint32_t type, const void *a, size_t alen,
	      const void *b, size_t blen);
/* A message of at most @max bytes into @buf; its length in *@len. */
int recv_msg(int fd, uint32_t *type, void *buf, size_t max, size_t *len);
int send_result(int fd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int kddm_nl_init(void);
int kddm_self_node(uint32_t *node);
int kddm_nodes_up(uint32_t *nodes, int max);
int kddm_mac(const void *data, size_t len, uint8_t *mac);

int peer_listen(void);
int peer_connect(uint32_t node, char *why, size_t whylen);
int peer_accept_auth(int fd, uint32_t *from);
void peer_linger(int fd);
void peer_timeout(int fd, int secs);	/* 0: none */

/* ---- check.c: may it move, may the caller move it ---- */
struct tree {
	pid_t root;
	int nr;			/* tasks, threads included */
	pid_t pids[KDDM_MIG_MAX_PIDS];
	int nr_procs;		/* processes (thread-group leaders) */
	pid_t procs[KDDM_MIG_MAX_PIDS];
	char comm[KDDM_MIG_COMM];
	uid_t uid;
	char cwd[KDDM_MIG_PATH];
	char exe[KDDM_MIG_PATH];
};

int caller_may_ptrace(uid_t uid, gid_t gid, pid_t pid);
int tree_collect(pid_t root, bool tree, struct tree *t, char *why, size_t len);
int tree_movable(const struct tree *t, char *why, size_t len);
int kdfs_mounts(dev_t *devs, char (*dirs)[PATH_MAX], int max);
bool kdfs_dev_in(dev_t dev, const dev_t *devs, int n);
int pids_free(const uint32_t *pids, int nr, char *why, size_t len);

/* ---- relink.c: unlinked kdfs files named again while they move ---- */
#define RELINK_IMAGE	"kddm-relinked"	/* the list, with the images */
struct relinked {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct relinks {
	int nr;
	struct relinked *f;
	int ndevs;
	dev_t devs[16];		/* of the kdfs mounts */
};

int relink_tree(const struct tree *t, int dir_fd, struct relinks *r);
void relink_undo(struct relinks *r);
void relink_free(struct relinks *r);
void relinked_remove(int dir_fd);
void relinked_forget(const char *dir);

/* ---- files_img.c: CRIU's files image ---- */
int files_unsize_kdfs(int dir_fd);

/* ---- move.c: the source's and the destination's side ---- */
int migrate_out(pid_t pid, uint32_t node, uint32_t flags, uid_t uid,
		gid_t gid, struct kddm_mig_result *res);
void migrate_in(int fd, uint32_t from);
void images_cleanup(void);

/* ---- lazy.c: memory pulled after the process runs again ---- */
extern int mig_dev;	/* /dev/kddm_mig, -1 without kddm_mig.ko */

struct pm_entry {
	uint64_t vaddr;
	uint64_t off;		/* in the task's lazy file (PE_LAZY only) */
	uint32_t nr_pages;
	uint32_t flags;
};

struct lazy_ext {
	uint64_t vaddr;
	uint64_t off;		/* in the lazy file */
	uint32_t nr_pages;
};

/* A task's PE_LAZY pages, as the source copies them out of CRIU. */
struct lazy_file {
	uint32_t id;		/* CRIU's pages image id */
	uint32_t pid;		/* the task's, as CRIU names it */
	uint64_t size;		/* of its lazy file */
	int nr;
	struct lazy_ext *ext;
};

struct lazy_plan {
	int nr;
	uint64_t lazy_bytes;
	struct lazy_file files[KDDM_MIG_MAX_FILES];
};

struct lazy_srv;

/* A protobuf varint at *@p (before @end), *@p moved past it. */
int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);
int pagemap_read(int dir, const char *name, uint32_t *pages_id,
		 struct pm_entry **out);
int lazy_plan(int dir, struct lazy_plan *p);
void lazy_plan_free(struct lazy_plan *p);
struct lazy_srv *lazy_start(const char *dir, int dir_fd, uint64_t set_id,
			    const uint32_t *ids, int nr_ids, uint32_t source,
			    char *why, size_t wl);
void lazy_abort(struct lazy_srv *s);
void lazy_handover(struct lazy_srv *s, int fd);
void kill_tree(pid_t pid, int depth);

/* ---- drain.c: the source's side of a lazy move ---- */
#define DRAIN_PREFIX	"kddm-lazy-"	/* the lazy files, in the images */
#define DRAIN_CONF	"kddm-ps.conf"	/* CRIU's page server on fd 4 */
struct drain;
int criu_swrk_spawn(const char *bin, int ps, pid_t *pid);
int drain_conf(int dir_fd, const char *name);
struct drain *drain_prepare(int dir_fd, struct lazy_plan *plan, int ps,
			    int criu, bool mm_ok, char *why, size_t wl);
void drain_seal(struct drain *d);
void drain_unexport(struct drain *d);
uint64_t drain_set_id(const struct drain *d);
int drain_start(struct drain *d);
void drain_decide(struct drain *d, bool commit);
bool drain_started(const struct drain *d);
bool drain_failed(struct drain *d);
int drain_end(struct drain *d, bool criu_failed, uint64_t *bytes);
void kmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- migrated.c: what kddm moved here ---- */
struct job_info {
	pid_t pid;
	uint32_t origin;
	uint32_t uid;
	uint32_t migrations;
	bool balance;		/* the balancer may move it */
	char comm[KDDM_MIG_COMM];
};

void job_add(const struct job_info *j, bool child);
bool job_get(pid_t pid, struct job_info *j);
void job_forget(pid_t pid);
void job_moving(pid_t pid, bool moving);
/* tasks whose memory is still arriving: they may not move yet */
void pulling_add(const uint32_t *pids, int nr);
void pulling_del(const uint32_t *pids, int nr);
bool tree_pulling(const struct tree *t, int secs);
void jobs_send(int fd);

/* run.c: kddm run */
void run_exited(pid_t pid, int status);
void run_in(int fd, uint32_t from, char *buf, size_t n);
void run_out(int cli, char *buf, size_t n, uid_t uid, gid_t gid);

/* undo.c: SEM_UNDO adjustments of kipc semaphores */
#define UNDO_MAX_PROCS	256
struct undo_load {
	int nr;
	int kfd;
	pid_t pid[UNDO_MAX_PROCS];
	void *buf[UNDO_MAX_PROCS];
	size_t len[UNDO_MAX_PROCS];
};

int undo_take(int dir_fd, const pid_t *procs, int nr, char *why, size_t len);
void undo_give_back(int dir_fd);
int undo_load(int dir_fd, const uint32_t *pids, int nr, struct undo_load *u,
	      char *why, size_t len);
void undo_give(struct undo_load *u);
void undo_free(struct undo_load *u);

#endif /* _KDDM_MIGRATED_H */
