// SPDX-License-Identifier: GPL-2.0
/*
 * Membership. A message lost while both nodes stay up (debugfs lose_next:
 * the next message to a node is dropped as if TIPC had lost it) is a
 * broken link:
 * its sender declares the peer down, the higher id of the two resets and
 * rejoins as a new incarnation, the lower one goes on. Nothing hangs, and
 * every node then reads the last value written. Driven from the host;
 * every node runs kddm.ko and kddm_test.ko.
 */
#include "kselftest_harness.h"
#include "cluster.h"

static const char lose_fmt[] = "echo %d > /sys/kernel/debug/kddm/lose_next";

/* Polls (bounded) until @cmd succeeds on @node. */
static int until(int node, const char *cmd)
{
	double end = now_s() + 60;

	while (now_s() < end) {
		if (!node_run(node, NULL, "%s", cmd))
			return 0;
		usleep(200000);
	}
	return -1;
}

/* @node is a member, and every other node sees it up. */
static int back(int node)
{
	char cmd[64];
	int n;

	if (until(node, "kddm status | grep -q \"^member: yes\""))
		return -1;
	snprintf(cmd, sizeof(cmd), "kddm nodes | grep -q \"^%d *up\"", node);
	for (n = 1; n <= nodes(); n++)
		if (n != node && until(n, cmd))
			return -1;
	return 0;
}

static void read_all(struct __test_metadata *_metadata, const char *set,
		     const char *want)
{
	char out[OUT_MAX];
	int n;

	for (n = 1; n <= nodes(); n++) {
		EXPECT_EQ(0, node_run(n, out, "kddm-test get %s 1", set))
			TH_LOG("node %d: %s", n, out);
		EXPECT_STREQ(want, out) TH_LOG("node %d", n);
	}
}

/* A set homed on node 1 whose object 1 every node reads as "one". */
static void new_set(struct __test_metadata *_metadata, char *set)
{
	char out[OUT_MAX];

	ASSERT_EQ(3, nodes());
	ASSERT_EQ(0, node_run(1, set, "kddm-test create -s 64 -p fixed"))
		TH_LOG("%s", set);
	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 1 one", set));
	read_all(_metadata, set, "one");
}

FIXTURE(link) {
	int unused;
};

FIXTURE_SETUP(link)
{
}

FIXTURE_TEARDOWN(link)
{
}

TEST_F_TIMEOUT(link, lost_message_breaks_it, 240)
{
	char set[64], out[OUT_MAX];
	int f[4], n;
	double t0;

	new_set(_metadata, set);
	/* counts so far (earlier tests on this cluster may have fenced) */
	for (n = 1; n <= 3; n++) {
		f[n] = fence_count(n);
		ASSERT_LE(0, f[n]);
	}

	/* node 2's request to node 1 is lost: node 2 (higher) resets */
	ASSERT_EQ(0, node_run(2, out, lose_fmt, 1));
	t0 = now_s();
	node_run(2, out, "kddm-test write %s 1 lost", set);
	EXPECT_LT(now_s() - t0, 30.0) TH_LOG("the write took %.1f s",
					      now_s() - t0);
	ASSERT_EQ(0, back(2));
	EXPECT_EQ(f[2] + 1, fence_count(2));
	EXPECT_EQ(f[1], fence_count(1));
	ASSERT_EQ(0, node_run(2, out, "kddm-test write %s 1 two", set))
		TH_LOG("%s", out);
	read_all(_metadata, set, "two");

	/* node 1's invalidation to node 3 is lost: node 3 (higher) resets */
	ASSERT_EQ(0, node_run(1, out, lose_fmt, 3));
	t0 = now_s();
	EXPECT_EQ(0, node_run(1, out, "kddm-test write %s 1 three", set))
		TH_LOG("%s", out);
	EXPECT_LT(now_s() - t0, 30.0);
	ASSERT_EQ(0, back(3));
	EXPECT_EQ(f[3] + 1, fence_count(3));
	EXPECT_EQ(f[1], fence_count(1));
	read_all(_metadata, set, "three");
	EXPECT_EQ(0, node_run(1, out, "kddm-test destroy %s", set));
}

/*
 * The BYE that tells node 3 it was declared down is lost too: node 3 goes
 * on as a member; its next message to node 1 comes from an incarnation
 * node 1 declared down, which node 1 answers with a BYE again. Node 3's
 * call ends (no wait for an answer that never comes), it resets and is
 * back.
 */
TEST_F_TIMEOUT(link, lost_bye_is_said_again, 240)
{
	char set[64], out[OUT_MAX];
	int f3;
	double t0;

	new_set(_metadata, set);
	f3 = fence_count(3);
	ASSERT_LE(0, f3);
	ASSERT_EQ(0, node_run(1, out, "echo 1 > /sys/kernel/debug/kddm/lose_bye"));
	ASSERT_EQ(0, node_run(1, out, lose_fmt, 3));
	EXPECT_EQ(0, node_run(1, out, "kddm-test write %s 1 two", set))
		TH_LOG("%s", out);
	/* node 3 did not hear it: still a member, in its own view */
	ASSERT_EQ(0, node_run(3, out, "kddm status"));
	EXPECT_NE(NULL, strstr(out, "member: yes")) TH_LOG("%s", out);
	EXPECT_EQ(f3, fence_count(3));
	t0 = now_s();
	node_run(3, out, "kddm-test grab %s 1", set);
	EXPECT_LT(now_s() - t0, 30.0) TH_LOG("node 3's grab took %.1f s: %s",
					      now_s() - t0, out);
	ASSERT_EQ(0, back(3));
	EXPECT_EQ(f3 + 1, fence_count(3));
	read_all(_metadata, set, "two");
	EXPECT_EQ(0, node_run(1, out, "kddm-test destroy %s", set));
}

/*
 * expect_nodes: a node that counts on 7 nodes sees 3 and is no member of
 * the majority (its objects fail with ENOLINK); loaded as usual (the test
 * cluster's size, 3) it is one again.
 */
TEST_F_TIMEOUT(link, expected_cluster_size, 120)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(3, out, "kddm-load -u && insmod /lib/modules/kddm/kddm.ko node_id=3 expect_nodes=7 && kddm join --key-file /etc/kddm/key && insmod /lib/modules/kddm/kddm_test.ko"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, until(3, "kddm nodes | grep -q \"^1 *up\" && kddm nodes | grep -q \"^2 *up\""));
	ASSERT_EQ(0, node_run(3, out, "kddm status"));
	EXPECT_NE(NULL, strstr(out, "member: no")) TH_LOG("%s", out);
	EXPECT_NE(0, node_run(3, out, "S=$(kddm-test create -s 64 -p fixed) && kddm-test write $S 1 x"));
	EXPECT_NE(NULL, strstr(out, "ENOLINK")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "kddm-load -u && kddm-load")) TH_LOG("%s", out);
	ASSERT_EQ(0, until(3, "kddm status | grep -q \"^member: yes\""));
	ASSERT_EQ(0, back(3));
}

TEST_HARNESS_MAIN
