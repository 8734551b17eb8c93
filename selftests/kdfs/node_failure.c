// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs and a node that dies: node 3 is killed while node 2 appends to a
 * file node 3 holds. The writer gets an error (EIO) within TIPC's link
 * tolerance and a few seconds, not a hang; the files of nodes 1 and 2
 * keep working; node 3's files fail with EIO until it is back, and then
 * hold every byte that was synced. An unlinked file that only node 3
 * had open is freed by the survivors. The driver boots the cluster again
 * afterwards (kills=3).
 */
#include "kselftest_harness.h"
#include "common.h"

static const char dir[] = "/kdfs/nodefail";

/* A fixture only for the timeout: a reboot may take more than 30 s. */
FIXTURE(nodefail) {
	int unused;
};

FIXTURE_SETUP(nodefail)
{
}

FIXTURE_TEARDOWN(nodefail)
{
}

TEST_F_TIMEOUT(nodefail, node_killed_during_writes, 240)
{
	char out[OUT_MAX], cmd[512], ino[32], hex[32], uhex[32];
	double t0;
	FILE *writer, *bulk, *holder, *locker;

	ASSERT_EQ(0, kdfs_mount_all(out)) TH_LOG("%s", out);
	node_run(1, NULL, "rm -rf %s", dir);
	ASSERT_EQ(0, node_run(1, out, "mkdir %s && echo one > %s/f1", dir,
			      dir)) TH_LOG("%s", out);
	/* node 3 writes back metadata only when told (it dies first) */
	ASSERT_EQ(0, node_run(3, out, "echo 600000 > /sys/module/kdfs/parameters/flush_ms && echo synced > %s/f3 && sync",
			      dir)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "kddm where %s/f3", dir));
	ASSERT_NE(NULL, strstr(out, "on node 3")) TH_LOG("%s", out);
	/*
	 * A name node 3 adds and does not write back before it dies, which
	 * node 1 reads: node 1's copy survives node 3, and node 1 writes
	 * it back.
	 */
	ASSERT_EQ(0, node_run(3, out, "echo L > %s/late", dir));
	ASSERT_EQ(0, node_run(1, out, "ls %s", dir));
	EXPECT_STREQ("f1\nf3\nlate", out);
	ASSERT_EQ(0, node_run(1, ino, "stat -c %%i %s", dir));
	snprintf(hex, sizeof(hex), "%016llx", strtoull(ino, NULL, 10));

	/* an unlinked file that only node 3 has open stays on node 1 */
	ASSERT_EQ(0, node_run(1, out, "echo u > %s/ul && sync", dir));
	ASSERT_EQ(0, node_run(1, ino, "stat -c %%i %s/ul", dir));
	snprintf(uhex, sizeof(uhex), "%016llx", strtoull(ino, NULL, 10));
	snprintf(cmd, sizeof(cmd), "exec 4< %s/ul; sleep 600", dir);
	holder = bg_start(3, cmd);
	ASSERT_NE(NULL, holder);
	t0 = now_s();
	while (node_run(3, NULL, "ls -l /proc/*/fd 2>/dev/null | grep -q %s/ul",
			dir) && now_s() - t0 < 20)
		usleep(200000);
	ASSERT_EQ(0, node_run(1, out, "rm %s/ul && sync", dir));
	EXPECT_EQ(0, node_run(1, out, "test -e /var/lib/kddm/kdfs/i/%s", uhex));

	/* a file striped over the three nodes: unit 2 is on node 3 */
	ASSERT_EQ(0, node_run(1, out, "mkdir %s/st && kdfs-xattr set %s/st kdfs.placement stripe:64k && dd if=/dev/urandom of=/tmp/st bs=64k count=3 2>/dev/null && cp /tmp/st %s/st/f && sync && md5sum < %s/st/f",
			      dir, dir, dir, dir)) TH_LOG("%s", out);

	/* a lock node 3 holds goes with it */
	snprintf(cmd, sizeof(cmd), "kdfs-lock posix %s/f1 0 0 w nb 600000", dir);
	locker = bg_start(3, cmd);
	ASSERT_NE(NULL, locker);
	t0 = now_s();
	while ((node_run(1, out, "kdfs-lock test %s/f1 0 0 w", dir) ||
		strcmp(out, "held w 0 0 -1")) && now_s() - t0 < 10)
		usleep(100000);
	ASSERT_STREQ("held w 0 0 -1", out);

	/* and one on node 1 in 1 MiB writes, which it sends home in calls */
	ASSERT_EQ(0, node_run(3, out, "touch %s/f4", dir)) TH_LOG("%s", out);
	snprintf(cmd, sizeof(cmd),
		 "while dd if=/dev/zero of=%s/f4 bs=1M count=2 conv=notrunc 2>/tmp/dd.err; do :; done; cat /tmp/dd.err; echo stopped",
		 dir);
	bulk = bg_start(1, cmd);
	ASSERT_NE(NULL, bulk);
	snprintf(cmd, sizeof(cmd),
		 "while echo more >> %s/f3; do :; done; echo stopped", dir);
	writer = bg_start(2, cmd);
	ASSERT_NE(NULL, writer);
	usleep(500000);
	snprintf(cmd, sizeof(cmd), "%s kill 3 >/dev/null", cluster_vm());
	ASSERT_EQ(0, system(cmd));
	t0 = now_s();
	bg_wait(writer, out);
	EXPECT_LT(now_s() - t0, 30.0) TH_LOG("the writer ran %.1f s more",
					      now_s() - t0);
	EXPECT_NE(NULL, strstr(out, "stopped")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "Input/output error")) TH_LOG("%s", out);
	bg_wait(bulk, out);
	EXPECT_LT(now_s() - t0, 30.0) TH_LOG("the bulk writer ran %.1f s more",
					      now_s() - t0);
	EXPECT_NE(NULL, strstr(out, "stopped")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "Input/output error")) TH_LOG("%s", out);

	/* node 1 writes back the name node 3 added */
	t0 = now_s();
	while (node_run(1, NULL, "grep -q \" late$\" /var/lib/kddm/kdfs/d/%s",
			hex) && now_s() - t0 < 30)
		usleep(200000);
	EXPECT_LT(now_s() - t0, 20.0) TH_LOG("not on node 1's disk after %.1f s",
					      now_s() - t0);
	/* its lock went with it */
	bg_wait(locker, out);
	EXPECT_EQ(0, node_run(2, out, "kdfs-lock posix %s/f1 0 0 w nb 0", dir));
	EXPECT_STREQ("locked", out);
	/* node 3's open of the unlinked file ended with it: freed */
	bg_wait(holder, out);
	t0 = now_s();
	while (!node_run(1, NULL, "test -e /var/lib/kddm/kdfs/i/%s", uhex) &&
	       now_s() - t0 < 30)
		usleep(200000);
	EXPECT_LT(now_s() - t0, 20.0) TH_LOG("the unlinked inode stayed %.1f s",
					      now_s() - t0);

	/* the rest of the tree works */
	EXPECT_EQ(0, node_run(1, out, "cat %s/f1", dir));
	EXPECT_STREQ("one", out);
	EXPECT_EQ(0, node_run(2, out, "echo two > %s/f2 && cat %s/f2", dir,
			      dir)) TH_LOG("%s", out);
	EXPECT_STREQ("two", out);
	/* the listing is node 1's: every name, f3's inode unreadable */
	node_run(1, out, "ls %s", dir);
	EXPECT_NE(NULL, strstr(out, "f1")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "f2")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "f3")) TH_LOG("%s", out);
	/* node 3's file fails at once */
	t0 = now_s();
	EXPECT_NE(0, node_run(1, out, "cat %s/f3", dir));
	EXPECT_NE(NULL, strstr(out, "Input/output error")) TH_LOG("%s", out);
	EXPECT_LT(now_s() - t0, 10.0);

	/* a striped file: node 3's unit fails, the others read */
	EXPECT_EQ(0, node_run(1, out, "[ \"$(dd if=%s/st/f bs=64k count=2 2>/dev/null | md5sum)\" = \"$(head -c 131072 /tmp/st | md5sum)\" ] && echo same",
			      dir)) TH_LOG("%s", out);
	EXPECT_STREQ("same", out);
	t0 = now_s();
	EXPECT_NE(0, node_run(2, out, "dd if=%s/st/f of=/dev/null bs=64k skip=2 count=1", dir));
	EXPECT_NE(NULL, strstr(out, "Input/output error")) TH_LOG("%s", out);
	EXPECT_LT(now_s() - t0, 10.0);
	/* cut while node 3 is down: it fails there, the size follows */
	EXPECT_NE(0, node_run(1, out, "truncate -s 65536 %s/st/f", dir));
	EXPECT_NE(NULL, strstr(out, "Input/output error")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "stat -c %%s %s/st/f", dir));
	EXPECT_STREQ("65536", out);
	/* it may not grow again before node 3 has cut its share */
	EXPECT_NE(0, node_run(2, out, "truncate -s 131072 %s/st/f", dir));
	EXPECT_NE(NULL, strstr(out, "Input/output error")) TH_LOG("%s", out);

	/* back: what it synced is there */
	snprintf(cmd, sizeof(cmd), "%s restart 3 >/dev/null", cluster_vm());
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, node_run(3, out, "kddm-load && kddm-load kdfs"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "head -1 %s/f3", dir)) TH_LOG("%s", out);
	EXPECT_STREQ("synced", out);
	ASSERT_EQ(0, node_run(3, out, "cat %s/f1 %s/f2", dir, dir));
	EXPECT_STREQ("one\ntwo", out);
	/*
	 * The striped file grown again as soon as node 3 is back: node 3
	 * cuts its share first, and its old unit reads zeros.
	 */
	ASSERT_EQ(0, node_run(1, out, "truncate -s 196608 %s/st/f && [ \"$(head -c 65536 %s/st/f | md5sum)\" = \"$(head -c 65536 /tmp/st | md5sum)\" ] && tail -c 131072 %s/st/f | tr -d \"\\000\" | wc -c",
			      dir, dir, dir)) TH_LOG("%s", out);
	EXPECT_STREQ("0", out);
	ASSERT_EQ(0, node_run(1, out, "printf %%016x $(stat -c %%i %s/st/f)", dir));
	snprintf(hex, sizeof(hex), "%.20s", out);
	EXPECT_EQ(0, node_run(3, out, "[ $(stat -c %%s /var/lib/kddm/kdfs/f/%s) -le 65536 ]",
			      hex)) TH_LOG("node 3's share was not cut");
}

TEST_HARNESS_MAIN
