// SPDX-License-Identifier: GPL-2.0
/*
 * System V shared memory across the nodes of the test cluster, used by an
 * ordinary SysV program (ipc-tool): one key, one id everywhere, a segment
 * created on one node is written and read on the others, IPC_EXCL, the
 * cluster-wide attach count, IPC_RMID while attached, permissions.
 * Drives the nodes from the host (kddm-vm exec); loads kipc.ko on them.
 */
#include "kselftest_harness.h"
#include "cluster.h"

#define new_key() cluster_key(0x4b000000)

FIXTURE(shm) {
	int key;
	char id[32];
};

FIXTURE_SETUP(shm)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, cluster_load_kipc(out)) TH_LOG("%s", out);
	self->key = new_key();
	ASSERT_EQ(0, node_run(1, self->id, "ipc-tool shm-get %d 8192 c,666",
			      self->key)) TH_LOG("%s", self->id);
}

FIXTURE_TEARDOWN(shm)
{
	node_run(1, NULL, "ipc-tool shm-rm %s", self->id);
}

TEST_F(shm, one_key_one_id)
{
	char out[OUT_MAX];
	int n;

	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "ipc-tool shm-get %d 100",
				      self->key)) TH_LOG("node %d: %s", n, out);
		EXPECT_STREQ(self->id, out) TH_LOG("node %d", n);
	}
	EXPECT_EQ(1, node_run(2, out, "ipc-tool shm-get %d 100 cx",
			      self->key));
	EXPECT_NE(NULL, strstr(out, "EEXIST")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "ipc-tool shm-get %d 100000",
			      self->key));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "ipc-tool shm-get %d 100",
			      self->key + 1000));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
}

TEST_F(shm, written_on_one_read_on_others)
{
	char out[OUT_MAX];
	int n;

	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-write %s 0 hello", self->id))
		TH_LOG("%s", out);
	for (n = 2; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "ipc-tool shm-read %s 0 5",
				      self->id)) TH_LOG("node %d: %s", n, out);
		EXPECT_STREQ("hello", out) TH_LOG("node %d", n);
	}
	/* changed on node 3, page 2, and seen on node 1 */
	ASSERT_EQ(0, node_run(3, out, "ipc-tool shm-write %s 0 world",
			      self->id)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "ipc-tool shm-write %s 5000 page2",
			      self->id)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-read %s 0 5", self->id));
	EXPECT_STREQ("world", out);
	ASSERT_EQ(0, node_run(2, out, "ipc-tool shm-read %s 5000 5", self->id));
	EXPECT_STREQ("page2", out);
}

/*
 * Atomic increments of one counter by processes on every node at once:
 * a write-invalidate protocol makes a locked add atomic cluster-wide, so
 * the total is exact; any lost or doubled page copy shows. The counter
 * shares its page with a flag that two nodes pass back and forth.
 */
TEST_F(shm, atomic_counter_exact)
{
	const int count = 300, procs = 2;
	char out[OUT_MAX];
	pid_t pid[8];
	int n, st;

	ASSERT_GE(8, nodes());
	for (n = 1; n <= nodes(); n++) {
		pid[n - 1] = fork();
		ASSERT_LE(0, pid[n - 1]);
		if (!pid[n - 1])
			_exit(node_run(n, out, "ipc-tool shm-add %s 64 %d %d",
				       self->id, count, procs));
	}
	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(pid[n - 1], waitpid(pid[n - 1], &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st)) TH_LOG("node %d", n);
	}
	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "ipc-tool shm-u64 %s 64",
				      self->id)) TH_LOG("node %d: %s", n, out);
		EXPECT_EQ(count * procs * nodes(), atoi(out)) TH_LOG("node %d", n);
	}
}

/* A flag passed between two nodes 200 times: every handoff is seen. */
TEST_F(shm, ping_pong)
{
	char out[OUT_MAX];
	pid_t pid;
	int st;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(node_run(3, out, "shm-pingpong pong %s 200", self->id));
	EXPECT_EQ(0, node_run(2, out, "shm-pingpong ping %s 200", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st));
}

/*
 * A write fault ends its hold when the store traps (single step, see
 * kipc/shm_step.c). A debugger single-stepping stores to the segment, and
 * a program that sets the trap flag itself, must see exactly the steps
 * they see over an anonymous shared page: none lost, none added.
 */
