// SPDX-License-Identifier: GPL-2.0
/*
 * System V message queues across the nodes of the test cluster, used by
 * an ordinary SysV program (msg-tool): one key, one id everywhere, a
 * message sent on one node is received on another (types, MSG_EXCEPT,
 * negative types, MSG_NOERROR, MSG_COPY), blocking receivers and senders
 * woken from other nodes, EIDRM, sleepers looking again after IPC_SET,
 * permissions, counts seen everywhere.
 * Drives the nodes from the host (kddm-vm exec); loads kipc.ko on them.
 */
#include <unistd.h>

#include "kselftest_harness.h"
#include "cluster.h"

#define new_key() cluster_key(0x4d000000)

/*
 * Starts "msg-tool ARGS" on @node in the background; its output and exit
 * status go to /tmp/@tag on the node, "rc N" last, its pid to
 * /tmp/@tag.pid.
 */
static FILE *node_bg(int node, const char *tag, const char *args)
{
	char cmd[512];

	node_run(node, NULL, "rm -f /tmp/%s /tmp/%s.pid", tag, tag);
	snprintf(cmd, sizeof(cmd),
		 "%s exec %d -t 120 -- sh -c 'msg-tool %s >/tmp/%s 2>&1 & echo $! >/tmp/%s.pid; wait $!; echo rc $? >>/tmp/%s'",
		 cluster_vm(), node, args, tag, tag, tag);
	return popen(cmd, "w");
}

/*
 * Waits up to @secs for the background command @tag to sleep in kipc,
 * waiting for its queue to change; 0 if it does.
 */
static int bg_asleep(int node, const char *tag, double secs)
{
	double end = now_s() + secs;
	char out[OUT_MAX];

	do {
		if (!node_run(node, out, "cat /proc/$(cat /tmp/%s.pid)/wchan",
			      tag) && !strcmp(out, "kipc_watch_wait"))
			return 0;
		usleep(100000);
	} while (now_s() < end);
	return -1;
}

/* Waits up to @secs for the background command @tag; 0 if it ended. */
static int bg_wait(int node, const char *tag, double secs, char *out)
{
	double end = now_s() + secs;

	do {
		if (!node_run(node, out, "cat /tmp/%s 2>/dev/null", tag) &&
		    strstr(out, "rc "))
			return 0;
		usleep(100000);
	} while (now_s() < end);
	return -1;
}

FIXTURE(msg) {
	int key;
	char id[32];
};

FIXTURE_SETUP(msg)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, cluster_load_kipc(out)) TH_LOG("%s", out);
	self->key = new_key();
	ASSERT_EQ(0, node_run(1, self->id, "msg-tool get %d c,666",
			      self->key)) TH_LOG("%s", self->id);
}

FIXTURE_TEARDOWN(msg)
{
	node_run(1, NULL, "msg-tool rm %s", self->id);
}

TEST_F(msg, one_key_one_id)
{
	char out[OUT_MAX];
	int n;

	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "msg-tool get %d", self->key))
			TH_LOG("node %d: %s", n, out);
		EXPECT_STREQ(self->id, out) TH_LOG("node %d", n);
	}
	EXPECT_EQ(1, node_run(2, out, "msg-tool get %d cx", self->key));
	EXPECT_NE(NULL, strstr(out, "EEXIST")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "msg-tool get %d", self->key + 1000));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "msg-tool snd 123 1 x"));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
}

/*
 * A queue whose msg_qbytes was raised far above msgmnb (as root may):
 * 240000 bytes of messages queued on one node, counted on another and
 * received whole, in order, on a third; beyond 1 MiB IPC_SET refuses.
 */
TEST_F(msg, large_queue)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(2, out, "msg-tool set %s 300000", self->id))
		TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(2, out, "msg-tool set %s 2000000", self->id));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "msg-tool fill %s 30 8000", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "msg-tool stat %s", self->id));
	EXPECT_EQ(0, strncmp(out, "qnum 30 cbytes 240000 qbytes 300000 ", 36))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "msg-tool drain %s 30 8000", self->id))
		TH_LOG("%s", out);
	EXPECT_STREQ("ok 30", out);
	ASSERT_EQ(0, node_run(1, out, "msg-tool stat %s", self->id));
	EXPECT_EQ(0, strncmp(out, "qnum 0 cbytes 0 ", 16)) TH_LOG("%s", out);
}

