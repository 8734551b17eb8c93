// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs semantics across nodes: a write on one node is read on another
 * with no close or sync in between; appends from three nodes at once lose
 * nothing; O_EXCL races make exactly one file; rename, link, symlink,
 * rmdir and readdir agree on every node; an unlinked file lives while
 * another node has it open, and its store goes at the last close; bad
 * mount input gets a clear error.
 */
#include <kddm/kddm_wire.h>
#include "kselftest_harness.h"
#include "common.h"

FIXTURE(kdfs) {
	char dir[64];
};

FIXTURE_SETUP(kdfs)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, kdfs_mount_all(out)) TH_LOG("%s", out);
	snprintf(self->dir, sizeof(self->dir), "/kdfs/t%d-%d", getpid(),
		 cluster_key(0));
	ASSERT_EQ(0, node_run(2, out, "mkdir %s", self->dir))
		TH_LOG("%s", out);
}

FIXTURE_TEARDOWN(kdfs)
{
}

TEST_F(kdfs, write_here_read_there)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(1, out, "printf hello > %s/f", self->dir))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "cat %s/f", self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("hello", out);
	ASSERT_EQ(0, node_run(3, out, "printf \" world\" >> %s/f", self->dir));
	ASSERT_EQ(0, node_run(1, out, "cat %s/f", self->dir));
	EXPECT_STREQ("hello world", out);
	ASSERT_EQ(0, node_run(2, out, "stat -c %%s %s/f", self->dir));
	EXPECT_STREQ("11", out);
	/* an overwrite in the middle, seen at once by a reader elsewhere */
	ASSERT_EQ(0, node_run(3, out, "printf HE | dd of=%s/f conv=notrunc 2>/dev/null",
			      self->dir));
	ASSERT_EQ(0, node_run(2, out, "cat %s/f", self->dir));
	EXPECT_STREQ("HEllo world", out);
	/* truncate on one node, size and data on another */
	ASSERT_EQ(0, node_run(1, out, "truncate -s 4 %s/f", self->dir))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "cat %s/f; stat -c \" %%s\" %s/f",
			      self->dir, self->dir));
	EXPECT_STREQ("HEll 4", out);
}

/* RLIMIT_FSIZE holds on kdfs: the write past it fails with EFBIG. */
TEST_F(kdfs, file_size_limit)
{
	char out[OUT_MAX];

	EXPECT_NE(0, node_run(2, out, "ulimit -f 1; trap \"\" XFSZ; dd if=/dev/zero of=%s/lim bs=4096 count=1",
			      self->dir));
	EXPECT_NE(NULL, strstr(out, "File too large")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "stat -c %%s %s/lim", self->dir));
	EXPECT_GT(4096, atoi(out)) TH_LOG("%s", out);
}

/* Data bigger than a page, written on node 3, checksummed on node 1. */
TEST_F(kdfs, large_file)
{
	char a[OUT_MAX], b[OUT_MAX];

	ASSERT_EQ(0, node_run(3, a, "dd if=/dev/urandom of=/tmp/big bs=64k count=20 2>/dev/null && cp /tmp/big %s/big && md5sum < /tmp/big",
			      self->dir)) TH_LOG("%s", a);
	ASSERT_EQ(0, node_run(1, b, "md5sum < %s/big", self->dir))
		TH_LOG("%s", b);
	EXPECT_STREQ(a, b);
	ASSERT_EQ(0, node_run(2, b, "stat -c %%s %s/big", self->dir));
	EXPECT_STREQ("1310720", b);
}

/* @path reads as md5sum output @want on every node. */
static void md5_everywhere(struct __test_metadata *_metadata,
			   const char *path, const char *want)
{
	char out[OUT_MAX];
	int n;

	for (n = 1; n <= 3; n++) {
		ASSERT_EQ(0, node_run(n, out, "md5sum < %s", path))
			TH_LOG("%s", out);
		EXPECT_STREQ(want, out) TH_LOG("node %d", n);
	}
}

/*
 * @cmd run on @node, with kDDM's trace of the calls it sends that carry
 * a push's 16 pages (a kdfs write's bytes sent home) counted in @calls;
 * @out: the command's output. The command's exit status.
 */
static int run_counting_pushes(int node, char *out, int *calls,
			       const char *cmd)
{
	char line[OUT_MAX], *p;
	int ret;

	snprintf(line, sizeof(line),
		 "T=/sys/kernel/tracing; E=$T/events/kddm/kddm_msg_send; (mount -t tracefs none $T 2>/dev/null; true) && echo \"type == %d && len > %u\" > $E/filter && echo > $T/trace && echo 1 > $E/enable && %s; r=$?; echo 0 > $E/enable; echo 0 > $E/filter; echo calls=$(grep -c kddm_msg_send $T/trace); exit $r",
		 KDDM_MSG_CALL, 65536, cmd);
	ret = node_run(node, out, "%s", line);
	p = strstr(out, "calls=");
	*calls = p ? atoi(p + 6) : -1;
	if (p)
		*(p > out ? p - 1 : p) = '\0';
	return ret;
}

/*
 * Writes of 1 MiB or more into a file homed on another node (their whole
 * pages sent home in calls, not through the pages): read at once on the
 * home, on a node that held copies of the old bytes and on the writer;
 * writes that start or end inside a page, one growing the file, checked
 * against the same writes on a local file; then a file striped in 64 KiB
 * units, the writer's own units written there.
 */
TEST_F(kdfs, remote_bulk_write)
{
	char a[OUT_MAX], b[OUT_MAX], path[300];
	int calls;

	snprintf(path, sizeof(path), "%s/bulk", self->dir);
	ASSERT_EQ(0, node_run(1, a, "dd if=/dev/urandom of=/tmp/a bs=64k count=24 2>/dev/null && cp /tmp/a %s && md5sum < /tmp/a",
			      path)) TH_LOG("%s", a);
	ASSERT_EQ(0, node_run(2, b, "md5sum < %s", path));
	ASSERT_STREQ(a, b);
	ASSERT_EQ(0, node_run(3, a, "dd if=/dev/urandom of=/tmp/b bs=64k count=24 2>/dev/null"))
		TH_LOG("%s", a);
	snprintf(b, sizeof(b), "dd if=/tmp/b of=%s bs=1536k conv=notrunc 2>/dev/null && md5sum < /tmp/b",
		 path);
	ASSERT_EQ(0, run_counting_pushes(3, a, &calls, b)) TH_LOG("%s", a);
	EXPECT_EQ(24, calls) TH_LOG("1.5 MiB in one write: 24 calls");
	md5_everywhere(_metadata, path, a);
	/*
	 * The same writes on node 3's copy of the bytes and on the file:
	 * 1100000 bytes at 0, then 1050000 at 1050000 (inside a page).
	 */
	snprintf(b, sizeof(b), "dd if=/dev/urandom of=/tmp/c bs=1100000 count=1 2>/dev/null && for f in /tmp/b %s; do dd if=/tmp/c of=$f bs=1100000 conv=notrunc 2>/dev/null && dd if=/tmp/c of=$f bs=1050000 count=1 seek=1 conv=notrunc 2>/dev/null || exit 1; done; md5sum < /tmp/b",
		 path);
	ASSERT_EQ(0, run_counting_pushes(3, a, &calls, b)) TH_LOG("%s", a);
	EXPECT_EQ(31, calls) TH_LOG("calls of 16 pages: 16, then 15");
	md5_everywhere(_metadata, path, a);
	ASSERT_EQ(0, node_run(1, b, "stat -c %%s %s", path));
	EXPECT_STREQ("2100000", b);

	snprintf(path, sizeof(path), "%s/st64/bulk", self->dir);
	ASSERT_EQ(0, node_run(1, a, "mkdir %s/st64 && kdfs-xattr set %s/st64 kdfs.placement stripe:64k && touch %s",
			      self->dir, self->dir, path)) TH_LOG("%s", a);
	snprintf(b, sizeof(b), "head -c 1572864 /tmp/b > /tmp/d && dd if=/tmp/d of=%s bs=1536k 2>/dev/null && md5sum < /tmp/d",
		 path);
	ASSERT_EQ(0, run_counting_pushes(3, a, &calls, b)) TH_LOG("%s", a);
	EXPECT_EQ(16, calls) TH_LOG("the 16 units of nodes 1 and 2 of 24");
	md5_everywhere(_metadata, path, a);
}

