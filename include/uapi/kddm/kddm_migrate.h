/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kddm-migrated: what the kddm CLI says to its node's daemon (a unix
 * stream socket, KDDM_MIGRATE_SOCK) and what daemons say to each other
 * (TIPC stream connections to the service {KDDM_MIGRATE_TIPC_TYPE, node
 * id}, authenticated with MACs under the cluster key, KDDM_CMD_MAC).
 *
 * Every message is a struct kddm_mig_hdr and @len bytes; integers are in
 * the host's order (one architecture per cluster, x86_64). A daemon
 * checks every length and string of what it receives, from the CLI as
 * from a peer.
 */
#ifndef _UAPI_KDDM_KDDM_MIGRATE_H
#define _UAPI_KDDM_KDDM_MIGRATE_H

#include <linux/types.h>

#define KDDM_MIGRATE_SOCK	"/run/kddm/migrated.sock"
#define KDDM_MIGRATE_TIPC_TYPE	0x4b444d47U	/* "KDMG" */
#define KDDM_MIGRATE_MAGIC	0x314d444bU	/* "KDM1" */
#define KDDM_MIGRATE_VERSION	2

#define KDDM_MIG_MSG_MAX	65536	/* a message's payload, files apart */
#define KDDM_MIG_TEXT		512	/* an error or a note, NUL included */
#define KDDM_MIG_COMM		16
#define KDDM_MIG_PATH		4096
#define KDDM_MIG_MAX_PIDS	4096	/* tasks (threads too) of one tree */
#define KDDM_MIG_NONCE		16
#define KDDM_MIG_MAC		32

enum kddm_mig_type {
	/* CLI -> daemon */
	KDDM_MIG_REQ_MIGRATE = 1,	/* struct kddm_mig_req */
	KDDM_MIG_REQ_PS,		/* struct kddm_mig_ps_req */
	/* daemon -> CLI */
	KDDM_MIG_RESULT,		/* struct kddm_mig_result */
	KDDM_MIG_PS_ROW,		/* struct kddm_mig_ps_row */
	KDDM_MIG_PS_END,		/* struct kddm_mig_result */
	/* daemon <-> daemon */
	KDDM_MIG_HELLO,			/* struct kddm_mig_hello */
	KDDM_MIG_HELLO_REPLY,		/* struct kddm_mig_hello_reply */
	KDDM_MIG_HELLO_DONE,		/* struct kddm_mig_hello_done */
	KDDM_MIG_PREPARE,		/* struct kddm_mig_prepare, pids */
	KDDM_MIG_FILE,			/* struct kddm_mig_file, then bytes */
	KDDM_MIG_RESTORE,		/* struct kddm_mig_restore */
	KDDM_MIG_ABORT,			/* no payload */
	KDDM_MIG_UNUSED,		/* was a file sent in part */
	KDDM_MIG_LAZY,			/* struct kddm_mig_lazy, pages ids */
	KDDM_MIG_DONE,			/* struct kddm_mig_result: all pulled */
	KDDM_MIG_COMMIT,		/* no payload: the source lets go */
	/* kddm run: CLI -> daemon -> daemon, then streams both ways */
	KDDM_MIG_REQ_RUN,		/* struct kddm_mig_run, strings */
	KDDM_MIG_RUN_STARTED,		/* struct kddm_mig_result: its pid */
	KDDM_MIG_STDIN,			/* bytes; none: end of input */
	KDDM_MIG_STDOUT,		/* bytes */
	KDDM_MIG_STDERR,		/* bytes */
	KDDM_MIG_EXIT,			/* struct kddm_mig_exit */
	/*
	 * CLI -> daemon: kddm balancer include|exclude PID, a job of this
	 * node (its owner or root): struct kddm_mig_req, flags
	 * KDDM_MIG_F_BALANCE to let the balancer move it, 0 not to; node 0.
	 * The answer is a RESULT.
	 */
	KDDM_MIG_REQ_BALANCE,
	__KDDM_MIG_TYPE_MAX,
};

struct kddm_mig_hdr {
	__u32 type;
	__u32 len;	/* payload bytes after this header */
};

#define KDDM_MIG_F_TREE		0x1	/* the process and its descendants */
#define KDDM_MIG_F_EAGER	0x2	/* all memory before it runs again */
#define KDDM_MIG_F_BALANCE	0x4	/* only a job the balancer may move
					 * (its PID reused since: refused)
					 */
#define KDDM_MIG_F_ALL		0x1	/* (ps) every node, not only this one */

struct kddm_mig_req {
	__u32 pid;
	__u32 node;
	__u32 flags;
	__u32 pad;
};

