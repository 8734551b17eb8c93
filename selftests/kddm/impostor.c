// SPDX-License-Identifier: GPL-2.0
/*
 * A local user cannot speak for a node. On node 2, kddm_impostor (uid
 * 65534) binds kDDM's TIPC service as node 2 and as a node 9 that does not
 * exist, sends a HELLO it cannot sign and forged coherence messages to
 * node 1, and counts what reaches it while node 2 reads and writes
 * objects homed on node 1. It must receive nothing, change nothing, be
 * taken for no node, and its leaving must not take node 2 down anywhere.
 * Driven from the host; every node runs kddm.ko and kddm_test.ko, joined
 * with the cluster key.
 */
#include "kselftest_harness.h"
#include "cluster.h"

#define OUTF	"/tmp/impostor.out"

static const char start_fmt[] = "rm -f /tmp/impostor.out; KDDM_NODE=2 /selftests/kddm/kddm_impostor 10 /tmp/impostor.out %s >/dev/null 2>&1 &";
static const char writes_fmt[] = "for i in $(seq 2 21); do kddm-test write %s $i v$i || exit 1; done";
static const char gets_fmt[] = "for i in $(seq 2 21); do kddm-test get %s $i || exit 1; done";

/* 0 when @node sees nodes 1..3 up (or self) and no other node. */
static int view_ok(int node, char *out)
{
	int n, st = node_run(node, out, "kddm nodes");

	if (st)
		return -1;
	if (strstr(out, "\n9 ") || strstr(out, "down"))
		return -1;
	for (n = 1; n <= 3; n++) {
		char want[16];

		snprintf(want, sizeof(want), "%d ", n);
		if (!strstr(out, want))
			return -1;
	}
	return 0;
}

TEST(local_user_cannot_speak_for_a_node)
{
	char set[64], out[OUT_MAX];
	long received = -1;
	int n, tries;

	ASSERT_EQ(0, node_run(1, set, "kddm-test create -s 64 -p fixed"))
		TH_LOG("create: %s", set);
	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 1 secret", set));
	ASSERT_EQ(0, node_run(2, out, start_fmt, set)) TH_LOG("%s", out);
	for (tries = 0; tries < 100; tries++) {
		node_run(2, out, "cat " OUTF " 2>/dev/null");
		if (strstr(out, "ready"))
			break;
		usleep(100000);
	}
	ASSERT_NE(NULL, strstr(out, "ready")) TH_LOG("impostor: %s", out);

	/* node 2 gets data from node 1, and node 3 from node 2 */
	ASSERT_EQ(0, node_run(2, out, writes_fmt, set))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, gets_fmt, set))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "v21")) TH_LOG("%s", out);
	/* all of that while the impostor listened (its 10 s) */
	node_run(2, out, "cat " OUTF);
	ASSERT_EQ(NULL, strstr(out, "received")) TH_LOG("impostor ended first");

	/* the forged messages changed nothing */
	for (n = 1; n <= 3; n++) {
		ASSERT_EQ(0, node_run(n, out, "kddm-test get %s 1", set));
		EXPECT_STREQ("secret", out) TH_LOG("node %d", n);
	}
	/* nobody takes the impostor for node 2 or for a node 9 */
	for (n = 1; n <= 3; n++)
		EXPECT_EQ(0, view_ok(n, out)) TH_LOG("node %d: %s", n, out);
	ASSERT_EQ(0, node_run(1, out, "kddm stats --json"));
	EXPECT_EQ(NULL, strstr(out, "\"bad_hellos\":0,")) TH_LOG("%s", out);

	/* it ends, and closes its sockets */
	for (tries = 0; tries < 300; tries++) {
		node_run(2, out, "cat " OUTF);
		if (strstr(out, "hellos ") &&
		    sscanf(strstr(out, "received "), "received %ld",
			   &received) == 1)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, received) TH_LOG("impostor: %s",
				      strstr(out, "\n") ?: out);

	/* node 2 is still up everywhere and still works */
	for (n = 1; n <= 3; n++)
		EXPECT_EQ(0, view_ok(n, out)) TH_LOG("node %d: %s", n, out);
	ASSERT_EQ(0, node_run(2, out, "kddm-test write %s 1 after", set));
	ASSERT_EQ(0, node_run(3, out, "kddm-test get %s 1", set));
	EXPECT_STREQ("after", out);
	EXPECT_EQ(0, node_run(1, out, "dmesg | grep -c 'node 2 left'"))
		TH_LOG("node 1 saw node 2 leave: %s", out);
	EXPECT_EQ(0, node_run(1, out, "kddm-test destroy %s", set));
}

TEST_HARNESS_MAIN
