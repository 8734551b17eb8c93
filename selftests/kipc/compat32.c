// SPDX-License-Identifier: GPL-2.0
/*
 * kipc for 32-bit (ia32) programs: static -m32 copies of the test programs
 * (ipc-diff32, ipc-tool32, msg-tool32, sem-tool32), whose glibc goes
 * through ipc(2) and the direct ia32 calls (semtimedop_time64).
 *
 *  - the 32-bit ipc-diff transcript on kipc is the one on the kernel's own
 *    IPC, line for line, and both are the 64-bit one but for the lines
 *    where the kernel's compat code itself differs (shmmax, cut to
 *    INT_MAX for 32-bit tasks);
 *  - a segment, a queue, a semaphore set created by a 64-bit program on one
 *    node is used by a 32-bit program on another, and the other way round;
 *  - the ia32 entry points were the ones redirected (kipc counts).
 * Skips when the 32-bit programs were not built (no gcc-multilib).
 */
#include "kselftest_harness.h"
#include "cluster.h"

#define new_key() cluster_key(0x4c000000)

/* The 64-bit line that the kernel's compat code changes for a 32-bit task. */
static bool compat_line(const char *line, size_t n)
{
	return n > 8 && !strncmp(line, "shminfo ", 8);
}

static void compare(struct __test_metadata *_metadata, const char *what,
		    const char *a, const char *b, bool compat)
{
	int line = 1;

	while (*a || *b) {
		size_t na = strcspn(a, "\n"), nb = strcspn(b, "\n");

		if (!compat || !compat_line(a, na))
			EXPECT_TRUE(na == nb && !strncmp(a, b, na))
				TH_LOG("%s line %d: '%.*s' '%.*s'", what, line,
				       (int)na, a, (int)nb, b);
		a += na + !!a[na];
		b += nb + !!b[nb];
		line++;
	}
}

static bool have32(void)
{
	char out[OUT_MAX];

	return !node_run(1, out, "command -v ipc-diff32");
}

FIXTURE(c32) {
	int key;
};

FIXTURE_SETUP(c32)
{
	char out[OUT_MAX];

	if (!have32())
		SKIP(return, "no 32-bit test programs (gcc-multilib)");
	ASSERT_EQ(0, cluster_load_kipc(out)) TH_LOG("%s", out);
	self->key = new_key();
}

FIXTURE_TEARDOWN(c32)
{
}

TEST_F_TIMEOUT(c32, diff_transcripts, 300)
{
	static char l64[OUT_MAX], l32[OUT_MAX], c64[OUT_MAX], c32[OUT_MAX];

	ASSERT_EQ(0, node_run(2, l64, "unshare -i ipc-diff 0x6b650001"))
		TH_LOG("%s", l64);
	ASSERT_EQ(0, node_run(2, l32, "unshare -i ipc-diff32 0x6b650002"))
		TH_LOG("%s", l32);
	ASSERT_EQ(0, node_run(2, c32, "ipc-diff32 0x6b650003"))
		TH_LOG("%s", c32);
	ASSERT_EQ(0, node_run(3, c64, "ipc-diff 0x6b650004"))
		TH_LOG("%s", c64);
	ASSERT_NE(NULL, strstr(l32, "\nend ")) TH_LOG("%s", l32);
	ASSERT_NE(NULL, strstr(c32, "\nend ")) TH_LOG("%s", c32);
	/* the kernel's compat code and kipc's */
	compare(_metadata, "local32/cluster32", l32, c32, false);
	/* 32-bit and 64-bit, on each */
	compare(_metadata, "local64/local32", l64, l32, true);
	compare(_metadata, "cluster64/cluster32", c64, c32, true);
}

/* The same through the direct ia32 calls (ipc-diff32d), not ipc(2). */
TEST_F_TIMEOUT(c32, diff_transcripts_direct, 300)
{
	static char l64[OUT_MAX], l32[OUT_MAX], c32[OUT_MAX];
	char before[OUT_MAX], after[OUT_MAX];

	ASSERT_EQ(0, node_run(3, before, "grep \"^ia32_.*sys_sem\" /sys/kernel/debug/kipc/counts"))
		TH_LOG("%s", before);
	ASSERT_EQ(0, node_run(3, l64, "unshare -i ipc-diff 0x6b650011"))
		TH_LOG("%s", l64);
	ASSERT_EQ(0, node_run(3, l32, "unshare -i ipc-diff32d 0x6b650012"))
		TH_LOG("%s", l32);
	ASSERT_EQ(0, node_run(3, c32, "ipc-diff32d 0x6b650013"))
		TH_LOG("%s", c32);
	ASSERT_NE(NULL, strstr(l32, "\nend ")) TH_LOG("%s", l32);
	ASSERT_NE(NULL, strstr(c32, "\nend ")) TH_LOG("%s", c32);
	compare(_metadata, "local32d/cluster32d", l32, c32, false);
	compare(_metadata, "local64/local32d", l64, l32, true);
	/* the direct entry points were the ones redirected */
	ASSERT_EQ(0, node_run(3, after, "grep \"^ia32_.*sys_sem\" /sys/kernel/debug/kipc/counts"))
		TH_LOG("%s", after);
	EXPECT_STRNE(before, after);
}

