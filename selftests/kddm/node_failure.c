// SPDX-License-Identifier: GPL-2.0
/*
 * A node dies in the middle of things (its qemu is killed): a waiter on an
 * object homed there fails in bounded time, the holder of a frozen copy can
 * still put it, and the survivors go on with objects homed elsewhere.
 * Needs 3 nodes; kills node 3 (selftests/cluster.list says so).
 */
#include "kselftest_harness.h"
#include "cluster.h"

#define VM cluster_vm()

static FILE *bg(const char *mode, int node, const char *cmd)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s exec %d -t 300 -- sh -c '%s' 2>&1",
		 VM, node, cmd);
	return popen(line, mode);
}

/* Polls (bounded) until @file on @node says @what. */
static int wait_for(int node, const char *file, const char *what)
{
	char out[OUT_MAX];
	double end = now_s() + 60;

	while (now_s() < end) {
		if (!node_run(node, out, "cat %s 2>/dev/null", file) &&
		    strstr(out, what))
			return 0;
		node_run(node, NULL, "sleep 0.2");
	}
	return -1;
}

/* Polls (bounded) until @cmd succeeds on @node. */
static int node_until(int node, const char *cmd)
{
	double end = now_s() + 30;

	while (now_s() < end) {
		if (!node_run(node, NULL, "%s", cmd))
			return 0;
		node_run(node, NULL, "sleep 0.2");
	}
	return -1;
}

TEST(home_node_killed)
{
	char dead[64], live[64], qid[64], out[OUT_MAX], cmd[256];
	FILE *holder, *waiter, *qwaiter;
	double t0, waited;
	int st;

	ASSERT_EQ(3, nodes());
	ASSERT_EQ(0, node_run(1, dead, "kddm-test create -p fixed -n 3"));
	ASSERT_EQ(0, node_run(1, live, "kddm-test create -p fixed -n 1"));
	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 1 before", dead));
	ASSERT_EQ(0, node_run(2, out, "kddm-test get %s 1", dead));
	ASSERT_STREQ("before", out);
	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 1 alive", live));

	/* node 1 freezes object 2 (home: node 3) for write and holds it */
	snprintf(cmd, sizeof(cmd), "kddm-test hold-grab %s 2 >/tmp/held", dead);
	holder = bg("w", 1, cmd);
	ASSERT_NE(NULL, holder);
	ASSERT_EQ(0, wait_for(1, "/tmp/held", "held"));
	/* node 2 wants to read it: it waits for node 1's put */
	snprintf(cmd, sizeof(cmd), "kddm-test get %s 2", dead);
	waiter = bg("r", 2, cmd);
	ASSERT_NE(NULL, waiter);
	/* and, with kipc, waits on a message queue that lives on node 3 */
	ASSERT_EQ(0, cluster_load_kipc(out)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, qid, "msg-tool get 0x6b6b c,666"));
	snprintf(cmd, sizeof(cmd), "msg-tool rcv %s 0", qid);
	qwaiter = bg("r", 1, cmd);
	ASSERT_NE(NULL, qwaiter);
	ASSERT_EQ(0, node_run(2, out, "msg-tool stat %s", qid));

	ASSERT_EQ(0, system("${KDDM_VM:-userspace/kddm-vm} kill 3 >/dev/null"));
	t0 = now_s();
	out[0] = '\0';
	while (fgets(out + strlen(out), OUT_MAX - strlen(out), waiter))
		;
	st = pclose(waiter);
	waited = now_s() - t0;
	EXPECT_EQ(1, WEXITSTATUS(st)) TH_LOG("waiter said: %s", out);
	EXPECT_NE(NULL, strstr(out, "EHOSTDOWN")) TH_LOG("waiter said: %s", out);
	EXPECT_LT(waited, 30.0) TH_LOG("the waiter took %.1f s", waited);

	out[0] = '\0';
	while (fgets(out + strlen(out), OUT_MAX - strlen(out), qwaiter))
		;
	st = pclose(qwaiter);
	EXPECT_EQ(1, WEXITSTATUS(st)) TH_LOG("msgrcv said: %s", out);
	EXPECT_NE(NULL, strstr(out, "EIDRM")) TH_LOG("msgrcv said: %s", out);
	EXPECT_LT(now_s() - t0, 30.0);

	/* the holder can still put its frozen copy */
	EXPECT_EQ(0, WEXITSTATUS(pclose(holder)));

	/* every survivor learns that node 3 left (TIPC link timeout) */
	EXPECT_EQ(0, node_until(1, "kddm nodes | grep -q \"^3 *down\""));
	EXPECT_EQ(0, node_until(2, "kddm nodes | grep -q \"^3 *down\""));

	/* objects homed on the dead node fail, without waiting */
	EXPECT_EQ(1, node_run(1, out, "kddm-test get %s 1", dead));
	EXPECT_NE(NULL, strstr(out, "EHOSTDOWN")) TH_LOG("%s", out);

	/* the survivors go on */
	ASSERT_EQ(0, node_run(2, out, "kddm-test get %s 1", live));
	EXPECT_STREQ("alive", out);
	ASSERT_EQ(0, node_run(2, out, "kddm-test write %s 1 after", live));
	ASSERT_EQ(0, node_run(1, out, "kddm-test get %s 1", live));
	EXPECT_STREQ("after", out);
	ASSERT_EQ(0, node_run(2, live, "kddm-test create -p fixed"));
	ASSERT_EQ(0, node_run(1, out, "kddm-test incr %s 0 10", live));
	ASSERT_EQ(0, node_run(2, out, "kddm-test incr %s 0 10", live));
	EXPECT_STREQ("20", out);
}

TEST_HARNESS_MAIN
