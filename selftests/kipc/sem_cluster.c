// SPDX-License-Identifier: GPL-2.0
/*
 * System V semaphores across the nodes of the test cluster, used by an
 * ordinary SysV program (sem-tool): one key, one id everywhere, values set
 * on one node and read on the others, a semop blocked on one node woken by
 * another, cluster-wide GETNCNT/GETZCNT, semtimedop timeouts, EIDRM to a
 * waiter, SEM_UNDO at exit and kill, undo lists shared as CLONE_SYSVSEM
 * shares them, mutual exclusion across the nodes, permissions. Drives the
 * nodes from the host (kddm-vm exec); loads kipc.ko on them.
 */
#include "kselftest_harness.h"
#include "cluster.h"

#define new_key() cluster_key(0x4c000000)

/* Runs "sem-tool ARGS" on @node in the background; read its output. */
static FILE *node_bg(int node, const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "%s exec %d -n -t 120 -- sh -c 'sem-tool %s; echo rc=$?' 2>&1",
		 cluster_vm(), node, args);
	return popen(cmd, "r");
}

/* Polls "sem-tool ARGS" on @node until it prints @want; within @secs. */
static int poll_for(int node, const char *want, double secs, const char *args)
{
	double end = now_s() + secs;
	char out[OUT_MAX];

	do {
		if (!node_run(node, out, "sem-tool %s", args) &&
		    !strcmp(out, want))
			return 0;
	} while (now_s() < end);
	return -1;
}

FIXTURE(sem) {
	int key;
	char id[32];
};

FIXTURE_SETUP(sem)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, cluster_load_kipc(out)) TH_LOG("%s", out);
	self->key = new_key();
	ASSERT_EQ(0, node_run(1, self->id, "sem-tool get %d 2 c,666",
			      self->key)) TH_LOG("%s", self->id);
}

FIXTURE_TEARDOWN(sem)
{
	node_run(1, NULL, "sem-tool rm %s", self->id);
}

TEST_F(sem, one_key_one_id)
{
	char out[OUT_MAX];
	int n;

	for (n = 1; n <= nodes(); n++) {
		ASSERT_EQ(0, node_run(n, out, "sem-tool get %d 1", self->key))
			TH_LOG("node %d: %s", n, out);
		EXPECT_STREQ(self->id, out) TH_LOG("node %d", n);
	}
	EXPECT_EQ(1, node_run(2, out, "sem-tool get %d 1 cx", self->key));
	EXPECT_NE(NULL, strstr(out, "EEXIST")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "sem-tool get %d 3", self->key));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "sem-tool get %d 1", self->key + 1000));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(2, out, "sem-tool op %s 2:1", self->id));
	EXPECT_NE(NULL, strstr(out, "EFBIG")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(2, out, "sem-tool info"));
	EXPECT_NE(NULL, strstr(out, "used ")) TH_LOG("%s", out);
}

/*
 * A set as large as the kernel's default SEMMSL (32000) allows: created
 * on one node, changed at both ends from the others, SEM_UNDO on its last
 * semaphore applied at exit; one more than SEMMSL is refused (EINVAL).
 */
TEST_F(sem, semmsl_sized_set)
{
	char out[OUT_MAX], id[32];

	ASSERT_EQ(0, node_run(1, out, "sem-tool info"));
	ASSERT_NE(NULL, strstr(out, "semmsl 32000")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(2, out, "sem-tool get %d 32001 c,666",
			      self->key + 1));
	EXPECT_NE(NULL, strstr(out, "EINVAL")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, id, "sem-tool get %d 32000 c,666",
			      self->key + 1)) TH_LOG("%s", id);
	ASSERT_EQ(0, node_run(2, out, "sem-tool setval %s 31999 5", id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "sem-tool op %s \"31999:-2 0:1\"", id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "sem-tool op %s 31999:3:u", id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "sem-tool getval %s 31999", id));
	EXPECT_STREQ("3", out);
	ASSERT_EQ(0, node_run(3, out, "sem-tool getval %s 0", id));
	EXPECT_STREQ("1", out);
	ASSERT_EQ(0, node_run(1, out, "sem-tool stat %s", id));
	EXPECT_EQ(0, strncmp(out, "nsems 32000 ", 12)) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(3, out, "sem-tool rm %s", id)) TH_LOG("%s", out);
}

