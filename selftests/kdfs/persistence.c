// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs persistence: files made on every node and synced are all there,
 * byte for byte, after every node was killed and booted again (a cluster
 * reboot; the disks of kddm-vm up --disk stay), and after an unmount and
 * a mount; a striped file too, whose units are on all three disks, and a
 * directory of 1500 long names (its listing a tree of several objects).
 * The driver boots the cluster again afterwards (kills=1).
 */
#include "kselftest_harness.h"
#include "common.h"

static const char dir[] = "/kdfs/persist";

/* What must be the same after: sums, names, attributes, ACL, layout. */
#define CHECK_CMD "cd %s && md5sum n1 n2 n3 sub/deep st/big && readlink ln && ls sub && kdfs-xattr get n1 user.kept && kdfs-xattr getacl sub && dd if=n2 bs=1 skip=200 count=5 2>/dev/null && kdfs-xattr get st/big kdfs.layout && ls many | wc -l && ls many | md5sum"

static void check_tree(struct __test_metadata *_metadata, int node,
		       const char *sums)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(node, out, CHECK_CMD,
			      dir)) TH_LOG("node %d: %s", node, out);
	EXPECT_STREQ(sums, out) TH_LOG("node %d", node);
}

/* A fixture only for the timeout: a cluster reboot takes more than 30 s. */
FIXTURE(persist) {
	int unused;
};

FIXTURE_SETUP(persist)
{
}

FIXTURE_TEARDOWN(persist)
{
}

TEST_F_TIMEOUT(persist, cluster_reboot, 300)
{
	char out[OUT_MAX], sums[OUT_MAX], ino[32], hex[32];
	int n;

	ASSERT_EQ(0, kdfs_mount_all(out)) TH_LOG("%s", out);
	node_run(1, NULL, "rm -rf %s", dir);
	ASSERT_EQ(0, node_run(1, out, "mkdir -p %s/sub", dir)) TH_LOG("%s", out);
	for (n = 1; n <= 3; n++) {
		ASSERT_EQ(0, node_run(n, out, "dd if=/dev/urandom of=%s/n%d bs=1000 count=%d 2>/dev/null && sync",
				      dir, n, 10 * n)) TH_LOG("%s", out);
	}
	ASSERT_EQ(0, node_run(2, out, "echo deep > %s/sub/deep && ln -s n1 %s/ln && sync",
			      dir, dir));
	/* a file striped over the three nodes, 64 KiB on each in turn */
	ASSERT_EQ(0, node_run(1, out, "cd %s && mkdir st && kdfs-xattr set st kdfs.placement stripe:64k && dd if=/dev/urandom of=st/big bs=64k count=8 2>/dev/null && sync",
			      dir)) TH_LOG("%s", out);
	/* stores through a mapping, attributes and an ACL, synced by node 3 */
	ASSERT_EQ(0, node_run(3, out, "cd %s && kdfs-mmap store n2 100 MAPPED && kdfs-xattr set n1 user.kept yes && kdfs-xattr setacl sub u::rwx,u:1000:r-x,g::r-x,m::r-x,o::--- && sync",
			      dir)) TH_LOG("%s", out);
	/* a directory whose listing is a tree of several objects */
	ASSERT_EQ(0, node_run(3, out, "mkdir %s/many && cd %s/many && i=0; while [ $i -lt 1500 ]; do : > $i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx || exit 1; i=$((i+1)); done; sync",
			      dir, dir)) TH_LOG("%s", out);
	/* names that need escapes in the store; two msyncs on the home */
	ASSERT_EQ(0, node_run(2, out, "cd %s && echo sp > \"sub/a b%%c\" && kdfs-mmap twice n2 200 FIRST SECND && sync",
			      dir)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, sums, CHECK_CMD,
			      dir)) TH_LOG("%s", sums);
	EXPECT_NE(NULL, strstr(sums, "a b%c\ndeep\nyes\nu::rwx,u:1000:r-x,g::r-x,m::r-x,o::---\nSECNDstripe unit=65536 nodes=1,2,3\n1500\n"))
		TH_LOG("%s", sums);

	/* unmount and mount again on node 2 */
	ASSERT_EQ(0, node_run(2, out, "umount /kdfs && kddm-load kdfs"))
		TH_LOG("%s", out);
	check_tree(_metadata, 2, sums);

	/* a file whose inode will be lost from node 2's disk */
	ASSERT_EQ(0, node_run(2, out, "echo y > %s/dg && sync", dir));
	ASSERT_EQ(0, node_run(1, ino, "stat -c %%i %s/dg", dir));
	snprintf(hex, sizeof(hex), "%016llx", strtoull(ino, NULL, 10));

	/* every node killed and booted again */
	for (n = 1; n <= 3; n++) {
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "%s restart %d >/dev/null",
			 cluster_vm(), n);
		ASSERT_EQ(0, system(cmd)) TH_LOG("restart %d", n);
	}
	/*
	 * What a crash between two nodes' write-backs can leave: a name
	 * whose inode's free reached the disk first. Dropped at its first
	 * lookup, on every node, and from the disk at the next write-back.
	 */
	ASSERT_EQ(0, node_run(2, out, "rm /var/lib/kddm/kdfs/i/%s", hex))
		TH_LOG("%s", out);
	ASSERT_EQ(0, kdfs_mount_all(out)) TH_LOG("%s", out);
	for (n = 1; n <= 3; n++)
		check_tree(_metadata, n, sums);
	/* the shell's glob reads the names, with no lookup */
	ASSERT_EQ(0, node_run(1, out, "cd %s && echo *", dir));
	EXPECT_STREQ("dg ln many n1 n2 n3 st sub", out);
	EXPECT_NE(0, node_run(3, out, "stat %s/dg", dir));
	EXPECT_NE(NULL, strstr(out, "No such file")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(1, out, "cd %s && echo *", dir));
	EXPECT_STREQ("ln many n1 n2 n3 st sub", out);
	ASSERT_EQ(0, node_run(1, ino, "stat -c %%i %s", dir));
	snprintf(hex, sizeof(hex), "%016llx", strtoull(ino, NULL, 10));
	EXPECT_EQ(0, node_run(3, out, "sync"));
	EXPECT_NE(0, node_run(1, out, "grep \" dg$\" /var/lib/kddm/kdfs/d/%s",
			      hex)) TH_LOG("still on disk: %s", out);
}

TEST_HARNESS_MAIN