TEST_F(shm, single_steps_unchanged)
{
	char out[OUT_MAX], local[OUT_MAX];
	int n;

	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-write %s 0 x", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, local, "ipc-tool shm-steps -1"))
		TH_LOG("%s", local);
	for (n = 2; n <= 3; n++) {
		EXPECT_EQ(0, node_run(n, out, "ipc-tool shm-steps %s", self->id))
			TH_LOG("node %d: %s", n, out);
		EXPECT_STREQ(local, out) TH_LOG("node %d", n);
	}
}

/*
 * A process on node 2 stores to a page that node 3 keeps taking for its
 * atomic adds, while a signal every 20 ms makes its handler fork; each
 * child goes on from the signal frame (possibly in the middle of a store
 * that armed a single step: it has an entry of its own) and exits 0. No
 * child may die (of a SIGTRAP), and node 3's count must be exact.
 */
TEST_F_TIMEOUT(shm, fork_in_signal_handler, 120)
{
	const int count = 1500;
	char out[OUT_MAX], flag[OUT_MAX] = "";
	double end;
	pid_t pid;
	int st;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(node_run(2, out, "ipc-tool shm-forks %s %d", self->id,
			       count) || !strstr(out, " failed 0"));
	/* node 2 has started storing: node 3 adds meanwhile */
	end = now_s() + 60;
	while (strcmp(flag, "1") && now_s() < end)
		node_run(1, flag, "ipc-tool shm-u64 %s 128", self->id);
	EXPECT_STREQ("1", flag);
	EXPECT_EQ(0, node_run(3, out, "ipc-tool shm-add %s 64 %d 1", self->id,
			      count)) TH_LOG("%s", out);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
		TH_LOG("node 2: a child failed, or shm-forks did");
	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-u64 %s 64", self->id));
	EXPECT_EQ(count, atoi(out));
}

/*
 * A node of the cluster without kipc loaded: the others create, look up
 * and count objects without waiting for it (kDDM answers their requests
 * for the sets it cannot have with an error); loaded again, it sees them.
 */
TEST_F(shm, node_without_kipc)
{
	char out[OUT_MAX], id2[32];
	int n = nodes();

	ASSERT_EQ(0, node_run(n, out, "rmmod kipc")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(1, id2, "timeout 30 ipc-tool shm-get %d 4096 c,666",
			      self->key + 1)) TH_LOG("%s", id2);
	EXPECT_EQ(0, node_run(2, out, "timeout 30 ipc-tool shm-get %d 100",
			      self->key)) TH_LOG("%s", out);
	EXPECT_STREQ(self->id, out);
	EXPECT_EQ(0, node_run(2, out, "timeout 30 ipc-tool shm-get %d 100",
			      self->key + 1)) TH_LOG("%s", out);
	EXPECT_STREQ(id2, out);
	EXPECT_EQ(0, node_run(2, out, "timeout 30 ipc-tool shm-info"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "used 2 ")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(n, out, "kddm-load kipc")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(n, out, "ipc-tool shm-get %d 100", self->key + 1))
		TH_LOG("%s", out);
	EXPECT_STREQ(id2, out);
	node_run(1, NULL, "ipc-tool shm-rm %s", id2);
}

TEST_F(shm, attach_count_and_rmid)
{
	char out[OUT_MAX], cmd[256];
	FILE *holder;

	snprintf(cmd, sizeof(cmd),
		 "%s exec 2 -t 120 -- sh -c 'ipc-tool shm-hold %s >/tmp/shmheld'",
		 cluster_vm(), self->id);
	holder = popen(cmd, "w");
	ASSERT_NE(NULL, holder);
	while (node_run(2, out, "cat /tmp/shmheld 2>/dev/null") ||
	       strcmp(out, "held"))
		node_run(2, NULL, "sleep 0.1");
	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-stat %s", self->id));
	EXPECT_NE(NULL, strstr(out, "nattch 1 ")) TH_LOG("%s", out);
	/* removed on node 3 while attached on node 2: the key goes now */
	ASSERT_EQ(0, node_run(3, out, "ipc-tool shm-rm %s", self->id));
	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-stat %s", self->id));
	EXPECT_NE(NULL, strstr(out, "mode 1666")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(1, out, "ipc-tool shm-get %d 100", self->key));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
	/* the last detach anywhere destroys it */
	EXPECT_EQ(0, pclose(holder));
	node_run(2, NULL, "rm -f /tmp/shmheld");
	EXPECT_EQ(1, node_run(1, out, "ipc-tool shm-stat %s", self->id));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
}

