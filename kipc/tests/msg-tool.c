// SPDX-License-Identifier: GPL-2.0
/*
 * msg-tool: an ordinary System V message queue program (no kDDM in it)
 * for tests: run on several nodes, it shows whether they share queues.
 *
 *   msg-tool [-u UID] get KEY [FLAGS]     prints the id; FLAGS: c
 *                                         (IPC_CREAT) x (IPC_EXCL), octal
 *                                         mode after a comma: cx,600
 *   msg-tool [-u UID] snd ID TYPE TEXT [nowait]
 *   msg-tool [-u UID] rcv ID TYPE [OPTS [SIZE]]
 *                                         prints "TYPE TEXT"; OPTS: comma
 *                                         list of nowait, except, noerror,
 *                                         copy ("-": none); SIZE: buffer
 *   msg-tool [-u UID] stat ID             "qnum N cbytes N qbytes N
 *                                          mode O lspid N lrpid N"
 *   msg-tool [-u UID] set ID QBYTES [MODE [OWNER]]
 *                                         IPC_SET; OWNER: uid and gid
 *   msg-tool [-u UID] rm ID
 *   msg-tool info                         "queues N msgs N bytes N
 *                                          maxidx N msgmax N msgmnb N"
 *   msg-tool fill ID COUNT SIZE           sends COUNT messages of SIZE
 *                                         bytes, types 1..COUNT, each
 *                                         text drawn from its type
 *   msg-tool drain ID COUNT SIZE          receives them, in order, checks
 *                                         every byte, prints "ok COUNT"
 * Errors print "msg-tool: OP: ERRNAME" and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#define TOOL "msg-tool"
#include "ipc-common.h"

#ifndef MSG_COPY
#define MSG_COPY	040000
#endif

static int rcv_flags(const char *s)
{
	int f = 0;

	if (strstr(s, "nowait"))
		f |= IPC_NOWAIT;
	if (strstr(s, "except"))
		f |= MSG_EXCEPT;
	if (strstr(s, "noerror"))
		f |= MSG_NOERROR;
	if (strstr(s, "copy"))
		f |= MSG_COPY;
	return f;
}

struct buf {
	long mtype;
	char mtext[65536];
};

static int cmd_snd(int argc, char **argv)
{
	static struct buf m;
	size_t len;

	m.mtype = num(argv[2]);
	len = strlen(argv[3]);
	if (len > sizeof(m.mtext))
		return 2;
	memcpy(m.mtext, argv[3], len);
	if (msgsnd((int)num(argv[1]), &m, len,
		   argc > 4 && !strcmp(argv[4], "nowait") ? IPC_NOWAIT : 0))
		return fail();
	return 0;
}

static int cmd_rcv(int argc, char **argv)
{
	static struct buf m;
	size_t size = argc > 4 ? (size_t)num(argv[4]) : sizeof(m.mtext) - 1;
	ssize_t n;

	if (size > sizeof(m.mtext) - 1)
		return 2;
	n = msgrcv((int)num(argv[1]), &m, size, num(argv[2]),
		   argc > 3 ? rcv_flags(argv[3]) : 0);
	if (n < 0)
		return fail();
	m.mtext[n] = '\0';
	printf("%ld %s\n", m.mtype, m.mtext);
	return 0;
}

static int cmd_stat(char **argv)
{
	struct msqid_ds ds;

	if (msgctl((int)num(argv[1]), IPC_STAT, &ds))
		return fail();
	printf("qnum %lu cbytes %lu qbytes %lu mode %o lspid %d lrpid %d\n",
	       (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
	       (unsigned long)ds.msg_qbytes, ds.msg_perm.mode,
	       ds.msg_lspid, ds.msg_lrpid);
	return 0;
}

static int cmd_set(int argc, char **argv)
{
	int id = (int)num(argv[1]);
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds))
		return fail();
	ds.msg_qbytes = num(argv[2]);
	if (argc > 3)
		ds.msg_perm.mode = strtol(argv[3], NULL, 8);
	if (argc > 4) {
		ds.msg_perm.uid = (uid_t)num(argv[4]);
		ds.msg_perm.gid = (gid_t)num(argv[4]);
	}
	return msgctl(id, IPC_SET, &ds) ? fail() : 0;
}

static int cmd_info(void)
{
	struct msginfo info, lim;
	int max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);

	if (max < 0 || msgctl(0, IPC_INFO, (struct msqid_ds *)&lim) < 0)
		return fail();
	printf("queues %d msgs %d bytes %d maxidx %d msgmax %d msgmnb %d\n",
	       info.msgpool, info.msgmap, info.msgtql, max, lim.msgmax,
	       lim.msgmnb);
	return 0;
}

static void pattern(char *p, size_t len, long type)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (char)(type * 31 + i * 7);
}

/* fill or drain: @count messages of @size bytes. */
static int cmd_stream(bool fill, char **argv)
{
	static struct buf m;
	static char want[sizeof(m.mtext)];
	int id = (int)num(argv[1]);
	long i, count = num(argv[2]);
	size_t size = num(argv[3]);
	ssize_t n;

	if (size > sizeof(m.mtext))
		return 2;
	for (i = 1; i <= count; i++) {
		if (fill) {
			m.mtype = i;
			pattern(m.mtext, size, i);
			if (msgsnd(id, &m, size, 0))
				return fail();
			continue;
		}
		n = msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
		if (n < 0)
			return fail();
		pattern(want, size, i);
		if (m.mtype != i || (size_t)n != size ||
		    memcmp(m.mtext, want, size)) {
			fprintf(stderr, "msg-tool: drain: message %ld differs\n",
				i);
			return 1;
		}
	}
	if (!fill)
		printf("ok %ld\n", count);
	return 0;
}

static int run(int argc, char **argv)
{
	int id;

	if (!strcmp(op, "get") && argc >= 2) {
		id = msgget((key_t)num(argv[1]),
			    argc > 2 ? ipc_flags(argv[2]) : 0);
		if (id < 0)
			return fail();
		printf("%d\n", id);
		return 0;
	}
	if (!strcmp(op, "snd") && argc >= 4)
		return cmd_snd(argc, argv);
	if (!strcmp(op, "rcv") && argc >= 3)
		return cmd_rcv(argc, argv);
	if (!strcmp(op, "stat") && argc >= 2)
		return cmd_stat(argv);
	if (!strcmp(op, "set") && argc >= 3)
		return cmd_set(argc, argv);
	if (!strcmp(op, "rm") && argc >= 2)
		return msgctl((int)num(argv[1]), IPC_RMID, NULL) ? fail() : 0;
	if (!strcmp(op, "info"))
		return cmd_info();
	if ((!strcmp(op, "fill") || !strcmp(op, "drain")) && argc >= 4)
		return cmd_stream(op[0] == 'f', argv);
	fprintf(stderr, "msg-tool: bad command %s\n", op);
	return 2;
}

int main(int argc, char **argv)
{
	int i = tool_args(argc, argv);

	if (i < 0)
		return 2;
	return run(argc - i, argv + i);
}
