// SPDX-License-Identifier: GPL-2.0
/*
 * The same System V IPC semantic checks (ipc-diff: shm, msg, sem, the
 * namespace limits msgmax/msgmnb/msgmni/sem, SEM_UNDO lists shared by
 * CLONE_SYSVSEM) against the kernel's own IPC (a fresh IPC namespace, not
 * cluster-enabled) and against kipc (the initial namespace,
 * cluster-enabled): the transcripts must be equal line for line.
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
	compare(_metadata, local, cluster);
}

TEST_HARNESS_MAIN