TEST_F(kdfs, append_from_three_nodes)
{
	char out[OUT_MAX], cmd[512], want[1024];
	FILE *p[3];
	int n, i, len = 0;

	for (n = 1; n <= 3; n++) {
		snprintf(cmd, sizeof(cmd),
			 "i=0; while [ $i -lt 100 ]; do echo \"n%d $i\" >> %s/log || exit 1; i=$((i+1)); done",
			 n, self->dir);
		p[n - 1] = bg_start(n, cmd);
		ASSERT_NE(NULL, p[n - 1]);
	}
	for (n = 1; n <= 3; n++) {
		EXPECT_EQ(0, bg_wait(p[n - 1], out)) TH_LOG("node %d: %s", n,
							     out);
	}
	ASSERT_EQ(0, node_run(2, out, "wc -l < %s/log", self->dir));
	EXPECT_EQ(300, atoi(out));
	for (i = 0; i < 100; i++)
		len += snprintf(want + len, sizeof(want) - len, "%d ", i);
	for (n = 1; n <= 3; n++) {
		ASSERT_EQ(0, node_run(n % 3 + 1, out,
				      "grep \"^n%d \" %s/log | cut -d\" \" -f2 | tr \"\\n\" \" \"",
				      n, self->dir));
		EXPECT_STREQ(want, out) TH_LOG("node %d's lines", n);
	}
}

TEST_F(kdfs, exclusive_create_race)
{
	char out[3][OUT_MAX], cmd[512], got[OUT_MAX];
	FILE *p[3];
	int n, i, won = 0;

	for (n = 1; n <= 3; n++) {
		snprintf(cmd, sizeof(cmd),
			 "i=0; while [ $i -lt 30 ]; do if (set -C; echo %d > %s/e$i) 2>/dev/null; then echo \"won $i\"; fi; i=$((i+1)); done",
			 n, self->dir);
		p[n - 1] = bg_start(n, cmd);
		ASSERT_NE(NULL, p[n - 1]);
	}
	for (n = 1; n <= 3; n++) {
		EXPECT_EQ(0, bg_wait(p[n - 1], out[n - 1])) TH_LOG("node %d: %s",
								 n, out[n - 1]);
	}
	for (i = 0; i < 30; i++) {
		char tag[32];
		int winner = 0;

		snprintf(tag, sizeof(tag), "won %d\n", i);
		for (n = 1; n <= 3; n++) {
			if (strstr(out[n - 1], tag)) {
				won++;
				EXPECT_EQ(0, winner) TH_LOG("e%d won twice", i);
				winner = n;
			}
		}
		EXPECT_NE(0, winner) TH_LOG("nobody made e%d", i);
		ASSERT_EQ(0, node_run(2, got, "cat %s/e%d", self->dir, i));
		EXPECT_EQ(winner, atoi(got)) TH_LOG("e%d", i);
	}
	EXPECT_EQ(30, won);
	ASSERT_EQ(0, node_run(1, got, "ls %s | wc -l", self->dir));
	EXPECT_EQ(30, atoi(got));
}

TEST_F(kdfs, names_agree_everywhere)
{
	char out[OUT_MAX];
	const char *d = self->dir;

	ASSERT_EQ(0, node_run(1, out, "mkdir %s/a %s/b && i=0; while [ $i -lt 50 ]; do echo $i > %s/a/f$i; i=$((i+1)); done",
			      d, d, d)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "ls %s/a | wc -l", d));
	EXPECT_EQ(50, atoi(out));
	/* across directories, and over an existing name */
	ASSERT_EQ(0, node_run(2, out, "mv %s/a/f7 %s/b/g && echo old > %s/b/h && mv %s/b/g %s/b/h",
			      d, d, d, d, d)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "ls %s/a | wc -l; cat %s/b/h; ls %s/b",
			      d, d, d));
	EXPECT_STREQ("49\n7\nh", out);
	EXPECT_NE(0, node_run(3, out, "rmdir %s/a", d));
	EXPECT_NE(NULL, strstr(out, "not empty")) TH_LOG("%s", out);
	/* hard and symbolic links */
	ASSERT_EQ(0, node_run(3, out, "ln %s/b/h %s/b/hl && ln -s h %s/b/sl",
			      d, d, d)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "stat -c %%h %s/b/h; readlink %s/b/sl; cat %s/b/sl",
			      d, d, d));
	EXPECT_STREQ("2\nh\n7", out);
	/* gone everywhere */
	ASSERT_EQ(0, node_run(2, out, "rm %s/a/* && rmdir %s/a", d, d))
		TH_LOG("%s", out);
	EXPECT_NE(0, node_run(1, out, "ls %s/a", d));
	ASSERT_EQ(0, node_run(3, out, "ls %s", d));
	EXPECT_STREQ("b", out);
	ASSERT_EQ(0, node_run(3, out, "stat -c %%h %s", d));
	EXPECT_STREQ("3", out) TH_LOG("links of the test directory");
}

/*
 * Renames between a directory and its subdirectory (made on nodes whose
 * inode numbers order them the other way round) on one node, rmdir of
 * that subdirectory (never empty: ENOTEMPTY) on another, at once: both
 * hold the two listings, and every call ends (listings are held in one
 * order everywhere); the names add up.
 */
