// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM objects across three nodes, driven from the host: read replication,
 * invalidation on grab, an exact cluster-wide counter, remove, flush,
 * no-first-touch and try-grab. Every node runs kddm.ko and kddm_test.ko
 * (kddm-vm up --load).
 */
#include "kselftest_harness.h"
#include "cluster.h"

FIXTURE(set) {
	char id[64];
};

/* A set of 64-byte objects homed on node 1. */
FIXTURE_SETUP(set)
{
	ASSERT_EQ(0, node_run(1, self->id, "kddm-test create -s 64 -p fixed"))
		TH_LOG("create: %s", self->id);
}

FIXTURE_TEARDOWN(set)
{
	char out[OUT_MAX];

	EXPECT_EQ(0, node_run(1, out, "kddm-test destroy %s", self->id))
		TH_LOG("destroy: %s", out);
}

TEST_F(set, read_replication)
{
	char out[OUT_MAX];
	int n;

	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 7 hello", self->id))
		TH_LOG("%s", out);
	for (n = 2; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "kddm-test get %s 7", self->id))
			TH_LOG("node %d: %s", n, out);
		EXPECT_STREQ("hello", out);
	}
	/* every reader now holds a copy: find needs no message */
	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "kddm-test find %s 7", self->id))
			TH_LOG("node %d: %s", n, out);
		EXPECT_STREQ("hello", out);
	}
}

TEST_F(set, invalidation_on_grab)
{
	char out[OUT_MAX];
	int n;

	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 3 one", self->id));
	for (n = 2; n <= nodes(); n++)
		ASSERT_EQ(0, node_run(n, out, "kddm-test get %s 3", self->id));
	ASSERT_EQ(0, node_run(2, out, "kddm-test write %s 3 two", self->id))
		TH_LOG("%s", out);
	/* the writer's copy is the only one left */
	for (n = 1; n <= nodes(); n++) {
		if (n == 2)
			continue;
		EXPECT_NE(0, node_run(n, out, "kddm-test find %s 3", self->id))
			TH_LOG("node %d still has a copy: %s", n, out);
		EXPECT_NE(NULL, strstr(out, "ENOENT"));
	}
	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "kddm-test get %s 3", self->id));
		EXPECT_STREQ("two", out) TH_LOG("node %d", n);
	}
}

/*
 * kddm_sync_object() writes the current data at the object's home (node
 * 1), whoever asks and wherever the writable copy is.
 */
TEST_F(set, sync_writes_back_at_the_home)
{
	char out[OUT_MAX];
	int n;

	ASSERT_EQ(0, node_run(2, out, "kddm-test write %s 5 first", self->id))
		TH_LOG("%s", out);
	/* asked by a third node while node 2 holds the writable copy */
	ASSERT_EQ(0, node_run(3, out, "kddm-test sync %s 5", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "kddm-test stored %s 5", self->id))
		TH_LOG("%s", out);
	EXPECT_STREQ("first", out);
	for (n = 2; n <= nodes(); n++) {
		EXPECT_NE(0, node_run(n, out, "kddm-test stored %s 5",
				      self->id)) TH_LOG("node %d: %s", n, out);
	}
	/* asked by the writer itself, after a new write */
	ASSERT_EQ(0, node_run(3, out, "kddm-test write %s 5 second",
			      self->id));
	ASSERT_EQ(0, node_run(3, out, "kddm-test sync %s 5", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "kddm-test stored %s 5", self->id));
	EXPECT_STREQ("second", out);
	/* and by the home */
	ASSERT_EQ(0, node_run(2, out, "kddm-test write %s 5 third", self->id));
	ASSERT_EQ(0, node_run(1, out, "kddm-test sync %s 5", self->id));
	ASSERT_EQ(0, node_run(1, out, "kddm-test stored %s 5", self->id));
	EXPECT_STREQ("third", out);
}

static long engine_bytes(int node)
{
	char out[OUT_MAX];

	if (node_run(node, out,
		     "sed -n s/^bytes\\ //p /sys/kernel/debug/kddm/engine"))
		return -1;
	return atol(out);
}

/*
 * What a home spends on the copies of its objects: node sets sized for
 * the node ids in use (a word for 64 ids), not for every possible id.
 */