TEST_F(msg, sent_on_one_received_on_another)
{
	char out[OUT_MAX];
	const char *id = self->id;
	int last = nodes();

	ASSERT_EQ(0, node_run(1, out, "msg-tool snd %s 5 five", id));
	ASSERT_EQ(0, node_run(1, out, "msg-tool snd %s 2 two", id));
	ASSERT_EQ(0, node_run(1, out, "msg-tool snd %s 7 seven", id));
	ASSERT_EQ(0, node_run(1, out, "msg-tool snd %s 3 three", id));
	/* MSG_COPY: by index, nothing removed */
	ASSERT_EQ(0, node_run(last, out, "msg-tool rcv %s 2 copy,nowait", id))
		TH_LOG("%s", out);
	EXPECT_STREQ("7 seven", out);
	EXPECT_EQ(1, node_run(last, out, "msg-tool rcv %s 4 copy,nowait", id));
	EXPECT_NE(NULL, strstr(out, "ENOMSG")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(last, out, "msg-tool rcv %s 0 copy", id));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
	/* lowest type <= 4 */
	ASSERT_EQ(0, node_run(last, out, "msg-tool rcv %s -4 nowait", id));
	EXPECT_STREQ("2 two", out);
	/* first not of type 5 */
	ASSERT_EQ(0, node_run(2, out, "msg-tool rcv %s 5 except,nowait", id));
	EXPECT_STREQ("7 seven", out);
	/* too long: E2BIG leaves it, MSG_NOERROR truncates */
	EXPECT_EQ(1, node_run(last, out, "msg-tool rcv %s 5 nowait 2", id));
	EXPECT_NE(NULL, strstr(out, "E2BIG")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(last, out, "msg-tool rcv %s 5 nowait,noerror 2",
			      id));
	EXPECT_STREQ("5 fi", out);
	EXPECT_EQ(1, node_run(2, out, "msg-tool rcv %s 5 nowait", id));
	EXPECT_NE(NULL, strstr(out, "ENOMSG")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "msg-tool rcv %s 0 nowait", id));
	EXPECT_STREQ("3 three", out);
	EXPECT_EQ(1, node_run(1, out, "msg-tool rcv %s 0 nowait", id));
	EXPECT_NE(NULL, strstr(out, "ENOMSG")) TH_LOG("%s", out);
	/* type < 1 */
	EXPECT_EQ(1, node_run(2, out, "msg-tool snd %s 0 x", id));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
}

TEST_F(msg, counts_agree_everywhere)
{
	char out[OUT_MAX];
	int n;

	ASSERT_EQ(0, node_run(2, out, "msg-tool snd %s 1 abc", self->id));
	ASSERT_EQ(0, node_run(3, out, "msg-tool snd %s 1 defgh", self->id));
	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "msg-tool stat %s", self->id))
			TH_LOG("node %d: %s", n, out);
		EXPECT_NE(NULL, strstr(out, "qnum 2 cbytes 8 qbytes 16384 mode 666"))
			TH_LOG("node %d: %s", n, out);
	}
	ASSERT_EQ(0, node_run(1, out, "msg-tool info"));
	EXPECT_NE(NULL, strstr(out, "msgs 2 bytes 8")) TH_LOG("%s", out);
}

TEST_F(msg, blocked_receiver_woken_from_another_node)
{
	char out[OUT_MAX];
	double t0;
	FILE *rcv;

	snprintf(out, sizeof(out), "rcv %s 7", self->id);
	rcv = node_bg(2, "msgrcv", out);
	ASSERT_NE(NULL, rcv);
	ASSERT_EQ(0, bg_asleep(2, "msgrcv", 30)) TH_LOG("msgrcv not asleep");
	/* another type does not satisfy it */
	ASSERT_EQ(0, node_run(3, out, "msg-tool snd %s 3 other", self->id));
	EXPECT_NE(0, bg_wait(2, "msgrcv", 1, out)) TH_LOG("%s", out);
	t0 = now_s();
	ASSERT_EQ(0, node_run(3, out, "msg-tool snd %s 7 wake", self->id));
	ASSERT_EQ(0, bg_wait(2, "msgrcv", 10, out)) TH_LOG("receiver stuck");
	TH_LOG("woken in %.2f s", now_s() - t0);
	EXPECT_STREQ("7 wake\nrc 0", out);
	pclose(rcv);
	ASSERT_EQ(0, node_run(1, out, "msg-tool stat %s", self->id));
	EXPECT_NE(NULL, strstr(out, "qnum 1 cbytes 5 ")) TH_LOG("%s", out);
}