TEST_F(kdfs, cross_directory_races)
{
	char out[OUT_MAX], cmd[512];
	const char *d = self->dir;
	FILE *p[2];
	int n;

	/* P on node 3, C = P/c on node 1: ino(C) < ino(P) */
	ASSERT_EQ(0, node_run(3, out, "mkdir %s/P", d)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "mkdir %s/P/c && echo x > %s/P/c/x && touch %s/P/c/keep",
			      d, d, d)) TH_LOG("%s", out);
	snprintf(cmd, sizeof(cmd),
		 "i=0; while [ $i -lt 40 ]; do mv %s/P/c/x %s/P/y && mv %s/P/y %s/P/c/x || exit 1; i=$((i+1)); done",
		 d, d, d, d);
	p[0] = bg_start(1, cmd);
	snprintf(cmd, sizeof(cmd),
		 "i=0; while [ $i -lt 40 ]; do rmdir %s/P/c 2>/dev/null && exit 2; i=$((i+1)); done",
		 d);
	p[1] = bg_start(2, cmd);
	for (n = 0; n < 2; n++) {
		ASSERT_NE(NULL, p[n]);
		EXPECT_EQ(0, bg_wait(p[n], out)) TH_LOG("%d: %s", n, out);
	}
	ASSERT_EQ(0, node_run(3, out, "cat %s/P/c/x; ls %s/P; ls %s/P/c", d, d,
			      d));
	EXPECT_STREQ("x\nc\nkeep\nx", out);
}

/* How many files node @n stores for inode @ino (i/, d/, f/). */
static int stored(int n, const char *ino)
{
	char out[OUT_MAX];

	if (node_run(n, out, "ls /var/lib/kddm/kdfs/i /var/lib/kddm/kdfs/f | grep -c %s",
		     ino))
		return 0;
	return atoi(out);
}

TEST_F(kdfs, unlinked_file_lives_while_open)
{
	char out[OUT_MAX], cmd[512], ino[32], hex[32];
	FILE *reader;
	int i;

	ASSERT_EQ(0, node_run(3, out, "echo kept > %s/u && sync", self->dir));
	ASSERT_EQ(0, node_run(1, ino, "stat -c %%i %s/u", self->dir));
	snprintf(hex, sizeof(hex), "%016llx", strtoull(ino, NULL, 10));
	/* node 3 made it: its home and store */
	EXPECT_EQ(2, stored(3, hex)) TH_LOG("inode %s", hex);
	snprintf(cmd, sizeof(cmd),
		 "exec 3< %s/u; echo open > %s/opened; while [ ! -e %s/go ]; do sleep 0.1; done; cat <&3",
		 self->dir, self->dir, self->dir);
	reader = bg_start(2, cmd);
	ASSERT_NE(NULL, reader);
	for (i = 0; i < 300 && node_run(1, NULL, "test -e %s/opened",
					self->dir); i++)
		usleep(100000);
	ASSERT_EQ(0, node_run(1, out, "rm %s/u && test ! -e %s/u", self->dir,
			      self->dir)) TH_LOG("%s", out);
	EXPECT_EQ(2, stored(3, hex)) TH_LOG("gone while open on node 2");
	ASSERT_EQ(0, node_run(1, out, "touch %s/go", self->dir));
	EXPECT_EQ(0, bg_wait(reader, out));
	EXPECT_STREQ("kept\n", out);
	/* the last close anywhere (node 2's) frees it, on disk at its sync */
	EXPECT_EQ(0, node_run(2, out, "sync"));
	EXPECT_EQ(0, stored(3, hex)) TH_LOG("still stored after the close");
}

/* The inode number of @path, in hex as the store names it, from node 1. */
static int ino_hex(struct __test_metadata *_metadata, const char *path,
		   char *hex, size_t len)
{
	char out[OUT_MAX];

	if (node_run(1, out, "stat -c %%i %s", path))
		return -1;
	snprintf(hex, len, "%016llx", strtoull(out, NULL, 10));
	return 0;
}

/*
 * Metadata goes to disk with no sync, within flush_ms (5 s): a name node 3
 * adds reaches the disk of the directory's home (node 2), and so does its
 * removal.
 */
TEST_F_TIMEOUT(kdfs, metadata_written_back, 120)
{
	char out[OUT_MAX], dir[32];
	double t0;

	ASSERT_EQ(0, ino_hex(_metadata, self->dir, dir, sizeof(dir)));
	ASSERT_EQ(0, node_run(3, out, "echo x > %s/wb", self->dir));
	t0 = now_s();
	while (node_run(2, NULL, "grep -q \" wb$\" /var/lib/kddm/kdfs/d/%s",
			dir) && now_s() - t0 < 30)
		usleep(200000);
	EXPECT_LT(now_s() - t0, 15.0) TH_LOG("the name took %.1f s to reach the disk",
					      now_s() - t0);
	ASSERT_EQ(0, node_run(1, out, "rm %s/wb", self->dir));
	t0 = now_s();
	while (!node_run(2, NULL, "grep -q \" wb$\" /var/lib/kddm/kdfs/d/%s",
			 dir) && now_s() - t0 < 30)
		usleep(200000);
	EXPECT_LT(now_s() - t0, 15.0) TH_LOG("the removal took %.1f s to reach the disk",
					      now_s() - t0);
}

/* A counter of the kdfs_page set on @node (kddm stats), -1 if unknown. */
static long page_stat(int node, const char *label)
{
	char out[OUT_MAX], *p;

	if (node_run(node, out, "kddm stats $(kddm sets | grep \"kdfs_page \" | cut -d\" \" -f1) | grep \"%s\"",
		     label))
		return -1;
	p = strrchr(out, ' ');
	return p ? atol(p + 1) : -1;
}

/*
 * A bound on the pages kept in memory (cache_mb): a file eight times as
 * large, written on node 1 into a file homed on node 2, then read on node
 * 3, has every byte right, and no node keeps more copies than the bound
 * (the home writes the rest back to its disk and reads it back).
 */
TEST_F_TIMEOUT(kdfs, memory_bound, 300)
{
	char a[OUT_MAX], b[OUT_MAX];
	long max = 2 << (20 - 12), n, total = 0;
	double t0;
	int i;

	for (i = 1; i <= 3; i++)
		ASSERT_EQ(0, node_run(i, a, "echo 2 > /sys/module/kdfs/parameters/cache_mb"))
			TH_LOG("%s", a);
	ASSERT_EQ(0, node_run(2, a, ": > %s/huge", self->dir));
	ASSERT_EQ(0, node_run(1, a, "dd if=/dev/urandom of=/tmp/huge bs=1M count=16 2>/dev/null && cat /tmp/huge > %s/huge && md5sum < /tmp/huge && rm /tmp/huge",
			      self->dir)) TH_LOG("%s", a);
	ASSERT_EQ(0, node_run(3, b, "md5sum < %s/huge", self->dir))
		TH_LOG("%s", b);
	EXPECT_STREQ(a, b);
	ASSERT_EQ(0, node_run(2, b, "md5sum < %s/huge", self->dir));
	EXPECT_STREQ(a, b);
	/* a page read back from the home's disk is written and read again */
	ASSERT_EQ(0, node_run(3, b, "printf XYZ | dd of=%s/huge bs=1 seek=100 conv=notrunc 2>/dev/null",
			      self->dir));
	ASSERT_EQ(0, node_run(1, b, "dd if=%s/huge bs=1 skip=100 count=3 2>/dev/null",
			      self->dir));
	EXPECT_STREQ("XYZ", b);
	/* cut and grown again: the pages read from the disk are zeros */
	ASSERT_EQ(0, node_run(3, b, "truncate -s 0 %s/huge && truncate -s 1M %s/huge",
			      self->dir, self->dir)) TH_LOG("%s", b);
	ASSERT_EQ(0, node_run(1, b, "tr -d \"\\000\" < %s/huge | wc -c",
			      self->dir));
	EXPECT_STREQ("0", b);
	for (i = 1; i <= 3; i++) {
		t0 = now_s();
		while ((n = page_stat(i, "copies here")) > max && now_s() - t0 < 10)
			usleep(200000);
		EXPECT_LE(n, max) TH_LOG("node %d keeps %ld pages, bound %ld",
					 i, n, max);
		EXPECT_LE(0, n);
		total += n;
	}
	/* the file's 4096 pages are on node 2's disk, not in memory */
	EXPECT_GT(4096, total);
	n = page_stat(2, "evictions");
	EXPECT_LT(2048, n) TH_LOG("the home evicted %ld pages", n);
	for (i = 1; i <= 3; i++)
		EXPECT_EQ(0, node_run(i, a, "echo 0 > /sys/module/kdfs/parameters/cache_mb"));
}

