// SPDX-License-Identifier: GPL-2.0
/*
 * The memory of a moved process is still being pulled when something
 * dies: the destination's kddm-migrated, then the source node. Either
 * way the process is killed on the destination, with a kernel log line,
 * and never runs on with pages it did not get (mig-worker would write
 * "BAD" if it read a page that is not what it wrote). Kills node 3
 * (kills=3); the count files live on node 1.
 */
#include "kselftest_harness.h"
#include "common.h"

FIXTURE(src) {
	char out[OUT_MAX];
};

FIXTURE_SETUP(src)
{
	ASSERT_EQ(0, migrate_load_all(self->out)) TH_LOG("%s", self->out);
}

FIXTURE_TEARDOWN(src)
{
}

/*
 * A counter of 96 MiB started on node 3, its count file made on node 1;
 * its PID once it counts, or -1.
 */
static int start_counter(char *out, const char *file)
{
	int pid, i;

	/* made on node 1: its data stays there */
	if (node_run(1, out, "rm -f %s; : > %s && chmod 666 %s", file, file,
		     file))
		return -1;
	if (node_run(3, out,
		     "setsid mig-worker counter %s -m 96 </dev/null >/dev/null 2>&1 & echo $!",
		     file))
		return -1;
	pid = atoi(out);
	for (i = 0; pid > 0 && i < 200; i++) {
		if (!node_run(1, out, "cat %s", file) && atoi(out) > 0)
			return pid;
		usleep(100000);
	}
	return -1;
}

static bool gone_from(int node, int pid)
{
	double end = now_s() + 60;

	while (now_s() < end) {
		if (node_run(node, NULL, "test -e /proc/%d", pid))
			return true;
		usleep(200000);
	}
	return false;
}

/*
 * The destination's daemon is killed while it pulls: the process waits
 * on its missing pages, and the kernel kills it once the daemon's
 * /dev/kddm_mig is closed. The source lets go of its memory.
 */
TEST_F_TIMEOUT(src, destination_daemon_killed_while_pulling, 300)
{
	char file[128];
	int pid, i;

	snprintf(file, sizeof(file), "/kdfs/mig-dd-%d", getpid());
	pid = start_counter(self->out, file);
	ASSERT_LT(0, pid) TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(3, self->out, "kddm migrate %d 2", pid))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "follows")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(2, self->out, "kill -9 $(pidof kddm-migrated)"));
	ASSERT_TRUE(gone_from(2, pid)) TH_LOG("process %d still runs on node 2", pid);
	ASSERT_EQ(0, node_run(2, self->out,
			      "dmesg | grep 'kddm_mig: killed process %d and its descendants: kddm-migrated died before its memory came from node 3'",
			      pid)) TH_LOG("%s", self->out);
	TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(1, self->out, "cat %s", file));
	ASSERT_EQ(NULL, strstr(self->out, "BAD")) TH_LOG("%s", self->out);
	/* the source let go of its memory, and node 2 takes processes again */
	for (i = 0; i < 100; i++) {
		if (node_run(3, NULL, "ls -d /run/kddm/migrate/out-* 2>/dev/null | grep -q ."))
			break;
		usleep(200000);
	}
	ASSERT_GT(100, i);
	ASSERT_EQ(0, node_run(2, self->out, "kddm-load migrate"))
		TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(3, self->out,
			      "setsid sleep 60 </dev/null >/dev/null 2>&1 & kddm migrate $! 2"))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "moved")) TH_LOG("%s", self->out);
	node_run(2, NULL, "kill %d", atoi(self->out + 6));
}

TEST_F_TIMEOUT(src, source_killed_while_pulling, 300)
{
	char file[128], cmd[600];
	int pid;

	snprintf(file, sizeof(file), "/kdfs/mig-src-%d", getpid());
	pid = start_counter(self->out, file);
	ASSERT_LT(0, pid) TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(3, self->out, "kddm migrate %d 2", pid))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "follows")) TH_LOG("%s", self->out);
	snprintf(cmd, sizeof(cmd), "%s kill 3 >/dev/null", cluster_vm());
	ASSERT_EQ(0, system(cmd));

	ASSERT_TRUE(gone_from(2, pid)) TH_LOG("process %d still runs on node 2", pid);
	ASSERT_EQ(0, node_run(2, self->out,
			      "dmesg | grep 'kddm-migrated: killed process %d: its memory on node 3'",
			      pid)) TH_LOG("%s", self->out);
	TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(1, self->out, "cat %s", file));
	ASSERT_EQ(NULL, strstr(self->out, "BAD")) TH_LOG("%s", self->out);
	/* the survivors go on moving processes */
	ASSERT_EQ(0, node_run(1, self->out,
			      "setsid sleep 60 </dev/null >/dev/null 2>&1 & kddm migrate $! 2"))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "moved")) TH_LOG("%s", self->out);
	node_run(2, NULL, "kill %d", atoi(self->out + 6));
}

TEST_HARNESS_MAIN
