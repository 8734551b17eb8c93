// SPDX-License-Identifier: GPL-2.0
/*
 * Load balancing by migration on 3 nodes, driven from the host:
 * kddm-balancer on every node (kddm-load balancer), a period of 500 ms.
 * Busy loops started with kddm run --migratable on node 1 are what the
 * balancers may move; a busy loop started by hand there is not. The last
 * test kills node 3 (kills=3).
 */
#include "kselftest_harness.h"
#include "cluster.h"

#define LOOP	"sh -c \"while :; do :; done\""
#define TESTS	"/selftests/balancer"

FIXTURE(bal) {
	char out[OUT_MAX];
};

FIXTURE_SETUP(bal)
{
	int n;

	for (n = 1; n <= 3; n++)
		ASSERT_EQ(0, node_run(n, self->out, "kddm-load"))
			TH_LOG("node %d: %s", n, self->out);
	for (n = 1; n <= 3; n++)
		ASSERT_EQ(0, node_run(n, self->out,
				      "kddm-load balancer --period 500"))
			TH_LOG("node %d: %s", n, self->out);
}

FIXTURE_TEARDOWN(bal)
{
}

/* Policy @p on every node; 0 or the node that refused. */
static int policy_all(const char *p, char *out)
{
	int n;

	for (n = 1; n <= 3; n++)
		if (node_run(n, out, "kddm balancer policy %s", p))
			return n;
	return 0;
}

/* The migratable jobs kddm ps shows on @node, -1 if it cannot tell. */
static int jobs_on(int node)
{
	char out[OUT_MAX];

	if (node_run(1, out,
		     "kddm --json ps | tr \"{\" \"\\n\" | grep \"\\\"balance\\\":true\" | grep -c \"\\\"node\\\":%d,\" || :",
		     node))
		return -1;
	return atoi(out);
}

/* Moves made, from every node's decisions. */
static int moves_made(void)
{
	char out[OUT_MAX];
	int n, sum = 0;

	for (n = 1; n <= 3; n++) {
		if (node_run(n, out, "grep -c \"\\\"result\\\":\\\"moved\" /var/log/kddm-balancer.decisions || :"))
			return -1;
		sum += atoi(out);
	}
	return sum;
}

/*
 * A policy that crashes, one that hangs, one that answers nonsense: each
 * is logged, the balancer goes on with "none".
 */
TEST_F_TIMEOUT(bal, bad_policies_fall_back_to_none, 120)
{
	static const char *const bad[][2] = {
		{ "crash", "died of signal 11" },
		{ "hang", "did not answer within 500 ms" },
		{ "nonsense", "answered nonsense (move 1 to node 4000)" },
	};
	unsigned int i;
	int k;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(0, node_run(2, self->out, "kddm balancer policy " TESTS "/%s.so",
				      bad[i][0])) TH_LOG("%s", self->out);
		for (k = 0; k < 50; k++) {
			node_run(2, self->out, "kddm --json balancer status");
			if (strstr(self->out, "\"policy\":\"none\""))
				break;
			usleep(200000);
		}
		ASSERT_GT(50, k) TH_LOG("%s: %s", bad[i][0], self->out);
		ASSERT_EQ(0, node_run(2, self->out,
				      "grep \"policy %s failed: .*%s\\|policy %s %s\" /var/log/kddm-balancer.log",
				      bad[i][0], bad[i][1], bad[i][0], bad[i][1]))
			TH_LOG("%s: no log line", bad[i][0]);
		TH_LOG("%s", self->out);
	}
	/* not a policy at all; unknown names; only root changes it */
	ASSERT_NE(0, node_run(2, self->out, "kddm balancer policy /etc/passwd"));
	ASSERT_NE(NULL, strstr(self->out, "kddm: balancer: policy /etc/passwd"))
		TH_LOG("%s", self->out);
	ASSERT_NE(0, node_run(2, self->out, "kddm balancer policy no-such"));
	ASSERT_NE(0, node_run(2, self->out, "mig-worker as 65534 kddm balancer pause"));
	ASSERT_NE(NULL, strstr(self->out, "only root")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(2, self->out, "kddm balancer status"));
	ASSERT_NE(NULL, strstr(self->out, "policy none")) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "running")) TH_LOG("%s", self->out);
}

/*
 * Three migratable busy loops and one that is not, all on node 1; one of
 * the three is excluded (kddm balancer exclude): the balancers spread the
 * other two, never touch the excluded one nor the fourth, and stop moving
 * once balanced (no ping-pong).
 */