/*
 * One file mapped shared on two nodes: they take turns on a counter in
 * the mapping (each turn checks the other's store), read() elsewhere sees
 * the stores with no msync, a mapping sees write(), a truncate elsewhere
 * makes the cut page fault with SIGBUS, and a program stored on kdfs runs
 * on another node.
 */
TEST_F(kdfs, shared_mmap_two_nodes)
{
	char out[OUT_MAX], cmd[512];
	FILE *p[2];
	int i, n = 0, turns = 0;

	ASSERT_EQ(0, node_run(1, out, "truncate -s 8192 %s/m", self->dir))
		TH_LOG("%s", out);
	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "kdfs-mmap pingpong %s/m %d 200",
			 self->dir, i);
		p[i] = bg_start(i + 1, cmd);
		ASSERT_NE(NULL, p[i]);
	}
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, bg_wait(p[i], out)) {
			TH_LOG("node %d: %s", i + 1, out);
		}
		EXPECT_STREQ("400\n", out);
	}
	/* read() on a third node: the counter and the turns, no msync */
	ASSERT_EQ(0, node_run(3, out, "od -An -tu4 -N4 %s/m; od -An -tu4 -j4096 -N4 %s/m",
			      self->dir, self->dir)) TH_LOG("%s", out);
	i = sscanf(out, "%d %d", &n, &turns);
	EXPECT_EQ(2, i);
	EXPECT_EQ(400, n);
	EXPECT_EQ(200, turns);
	ASSERT_EQ(0, node_run(3, out, "kdfs-mmap store %s/m 100 hello",
			      self->dir)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "dd if=%s/m bs=1 skip=100 count=5 2>/dev/null",
			      self->dir));
	EXPECT_STREQ("hello", out);
	ASSERT_EQ(0, node_run(2, out, "kdfs-mmap load %s/m 100 5", self->dir));
	EXPECT_STREQ("hello", out);
	/* write() on one node, a mapping on another */
	ASSERT_EQ(0, node_run(2, out, "printf WORLD | dd of=%s/m bs=1 seek=100 conv=notrunc 2>/dev/null",
			      self->dir));
	ASSERT_EQ(0, node_run(3, out, "kdfs-mmap load %s/m 100 5", self->dir));
	EXPECT_STREQ("WORLD", out);
	/* cut on node 1: past the end faults on node 2 */
	ASSERT_EQ(0, node_run(2, out, "kdfs-mmap touch %s/m 5000", self->dir));
	EXPECT_STREQ("0", out);
	ASSERT_EQ(0, node_run(1, out, "truncate -s 100 %s/m", self->dir));
	ASSERT_EQ(0, node_run(2, out, "kdfs-mmap touch %s/m 5000", self->dir));
	EXPECT_STREQ("sigbus", out);
	/* a private mapping keeps its own stores when the file changes */
	snprintf(cmd, sizeof(cmd), "kdfs-mmap private %s/m MINE %s/flag",
		 self->dir, self->dir);
	p[0] = bg_start(1, cmd);
	ASSERT_NE(NULL, p[0]);
	for (i = 0; i < 300 && node_run(2, NULL, "test -e %s/flag.ready",
					self->dir); i++)
		usleep(100000);
	ASSERT_EQ(0, node_run(2, out, "printf THEIRS | dd of=%s/m conv=notrunc 2>/dev/null && touch %s/flag",
			      self->dir, self->dir));
	EXPECT_EQ(0, bg_wait(p[0], out));
	EXPECT_STREQ("MINE\n", out);
	/* write() from and read() into a mapping of the same file */
	ASSERT_EQ(0, node_run(3, out, "truncate -s 8192 %s/m && kdfs-mmap selfio %s/m && dd if=%s/m bs=4096 skip=1 2>/dev/null | head -c 6",
			      self->dir, self->dir, self->dir))
		TH_LOG("%s", out);
	EXPECT_STREQ("ok\nTHEIRS", out);
	/* exec: the loader maps the program's pages */
	ASSERT_EQ(0, node_run(1, out, "cp /bin/busybox %s/busybox", self->dir))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "%s/busybox echo ran", self->dir))
		TH_LOG("%s", out);
	EXPECT_STREQ("ran", out);
}

/*
 * readdir positions survive unlinks: rm -r unlinks each entry as it reads
 * the directory, and must find every one of them (1200 names fill a few
 * getdents buffers: a listing that shifts under the reader skipped 511
 * of them, and rmdir failed).
 */
TEST_F_TIMEOUT(kdfs, rm_r_while_reading, 180)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(2, out, "mkdir %s/many && cd %s/many && i=0; while [ $i -lt 1200 ]; do : > a-rather-long-file-name-to-fill-bufs-$i || exit 1; i=$((i+1)); done",
			      self->dir, self->dir)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "ls %s/many | wc -l", self->dir));
	EXPECT_STREQ("1200", out);
	EXPECT_EQ(0, node_run(1, out, "rm -r %s/many", self->dir)) {
		TH_LOG("%s", out);
	}
	EXPECT_NE(0, node_run(3, out, "test -e %s/many", self->dir));
}

/* Names of 200 bytes: 2300 of them are some 480 KiB of listing. */
#define BIG_NAME "$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/*
 * How many files of @node's store hold the listing of directory @ino
 * (d/<id>, one per node of its tree); -1 if unknown.
 */
static int listing_files(int node, unsigned long long ino)
{
	char out[OUT_MAX];

	if (node_run(node, out, "ls /var/lib/kddm/kdfs/d | grep -cE \"^%04llx[0-9a-f]{6}%06llx$\"",
		     ino >> 48, ino & 0xffffff) > 1)
		return -1;
	return atoi(out);
}