/* A change on the waiter's own node invalidates no copy there. */
TEST_F(msg, blocked_receiver_woken_on_same_node)
{
	char out[OUT_MAX];
	FILE *rcv;

	snprintf(out, sizeof(out), "rcv %s -4", self->id);
	rcv = node_bg(2, "msglocal", out);
	ASSERT_NE(NULL, rcv);
	ASSERT_EQ(0, bg_asleep(2, "msglocal", 30)) TH_LOG("msglocal not asleep");
	ASSERT_EQ(0, node_run(2, out, "msg-tool snd %s 4 local", self->id));
	ASSERT_EQ(0, bg_wait(2, "msglocal", 10, out)) TH_LOG("receiver stuck");
	EXPECT_STREQ("4 local\nrc 0", out);
	pclose(rcv);
}

TEST_F(msg, eidrm_to_blocked_receiver)
{
	char out[OUT_MAX];
	FILE *rcv;

	snprintf(out, sizeof(out), "rcv %s 0", self->id);
	rcv = node_bg(2, "msgidrm", out);
	ASSERT_NE(NULL, rcv);
	ASSERT_EQ(0, bg_asleep(2, "msgidrm", 30)) TH_LOG("msgidrm not asleep");
	EXPECT_NE(0, bg_wait(2, "msgidrm", 0.5, out)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "msg-tool rm %s", self->id));
	ASSERT_EQ(0, bg_wait(2, "msgidrm", 10, out)) TH_LOG("receiver stuck");
	EXPECT_NE(NULL, strstr(out, "EIDRM")) TH_LOG("%s", out);
	pclose(rcv);
	EXPECT_EQ(1, node_run(1, out, "msg-tool get %d", self->key));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
}

TEST_F(msg, blocked_sender_woken_by_receive)
{
	char out[OUT_MAX];
	FILE *snd;

	ASSERT_EQ(0, node_run(1, out, "msg-tool set %s 10", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "msg-tool snd %s 1 12345678", self->id));
	EXPECT_EQ(1, node_run(3, out, "msg-tool snd %s 1 abc nowait",
			      self->id));
	EXPECT_NE(NULL, strstr(out, "EAGAIN")) TH_LOG("%s", out);
	snprintf(out, sizeof(out), "snd %s 2 abc", self->id);
	snd = node_bg(2, "msgsnd", out);
	ASSERT_NE(NULL, snd);
	ASSERT_EQ(0, bg_asleep(2, "msgsnd", 30)) TH_LOG("msgsnd not asleep");
	EXPECT_NE(0, bg_wait(2, "msgsnd", 0.5, out)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "msg-tool rcv %s 0", self->id));
	EXPECT_STREQ("1 12345678", out);
	ASSERT_EQ(0, bg_wait(2, "msgsnd", 10, out)) TH_LOG("sender stuck");
	EXPECT_STREQ("rc 0", out);
	pclose(snd);
	ASSERT_EQ(0, node_run(1, out, "msg-tool rcv %s 0 nowait", self->id));
	EXPECT_STREQ("2 abc", out);
}

/*
 * IPC_SET wakes the sleepers of the queue to look again, as the kernel's
 * expunge_all() and ss_wakeup() do: who lost the permission fails with
 * EACCES, a sender that fits in the larger queue sends, a receiver that
 * keeps its permission goes on waiting. The queue lives on node 1, the
 * sleepers on every node, IPC_SET comes from node 2.
 */