TEST_F(sem, set_on_one_read_on_others)
{
	char out[OUT_MAX];

	ASSERT_EQ(0, node_run(1, out, "sem-tool setval %s 1 42", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(3, out, "sem-tool getval %s 1", self->id));
	EXPECT_STREQ("42", out);
	ASSERT_EQ(0, node_run(2, out, "sem-tool setall %s 7,9", self->id));
	ASSERT_EQ(0, node_run(1, out, "sem-tool getall %s", self->id));
	EXPECT_STREQ("7 9", out);
	ASSERT_EQ(0, node_run(3, out, "sem-tool op %s \"0:-2 1:1\"", self->id))
		TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(2, out, "sem-tool getall %s", self->id));
	EXPECT_STREQ("5 10", out);
	EXPECT_EQ(1, node_run(1, out, "sem-tool setval %s 0 40000", self->id));
	EXPECT_NE(NULL, strstr(out, "ERANGE")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "sem-tool stat %s", self->id));
	EXPECT_NE(NULL, strstr(out, "nsems 2 mode 666")) TH_LOG("%s", out);
}

TEST_F(sem, blocked_p_woken_by_v)
{
	char out[OUT_MAX], args[64], line[256] = "";
	double t0;
	FILE *w;

	snprintf(args, sizeof(args), "op %s 0:-1", self->id);
	w = node_bg(2, args);
	ASSERT_NE(NULL, w);
	snprintf(args, sizeof(args), "ncnt %s 0", self->id);
	EXPECT_EQ(0, poll_for(1, "1", 30, args)) TH_LOG("no waiter seen");
	ASSERT_EQ(0, node_run(3, out, "sem-tool op %s 0:1", self->id));
	t0 = now_s();
	EXPECT_NE(NULL, fgets(line, sizeof(line), w));
	EXPECT_LT(now_s() - t0, 5.0);
	EXPECT_EQ(0, strncmp(line, "rc=0", 4)) TH_LOG("%s", line);
	pclose(w);
	ASSERT_EQ(0, node_run(1, out, "sem-tool ncnt %s 0", self->id));
	EXPECT_STREQ("0", out);
	ASSERT_EQ(0, node_run(1, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("0", out);
}

TEST_F(sem, wait_for_zero)
{
	char out[OUT_MAX], args[64], line[256] = "";
	FILE *w;

	ASSERT_EQ(0, node_run(1, out, "sem-tool setval %s 1 1", self->id));
	snprintf(args, sizeof(args), "op %s 1:0", self->id);
	w = node_bg(3, args);
	ASSERT_NE(NULL, w);
	snprintf(args, sizeof(args), "zcnt %s 1", self->id);
	EXPECT_EQ(0, poll_for(1, "1", 30, args)) TH_LOG("no waiter seen");
	ASSERT_EQ(0, node_run(2, out, "sem-tool op %s 1:-1", self->id));
	EXPECT_NE(NULL, fgets(line, sizeof(line), w));
	EXPECT_EQ(0, strncmp(line, "rc=0", 4)) TH_LOG("%s", line);
	pclose(w);
	ASSERT_EQ(0, node_run(1, out, "sem-tool zcnt %s 1", self->id));
	EXPECT_STREQ("0", out);
}

TEST_F(sem, timeout_and_nowait)
{
	char out[OUT_MAX];
	double t0 = now_s();

	EXPECT_EQ(1, node_run(2, out, "sem-tool op %s 0:-1 700", self->id));
	EXPECT_NE(NULL, strstr(out, "EAGAIN")) TH_LOG("%s", out);
	EXPECT_GT(now_s() - t0, 0.69);
	EXPECT_EQ(1, node_run(3, out, "sem-tool op %s 0:-1:n", self->id));
	EXPECT_NE(NULL, strstr(out, "EAGAIN")) TH_LOG("%s", out);
	ASSERT_EQ(0, node_run(1, out, "sem-tool ncnt %s 0", self->id));
	EXPECT_STREQ("0", out);
}

TEST_F(sem, eidrm_to_a_waiter)
{
	char out[OUT_MAX], args[64], line[256] = "";
	FILE *w;

	snprintf(args, sizeof(args), "op %s 0:-1", self->id);
	w = node_bg(2, args);
	ASSERT_NE(NULL, w);
	snprintf(args, sizeof(args), "ncnt %s 0", self->id);
	EXPECT_EQ(0, poll_for(1, "1", 30, args)) TH_LOG("no waiter seen");
	ASSERT_EQ(0, node_run(3, out, "sem-tool rm %s", self->id));
	/*
	 * The whole output: the agent carries stderr ("EIDRM") and stdout
	 * ("rc=1") apart, either may come first.
	 */
	EXPECT_LT(0, fread(line, 1, sizeof(line) - 1, w));
	EXPECT_NE(NULL, strstr(line, "EIDRM")) TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "rc=1")) TH_LOG("%s", line);
	pclose(w);
	EXPECT_EQ(1, node_run(1, out, "sem-tool get %d 1", self->key));
	EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
}