/*
 * A directory of far more names than one object of its listing holds
 * (128 KiB): the listing splits into a tree of objects, each a file in
 * its home's store, while another node adds names too. Every node sees
 * every name once; lookups, renames and rmdir of the non-empty directory
 * behave; rm -r from a third node empties it, and its files go.
 */
TEST_F_TIMEOUT(kdfs, big_directory, 300)
{
	char out[OUT_MAX], glob[OUT_MAX], cmd[1024], big[300];
	unsigned long long ino;
	FILE *p[2];
	int n, files;

	snprintf(big, sizeof(big), "%s/big", self->dir);
	ASSERT_EQ(0, node_run(2, out, "mkdir %s && stat -c %%i %s", big, big))
		TH_LOG("%s", out);
	ino = strtoull(out, NULL, 10);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && i=0; while [ $i -lt 2000 ]; do : > a" BIG_NAME " || exit 1; i=$((i+1)); done",
		 big);
	p[0] = bg_start(2, cmd);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && i=0; while [ $i -lt 300 ]; do : > c" BIG_NAME " || exit 1; i=$((i+1)); done",
		 big);
	p[1] = bg_start(3, cmd);
	for (n = 0; n < 2; n++) {
		ASSERT_NE(NULL, p[n]);
		EXPECT_EQ(0, bg_wait(p[n], out)) TH_LOG("%d: %s", n, out);
	}
	for (n = 1; n <= 3; n++) {
		ASSERT_EQ(0, node_run(n, out, "ls %s | wc -l; ls %s | sort -u | wc -l; ls %s | grep -c ^c",
				      big, big, big));
		EXPECT_STREQ("2300\n2300\n300", out) TH_LOG("node %d", n);
	}
	files = listing_files(2, ino);
	EXPECT_LE(4, files) TH_LOG("%d files hold the listing", files);
	/* kddm where names them; they are on its home */
	ASSERT_EQ(0, node_run(1, out, "kddm where %s | sed -n \"s|.*also in: ||p\"",
			      big));
	ASSERT_EQ(0, node_run(2, glob, "cd /var/lib/kddm && ls %s | wc -l", out))
		TH_LOG("%s: %s", out, glob);
	EXPECT_EQ(files, atoi(glob)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "i=1999; test -f %s/a" BIG_NAME " && i=299; test -f %s/c" BIG_NAME,
			      big, big)) TH_LOG("%s", out);
	EXPECT_NE(0, node_run(3, out, "rmdir %s", big));
	EXPECT_NE(NULL, strstr(out, "not empty")) TH_LOG("%s", out);
	/* a name renamed, then over another; one moved out */
	ASSERT_EQ(0, node_run(3, out, "cd %s && i=7; mv a" BIG_NAME " moved && i=8; mv moved a" BIG_NAME " && i=9; mv c" BIG_NAME " ../out",
			      big)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "cd %s && ls | wc -l; ls | grep -c ^moved; i=7; test -e a" BIG_NAME "; echo $?; i=8; test -e a" BIG_NAME "; echo $?; test -f ../out; echo $?",
			      big));
	EXPECT_STREQ("2298\n0\n1\n0\n0", out);
	ASSERT_EQ(0, node_run(1, out, "rm -r %s", big)) TH_LOG("%s", out);
	EXPECT_NE(0, node_run(2, out, "test -e %s", big));
	/* its files go at the home's write-back (every 5 s) */
	for (n = 0; n < 30 && (files = listing_files(2, ino)); n++)
		sleep(1);
	EXPECT_EQ(0, files);
}

/*
 * Extended attributes set on one node are read, listed and removed on
 * the others; an access ACL lets one other user in, chmod narrows it
 * everywhere; a directory's default ACL is inherited by a file another
 * node makes in it.
 */
TEST_F(kdfs, xattrs_and_acls)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(1, out, "cd %s && echo data > f && chmod 600 f && kdfs-xattr set f user.color blue && kdfs-xattr set f trusted.t 1",
			      self->dir)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "kdfs-xattr get %s/f user.color",
			      self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("blue", out);
	ASSERT_EQ(0, node_run(3, out, "kdfs-xattr list %s/f | sort",
			      self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("trusted.t\nuser.color", out);
	/* trusted.* is for CAP_SYS_ADMIN only */
	ASSERT_EQ(0, node_run(3, out, "kdfs-xattr as 1000 1000 kdfs-xattr list %s/f",
			      self->dir));
	EXPECT_STREQ("user.color", out);
	ASSERT_EQ(0, node_run(2, out, "kdfs-xattr rm %s/f user.color",
			      self->dir)) TH_LOG("%s", out);
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr get %s/f user.color",
			      self->dir));
	EXPECT_STREQ("ENODATA", out);

	/* uid 1000 may read through the ACL, 1001 may not */
	ASSERT_EQ(0, node_run(1, out, "kdfs-xattr setacl %s/f u::rw-,u:1000:r--,g::---,m::r--,o::---",
			      self->dir)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "kdfs-xattr as 1000 1000 cat %s/f",
			      self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("data", out);
	EXPECT_NE(0, node_run(2, out, "kdfs-xattr as 1001 1001 cat %s/f",
			      self->dir));
	ASSERT_EQ(0, node_run(3, out, "stat -c %%a %s/f; kdfs-xattr getacl %s/f",
			      self->dir, self->dir));
	EXPECT_STREQ("640\nu::rw-,u:1000:r--,g::---,m::r--,o::---", out);
	/* chmod on node 2 sets the mask: node 3 denies uid 1000 now */
	ASSERT_EQ(0, node_run(2, out, "chmod 600 %s/f", self->dir));
	EXPECT_NE(0, node_run(3, out, "kdfs-xattr as 1000 1000 cat %s/f",
			      self->dir));
	ASSERT_EQ(0, node_run(1, out, "kdfs-xattr getacl %s/f", self->dir));
	EXPECT_STREQ("u::rw-,u:1000:r--,g::---,m::---,o::---", out);

	/* a default ACL, inherited by a file made on another node */
	ASSERT_EQ(0, node_run(1, out, "mkdir %s/d && kdfs-xattr setdefacl %s/d u::rwx,u:1000:rwx,g::r-x,m::rwx,o::---",
			      self->dir, self->dir)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "umask 022; echo x > %s/d/new",
			      self->dir)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "kdfs-xattr getacl %s/d/new; stat -c %%a %s/d/new",
			      self->dir, self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("u::rw-,u:1000:rwx,g::r-x,m::rw-,o::---\n660", out);
	EXPECT_EQ(0, node_run(3, out, "echo y | kdfs-xattr as 1000 1000 tee -a %s/d/new",
			      self->dir)) TH_LOG("%s", out);
	/* without a default ACL, the umask as usual */
	ASSERT_EQ(0, node_run(2, out, "umask 027; echo x > %s/plain; stat -c %%a %s/plain",
			      self->dir, self->dir));
	EXPECT_STREQ("640", out);
}

