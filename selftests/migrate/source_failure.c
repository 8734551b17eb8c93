// SPDX-License-Identifier: GPL-2.0
/*
 * The source dies while the memory of a process it moved is still being
 * pulled: the process is killed on the destination, with a kernel log
 * line, and never runs on with pages it did not get (mig-worker would
 * write "BAD" if it read a page that is not what it wrote). Kills node 3
 * (kills=3); its count file lives on node 1.
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

TEST_F_TIMEOUT(src, source_killed_while_pulling, 300)
{
	char file[128], cmd[600];
	double end;
	int pid, i, gone = 0;

	snprintf(file, sizeof(file), "/kdfs/mig-src-%d", getpid());
	/* made on node 1: its data stays there */
	ASSERT_EQ(0, node_run(1, self->out, "rm -f %s; : > %s && chmod 666 %s",
			      file, file, file));
	ASSERT_EQ(0, node_run(3, self->out,
			      "setsid mig-worker counter %s -m 96 </dev/null >/dev/null 2>&1 & echo $!",
			      file));
	pid = atoi(self->out);
	ASSERT_LT(0, pid);
	for (i = 0; i < 200; i++) {
		if (!node_run(1, self->out, "cat %s", file) && atoi(self->out) > 0)
			break;
		usleep(100000);
	}
	ASSERT_GT(200, i);
	ASSERT_EQ(0, node_run(3, self->out, "kddm migrate %d 2", pid))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "follows")) TH_LOG("%s", self->out);
	snprintf(cmd, sizeof(cmd), "%s kill 3 >/dev/null", cluster_vm());
	ASSERT_EQ(0, system(cmd));

	end = now_s() + 60;
	while (now_s() < end && !gone) {
		gone = node_run(2, NULL, "test -e /proc/%d", pid) != 0;
		usleep(200000);
	}
	ASSERT_TRUE(gone) TH_LOG("process %d still runs on node 2", pid);
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