TEST_F(sem, killed_waiter_uncounted)
{
	char out[OUT_MAX], args[64];
	FILE *w;

	snprintf(args, sizeof(args), "op %s 0:-1", self->id);
	w = node_bg(2, args);
	ASSERT_NE(NULL, w);
	snprintf(args, sizeof(args), "ncnt %s 0", self->id);
	EXPECT_EQ(0, poll_for(3, "1", 30, args)) TH_LOG("no waiter seen");
	EXPECT_EQ(0, node_run(2, out, "kill -9 $(pidof sem-tool)"))
		TH_LOG("%s", out);
	pclose(w);
	EXPECT_EQ(0, poll_for(3, "0", 10, args)) TH_LOG("still counted");
}

/*
 * "sem-tool hold ID OPS [BY]" on @node, its stdin ours; waits for "held".
 * BY: who makes the semop (see sem-tool.c), "" for the process itself.
 */
static FILE *holder_by(struct __test_metadata *_metadata, int node,
		       const char *id, const char *ops, const char *by)
{
	char cmd[512], out[OUT_MAX];
	double end = now_s() + 30;
	FILE *h;

	node_run(node, NULL, "rm -f /tmp/semheld");
	snprintf(cmd, sizeof(cmd),
		 "%s exec %d -t 120 -- sh -c 'sem-tool hold %s \"%s\" %s >/tmp/semheld'",
		 cluster_vm(), node, id, ops, by);
	h = popen(cmd, "w");
	if (!h)
		return NULL;
	while (node_run(node, out, "cat /tmp/semheld 2>/dev/null") ||
	       strcmp(out, "held"))
		if (now_s() > end) {
			TH_LOG("no held on node %d", node);
			break;
		}
	return h;
}

static FILE *holder(struct __test_metadata *_metadata, int node, const char *id,
		    const char *ops)
{
	return holder_by(_metadata, node, id, ops, "");
}