/*
 * Node 3's backing store full: what it homes fails with ENOSPC (a create
 * leaves nothing behind, an fsync reports it), reads go on, files homed
 * elsewhere take its writes, and all is well once there is room again.
 */
TEST_F_TIMEOUT(kdfs, full_backing_store, 180)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(3, out, "echo before > %s/mine && sync", self->dir));
	ASSERT_EQ(0, node_run(1, out, "echo before > %s/theirs && sync", self->dir));
	ASSERT_EQ(0, node_run(3, out, "mkdir -p /var/lib/kddm/fill && i=0; while fallocate -l 16M /var/lib/kddm/fill/$i 2>/dev/null; do i=$((i+1)); done; while fallocate -l 4k /var/lib/kddm/fill/s$i 2>/dev/null; do i=$((i+1)); done; df /var/lib/kddm | tail -1"))
		TH_LOG("%s", out);
	TH_LOG("full: %s", out);
	EXPECT_NE(0, node_run(3, out, "mkdir %s/newdir", self->dir));
	EXPECT_NE(NULL, strstr(out, "No space left")) TH_LOG("%s", out);
	EXPECT_NE(0, node_run(3, out, "echo x > %s/newfile", self->dir));
	EXPECT_NE(NULL, strstr(out, "No space left")) TH_LOG("%s", out);
	/* nothing left behind, on any node */
	EXPECT_EQ(0, node_run(1, out, "ls %s", self->dir));
	EXPECT_STREQ("mine\ntheirs", out);
	/* a file node 3 holds: the write lands, its fsync fails */
	EXPECT_NE(0, node_run(2, out, "dd if=/dev/zero of=%s/mine bs=64k count=8 conv=fsync 2>&1",
			      self->dir));
	EXPECT_NE(NULL, strstr(out, "No space left")) TH_LOG("%s", out);
	/* a file node 1 holds takes node 3's writes, durably */
	EXPECT_EQ(0, node_run(3, out, "echo after > %s/theirs && dd if=/dev/null of=%s/theirs conv=notrunc,fsync 2>/dev/null && cat %s/theirs",
			      self->dir, self->dir, self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("after", out);
	/* room again: node 3 makes files and syncs them */
	ASSERT_EQ(0, node_run(3, out, "rm -rf /var/lib/kddm/fill"));
	EXPECT_EQ(0, node_run(3, out, "mkdir %s/newdir && echo x > %s/newdir/f && sync",
			      self->dir, self->dir)) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(2, out, "dd if=/dev/zero of=%s/mine bs=64k count=8 conv=fsync 2>&1",
			      self->dir)) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(1, out, "cat %s/newdir/f; stat -c %%s %s/mine",
			      self->dir, self->dir));
	EXPECT_STREQ("x\n524288", out);
}

/*
 * A directory's kdfs.placement says which node holds what is made in it:
 * a fixed node, or round-robin over the nodes; subdirectories inherit it.
 * (An inode number carries its node in bits 48..63.)
 */
TEST_F(kdfs, placement_policies)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(1, out, "mkdir %s/p && kdfs-xattr set %s/p kdfs.placement node:2 && kdfs-xattr get %s/p kdfs.placement",
			      self->dir, self->dir, self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("node:2", out);
	ASSERT_EQ(0, node_run(3, out, "echo a > %s/p/a && mkdir %s/p/sub && for f in %s/p/a %s/p/sub; do echo $(( $(stat -c %%i $f) >> 48 )); done",
			      self->dir, self->dir, self->dir, self->dir))
		TH_LOG("%s", out);
	EXPECT_STREQ("2\n2", out);
	ASSERT_EQ(0, node_run(1, out, "kdfs-xattr get %s/p/sub kdfs.placement",
			      self->dir));
	EXPECT_STREQ("node:2", out);
	ASSERT_EQ(0, node_run(2, out, "kdfs-xattr set %s/p kdfs.placement round-robin && cd %s/p && for i in 1 2 3 4 5 6; do : > r$i; echo $(( $(stat -c %%i r$i) >> 48 )); done | sort -u",
			      self->dir, self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("1\n2\n3", out);
	/* bad values and places are refused */
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr set %s/p kdfs.placement node:0",
			      self->dir));
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr set %s/p kdfs.placement anywhere",
			      self->dir));
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr set %s/p/a kdfs.placement local",
			      self->dir));
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr set %s/p kdfs.other x",
			      self->dir));
}

/*
 * The 64 KiB units of a file made on node 2, striped over nodes 1..3,
 * are on nodes 2, 3, 1, 2, ... (unit 0 on the inode's node): node @n's
 * backing store holds its own and nothing of the others'.
 */
#define STRIPE_CHECK \
	"b=/var/lib/kddm/kdfs/f/$(printf %%016x $(stat -c %%i %s)); " \
	"for u in $(seq 0 11); do " \
	"got=$(dd if=$b bs=64k skip=$u count=1 2>/dev/null | md5sum); " \
	"if [ $(((u + 1) %% 3 + 1)) = %d ]; then " \
	"want=$(dd if=/tmp/stripe.src bs=64k skip=$u count=1 2>/dev/null | md5sum); " \
	"[ \"$got\" = \"$want\" ] || echo \"unit $u missing\"; " \
	"else [ $(dd if=$b bs=64k skip=$u count=1 2>/dev/null | tr -d \"\\\\000\" | wc -c) = 0 ] || echo \"unit $u here\"; fi; " \
	"done; echo checked"

/*
 * kdfs.placement "stripe:SIZE": a new file's data goes over every node
 * with kdfs mounted, SIZE bytes on each in turn. A file written on one
 * node reads whole on the others; after its fsync each node's backing
 * store holds its own units and nothing of the others'; kddm where names
 * the nodes; a shared mapping is coherent over units of two nodes; a
 * truncate and an unlink reach every node's store.
 */