TEST_F_TIMEOUT(bal, spreads_then_stops, 240)
{
	int pinned, excluded, i, before, after;

	ASSERT_EQ(0, node_run(1, self->out,
			      "setsid " LOOP " </dev/null >/dev/null 2>&1 & echo $!"));
	pinned = atoi(self->out);
	ASSERT_LT(0, pinned);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, node_run(1, self->out,
				      "setsid kddm run --node 1 --migratable -- " LOOP " </dev/null >/dev/null 2>&1 &"));
	for (i = 0; i < 100 && jobs_on(1) != 3; i++)
		usleep(100000);
	ASSERT_EQ(3, jobs_on(1));
	ASSERT_EQ(0, node_run(1, self->out,
			      "kddm --json ps | tr \"{\" \"\\n\" | grep \"\\\"node\\\":1,\" | head -1 | sed \"s/\\\"pid\\\":\\([0-9]*\\).*/\\1/\""));
	excluded = atoi(self->out);
	ASSERT_LT(0, excluded) TH_LOG("%s", self->out);
	/* only its owner (or root) says */
	ASSERT_NE(0, node_run(1, self->out, "mig-worker as 65534 kddm balancer exclude %d",
			      excluded));
	ASSERT_NE(NULL, strstr(self->out, "only its owner or root")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(1, self->out, "kddm balancer exclude %d", excluded))
		TH_LOG("%s", self->out);
	ASSERT_EQ(2, jobs_on(1));
	ASSERT_NE(0, node_run(1, self->out, "kddm balancer exclude %d", pinned));
	ASSERT_NE(NULL, strstr(self->out, "not a process kddm started")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, policy_all("least-loaded", self->out)) TH_LOG("%s", self->out);
	for (i = 0; i < 120; i++) {
		if (jobs_on(2) >= 1 && jobs_on(3) >= 1)
			break;
		usleep(500000);
	}
	ASSERT_GT(120, i) TH_LOG("not spread: %d %d %d", jobs_on(1), jobs_on(2),
				 jobs_on(3));
	/* balanced: what moves now is ping-pong */
	sleep(3);
	before = moves_made();
	ASSERT_LE(2, before);
	sleep(10);
	after = moves_made();
	ASSERT_EQ(before, after) TH_LOG("%d moves, then %d", before, after);
	ASSERT_EQ(0, node_run(1, self->out, "kddm load"));
	TH_LOG("%s", self->out);
	/* the loop nobody opted in and the excluded job stayed, untouched */
	ASSERT_EQ(0, node_run(1, NULL, "test -e /proc/%d", pinned));
	ASSERT_EQ(0, node_run(1, NULL, "test -e /proc/%d", excluded));
	for (i = 1; i <= 3; i++)
		ASSERT_NE(0, node_run(i, NULL, "grep -h \"\\\"pid\\\":\\(%d\\|%d\\),\" /var/log/kddm-balancer.decisions",
				      pinned, excluded));
	ASSERT_EQ(0, node_run(1, self->out, "kddm balancer include %d", excluded))
		TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(1, self->out, "kddm balancer status"));
	TH_LOG("%s", self->out);
	policy_all("none", self->out);
	node_run(1, NULL, "kill %d", pinned);
	for (i = 1; i <= 3; i++)
		node_run(i, NULL, "for p in $(kddm --json ps | tr \"{\" \"\\n\" | grep \"\\\"node\\\":%d,\" | sed \"s/\\\"pid\\\":\\([0-9]*\\).*/\\1/\"); do kill $p; done",
			 i);
}

/* Node 3 dies: the others go on publishing and see it down. */
TEST_F_TIMEOUT(bal, node_killed_others_go_on, 120)
{
	char cmd[300];
	int i;

	snprintf(cmd, sizeof(cmd), "%s kill 3 >/dev/null", cluster_vm());
	ASSERT_EQ(0, system(cmd));
	for (i = 0; i < 60; i++) {
		node_run(1, self->out, "kddm --json balancer status");
		if (strstr(self->out, "{\"node\":3,\"up\":false}"))
			break;
		usleep(500000);
	}
	ASSERT_GT(60, i) TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(2, self->out, "kddm load"));
	TH_LOG("%s", self->out);
	/* node 2 sees node 1 up and node 3 down */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, node_run(2, self->out, "kddm --json balancer status"));
		if (strstr(self->out, "{\"node\":1,\"up\":true}") &&
		    strstr(self->out, "{\"node\":3,\"up\":false}"))
			break;
		usleep(500000);
	}
	ASSERT_GT(20, i) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