/*
 * IPC_STAT and IPC_SET in the old layouts (16-bit ids, modes, pids and
 * counts: ipc(2) without IPC_64, which glibc never sends) give what the
 * kernel's compat code gives, through kipc's ipc(2) hook.
 */
TEST_F(c32, old_layouts)
{
	static char local[OUT_MAX], clus[OUT_MAX];
	char before[OUT_MAX], after[OUT_MAX];

	ASSERT_EQ(0, node_run(2, local, "unshare -i ipc-diff32 0x6b650021 old"))
		TH_LOG("%s", local);
	ASSERT_NE(NULL, strstr(local, "old shm perm set             key 1 uid 1234 gid 4321"))
		TH_LOG("%s", local);
	ASSERT_NE(NULL, strstr(local, "\nend ")) TH_LOG("%s", local);
	ASSERT_EQ(0, node_run(2, before, "grep \"^ia32_compat_sys_ipc\" /sys/kernel/debug/kipc/counts"))
		TH_LOG("%s", before);
	ASSERT_EQ(0, node_run(2, clus, "ipc-diff32 0x6b650022 old"))
		TH_LOG("%s", clus);
	ASSERT_EQ(0, node_run(2, after, "grep \"^ia32_compat_sys_ipc\" /sys/kernel/debug/kipc/counts"))
		TH_LOG("%s", after);
	EXPECT_STRNE(before, after);
	compare(_metadata, "local/cluster old layouts", local, clus, false);
}

TEST_F(c32, shm_64_and_32)
{
	char id[64], id2[64], out[OUT_MAX], st64[OUT_MAX], st32[OUT_MAX];

	/* 64-bit creates on node 1, 32-bit uses it on node 2 */
	ASSERT_EQ(0, node_run(1, id, "ipc-tool shm-get %d 8192 c,666",
			      self->key)) TH_LOG("%s", id);
	ASSERT_EQ(0, node_run(2, out, "ipc-tool32 shm-get %d 100", self->key))
		TH_LOG("%s", out);
	EXPECT_STREQ(id, out);
	ASSERT_EQ(0, node_run(2, out, "ipc-tool32 shm-write %s 4000 from32",
			      id)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "ipc-tool shm-read %s 4000 6", id))
		TH_LOG("%s", out);
	EXPECT_STREQ("from32", out);
	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-write %s 8000 from64",
			      id)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "ipc-tool32 shm-read %s 8000 6", id))
		TH_LOG("%s", out);
	EXPECT_STREQ("from64", out);
	ASSERT_EQ(0, node_run(3, st64, "ipc-tool shm-stat %s", id));
	ASSERT_EQ(0, node_run(2, st32, "ipc-tool32 shm-stat %s", id));
	EXPECT_STREQ(st64, st32);
	EXPECT_EQ(1, node_run(2, out, "ipc-tool32 shm-get %d 100 cx",
			      self->key));
	EXPECT_NE(NULL, strstr(out, "EEXIST")) TH_LOG("%s", out);

	/* 32-bit creates on node 3, 64-bit uses it on node 1 */
	ASSERT_EQ(0, node_run(3, id2, "ipc-tool32 shm-get %d 4096 c,600",
			      self->key + 1)) TH_LOG("%s", id2);
	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-get %d 0", self->key + 1))
		TH_LOG("%s", out);
	EXPECT_STREQ(id2, out);
	ASSERT_EQ(0, node_run(3, out, "ipc-tool32 shm-write %s 0 made32", id2));
	ASSERT_EQ(0, node_run(1, out, "ipc-tool shm-read %s 0 6", id2));
	EXPECT_STREQ("made32", out);
	ASSERT_EQ(0, node_run(1, st64, "ipc-tool shm-stat %s", id2));
	ASSERT_EQ(0, node_run(3, st32, "ipc-tool32 shm-stat %s", id2));
	EXPECT_STREQ(st64, st32);
	EXPECT_NE(NULL, strstr(st32, "size 4096 ")) TH_LOG("%s", st32);
	EXPECT_EQ(0, node_run(1, out, "ipc-tool shm-rm %s", id2));
	EXPECT_EQ(0, node_run(2, out, "ipc-tool32 shm-rm %s", id));
	EXPECT_EQ(1, node_run(1, out, "ipc-tool shm-stat %s", id));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
}