struct kddm_mig_ps_req {
	__u32 flags;	/* KDDM_MIG_F_ALL: ask every node */
	__u32 pad;
};

struct kddm_mig_result {
	__s32 err;		/* 0 or -errno */
	__u32 pid;		/* the process's PID on the destination */
	__u32 from, to;		/* node ids */
	__u32 tasks;		/* tasks (threads included) that moved */
	__u32 pad;
	__u64 downtime_us;	/* frozen on the source to running again */
	__u64 total_us;		/* the whole command */
	__u64 image_bytes;	/* process state sent before it ran again */
	__u64 lazy_bytes;	/* memory left to pull as kDDM objects */
	__u64 running_us;	/* the command's start to running again */
	char text[KDDM_MIG_TEXT];	/* why it failed, NUL-terminated */
};

#define KDDM_MIG_PS_BALANCE	0x1	/* the balancer may move it */

struct kddm_mig_ps_row {
	__u32 pid;
	__u32 node;		/* where it runs now */
	__u32 origin;		/* where kddm first moved or started it */
	__u32 uid;
	__u32 migrations;
	__u32 flags;		/* KDDM_MIG_PS_* */
	__u64 since;		/* CLOCK_REALTIME seconds of its last move */
	char comm[KDDM_MIG_COMM];
};

struct kddm_mig_hello {
	__u32 magic;
	__u32 version;
	__u32 from, to;		/* node ids */
	__u8 nonce[KDDM_MIG_NONCE];
};

struct kddm_mig_hello_reply {
	__u8 nonce[KDDM_MIG_NONCE];
	__u8 mac[KDDM_MIG_MAC];	/* of "srv", from, to, both nonces */
};

struct kddm_mig_hello_done {
	__u8 mac[KDDM_MIG_MAC];	/* of "cli", from, to, both nonces */
};

/* then @nr_pids __u32 PIDs (every task of the tree), @cwd_len + @exe_len
 * bytes (the root's cwd and executable, not NUL-terminated)
 */
struct kddm_mig_prepare {
	__u32 nr_pids;
	__u32 root_pid;
	__u32 cwd_len;
	__u32 exe_len;
};

struct kddm_mig_file {
	__u64 size;
	__u32 mode;
	__u32 name_len;	/* then the name: no '/', not "." or ".." */
};

/*
 * The lazy pages are kDDM objects of set @set_id (kddm_mig.ko): then
 * @nr_files __u32, the CRIU pages ids of the exported files in order.
 */
struct kddm_mig_lazy {
	__u64 set_id;
	__u32 nr_files;
	__u32 pad;
};

#define KDDM_MIG_R_LAZY		0x1	/* restore lazily (after LAZY) */
#define KDDM_MIG_R_BALANCE	0x2	/* the balancer may move it (a
					 * migratable kddm run job)
					 */

struct kddm_mig_restore {
	__u32 root_pid;
	__u32 origin;
	__u32 uid;
	__u32 migrations;
	__u32 flags;		/* KDDM_MIG_R_* */
	__u32 pad;
	char comm[KDDM_MIG_COMM];
};

/*
 * kddm run: start a program on node @node as the caller (uid and gid from
 * SO_PEERCRED; the CLI's values are ignored), then @argc + @envc
 * NUL-terminated strings (its arguments, its environment) and @cwd_len
 * bytes of working directory (not NUL-terminated); KDDM_MIG_RUN_MAX bytes
 * at most in all. The program's standard streams come back as STDOUT,
 * STDERR (and go as STDIN), its end as EXIT. A KDDM_MIG_RUN_MIGRATABLE
 * program may move: it reads no input (/dev/null) and writes its output
 * to files on kdfs (KDDM_MIG_RUN_DIR/PID/out and err), relayed from there;
 * whichever node it ends on writes its wait status to .../PID/status.
 */
#define KDDM_MIG_RUN_MIGRATABLE	0x1
#define KDDM_MIG_RUN_MAX	(KDDM_MIG_MSG_MAX - 64)
#define KDDM_MIG_RUN_MAX_ARGS	4096
#define KDDM_MIG_RUN_DIR	".kddm-run"	/* in the kdfs mount */

struct kddm_mig_run {
	__u32 node;
	__u32 flags;		/* KDDM_MIG_RUN_* */
	__u32 uid, gid;		/* daemon -> daemon only */
	__u32 argc, envc;
	__u32 cwd_len;
	__u32 pad;
};

struct kddm_mig_exit {
	__s32 status;		/* as waitpid() gives it */
	__u32 pid;
};

#endif /* _UAPI_KDDM_KDDM_MIGRATE_H */
