// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/sysvipc/{shm,msg,sem} of an enabled IPC namespace list the
 * cluster's objects, in the kernel's format (sysvipc_*_proc_show() of
 * ipc/shm.c, msg.c, sem.c), so that ipcs(1) and programs that read these
 * files see what kddm ipcs shows.
 *
 * The kernel's sysvipc_proc_open() (ipc/util.c) runs first: it sets up
 * its iterator (the IPC and pid namespaces, with references, and the
 * file's interface) and the kernel's sysvipc_proc_release() undoes that
 * at the end. In between, kipc's seq_operations walk the objects by index,
 * as *_STAT_ANY does. The file holds a reference to kipc until released.
 */
#include <linux/ipc.h>
#include <linux/msg.h>
#include <linux/sem.h>
#include <linux/seq_file.h>
#include <linux/shm.h>
#include <uapi/linux/shm.h>

#include "kipc.h"
#include "msg.h"
#include "sem.h"

/* ipc/util.c's struct ipc_proc_iface and struct ipc_proc_iter (6.1, 6.12). */
struct kipc_proc_iface {
	const char *path;
	const char *header;
	int ids;		/* 0 sem, 1 msg, 2 shm */
	int (*show)(struct seq_file *s, void *it);
};

struct kipc_proc_iter {
	struct ipc_namespace *ns;
	struct pid_namespace *pid_ns;
	struct kipc_proc_iface *iface;
};

static enum kipc_type proc_type(struct seq_file *s)
{
	const struct kipc_proc_iter *iter = s->private;

	switch (iter->iface->ids) {
	case 0:
		return KIPC_SEM;
	case 1:
		return KIPC_MSG;
	default:
		return KIPC_SHM;
	}
}

/*
 * Position @pos: the header (SEQ_START_TOKEN, that is 1), then object index
 * pos - 1, while there is one, as the iterator pos + 1.
 */
static void *proc_at(struct seq_file *s, loff_t pos)
{
	if (!pos)
		return SEQ_START_TOKEN;
	if (pos > KIPC_SLOTS * KDDM_MAX_NODE ||
	    kipc_index_to_id(proc_type(s), pos - 1) < 0)
		return NULL;
	return (void *)(unsigned long)(pos + 1);
}

static void *proc_start(struct seq_file *s, loff_t *pos)
{
	return proc_at(s, *pos);
}

static void *proc_next(struct seq_file *s, void *it, loff_t *pos)
{
	return proc_at(s, ++*pos);
}

static void proc_stop(struct seq_file *s, void *it)
{
}

#define SIZE_SPEC "%21lu"

static void show_shm(struct seq_file *s, int idx)
{
	struct shmid64_ds ds;
	long id = kipc_shm_stat(idx, SHM_STAT_ANY, &ds);

	if (id < 0)
		return;		/* gone meanwhile */
	seq_printf(s, "%10d %10ld  %4o " SIZE_SPEC " %5u %5u  %5lu %5u %5u %5u %5u %10llu %10llu %10llu " SIZE_SPEC " " SIZE_SPEC "\n",
		   ds.shm_perm.key, id, ds.shm_perm.mode,
		   (unsigned long)ds.shm_segsz, ds.shm_cpid, ds.shm_lpid,
		   (unsigned long)ds.shm_nattch, ds.shm_perm.uid,
		   ds.shm_perm.gid, ds.shm_perm.cuid, ds.shm_perm.cgid,
		   (u64)ds.shm_atime, (u64)ds.shm_dtime, (u64)ds.shm_ctime,
		   0UL, 0UL);
}

static void show_msg(struct seq_file *s, int idx)
{
	struct msqid64_ds ds;
	long id = kipc_msg_stat(idx, MSG_STAT_ANY, &ds);

	if (id < 0)
		return;
	seq_printf(s, "%10d %10ld  %4o  %10lu %10lu %5u %5u %5u %5u %5u %5u %10llu %10llu %10llu\n",
		   ds.msg_perm.key, id, ds.msg_perm.mode,
		   (unsigned long)ds.msg_cbytes, (unsigned long)ds.msg_qnum,
		   ds.msg_lspid, ds.msg_lrpid, ds.msg_perm.uid,
		   ds.msg_perm.gid, ds.msg_perm.cuid, ds.msg_perm.cgid,
		   (u64)ds.msg_stime, (u64)ds.msg_rtime, (u64)ds.msg_ctime);
}

static void show_sem(struct seq_file *s, int idx)
{
	struct semid64_ds ds;
	long id = kipc_sem_stat(idx, SEM_STAT_ANY, &ds);

	if (id < 0)
		return;
	seq_printf(s, "%10d %10ld  %4o %10u %5u %5u %5u %5u %10llu %10llu\n",
		   ds.sem_perm.key, id, ds.sem_perm.mode,
		   (unsigned int)ds.sem_nsems, ds.sem_perm.uid,
		   ds.sem_perm.gid, ds.sem_perm.cuid, ds.sem_perm.cgid,
		   (u64)ds.sem_otime, (u64)ds.sem_ctime);
}

static int proc_show(struct seq_file *s, void *it)
{
	const struct kipc_proc_iter *iter = s->private;
	int idx = (int)((unsigned long)it - 2);

	if (it == SEQ_START_TOKEN) {
		seq_puts(s, iter->iface->header);
		return 0;
	}
	switch (proc_type(s)) {
	case KIPC_SHM:
		show_shm(s, idx);
		break;
	case KIPC_MSG:
		show_msg(s, idx);
		break;
	default:
		show_sem(s, idx);
		break;
	}
	return 0;
}

const struct seq_operations kipc_proc_seqops = {
	.start = proc_start,
	.next = proc_next,
	.stop = proc_stop,
	.show = proc_show,
};