TEST_F(msg, ipc_set_makes_sleepers_look_again)
{
	static const struct {
		int node;
		const char *tag, *args;
	} bg[] = {
		{ 2, "setr2", "-u 1000 rcv %s 5" },	/* loses it */
		{ 1, "setr1", "-u 1000 rcv %s 6" },	/* loses it, home node */
		{ 3, "setr3", "-u 1001 rcv %s 7" },	/* the new owner */
		{ 2, "sets2", "-u 1000 snd %s 3 xyz" },	/* loses it */
		{ 3, "sets3", "-u 1001 snd %s 2 abcde" },	/* fits later */
	};
	char out[OUT_MAX], args[128];
	FILE *p[5];
	unsigned int i;

	ASSERT_EQ(0, node_run(1, out, "msg-tool set %s 10", self->id));
	ASSERT_EQ(0, node_run(1, out, "msg-tool snd %s 1 12345678", self->id));
	for (i = 0; i < 5; i++) {
		snprintf(args, sizeof(args), bg[i].args, self->id);
		p[i] = node_bg(bg[i].node, bg[i].tag, args);
		ASSERT_NE(NULL, p[i]);
	}
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, bg_asleep(bg[i].node, bg[i].tag, 30))
			TH_LOG("%s not asleep", bg[i].tag);
	/* owner and group 1001, mode 600, msg_qbytes 20 */
	ASSERT_EQ(0, node_run(2, out, "msg-tool set %s 20 600 1001", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, bg_wait(2, "setr2", 10, out)) TH_LOG("setr2 still asleep");
	EXPECT_STREQ("msg-tool: rcv: EACCES\nrc 1", out);
	ASSERT_EQ(0, bg_wait(1, "setr1", 10, out)) TH_LOG("setr1 still asleep");
	EXPECT_STREQ("msg-tool: rcv: EACCES\nrc 1", out);
	ASSERT_EQ(0, bg_wait(2, "sets2", 10, out)) TH_LOG("sets2 still asleep");
	EXPECT_STREQ("msg-tool: snd: EACCES\nrc 1", out);
	ASSERT_EQ(0, bg_wait(3, "sets3", 10, out)) TH_LOG("sets3 still asleep");
	EXPECT_STREQ("rc 0", out);
	ASSERT_EQ(0, node_run(1, out, "msg-tool stat %s", self->id));
	EXPECT_NE(NULL, strstr(out, "qnum 2 cbytes 13 qbytes 20 mode 600"))
		TH_LOG("%s", out);
	/* the receiver of type 7 still waits, and gets it */
	EXPECT_NE(0, bg_wait(3, "setr3", 0, out)) TH_LOG("%s", out);
	ASSERT_EQ(0, bg_asleep(3, "setr3", 30));
	ASSERT_EQ(0, node_run(1, out, "msg-tool snd %s 7 seven", self->id));
	ASSERT_EQ(0, bg_wait(3, "setr3", 10, out)) TH_LOG("setr3 stuck");
	EXPECT_STREQ("7 seven\nrc 0", out);
	for (i = 0; i < 5; i++)
		pclose(p[i]);
}

TEST_F(msg, permissions)
{
	char out[OUT_MAX], id[32];
	int key = new_key();

	ASSERT_EQ(0, node_run(1, id, "msg-tool get %d c,600", key));
	EXPECT_EQ(1, node_run(2, out, "msg-tool -u 1000 get %d ,400", key));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "msg-tool -u 1000 snd %s 1 x", id));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "msg-tool -u 1000 rcv %s 0 nowait", id));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "msg-tool -u 1000 stat %s", id));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "msg-tool -u 1000 rm %s", id));
	EXPECT_NE(NULL, strstr(out, "EPERM")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(2, out, "msg-tool rm %s", id));
	/* raising msg_qbytes needs CAP_SYS_RESOURCE; past the object: EINVAL */
	key = new_key();
	ASSERT_EQ(0, node_run(1, id, "msg-tool -u 1000 get %d c,644", key));
	EXPECT_EQ(1, node_run(3, out, "msg-tool -u 1000 set %s 20000", id));
	EXPECT_NE(NULL, strstr(out, "EPERM")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(3, out, "msg-tool -u 1000 set %s 100", id))
		TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(2, out, "msg-tool -u 1001 set %s 100", id));
	EXPECT_NE(NULL, strstr(out, "EPERM")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "msg-tool set %s 2000000", id));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "msg-tool stat %s", id));
	EXPECT_NE(NULL, strstr(out, "qbytes 100 ")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(2, out, "msg-tool -u 1000 rm %s", id));
}

TEST_HARNESS_MAIN