TEST_F(set, home_memory_per_copied_object)
{
	const char *objects_file = "/sys/kernel/debug/kddm/objects";
	const int objs = 400;
	char out[OUT_MAX];
	long before, after;
	int n, copied;

	ASSERT_LE(0, node_run(1, out, "grep -c copies=%d %s", nodes() - 1,
			      objects_file));
	copied = atoi(out);
	before = engine_bytes(1);
	ASSERT_LE(0, before);
	for (n = 2; n <= nodes(); n++)
		ASSERT_EQ(0, node_run(n, out, "kddm-test touch %s 0 %d",
				      self->id, objs)) TH_LOG("%s", out);
	after = engine_bytes(1);
	/* the home knows every copy */
	ASSERT_EQ(0, node_run(1, out, "grep -c copies=%d %s", nodes() - 1,
			      objects_file)) TH_LOG("%s", out);
	EXPECT_EQ(objs, atoi(out) - copied);
	/* 8 KiB each when a set was sized for every node id */
	EXPECT_GT(64 * objs, after - before)
		TH_LOG("%ld bytes for %d objects", after - before, objs);
}

/* P processes on every node each add K to one counter: exactly N*P*K. */
TEST_F(set, cluster_counter)
{
	const int procs = 3, k = 40;
	char out[OUT_MAX], cmd[512];
	FILE *bg[64];
	int n;

	snprintf(cmd, sizeof(cmd),
		 "for p in $(seq %d); do kddm-test incr %s 0 %d >/dev/null & done; wait",
		 procs, self->id, k);
	/* all nodes at once, each with its own exec */
	for (n = 1; n <= nodes() && n < 64; n++) {
		char line[1024];

		snprintf(line, sizeof(line), "%s exec %d -n -t 300 -- sh -c '%s' 2>&1",
			 cluster_vm(), n, cmd);
		bg[n] = popen(line, "r");
		ASSERT_NE(NULL, bg[n]);
	}
	for (n = 1; n <= nodes() && n < 64; n++) {
		while (fgets(out, sizeof(out), bg[n]))
			TH_LOG("node %d: %s", n, out);
		EXPECT_EQ(0, pclose(bg[n]));
	}
	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "kddm-test get64 %s 0", self->id));
		EXPECT_EQ(nodes() * procs * k, atoi(out)) TH_LOG("node %d", n);
	}
}

TEST_F(set, remove_everywhere)
{
	char out[OUT_MAX];
	int n;

	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 9 doomed", self->id));
	for (n = 2; n <= nodes(); n++)
		ASSERT_EQ(0, node_run(n, out, "kddm-test get %s 9", self->id));
	ASSERT_EQ(0, node_run(nodes(), out, "kddm-test remove %s 9", self->id))
		TH_LOG("%s", out);
	for (n = 1; n <= nodes(); n++) {
		EXPECT_EQ(1, node_run(n, out, "kddm-test get -N %s 9", self->id))
			TH_LOG("node %d: %s", n, out);
		EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
	}
	/* a first touch after the removal makes a new, empty object */
	ASSERT_EQ(0, node_run(2, out, "kddm-test get %s 9", self->id));
	EXPECT_STREQ("", out);
	EXPECT_EQ(1, node_run(1, out, "kddm-test remove %s 12345", self->id));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
}

TEST_F(set, flush_keeps_data)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(2, out, "kddm-test write %s 4 kept", self->id));
	ASSERT_EQ(0, node_run(2, out, "kddm-test flush %s 4", self->id))
		TH_LOG("%s", out);
	EXPECT_NE(0, node_run(2, out, "kddm-test find %s 4", self->id))
		TH_LOG("flushed copy still there: %s", out);
	ASSERT_EQ(0, node_run(3, out, "kddm-test get %s 4", self->id));
	EXPECT_STREQ("kept", out);
	ASSERT_EQ(0, node_run(1, out, "kddm-test get %s 4", self->id));
	EXPECT_STREQ("kept", out);
}

TEST_F(set, no_first_touch)
{
	char out[OUT_MAX];

	EXPECT_EQ(1, node_run(2, out, "kddm-test get -N %s 77", self->id));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(1, out, "kddm-test grab -N %s 78", self->id));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
}

