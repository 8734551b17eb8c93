// SPDX-License-Identifier: GPL-2.0
/*
 * The same System V IPC semantic checks (ipc-diff: shm, msg, sem, the
 * namespace limits msgmax/msgmnb/msgmni/sem, SEM_UNDO lists shared by
 * CLONE_SYSVSEM) against the kernel's own IPC (a fresh IPC namespace, not
 * cluster-enabled) and against kipc (the initial namespace,
 * cluster-enabled): the transcripts must be equal line for line. Across
 * nodes: the same again while the other nodes read every object all the
 * time (/proc/sysvipc), so that each change on node 2 has to take their
 * copies back first.
 */
#include "kselftest_harness.h"
#include "cluster.h"

static void compare(struct __test_metadata *_metadata, const char *local,
		    const char *cluster)
{
	const char *l = local, *c = cluster;
	int line = 1;

	while (*l || *c) {
		size_t nl = strcspn(l, "\n"), nc = strcspn(c, "\n");

		EXPECT_TRUE(nl == nc && !strncmp(l, c, nl))
			TH_LOG("line %d: local '%.*s' cluster '%.*s'", line,
			       (int)nl, l, (int)nc, c);
		l += nl + !!l[nl];
		c += nc + !!c[nc];
		line++;
	}
}

TEST(same_as_local)
{
	static char local[OUT_MAX], cluster[OUT_MAX];

	ASSERT_EQ(0, cluster_load_kipc(local)) TH_LOG("%s", local);
	ASSERT_EQ(0, node_run(2, local, "unshare -i ipc-diff 0x6b640001"))
		TH_LOG("%s", local);
	ASSERT_EQ(0, node_run(2, cluster, "ipc-diff 0x6b640002"))
		TH_LOG("%s", cluster);
	ASSERT_NE(NULL, strstr(local, "GETVAL removed"));
	ASSERT_NE(NULL, strstr(cluster, "GETVAL removed"));
	/* the transcript ran to its end, limits and undo lists included */
	ASSERT_NE(NULL, strstr(local, "\nend ")) TH_LOG("%s", local);
	ASSERT_NE(NULL, strstr(cluster, "\nend ")) TH_LOG("%s", cluster);
	/* a caller in a user namespace sees the ids mapped into it */
	ASSERT_NE(NULL, strstr(cluster, "uid 0 gid 0 cuid 0 cgid 0 mode 640"))
		TH_LOG("%s", cluster);
	ASSERT_NE(NULL, strstr(cluster, "uid 65534 gid 65534 cuid 65534"))
		TH_LOG("%s", cluster);
	ASSERT_NE(NULL, strstr(cluster, "uid 1000 gid 1000 cuid 1000"))
		TH_LOG("%s", cluster);
	compare(_metadata, local, cluster);
}

/* Reads every object of the cluster on @node until /tmp/watch-run goes. */
static FILE *watcher(int node)
{
	char cmd[512];

	if (node_run(node, NULL, "touch /tmp/watch-run"))
		return NULL;
	snprintf(cmd, sizeof(cmd),
		 "%s exec %d -n -t 600 -- sh -c 'i=0; while [ -e /tmp/watch-run ]; do cat /proc/sysvipc/shm /proc/sysvipc/msg /proc/sysvipc/sem >/dev/null || exit 1; i=$((i+1)); done; echo $i'",
		 cluster_vm(), node);
	return popen(cmd, "r");
}

TEST(same_with_the_others_reading)
{
	static char local[OUT_MAX], cluster[OUT_MAX];
	int n, reads, w[2] = { 1, 3 };
	FILE *p[2];

	ASSERT_EQ(0, cluster_load_kipc(local)) TH_LOG("%s", local);
	ASSERT_EQ(0, node_run(2, local, "unshare -i ipc-diff 0x6b640101"))
		TH_LOG("%s", local);
	for (n = 0; n < 2; n++)
		ASSERT_NE(NULL, p[n] = watcher(w[n]));
	EXPECT_EQ(0, node_run(2, cluster, "ipc-diff 0x6b640102"))
		TH_LOG("%s", cluster);
	for (n = 0; n < 2; n++) {
		node_run(w[n], NULL, "rm -f /tmp/watch-run");
		reads = -1;
		EXPECT_EQ(1, fscanf(p[n], "%d", &reads));
		EXPECT_EQ(0, pclose(p[n])) TH_LOG("node %d's reader", w[n]);
		/* it read while the transcript ran, not only once */
		EXPECT_LT(10, reads) TH_LOG("node %d read %d times", w[n],
					    reads);
	}
	ASSERT_NE(NULL, strstr(cluster, "\nend ")) TH_LOG("%s", cluster);
	compare(_metadata, local, cluster);
}

TEST_HARNESS_MAIN
