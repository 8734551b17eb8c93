// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile member: node 2, a true member speaking from its authenticated
 * port, sends node 1 BUNDLE datagrams that lie (kddm_bundles, through
 * kddm's debugfs send_raw). Node 1 must drop each of them, exactly once,
 * handle the good messages that come before a lie and every message of
 * a good bundle, and go on serving objects to every node. Driven from the
 * host; any kernel warning on a console fails the run.
 */
#include <stdlib.h>
#include "kselftest_harness.h"
#include "cluster.h"

static const char dropped_cmd[] =
	"kddm stats | sed -n \"s/^ *msgs dropped *//p\"";

static long dropped(int node)
{
	char out[OUT_MAX];

	if (node_run(node, out, dropped_cmd))
		return -1;
	return strtol(out, NULL, 10);
}

TEST(lying_bundles_are_dropped)
{
	char set[64], out[OUT_MAX];
	long d1, d2, want1 = -1, want2 = -1;
	int n;

	ASSERT_EQ(0, node_run(1, set, "kddm-test create -s 64 -p fixed"))
		TH_LOG("create: %s", set);
	ASSERT_EQ(0, node_run(3, out, "kddm-test write %s 1 before", set));
	d1 = dropped(1);
	d2 = dropped(2);
	ASSERT_LE(0, d1);
	ASSERT_LE(0, d2);

	ASSERT_EQ(0, node_run(2, out, "/selftests/kddm/kddm_bundles 1"))
		TH_LOG("%s", out);
	n = sscanf(out, "bad %ld good-pings %ld", &want1, &want2);
	ASSERT_EQ(2, n) TH_LOG("%s", out);

	/* the PINGs answered: their replies (no rpc id) dropped on node 2 */
	for (n = 0; n < 100 && dropped(2) < d2 + want2; n++)
		usleep(100000);
	EXPECT_EQ(d2 + want2, dropped(2));
	/* every lying bundle dropped once, nothing else */
	EXPECT_EQ(d1 + want1, dropped(1));

	/* node 1 still serves its objects, to node 2 and to node 3 */
	ASSERT_EQ(0, node_run(2, out, "kddm-test get %s 1", set));
	EXPECT_STREQ("before", out);
	ASSERT_EQ(0, node_run(2, out, "kddm-test write %s 1 after", set));
	ASSERT_EQ(0, node_run(3, out, "kddm-test get %s 1", set));
	EXPECT_STREQ("after", out);
	EXPECT_EQ(0, node_run(1, out, "kddm-test destroy %s", set));
}

TEST_HARNESS_MAIN