TEST_F(shm, permissions)
{
	char out[OUT_MAX], id[32];
	int key = new_key();

	ASSERT_EQ(0, node_run(1, id, "ipc-tool shm-get %d 4096 c,600", key));
	EXPECT_EQ(1, node_run(2, out, "ipc-tool -u 1000 shm-get %d 4096 ,400", key));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "ipc-tool -u 1000 shm-read %s 0 1", id));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "ipc-tool -u 1000 shm-rm %s", id));
	EXPECT_NE(NULL, strstr(out, "EPERM")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(2, out, "ipc-tool shm-rm %s", id));
}

/* kddm ipcs shows the same cluster view on every node. */
TEST_F(shm, ipcs_everywhere)
{
	char out[OUT_MAX], want[64];
	int n;

	snprintf(want, sizeof(want), "0x%08x %-10s", self->key, self->id);
	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "kddm ipcs")) TH_LOG("%s", out);
		EXPECT_NE(NULL, strstr(out, want))
			TH_LOG("node %d: no '%s' in %s", n, want, out);
		ASSERT_EQ(0, node_run(n, out, "kddm --json ipcs"));
		snprintf(want, sizeof(want), "\"id\":%s,\"node\":1", self->id);
		EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
		snprintf(want, sizeof(want), "0x%08x %-10s", self->key,
			 self->id);
	}
	/* a namespace not enabled sees its own, empty, IPC */
	ASSERT_EQ(0, node_run(2, out, "unshare -i kddm ipcs"));
	EXPECT_EQ(NULL, strstr(out, want)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "unshare -i kddm ipc status"));
	EXPECT_NE(NULL, strstr(out, "local")) TH_LOG("%s", out);
}

/* The namespace limits apply to the cluster-wide totals. */
TEST_F(shm, limits)
{
	char out[OUT_MAX];
	int n;

	ASSERT_EQ(0, node_run(2, out, "ipc-tool shm-info"));
	ASSERT_EQ(0, strncmp(out, "used ", 5)) TH_LOG("%s", out);
	n = atoi(out + 5);
	/* node 2 allows one more segment than the cluster has */
	ASSERT_EQ(0, node_run(2, out, "echo %d > /proc/sys/kernel/shmmni",
			      n + 1));
	EXPECT_EQ(0, node_run(2, out, "ipc-tool shm-rm $(ipc-tool shm-get 0 100 c)"));
	ASSERT_EQ(0, node_run(3, out, "ipc-tool shm-get 0 100 c"));
	node_run(3, NULL, "echo %s > /tmp/limit-id", out);
	EXPECT_EQ(1, node_run(2, out, "ipc-tool shm-get 0 100 c"));
	EXPECT_NE(NULL, strstr(out, "ENOSPC")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(2, out, "ipc-tool shm-get 0 0 c"));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "echo 4096 > /proc/sys/kernel/shmmni"));
	EXPECT_EQ(0, node_run(3, out, "ipc-tool shm-rm $(cat /tmp/limit-id)"));
}

/*
 * kddm_test.ko takes set ids from user space: it must refuse kipc's sets
 * (their objects are not plain bytes of the size it would write).
 */
TEST_F(shm, test_linker_keeps_off_kipc_sets)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-write %s 0 intact",
			      self->id)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "n=0; for s in $(kddm sets | grep kipc | cut -d\" \" -f1); do kddm-test write $s 0 x 2>&1 | grep -q EINVAL || exit 1; kddm-test incr $s 1 2>&1 | grep -q EINVAL || exit 1; n=$((n + 1)); done; echo $n"))
		TH_LOG("%s", out);
	EXPECT_LT(0, atoi(out)) TH_LOG("no kipc set found: %s", out);
	ASSERT_EQ(0, node_run(2, out, "ipc-tool shm-read %s 0 6", self->id));
	EXPECT_STREQ("intact", out);
}

/*
 * kipc loaded again on a node that was up all along: it knows the other
 * nodes (kDDM replays their node_up) and finds their objects by key, in
 * ipcs' /proc/sysvipc/shm too.
 */
TEST_F(shm, reloaded_node_sees_the_others)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(2, out, "rmmod kipc && insmod /lib/modules/kddm/kipc.ko enable_init_ns=1"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "ipc-tool shm-get %d 100", self->key))
		TH_LOG("%s", out);
	EXPECT_STREQ(self->id, out);
	ASSERT_EQ(0, node_run(2, out, "grep -c \" %s \" /proc/sysvipc/shm",
			      self->id)) TH_LOG("%s", out);
	EXPECT_STREQ("1", out);
}

TEST_HARNESS_MAIN