TEST_F_TIMEOUT(kdfs, striped_files, 240)
{
	char out[OUT_MAX], f[128], cmd[512], sum[64];
	FILE *p[2];
	int n, i, turns = 0;

	ASSERT_EQ(3, nodes());
	ASSERT_EQ(0, node_run(1, out, "mkdir %s/s && kdfs-xattr set %s/s kdfs.placement stripe:64k && kdfs-xattr get %s/s kdfs.placement",
			      self->dir, self->dir, self->dir)) TH_LOG("%s", out);
	EXPECT_STREQ("stripe:64k", out);
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr set %s/s kdfs.placement stripe:3k", self->dir));
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr set %s/s kdfs.placement stripe:32m", self->dir));
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr set %s/s kdfs.placement stripe:64q", self->dir));
	EXPECT_NE(0, node_run(1, out, "kdfs-xattr set %s/s kdfs.placement stripe:", self->dir));
	snprintf(f, sizeof(f), "%s/s/f", self->dir);
	/* the same 768 KiB on every node, to compare with */
	for (n = 1; n <= 3; n++)
		ASSERT_EQ(0, node_run(n, out, "seq 1 200000 | head -c 786432 > /tmp/stripe.src && md5sum < /tmp/stripe.src"))
			TH_LOG("%s", out);
	snprintf(sum, sizeof(sum), "%.63s", out);
	ASSERT_EQ(0, node_run(2, out, "dd if=/tmp/stripe.src of=%s bs=64k conv=fsync 2>&1", f))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "md5sum < %s", f)) TH_LOG("%s", out);
	EXPECT_STREQ(sum, out);
	ASSERT_EQ(0, node_run(1, out, "kddm where --json %s", f)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"metadata_node\":2,")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"data_nodes\":[1,2,3],\"stripe_unit\":65536"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "kddm where %s", f)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "data striped over nodes 1,2,3")) TH_LOG("%s", out);
	/* each node's backing store: its units, durable, and only those */
	for (n = 1; n <= 3; n++) {
		ASSERT_EQ(0, node_run(n, out, STRIPE_CHECK, f, n)) TH_LOG("%s", out);
		EXPECT_STREQ("checked", out) TH_LOG("node %d", n);
	}
	/* a rewrite over units 1 and 2 (nodes 3 and 1), read on each */
	ASSERT_EQ(0, node_run(1, out, "printf STRIPED | dd of=%s bs=1 seek=131070 conv=notrunc 2>/dev/null && dd if=%s bs=1 skip=131070 count=7 2>/dev/null",
			      f, f)) TH_LOG("%s", out);
	EXPECT_STREQ("STRIPED", out);
	ASSERT_EQ(0, node_run(3, out, "dd if=%s bs=1 skip=131070 count=7 2>/dev/null", f));
	EXPECT_STREQ("STRIPED", out);
	/* a shared mapping over 4 KiB units: page 0 on node 1, page 1 on 2 */
	ASSERT_EQ(0, node_run(1, out, "mkdir %s/s4 && kdfs-xattr set %s/s4 kdfs.placement stripe:4k && truncate -s 8192 %s/s4/m",
			      self->dir, self->dir, self->dir)) TH_LOG("%s", out);
	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "kdfs-mmap pingpong %s/s4/m %d 100",
			 self->dir, i);
		p[i] = bg_start(i + 2, cmd);
		ASSERT_NE(NULL, p[i]);
	}
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, bg_wait(p[i], out)) TH_LOG("node %d: %s", i + 2, out);
		EXPECT_STREQ("200\n", out);
	}
	ASSERT_EQ(0, node_run(1, out, "od -An -tu4 -N4 %s/s4/m; od -An -tu4 -j4096 -N4 %s/s4/m",
			      self->dir, self->dir)) TH_LOG("%s", out);
	n = sscanf(out, "%d %d", &turns, &i);
	EXPECT_EQ(2, n);
	EXPECT_EQ(200, turns);
	EXPECT_EQ(100, i);
	/* truncate on node 3: the size and data everywhere, every store cut */
	ASSERT_EQ(0, node_run(3, out, "truncate -s 100000 %s", f)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "head -c 100000 /tmp/stripe.src | md5sum"));
	snprintf(sum, sizeof(sum), "%.63s", out);
	ASSERT_EQ(0, node_run(2, out, "md5sum < %s; stat -c %%s %s",
			      f, f));
	EXPECT_EQ(0, strncmp(out, sum, strlen(sum))) TH_LOG("%s / %s", out, sum);
	EXPECT_NE(NULL, strstr(out, "\n100000")) TH_LOG("%s", out);
	for (n = 1; n <= 3; n++) {
		ASSERT_EQ(0, node_run(n, out, "stat -c %%s /var/lib/kddm/kdfs/f/$(printf %%016x $(stat -c %%i %s))",
				      f)) TH_LOG("node %d: %s", n, out);
		EXPECT_GE(100000, atoi(out)) TH_LOG("node %d: %s", n, out);
	}
	/* unlinked: every node's share goes (at the next write-back) */
	ASSERT_EQ(0, node_run(1, out, "printf %%016x $(stat -c %%i %s)", f));
	snprintf(cmd, sizeof(cmd), "%.500s", out);
	ASSERT_EQ(0, node_run(1, out, "rm %s && sync", f)) TH_LOG("%s", out);
	for (n = 1; n <= 3; n++) {
		EXPECT_EQ(0, node_run(n, out, "for i in $(seq 1 150); do [ -e /var/lib/kddm/kdfs/f/%s ] || exit 0; sleep 0.2; done; exit 1",
				      cmd)) TH_LOG("node %d still has f/%s", n, cmd);
	}
	ASSERT_EQ(0, node_run(2, out, "ls %s/s", self->dir));
	EXPECT_STREQ("", out);
}

/*
 * Holder @cmd started in the background on @node, @file's lock held by it
 * once @probe (on @pnode) prints @held; then a waiter (@wcmd on @wnode,
 * its output in /tmp/waiter.out there, which says "waiting" before it
 * blocks) started and seen still waiting; then the holder killed. The
 * waiter must get the lock then, within 5 s (the host's clock: the
 * guests' are not one).
 */
static void handover(struct __test_metadata *_metadata, int node,
		     const char *cmd, int pnode, const char *probe,
		     const char *held, int wnode, const char *wcmd,
		     const char *kill)
{
	char out[OUT_MAX], line[600];
	FILE *holder, *waiter;
	double t0;

	holder = bg_start(node, cmd);
	ASSERT_NE(NULL, holder);
	/* (a probe or a cat that fails before the command ran: asked again) */
	t0 = now_s();
	while ((node_run(pnode, out, "%s", probe) || strcmp(out, held)) &&
	       now_s() - t0 < 10)
		usleep(100000);
	ASSERT_STREQ(held, out);
	snprintf(line, sizeof(line), "%s > /tmp/waiter.out; cat /tmp/waiter.out",
		 wcmd);
	node_run(wnode, NULL, "rm -f /tmp/waiter.out");
	waiter = bg_start(wnode, line);
	ASSERT_NE(NULL, waiter);
	t0 = now_s();
	while ((node_run(wnode, out, "cat /tmp/waiter.out 2>/dev/null") ||
		strcmp(out, "waiting")) && now_s() - t0 < 10)
		usleep(100000);
	ASSERT_STREQ("waiting", out);
	/* still waiting after a while, just before the kill */
	usleep(500000);
	ASSERT_EQ(0, node_run(wnode, out, "cat /tmp/waiter.out"));
	EXPECT_STREQ("waiting", out);
	ASSERT_EQ(0, node_run(node, out, "%s", kill)) TH_LOG("%s", out);
	t0 = now_s();
	bg_wait(holder, out);
	EXPECT_EQ(0, bg_wait(waiter, out)) TH_LOG("%s", out);
	EXPECT_STREQ("waiting\nlocked\n", out);
	EXPECT_GT(5.0, now_s() - t0) TH_LOG("the waiter took %.1f s", now_s() - t0);
}

/*
 * File locks are cluster-wide: an fcntl() lock or a flock() held on one
 * node conflicts with those asked for on another (each kind with its
 * own); F_GETLK on another node sees it (pid -1); a waiter on another
 * node gets the lock once the holder lets it go (killed).
 */