TEST_F(c32, msg_64_and_32)
{
	char id[64], out[OUT_MAX], st64[OUT_MAX], st32[OUT_MAX];

	ASSERT_EQ(0, node_run(1, id, "msg-tool get %d c,666", self->key))
		TH_LOG("%s", id);
	ASSERT_EQ(0, node_run(2, out, "msg-tool32 get %d", self->key));
	EXPECT_STREQ(id, out);
	/* a 32-bit mtype both ways */
	ASSERT_EQ(0, node_run(2, out, "msg-tool32 snd %s 5 from32", id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "msg-tool snd %s 2147483647 from64",
			      id)) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, st64, "msg-tool stat %s", id));
	ASSERT_EQ(0, node_run(2, st32, "msg-tool32 stat %s", id));
	EXPECT_STREQ(st64, st32);
	EXPECT_NE(NULL, strstr(st32, "qnum 2 cbytes 12 ")) TH_LOG("%s", st32);
	ASSERT_EQ(0, node_run(3, out, "msg-tool rcv %s 5 nowait", id))
		TH_LOG("%s", out);
	EXPECT_STREQ("5 from32", out);
	ASSERT_EQ(0, node_run(1, out, "msg-tool32 rcv %s -2147483647 nowait",
			      id)) TH_LOG("%s", out);
	EXPECT_STREQ("2147483647 from64", out);
	EXPECT_EQ(1, node_run(2, out, "msg-tool32 rcv %s 0 nowait", id));
	EXPECT_NE(NULL, strstr(out, "ENOMSG")) TH_LOG("%s", out);
	/* IPC_SET from a 32-bit task, seen by a 64-bit one */
	ASSERT_EQ(0, node_run(2, out, "msg-tool32 set %s 1000 640", id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, st64, "msg-tool stat %s", id));
	EXPECT_NE(NULL, strstr(st64, "qbytes 1000 mode 640")) TH_LOG("%s", st64);
	EXPECT_EQ(0, node_run(3, out, "msg-tool32 rm %s", id));
	EXPECT_EQ(1, node_run(1, out, "msg-tool stat %s", id));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
}

TEST_F(c32, sem_64_and_32)
{
	char id[64], out[OUT_MAX], st64[OUT_MAX], st32[OUT_MAX];

	/* 32-bit creates, 64-bit sets, 32-bit operates, 64-bit reads */
	ASSERT_EQ(0, node_run(2, id, "sem-tool32 get %d 3 c,666", self->key))
		TH_LOG("%s", id);
	ASSERT_EQ(0, node_run(1, out, "sem-tool get %d 0", self->key));
	EXPECT_STREQ(id, out);
	ASSERT_EQ(0, node_run(1, out, "sem-tool setall %s 3,4,5", id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "sem-tool32 getall %s", id));
	EXPECT_STREQ("3 4 5", out);
	ASSERT_EQ(0, node_run(3, out, "sem-tool32 op %s \"0:-1 2:+2\"", id))
		TH_LOG("%s", out);
	/* semtimedop (time64) from a 32-bit task: times out */
	EXPECT_EQ(1, node_run(3, out, "sem-tool32 op %s 1:-9 100", id));
	EXPECT_NE(NULL, strstr(out, "EAGAIN")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "sem-tool getall %s", id));
	EXPECT_STREQ("2 4 7", out);
	ASSERT_EQ(0, node_run(2, out, "sem-tool32 setval %s 1 9", id));
	ASSERT_EQ(0, node_run(1, out, "sem-tool getval %s 1", id));
	EXPECT_STREQ("9", out);
	ASSERT_EQ(0, node_run(1, st64, "sem-tool stat %s", id));
	ASSERT_EQ(0, node_run(3, st32, "sem-tool32 stat %s", id));
	EXPECT_STREQ(st64, st32);
	EXPECT_NE(NULL, strstr(st32, "nsems 3 ")) TH_LOG("%s", st32);
	EXPECT_EQ(0, node_run(1, out, "sem-tool rm %s", id));
	EXPECT_EQ(1, node_run(2, out, "sem-tool32 getval %s 0", id));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
}

/* The 32-bit programs went through the ia32 entry points kipc hooks. */
TEST_F(c32, ia32_calls_redirected)
{
	char out[OUT_MAX], before[OUT_MAX];
	long n0 = -1, n1 = -1;
	char *p;

	ASSERT_EQ(0, node_run(2, before, "grep ^ia32_compat_sys_ipc /sys/kernel/debug/kipc/counts"))
		TH_LOG("%s", before);
	ASSERT_EQ(0, node_run(2, out, "sem-tool32 get %d 1 c,666", self->key))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, NULL, "sem-tool32 rm %s", out));
	ASSERT_EQ(0, node_run(2, out, "grep ^ia32_compat_sys_ipc /sys/kernel/debug/kipc/counts"))
		TH_LOG("%s", out);
	p = strchr(before, ' ');
	if (p)
		n0 = atol(p);
	p = strchr(out, ' ');
	if (p)
		n1 = atol(p);
	EXPECT_LE(0, n0);
	EXPECT_LE(n0 + 2, n1) TH_LOG("%s -> %s", before, out);
}

TEST_HARNESS_MAIN