TEST_F(set, try_grab)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(3, out, "kddm-test write %s 5 mine", self->id));
	/* the writable copy is on node 3: a try-grab there needs no wait */
	EXPECT_EQ(0, node_run(3, out, "kddm-test grab -t %s 5", self->id))
		TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(2, out, "kddm-test grab -t %s 5", self->id));
	EXPECT_NE(NULL, strstr(out, "EBUSY")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "kddm-test grab %s 5", self->id));
	EXPECT_STREQ("mine", out);
}

/* An async get returns at once; the copy arrives and find sees it. */
TEST_F(set, async_prefetch)
{
	char out[OUT_MAX];
	double end;

	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 11 early", self->id));
	ASSERT_EQ(0, node_run(2, out, "kddm-test get -a %s 11", self->id))
		TH_LOG("%s", out);
	end = now_s() + 20;
	while (node_run(2, out, "kddm-test find %s 11", self->id) &&
	       now_s() < end)
		;
	EXPECT_STREQ("early", out);
}

/*
 * An async grab returns at once; the writable copy arrives, the other
 * copies are invalidated first (node 3's read copy here), and the data
 * is the last written.
 */
TEST_F(set, async_grab_prefetch)
{
	char out[OUT_MAX];
	double end;

	ASSERT_EQ(0, node_run(1, out, "kddm-test write %s 12 early", self->id));
	ASSERT_EQ(0, node_run(3, out, "kddm-test get %s 12", self->id));
	EXPECT_STREQ("early", out);
	ASSERT_EQ(0, node_run(2, out, "kddm-test grab -a %s 12", self->id))
		TH_LOG("%s", out);
	end = now_s() + 20;
	while (node_run(2, out, "kddm-test find %s 12", self->id) &&
	       now_s() < end)
		;
	EXPECT_STREQ("early", out);
	EXPECT_NE(0, node_run(3, out, "kddm-test find %s 12", self->id))
		TH_LOG("node 3 still has a copy: %s", out);
	ASSERT_EQ(0, node_run(3, out, "kddm-test get %s 12", self->id));
	EXPECT_STREQ("early", out);
}

/*
 * Objects longer than a TIPC datagram (up to KDDM_MAX_OBJ_SIZE, 1 MiB)
 * travel in pieces: written whole on one node, they read back whole and
 * identical everywhere, home elsewhere, and again after a write on a third.
 */
TEST(big_objects)
{
	static const char * const sizes[] = { "65536", "300000", "1048576" };
	char set[32], want[OUT_MAX], out[OUT_MAX];
	unsigned int i;
	int n;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		ASSERT_EQ(0, node_run(1, set, "kddm-test create -s %s -p fixed -n 2",
				      sizes[i])) TH_LOG("%s", set);
		ASSERT_EQ(0, node_run(3, want, "kddm-test fill %s 5 %u", set,
				      i + 1)) TH_LOG("%s", want);
		EXPECT_EQ(0, strncmp(want, sizes[i], strlen(sizes[i])))
			TH_LOG("%s", want);
		for (n = 1; n <= nodes(); n++) {
			EXPECT_EQ(0, node_run(n, out, "kddm-test sum %s 5", set))
				TH_LOG("node %d: %s", n, out);
			EXPECT_STREQ(want, out) TH_LOG("node %d, size %s", n,
						       sizes[i]);
		}
		ASSERT_EQ(0, node_run(1, want, "kddm-test fill %s 5 %u", set,
				      i + 100)) TH_LOG("%s", want);
		for (n = 2; n <= nodes(); n++) {
			EXPECT_EQ(0, node_run(n, out, "kddm-test sum %s 5", set));
			EXPECT_STREQ(want, out) TH_LOG("node %d, size %s", n,
						       sizes[i]);
		}
		EXPECT_EQ(0, node_run(1, out, "kddm-test destroy %s", set))
			TH_LOG("%s", out);
	}
}

TEST(unknown_set)
{
	char out[OUT_MAX];

	EXPECT_EQ(1, node_run(2, out, "kddm-test get 0x1ffffffff 1"));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(2, out, "kddm-test get 0x6300000001 1"));
	EXPECT_NE(NULL, strstr(out, "EHOSTDOWN")) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