TEST_F_TIMEOUT(kdfs, locks_across_nodes, 120)
{
	char out[OUT_MAX], cmd[256], probe[256], wcmd[256], kill[64], f[128];

	snprintf(f, sizeof(f), "%s/lk", self->dir);
	ASSERT_EQ(0, node_run(1, out, ": > %s", f));
	snprintf(cmd, sizeof(cmd), "kdfs-lock posix %s 0 100 w wait 600000", f);
	snprintf(probe, sizeof(probe), "kdfs-lock test %s 0 0 w", f);
	snprintf(wcmd, sizeof(wcmd), "kdfs-lock posix %s 0 1 w wait 0", f);
	/* the holder is the only kdfs-lock on its node then */
	snprintf(kill, sizeof(kill), "kill $(pidof kdfs-lock)");
	/* checks while node 1 holds it, then the hand-over to node 3 */
	{
		FILE *holder = bg_start(1, cmd);
		double t0 = now_s();

		ASSERT_NE(NULL, holder);
		while ((node_run(2, out, "%s", probe) ||
			strcmp(out, "held w 0 100 -1")) && now_s() - t0 < 10)
			usleep(100000);
		ASSERT_STREQ("held w 0 100 -1", out);
		EXPECT_EQ(2, node_run(2, out, "kdfs-lock posix %s 50 10 r nb 0", f));
		EXPECT_STREQ("busy", out);
		EXPECT_EQ(2, node_run(3, out, "kdfs-lock ofd %s 99 1 w nb 0", f));
		EXPECT_STREQ("busy", out);
		EXPECT_EQ(0, node_run(2, out, "kdfs-lock posix %s 100 10 w nb 0", f));
		EXPECT_STREQ("locked", out);
		/* flock() does not meet fcntl() locks */
		EXPECT_EQ(0, node_run(3, out, "kdfs-lock flock %s ex nb 0", f));
		EXPECT_STREQ("locked", out);
		ASSERT_EQ(0, node_run(1, out, "%s", kill));
		bg_wait(holder, out);
		ASSERT_EQ(0, node_run(2, out, "%s", probe));
		EXPECT_STREQ("free", out);
	}
	handover(_metadata, 1, cmd, 2, probe, "held w 0 100 -1", 3, wcmd, kill);
	ASSERT_EQ(0, node_run(2, out, "%s", probe));
	EXPECT_STREQ("free", out);

	/* flock(): exclusive on node 2, waited for on node 3 */
	snprintf(cmd, sizeof(cmd), "kdfs-lock flock %s ex wait 600000", f);
	snprintf(probe, sizeof(probe), "kdfs-lock flock %s sh nb 0", f);
	snprintf(wcmd, sizeof(wcmd), "kdfs-lock flock %s ex wait 0", f);
	handover(_metadata, 2, cmd, 1, probe, "busy", 3, wcmd, kill);
	EXPECT_EQ(0, node_run(1, out, "kdfs-lock flock %s sh nb 0", f));
	EXPECT_STREQ("locked", out);
}

/* Which node holds what, and the space of all of them. */
TEST_F(kdfs, where_and_df)
{
	char out[OUT_MAX];
	unsigned long long one, all;
	int n;

	ASSERT_EQ(0, node_run(3, out, "echo x > %s/w3 && mkdir %s/d3",
			      self->dir, self->dir));
	ASSERT_EQ(0, node_run(1, out, "kddm where %s/w3", self->dir))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "data on node 3")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "kddm where --json %s/d3", self->dir));
	EXPECT_NE(NULL, strstr(out, "\"metadata_node\":3")) TH_LOG("%s", out);
	EXPECT_NE(0, node_run(2, out, "kddm where /etc"));
	EXPECT_NE(NULL, strstr(out, "not on kdfs")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "kddm df | tail -n +2 | wc -l"));
	EXPECT_EQ(nodes(), atoi(out));
	ASSERT_EQ(0, node_run(2, out, "kddm df --json"));
	for (n = 1; n <= nodes(); n++) {
		char tag[32];

		snprintf(tag, sizeof(tag), "\"node\":%d,", n);
		EXPECT_NE(NULL, strstr(out, tag)) TH_LOG("%s", out);
	}
	/* statfs: the disks of all nodes together */
	ASSERT_EQ(0, node_run(1, out, "df -k /var/lib/kddm | tail -1 | awk \"{print \\$2}\""));
	one = strtoull(out, NULL, 10);
	ASSERT_EQ(0, node_run(1, out, "df -k /kdfs | tail -1 | awk \"{print \\$2}\""));
	all = strtoull(out, NULL, 10);
	EXPECT_LT(one * (nodes() - 1), all) TH_LOG("one %llu all %llu", one, all);
	EXPECT_GE(one * nodes() + 1024, all) TH_LOG("one %llu all %llu", one, all);
}

TEST_F(kdfs, bad_mount_input)
{
	char out[OUT_MAX];

	EXPECT_NE(0, node_run(3, out, "mkdir -p /mnt/k && mount -t kdfs -o backing=/tmp none /mnt/k"));
	EXPECT_NE(NULL, strstr(out, "busy")) TH_LOG("a second mount: %s", out);
	ASSERT_EQ(0, node_run(3, out, "umount /kdfs")) TH_LOG("%s", out);
	EXPECT_NE(0, node_run(3, out, "mount -t kdfs none /kdfs"));
	EXPECT_NE(0, node_run(3, out, "mount -t kdfs -o backing=/nonexistent none /kdfs"));
	EXPECT_NE(NULL, strstr(out, "No such file")) TH_LOG("%s", out);
	EXPECT_NE(0, node_run(3, out, "mount -t kdfs -o backing=/etc/kddm/node none /kdfs"));
	EXPECT_NE(0, node_run(3, out, "mount -t kdfs -o backing=/var/lib/kddm,bogus=1 none /kdfs"));
	EXPECT_NE(0, node_run(3, out, "mount -t kdfs -o backing=/var/lib/kddm,root=0 none /kdfs"));
	EXPECT_NE(0, node_run(3, out, "mkdir -p /mnt/ro && mount -t tmpfs -o ro tmpfs /mnt/ro && mount -t kdfs -o backing=/mnt/ro none /kdfs"));
	EXPECT_NE(NULL, strstr(out, "Read-only")) TH_LOG("%s", out);
	/* another node's backing directory is refused */
	EXPECT_NE(0, node_run(3, out, "mkdir -p /tmp/other/kdfs && echo 1 > /tmp/other/kdfs/node && mount -t kdfs -o backing=/tmp/other none /kdfs"));
	node_run(3, NULL, "umount /mnt/ro");
	/* and the right one works again, with the same tree */
	ASSERT_EQ(0, node_run(3, out, "kddm-load kdfs && ls -d %s", self->dir))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "dmesg | grep -c \"kdfs: backing directory\""));
	EXPECT_LE(3, atoi(out));
}

TEST_HARNESS_MAIN