TEST_F(sem, undo_at_exit)
{
	char out[OUT_MAX];
	FILE *h;

	ASSERT_EQ(0, node_run(1, out, "sem-tool setall %s 5,0", self->id));
	h = holder(_metadata, 2, self->id, "0:-2:u 1:3:u");
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, node_run(1, out, "sem-tool getall %s", self->id));
	EXPECT_STREQ("3 3", out);
	EXPECT_EQ(0, pclose(h));
	ASSERT_EQ(0, node_run(1, out, "sem-tool getall %s", self->id));
	EXPECT_STREQ("5 0", out);
	/* the undo of one process is its own: another's stays */
	ASSERT_EQ(0, node_run(3, out, "sem-tool op %s 0:-1", self->id));
	ASSERT_EQ(0, node_run(3, out, "sem-tool op %s 0:-1:u", self->id));
	ASSERT_EQ(0, node_run(1, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("4", out);
}

TEST_F(sem, undo_when_killed)
{
	char out[OUT_MAX], args[64];
	FILE *h;

	ASSERT_EQ(0, node_run(1, out, "sem-tool setval %s 0 1", self->id));
	h = holder(_metadata, 3, self->id, "0:-1:u");
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, node_run(2, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("0", out);
	EXPECT_EQ(0, node_run(3, out, "kill -9 $(pidof sem-tool)"))
		TH_LOG("%s", out);
	pclose(h);
	snprintf(args, sizeof(args), "getval %s 0", self->id);
	EXPECT_EQ(0, poll_for(1, "1", 10, args)) TH_LOG("not restored");
}

/*
 * SEM_UNDO lists go with CLONE_SYSVSEM, as on one machine: the tasks that
 * share one (pthreads, clone(CLONE_SYSVSEM) processes) are undone when the
 * last of them exits, a thread cloned without it when it exits itself. The
 * set lives on node 1, the processes run on nodes 2 and 3.
 */
TEST_F(sem, undo_list_follows_clone_sysvsem)
{
	char out[OUT_MAX];
	FILE *h;

	ASSERT_EQ(0, node_run(1, out, "sem-tool setval %s 0 5", self->id));
	/* a pthread took 2 and exited: its process still holds them */
	h = holder_by(_metadata, 2, self->id, "0:-2:u", "thread");
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, node_run(3, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("3", out) TH_LOG("undone when the thread exited");
	EXPECT_EQ(0, pclose(h));
	ASSERT_EQ(0, node_run(3, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("5", out) TH_LOG("not undone when the process exited");
	/* a process sharing the list (CLONE_SYSVSEM) took 1 and exited */
	h = holder_by(_metadata, 3, self->id, "0:-1:u", "clone");
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, node_run(2, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("4", out) TH_LOG("undone before the last sharer exited");
	EXPECT_EQ(0, pclose(h));
	ASSERT_EQ(0, node_run(2, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("5", out) TH_LOG("not undone by the last sharer");
	/* a thread with a list of its own took 1: undone as it exited */
	h = holder_by(_metadata, 2, self->id, "0:-1:u", "rawthread");
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, node_run(1, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("5", out) TH_LOG("not undone when the thread exited");
	EXPECT_EQ(0, pclose(h));
	ASSERT_EQ(0, node_run(1, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("5", out);
}

TEST_F(sem, setval_voids_undo)
{
	char out[OUT_MAX];
	FILE *h;

	ASSERT_EQ(0, node_run(1, out, "sem-tool setval %s 0 3", self->id));
	h = holder(_metadata, 2, self->id, "0:-1:u");
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, node_run(1, out, "sem-tool setval %s 0 10", self->id));
	EXPECT_EQ(0, pclose(h));
	ASSERT_EQ(0, node_run(3, out, "sem-tool getval %s 0", self->id));
	EXPECT_STREQ("10", out);
}

TEST_F(sem, mutual_exclusion)
{
	char out[OUT_MAX], cmd[512];
	FILE *p[8];
	int n, per = 40, procs = 2;

	ASSERT_EQ(0, node_run(1, out, "sem-tool setall %s 1,0", self->id));
	for (n = 1; n <= nodes() && n <= 8; n++) {
		snprintf(cmd, sizeof(cmd),
			 "%s exec %d -n -t 120 -- sh -c 'sem-tool loop %s %d & sem-tool loop %s %d & wait' 2>&1",
			 cluster_vm(), n, self->id, per, self->id, per);
		p[n - 1] = popen(cmd, "r");
		ASSERT_NE(NULL, p[n - 1]);
	}
	for (n = 1; n <= nodes() && n <= 8; n++)
		EXPECT_EQ(0, pclose(p[n - 1])) TH_LOG("node %d", n);
	ASSERT_EQ(0, node_run(2, out, "sem-tool getall %s", self->id));
	snprintf(cmd, sizeof(cmd), "1 %d", per * procs * (nodes() < 8 ? nodes() : 8));
	EXPECT_STREQ(cmd, out);
}

TEST_F(sem, permissions)
{
	char out[OUT_MAX], id[32];
	int key = new_key();

	ASSERT_EQ(0, node_run(1, id, "sem-tool get %d 1 c,600", key));
	EXPECT_EQ(1, node_run(2, out, "sem-tool -u 1000 get %d 1 ,400", key));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "sem-tool -u 1000 getval %s 0", id));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "sem-tool -u 1000 op %s 0:1", id));
	EXPECT_NE(NULL, strstr(out, "EACCES")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(2, out, "sem-tool -u 1000 chmod %s 666", id));
	EXPECT_NE(NULL, strstr(out, "EPERM")) TH_LOG("%s", out);
	EXPECT_EQ(1, node_run(3, out, "sem-tool -u 1000 rm %s", id));
	EXPECT_NE(NULL, strstr(out, "EPERM")) TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(2, out, "sem-tool chmod %s 604", id));
	EXPECT_EQ(0, node_run(3, out, "sem-tool -u 1000 getval %s 0", id))
		TH_LOG("%s", out);
	EXPECT_EQ(0, node_run(2, out, "sem-tool rm %s", id));
}

TEST_HARNESS_MAIN
