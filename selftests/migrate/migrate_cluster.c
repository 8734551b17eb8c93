// SPDX-License-Identifier: GPL-2.0
/*
 * Process migration on 3 nodes, driven from the host: kddm-migrated on
 * every node (kddm-load migrate: kdfs on /kdfs too). The programs moved
 * (mig-worker) check themselves and write their progress to a kdfs file,
 * read here from whichever node; "BAD" in it is a broken invariant.
 * The last test kills node 3 (kills=3).
 */
#include "kselftest_harness.h"
#include "common.h"

#define DIR	"/kdfs/mig"

static char file[256];

static void name_file(const char *what)
{
	snprintf(file, sizeof(file), DIR "/%s-%d", what, getpid());
}

/* Starts "mig-worker ARGS" on @node in directory @cwd; its PID or -1. */
static int start_in(int node, const char *cwd, const char *args)
{
	char out[OUT_MAX];
	int pid;

	if (node_run(node, out, "mkdir -p " DIR " && chmod 1777 " DIR
		     " && cd %s && setsid mig-worker %s </dev/null >/dev/null 2>&1 & echo $!",
		     cwd, args))
		return -1;
	pid = atoi(out);
	return pid > 0 ? pid : -1;
}

static int start(int node, const char *args)
{
	return start_in(node, "/", args);
}

/* kipc on every node: 0, or the node that failed (its output in @out). */
static int load_kipc(char *out)
{
	int n;

	for (n = 1; n <= nodes(); n++)
		if (node_run(n, out, "kddm-load kipc"))
			return n;
	return 0;
}

/*
 * The numbers in @path, read on @node ("COUNT PID ..."), into @v (@n of
 * them, the rest 0): how many were read, -1 after BAD.
 */
static int fields_of(int node, const char *path, long long *v, int n)
{
	char out[OUT_MAX], *p = out, *end;
	int i;

	memset(v, 0, n * sizeof(*v));
	if (node_run(node, out, "cat %s 2>/dev/null", path))
		return 0;
	if (strstr(out, "BAD"))
		return -1;
	for (i = 0; i < n; i++, p = end) {
		v[i] = strtoll(p, &end, 10);
		if (end == p)
			break;
	}
	return i;
}

/*
 * Waits up to @secs for field @f of @path on @node to pass @above (all
 * four fields in @v); field @f, or -1 after BAD.
 */
static long long field_above(int node, const char *path, int f,
			     long long above, double secs, long long *v)
{
	double end = now_s() + secs;
	int got;

	do {
		got = fields_of(node, path, v, 4);
		if (got < 0)
			return -1;
		if (got > f && v[f] > above)
			return v[f];
		usleep(100000);
	} while (now_s() < end);
	return v[f];
}

/* The count in @path, read on @node: 0 before the first, -1 after BAD. */
static long long count_of(int node, const char *path)
{
	long long v[1];

	return fields_of(node, path, v, 1) < 0 ? -1 : v[0];
}

/* Waits up to @secs for the count in @path to pass @above; the count. */
static long long turn_above(int node, const char *path, long long above,
			    double secs)
{
	long long v[4];

	return field_above(node, path, 0, above, secs, v);
}

/* The same for the test's own file. */
static long long count(int node)
{
	return count_of(node, file);
}

static long long count_above(int node, long long above, double secs)
{
	return turn_above(node, file, above, secs);
}

/* 1 if process @pid runs on @node as a mig-worker. */
static int runs_on(int node, int pid)
{
	char out[OUT_MAX];

	return !node_run(node, out, "cat /proc/%d/comm", pid) &&
	       !strcmp(out, "mig-worker");
}

static int move_to(int from, int pid, int to, char *out, const char *opt)
{
	return node_run(from, out, "kddm migrate %d %d %s", pid, to, opt);
}

/*
 * Moves @pid from node @to - 1 to @to; 0 once it counted @more past where
 * it was there within @secs, else -1 (the reason in @out).
 */
static int move_counts_on(int to, int pid, long long more, double secs,
			  char *out)
{
	long long before = count(to), c;

	if (move_to(to - 1, pid, to, out, ""))
		return -1;
	c = count_above(to, before + more, secs);
	if (c > before + more)
		return 0;
	snprintf(out, OUT_MAX, "count %lld, then %lld", before, c);
	return -1;
}

/* Fences on every node: a move must not break a link (the sum). */
static int fences(void)
{
	int n, f, sum = 0;

	for (n = 1; n <= nodes(); n++) {
		f = fence_count(n);
		if (f < 0)
			return -1;
		sum += f;
	}
	return sum;
}

FIXTURE(mig) {
	char out[OUT_MAX];
};

FIXTURE_SETUP(mig)
{
	ASSERT_EQ(0, migrate_load_all(self->out)) TH_LOG("%s", self->out);
}

FIXTURE_TEARDOWN(mig)
{
}

/*
 * A counter with 16 MiB it checks keeps counting across 20 moves, as the
 * same PID, with its signal handler, interval timer, open files limit and
 * working directory (on kdfs).
 */
TEST_F_TIMEOUT(mig, counter_20_moves, 500)
{
	char args[300];
	long long c, before, v[4], usr1, alarms;
	int pid, i, at = 1, to, fenced = fences();

	ASSERT_LE(0, fenced);
	name_file("counter");
	snprintf(args, sizeof(args), "counter %s -m 16 --state", file);
	pid = start_in(1, DIR, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(0, count_above(1, 0, 10));
	for (i = 0; i < 20; i++) {
		to = at % 3 + 1;
		ASSERT_EQ(4, fields_of(to, file, v, 4)) TH_LOG("move %d", i);
		before = v[0];
		usr1 = v[2];
		alarms = v[3];
		ASSERT_LT(0, before) TH_LOG("move %d: %s", i, file);
		ASSERT_EQ(0, move_to(at, pid, to, self->out, ""))
			TH_LOG("move %d, %d -> %d: %s", i, at, to, self->out);
		ASSERT_NE(NULL, strstr(self->out, "moved"));
		/* the command says what it did and the downtime */
		ASSERT_NE(NULL, strstr(self->out, "downtime"))
			TH_LOG("%s", self->out);
		/* its memory follows, as kDDM objects */
		ASSERT_NE(NULL, strstr(self->out, "MiB of memory follows"))
			TH_LOG("%s", self->out);
		ASSERT_TRUE(runs_on(to, pid)) TH_LOG("not on node %d", to);
		ASSERT_FALSE(runs_on(at, pid)) TH_LOG("still on node %d", at);
		/* it goes on counting, and its memory is intact */
		c = count_above(to, before, 15);
		ASSERT_LT(before, c) TH_LOG("move %d: count %lld, then %lld",
					    i, before, c);
		/* as the PID it had, its timer still ticking */
		ASSERT_LT(alarms, field_above(to, file, 3, alarms, 15, v))
			TH_LOG("move %d: alarms %lld, then %lld", i, alarms, v[3]);
		ASSERT_EQ(pid, v[1]) TH_LOG("move %d", i);
		/* its handler still catches SIGUSR1 */
		ASSERT_EQ(0, node_run(to, self->out, "kill -USR1 %d", pid));
		ASSERT_LT(usr1, field_above(to, file, 2, usr1, 15, v))
			TH_LOG("move %d: SIGUSR1 %lld, then %lld", i, usr1, v[2]);
		at = to;
	}
	ASSERT_EQ(0, node_run(at, self->out,
			      "grep \"^Max open files\" /proc/%d/limits", pid));
	ASSERT_EQ(777, atoi(self->out + strlen("Max open files")))
		TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(at, self->out, "readlink /proc/%d/cwd", pid));
	ASSERT_STREQ(DIR, self->out);
	ASSERT_EQ(0, node_run(at, self->out, "kddm ps"));
	snprintf(args, sizeof(args), "%d ", pid);
	ASSERT_NE(NULL, strstr(self->out, args)) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, " 20 ")) TH_LOG("%s", self->out);
	/* cluster-wide: seen from a node it is not on, with its node */
	ASSERT_EQ(0, node_run(at % 3 + 1, self->out, "kddm ps --json"));
	snprintf(args, sizeof(args), "{\"pid\":%d,\"node\":%d,", pid, at);
	ASSERT_NE(NULL, strstr(self->out, args)) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "\"migrations\":20,"))
		TH_LOG("%s", self->out);
	node_run(at, NULL, "kill %d", pid);
	/* each source's process died with its kdfs file open: no link broke */
	EXPECT_EQ(fenced, fences());
}

/* Nothing of a process in the images directory of @node. */
static int nothing_left(int node)
{
	return node_run(node, NULL,
			"ls -d /run/kddm/migrate/out-* /run/kddm/migrate/in-* 2>/dev/null | grep -q .") != 0;
}

/*
 * Lazily moved, the source holds nothing once the destination pulled
 * everything; with --eager, nothing from the moment the command returns.
 */
TEST_F_TIMEOUT(mig, source_left_empty, 300)
{
	char args[300];
	long long before, c;
	double end;
	int pid, fenced;

	name_file("empty");
	fenced = fences();
	ASSERT_LE(0, fenced);
	snprintf(args, sizeof(args), "counter %s -m 64", file);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(0, count_above(1, 0, 20));
	ASSERT_EQ(0, move_to(1, pid, 2, self->out, "")) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "MiB of memory follows"))
		TH_LOG("%s", self->out);
	end = now_s() + 120;
	while (!nothing_left(1) && now_s() < end)
		usleep(200000);
	ASSERT_TRUE(nothing_left(1));
	ASSERT_EQ(0, node_run(1, self->out,
			      "grep -c \"process %d: node 2 has all its memory\" /var/log/kddm-migrated.log",
			      pid)) TH_LOG("%s", self->out);
	ASSERT_TRUE(nothing_left(2));
	before = count(2);
	c = count_above(2, before, 15);
	ASSERT_LT(before, c);

	ASSERT_EQ(0, move_to(2, pid, 1, self->out, "--eager"))
		TH_LOG("%s", self->out);
	ASSERT_EQ(NULL, strstr(self->out, "follows")) TH_LOG("%s", self->out);
	ASSERT_TRUE(nothing_left(2));
	ASSERT_TRUE(runs_on(1, pid));
	before = count(1);
	c = count_above(1, before, 15);
	ASSERT_LT(before, c);
	node_run(1, NULL, "kill %d", pid);
	/*
	 * The source's process died with its kdfs file open while the pull
	 * filled the link: its last messages waited, none was lost.
	 */
	EXPECT_EQ(fenced, fences());
}

/* Threads in futexes, read() and nanosleep() keep their invariants. */
TEST_F_TIMEOUT(mig, threads_keep_invariants, 300)
{
	char args[300];
	long long before, c, v[4], reads, naps;
	int pid, i, at = 1, to;

	name_file("threads");
	snprintf(args, sizeof(args), "threads %s -n 4", file);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(0, count_above(1, 0, 10));
	for (i = 0; i < 6; i++) {
		to = at % 3 + 1;
		ASSERT_EQ(4, fields_of(to, file, v, 4));
		before = v[0];
		reads = v[2];
		naps = v[3];
		ASSERT_LT(0, before);
		ASSERT_EQ(0, move_to(at, pid, to, self->out, ""))
			TH_LOG("%s", self->out);
		ASSERT_NE(NULL, strstr(self->out, "(7 tasks)"))
			TH_LOG("%s", self->out);
		ASSERT_EQ(0, node_run(to, self->out, "ls /proc/%d/task | wc -l",
				      pid));
		ASSERT_EQ(7, atoi(self->out));
		c = count_above(to, before + 1000, 15);
		ASSERT_LT(before + 1000, c) TH_LOG("%lld then %lld", before, c);
		/* the reader gets the pipe's next byte, the sleeper wakes up */
		ASSERT_LT(reads, field_above(to, file, 2, reads, 15, v))
			TH_LOG("reads %lld, then %lld", reads, v[2]);
		ASSERT_LT(naps, field_above(to, file, 3, naps, 15, v))
			TH_LOG("naps %lld, then %lld", naps, v[3]);
		at = to;
	}
	node_run(at, NULL, "kill %d", pid);
}

/* A parent and its child with a pipe between them move with --tree. */
TEST_F_TIMEOUT(mig, pipeline_moves_with_tree, 300)
{
	char args[300];
	long long before, c;
	int pid;

	name_file("pipeline");
	snprintf(args, sizeof(args), "pipeline %s", file);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(0, count_above(1, 0, 10));
	/* without --tree: refused, and it goes on */
	ASSERT_NE(0, move_to(1, pid, 2, self->out, ""));
	ASSERT_NE(NULL, strstr(self->out, "--tree")) TH_LOG("%s", self->out);
	before = count(1);
	ASSERT_LT(before, count_above(1, before, 10));
	ASSERT_EQ(0, move_to(1, pid, 2, self->out, "--tree"))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "(2 tasks)")) TH_LOG("%s", self->out);
	ASSERT_TRUE(runs_on(2, pid));
	ASSERT_EQ(0, node_run(2, self->out, "cat /proc/%d/task/%d/children",
			      pid, pid));
	ASSERT_TRUE(runs_on(2, atoi(self->out))) TH_LOG("child %s", self->out);
	before = count(2);
	c = count_above(2, before + 640, 15);
	ASSERT_LT(before + 640, c) TH_LOG("%lld then %lld", before, c);
	node_run(2, NULL, "kill %d; kill %s", pid, self->out);
}

/* What cannot move is refused before it is frozen, and keeps running. */
TEST_F(mig, unmovable_refused)
{
	static const char *const what[][3] = {	/* name, option, reason */
		{ "tcp", "--tcp", "TCP socket" },
		{ "dev", "3</dev/kmsg", "has a device open" },	/* the kernel's log */
	};
	char args[300];
	long long before;
	unsigned int i;
	int pid, local;

	for (i = 0; i < ARRAY_SIZE(what); i++) {
		name_file(what[i][0]);
		snprintf(args, sizeof(args), "counter %s %s", file, what[i][1]);
		pid = start(1, args);
		ASSERT_LT(0, pid);
		ASSERT_LT(0, count_above(1, 0, 10));
		ASSERT_NE(0, move_to(1, pid, 2, self->out, ""));
		ASSERT_NE(NULL, strstr(self->out, what[i][2]))
			TH_LOG("%s", self->out);
		ASSERT_TRUE(runs_on(1, pid));
		ASSERT_FALSE(runs_on(2, pid));
		before = count(1);
		ASSERT_LT(before, count_above(1, before, 10));
		node_run(1, NULL, "kill %d", pid);
	}

	/* a file on the node's own disk */
	local = start(1, "counter /tmp/mig-local");
	ASSERT_LT(0, local);
	ASSERT_NE(0, move_to(1, local, 2, self->out, ""));
	ASSERT_NE(NULL, strstr(self->out, "node-local")) TH_LOG("%s", self->out);
	ASSERT_TRUE(runs_on(1, local));
	node_run(1, NULL, "kill %d", local);
}

/* Only root or who may ptrace the process moves it. */
TEST_F(mig, permissions)
{
	char args[300];
	int pid, mine;

	name_file("perm");
	snprintf(args, sizeof(args), "counter %s", file);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_NE(0, node_run(1, self->out, "mig-worker as 65534 kddm migrate %d 2",
			      pid));
	ASSERT_NE(NULL, strstr(self->out, "may not ptrace")) TH_LOG("%s", self->out);
	ASSERT_TRUE(runs_on(1, pid));
	node_run(1, NULL, "kill %d", pid);

	/* a user moves a process of their own */
	name_file("perm-own");
	snprintf(args, sizeof(args), "as 65534 mig-worker counter %s", file);
	mine = start(1, args);
	ASSERT_LT(0, mine);
	ASSERT_LT(0, count_above(1, 0, 10));
	ASSERT_EQ(0, node_run(1, self->out, "mig-worker as 65534 kddm migrate %d 3",
			      mine)) TH_LOG("%s", self->out);
	ASSERT_TRUE(runs_on(3, mine));
	ASSERT_EQ(0, node_run(3, self->out, "stat -c %%u /proc/%d", mine));
	ASSERT_STREQ("65534", self->out);
	node_run(3, NULL, "kill %d", mine);
}

/* A PID taken on the destination: refused, nothing frozen. */
TEST_F(mig, pid_in_use_refused)
{
	char args[300];
	int pid;

	name_file("pid");
	snprintf(args, sizeof(args), "counter %s", file);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	/* the next PID node 2 hands out is ours */
	ASSERT_EQ(0, node_run(2, self->out,
			      "[ -e /proc/%d ] || { echo %d > /proc/sys/kernel/ns_last_pid; sleep 300 </dev/null >/dev/null 2>&1 & }",
			      pid, pid - 1));
	ASSERT_EQ(0, node_run(2, self->out, "test -e /proc/%d", pid));
	ASSERT_NE(0, move_to(1, pid, 2, self->out, ""));
	ASSERT_NE(NULL, strstr(self->out, "in use on node 2"))
		TH_LOG("%s", self->out);
	ASSERT_TRUE(runs_on(1, pid));
	node_run(2, NULL, "kill %d", pid);
	node_run(1, NULL, "kill %d", pid);
}

/* shm_nattch of the kipc segment of @key, seen from @node; -1 if none. */
static int nattch(int node, int key)
{
	char out[OUT_MAX];

	if (node_run(node, out,
		     "awk \"\\$1 == %d { print \\$7 }\" /proc/sysvipc/shm | grep .",
		     key))
		return -1;
	return atoi(out);
}

/*
 * Two processes take turns on a kipc shm segment and semaphores; each
 * moves (to the other's node too) while the other waits for it, and no
 * hand-over is lost: the attachment moves, not a copy of the segment.
 */
/*
 * What each of the two stuck partners (@pid, on nodes @at) is doing, their
 * counts and the set of IPC key @key, into the test's log.
 */
static void stuck_state(struct __test_metadata *_metadata, const int *pid,
			const int *at, int key, const char *a, const char *b)
{
	char out[OUT_MAX];
	int i;

	TH_LOG("counts: %lld %lld", count_of(1, a), count_of(1, b));
	for (i = 0; i < 2; i++) {
		node_run(at[i], out,
			 "grep State /proc/%d/status; cat /proc/%d/wchan; echo; cat /proc/%d/stack; tail -5 /var/log/kddm-migrated.log",
			 pid[i], pid[i], pid[i]);
		TH_LOG("process %d on node %d:\n%s", pid[i], at[i], out);
	}
	node_run(at[0], out, "grep -w %d /proc/sysvipc/sem /proc/sysvipc/shm", key);
	TH_LOG("key %d:\n%s", key, out);
}

TEST_F_TIMEOUT(mig, kipc_pingpong, 400)
{
	static const int moves[][3] = {	/* who, from, to */
		{ 1, 2, 3 }, { 0, 1, 2 }, { 1, 3, 2 }, { 0, 2, 1 },
	};
	char a[256], b[256], args[600];
	int pid[2], at[2] = { 1, 2 }, key = 0x6b700000 | (getpid() & 0xffff);
	long long t;
	unsigned int i;

	ASSERT_EQ(0, load_kipc(self->out)) TH_LOG("%s", self->out);
	snprintf(a, sizeof(a), DIR "/ping-%d", getpid());
	snprintf(b, sizeof(b), DIR "/pong-%d", getpid());
	snprintf(args, sizeof(args), "pingpong %s %d 0", a, key);
	pid[0] = start(1, args);
	ASSERT_LT(0, pid[0]);
	snprintf(args, sizeof(args), "pingpong %s %d 1", b, key);
	pid[1] = start(2, args);
	ASSERT_LT(0, pid[1]);
	t = turn_above(1, a, 100, 30);
	ASSERT_LT(100, t) TH_LOG("ping at %lld", t);
	ASSERT_EQ(2, nattch(3, key)) {
		node_run(3, self->out, "cat /proc/sysvipc/shm");
		TH_LOG("key %d: %s", key, self->out);
	}
	for (i = 0; i < ARRAY_SIZE(moves); i++) {
		const int *m = moves[i];

		ASSERT_EQ(m[1], at[m[0]]);
		ASSERT_EQ(0, move_to(m[1], pid[m[0]], m[2], self->out, ""))
			TH_LOG("move %u: %s", i, self->out);
		at[m[0]] = m[2];
		ASSERT_TRUE(runs_on(m[2], pid[m[0]]));
		ASSERT_FALSE(runs_on(m[1], pid[m[0]]));
		/* both go on taking turns, each checking the other's */
		t = count_of(at[0], a);
		ASSERT_LT(t + 50, turn_above(at[0], a, t + 50, 30)) {
			TH_LOG("move %u: ping stuck at %lld", i, t);
			stuck_state(_metadata, pid, at, key, a, b);
		}
		t = count_of(at[1], b);
		ASSERT_LT(t + 50, turn_above(at[1], b, t + 50, 30)) {
			TH_LOG("move %u: pong stuck at %lld", i, t);
			stuck_state(_metadata, pid, at, key, a, b);
		}
		/* one attachment each, wherever they are */
		ASSERT_EQ(2, nattch(m[1], key));
	}
	node_run(at[0], NULL, "kill %d", pid[0]);
	node_run(at[1], NULL, "kill %d", pid[1]);
	for (i = 0; i < 50 && nattch(1, key) != 0; i++)
		usleep(100000);
	ASSERT_EQ(0, nattch(1, key));
	ASSERT_EQ(0, node_run(3, self->out, "mig-worker ipcrm %d", key))
		TH_LOG("%s", self->out);
	ASSERT_EQ(-1, nattch(2, key));
}

/* Semaphore 0 of the set of @key, seen from @node; -1 if none. */
static int sem0(int node, int key)
{
	char out[OUT_MAX];

	if (node_run(node, out, "mig-worker semval %d", key))
		return -1;
	return atoi(out);
}

/*
 * A process holds 5 of a kipc semaphore with SEM_UNDO and moves twice:
 * its adjustment moves with it (the copy left behind does not undo it),
 * and its exit, on the last node, undoes it once.
 */
TEST_F_TIMEOUT(mig, kipc_sem_undo_moves, 300)
{
	int key = 0x6b750000 | (getpid() & 0xffff), pid, i;
	char args[300];
	long long before;

	ASSERT_EQ(0, load_kipc(self->out)) TH_LOG("%s", self->out);
	name_file("undo");
	snprintf(args, sizeof(args), "undo %s %d", file, key);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(0, count_above(1, 0, 10));
	ASSERT_EQ(15, sem0(2, key));
	for (i = 2; i <= 3; i++) {
		before = count(i);
		ASSERT_EQ(0, move_to(i - 1, pid, i, self->out, ""))
			TH_LOG("%s", self->out);
		ASSERT_LT(before, count_above(i, before, 15));
		ASSERT_EQ(15, sem0(i % 3 + 1, key));
	}
	ASSERT_EQ(0, node_run(3, NULL, "kill %d; while [ -e /proc/%d ]; do sleep 0.1; done",
			      pid, pid));
	for (i = 0; i < 50 && sem0(1, key) != 10; i++)
		usleep(100000);
	ASSERT_EQ(10, sem0(1, key));
	ASSERT_EQ(0, node_run(2, self->out, "mig-worker ipcrm %d", key))
		TH_LOG("%s", self->out);
}

/*
 * A process blocked in msgrcv() on a kipc queue moves twice, and answers
 * each message sent from the third node there.
 */
TEST_F_TIMEOUT(mig, kipc_msg_receiver_moves, 300)
{
	int key = 0x6d710000 | (getpid() & 0xffff), pid, i, id;
	long long v[4];
	char args[300], want[64];

	ASSERT_EQ(0, load_kipc(self->out)) TH_LOG("%s", self->out);
	name_file("msgq");
	snprintf(args, sizeof(args), "msgecho %s %d", file, key);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	/* "0 PID": it waits for the first message */
	for (i = 0; i < 100 && fields_of(1, file, v, 4) != 2; i++)
		usleep(100000);
	ASSERT_EQ(2, fields_of(1, file, v, 4)) TH_LOG("%s", file);
	ASSERT_EQ(0, node_run(3, self->out, "msg-tool get %d", key))
		TH_LOG("%s", self->out);
	id = atoi(self->out);
	for (i = 2; i <= 3; i++) {
		ASSERT_EQ(0, move_to(i - 1, pid, i, self->out, ""))
			TH_LOG("%s", self->out);
		ASSERT_TRUE(runs_on(i, pid));
		/* message i - 1, from the node it is not on: answered */
		ASSERT_EQ(0, node_run(i % 3 + 1, self->out,
				      "msg-tool snd %d 1 %d && msg-tool rcv %d 2",
				      id, i - 1, id)) TH_LOG("%s", self->out);
		snprintf(want, sizeof(want), "2 %d", i - 1);
		ASSERT_STREQ(want, self->out);
		ASSERT_EQ(i - 1, count_above(i, i - 2, 10));
	}
	node_run(3, NULL, "kill %d", pid);
	ASSERT_EQ(0, node_run(1, self->out, "msg-tool rm %d", id))
		TH_LOG("%s", self->out);
}

/*
 * A writer appends to a kdfs file under a lock, moving twice: its offset
 * and lock move with it, and the file, read on another node, has every
 * record once, in order.
 */
TEST_F_TIMEOUT(mig, kdfs_writer, 300)
{
	char args[600], data[256];
	long long c, recs;
	int pid, i;

	name_file("writer");
	snprintf(data, sizeof(data), DIR "/data-%d", getpid());
	snprintf(args, sizeof(args), "writer %s %s", file, data);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(0, count_above(1, 0, 10));
	for (i = 2; i <= 3; i++) {
		ASSERT_EQ(0, move_counts_on(i, pid, 100, 15, self->out))
			TH_LOG("%s", self->out);
		/* its lock is held there, by it */
		ASSERT_EQ(0, node_run(i, self->out,
				      "grep -c \"POSIX  ADVISORY  WRITE %d \" /proc/locks",
				      pid)) {
			node_run(i, self->out, "cat /proc/locks");
			TH_LOG("%d: %s", pid, self->out);
		}
	}
	ASSERT_EQ(0, node_run(3, NULL, "kill %d; while [ -e /proc/%d ]; do sleep 0.1; done",
			      pid, pid));
	c = count(3);
	ASSERT_LT(0, c);
	/* every record once, in order, read on node 1 */
	ASSERT_EQ(0, node_run(1, self->out,
			      "awk \"\\$1 + 0 != NR { print \\\"BAD\\\", NR; exit } END { print NR }\" %s",
			      data));
	ASSERT_EQ(NULL, strstr(self->out, "BAD")) TH_LOG("%s", self->out);
	recs = atoll(self->out);
	ASSERT_TRUE(recs == c || recs == c + 1) TH_LOG("%lld records, count %lld",
						       recs, c);
	ASSERT_EQ(0, node_run(1, self->out, "stat -c %%s %s", data));
	ASSERT_EQ(recs * 16, atoll(self->out));
}

/*
 * A shared mapping of a kdfs file and a kdfs file unlinked while open move
 * with the process: what it wrote into either before a move is there
 * after it (it checks), and the mapped file, read on another node once it
 * is gone, holds its last 16 counts.
 */
TEST_F_TIMEOUT(mig, kdfs_mapping_and_unlinked, 300)
{
	char args[900], mapped[256], tmp[256];
	long long c;
	int pid, i;

	name_file("files");
	snprintf(mapped, sizeof(mapped), DIR "/mapped-%d", getpid());
	snprintf(tmp, sizeof(tmp), DIR "/unlinked-%d", getpid());
	snprintf(args, sizeof(args), "files %s %s %s", file, mapped, tmp);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(300, count_above(1, 300, 15));
	for (i = 2; i <= 3; i++)
		ASSERT_EQ(0, move_counts_on(i, pid, 300, 20, self->out))
			TH_LOG("%s", self->out);
	/* its name, back for each move, went again */
	ASSERT_NE(0, node_run(2, NULL, "ls %s", tmp));
	ASSERT_EQ(0, node_run(3, NULL, "kill %d; while [ -e /proc/%d ]; do sleep 0.1; done",
			      pid, pid));
	c = count(3);
	ASSERT_EQ(0, node_run(1, self->out, "mig-worker mapcheck %s", mapped))
		TH_LOG("%s", self->out);
	ASSERT_TRUE(atoll(self->out) == c || atoll(self->out) == c + 1)
		TH_LOG("mapped %s, count %lld", self->out, c);
	/* the unlinked file went with its last close */
	ASSERT_NE(0, node_run(1, NULL, "ls %s", tmp));
	node_run(1, NULL, "rm -f %s", mapped);
}

/*
 * A kdfs file unlinked while open on two nodes stays one file when one of
 * the processes moves: the mover ("share", node 1 to 2 to 3) writes its
 * count into it, the other ("echo", node 2) copies what it reads there
 * back into it and appends it (the file grows while the mover moves).
 * After each move, echo reads the mover's new counts and the mover sees
 * them echoed (it checks); the name stays gone.
 */
TEST_F_TIMEOUT(mig, kdfs_unlinked_shared, 300)
{
	char args[600], echo_file[256], tmp[256];
	long long c, e;
	int pid, partner, i;

	name_file("share");
	snprintf(echo_file, sizeof(echo_file), DIR "/echo-%d", getpid());
	snprintf(tmp, sizeof(tmp), DIR "/shared-%d", getpid());
	snprintf(args, sizeof(args), "share %s %s", file, tmp);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	snprintf(args, sizeof(args), "echo %s %s", echo_file, tmp);
	partner = start(2, args);
	ASSERT_LT(0, partner);
	ASSERT_LT(100, count_above(1, 100, 30));
	for (i = 2; i <= 3; i++) {
		ASSERT_EQ(0, move_counts_on(i, pid, 100, 20, self->out))
			TH_LOG("%s", self->out);
		/* the partner reads what the mover wrote there */
		c = count(i);
		e = turn_above(2, echo_file, c, 15);
		ASSERT_LT(c, e) TH_LOG("count %lld on node %d, echo %lld", c,
				       i, e);
		ASSERT_NE(0, node_run(1, NULL, "ls %s", tmp));
	}
	ASSERT_EQ(0, node_run(3, self->out, "cat %s", file));
	ASSERT_EQ(NULL, strstr(self->out, "BAD")) TH_LOG("%s", self->out);
	node_run(3, NULL, "kill %d; while [ -e /proc/%d ]; do sleep 0.1; done",
		 pid, pid);
	node_run(2, NULL, "kill %d; while [ -e /proc/%d ]; do sleep 0.1; done",
		 partner, partner);
	ASSERT_LT(0, count_of(2, echo_file));
	node_run(1, NULL, "rm -f %s %s", file, echo_file);
}

/*
 * kddm run: the program runs on the other node as the caller, with the
 * caller's input, output, error and exit status.
 */
TEST_F(mig, run_streams_and_status)
{
	ASSERT_EQ(3, node_run(1, self->out,
			      "cd /kdfs && echo hello | kddm run --node 2 sh -c \"cat; echo err on \\$(hostname) >&2; exit 3\" 2>/tmp/run-err; s=$?; cat /tmp/run-err; exit $s"))
		TH_LOG("%s", self->out);
	ASSERT_STREQ("hello\nerr on node2", self->out);
	/* more input than any buffer on the way, echoed: no deadlock */
	ASSERT_EQ(0, node_run(1, self->out,
			      "head -c 8000000 /dev/urandom > /tmp/big; kddm run --node 2 cat < /tmp/big | cmp - /tmp/big && echo same"));
	ASSERT_STREQ("same", self->out);
	ASSERT_EQ(0, node_run(1, self->out, "mig-worker as 65534 kddm run --node 3 -- id"));
	/* the caller's uid and gid, there */
	ASSERT_EQ(0, strncmp(self->out, "uid=65534", 9)) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, " gid=65534")) TH_LOG("%s", self->out);
	ASSERT_EQ(137, node_run(1, self->out, "kddm run --node 2 sh -c \"kill -9 \\$\\$\""));
	ASSERT_EQ(127, node_run(1, self->out, "kddm run --node 2 no-such-program"));
	ASSERT_NE(NULL, strstr(self->out, "No such file")) TH_LOG("%s", self->out);
	ASSERT_EQ(125, node_run(1, self->out, "kddm run --node 9 true"));
	ASSERT_NE(NULL, strstr(self->out, "node 9")) TH_LOG("%s", self->out);
	ASSERT_EQ(2, node_run(1, self->out, "kddm run --node 2"));
	ASSERT_EQ(2, node_run(1, self->out, "kddm run true"));
}

/*
 * A --migratable job moves while it writes: every line of its output, in
 * order, and its exit status come back to the caller on node 1.
 */
TEST_F_TIMEOUT(mig, run_migratable_moves, 300)
{
	char cmd[1200];
	long long c;
	int pid, i;

	name_file("runjob");
	snprintf(cmd, sizeof(cmd),
		 "cd /kdfs && (kddm run --node 2 --migratable sh -c \"i=0; while [ \\$i -lt 60 ]; do echo tick \\$i; i=\\$((i+1)); sleep 0.1; done; exit 7\" >%s.out 2>&1; echo $? >%s) >/dev/null 2>&1 &",
		 file, file);
	ASSERT_EQ(0, node_run(1, self->out, "%s", cmd));
	for (i = 0; i < 50; i++) {
		if (!node_run(2, self->out,
			      "kddm ps | awk \"\\$2 == 2 && \\$7 == \\\"sh\\\" { print \\$1 }\" | grep ."))
			break;
		usleep(100000);
	}
	pid = atoi(self->out);
	ASSERT_LT(0, pid) TH_LOG("%s", self->out);
	ASSERT_EQ(0, node_run(2, self->out, "kddm migrate %d 3 --tree", pid))
		TH_LOG("%s", self->out);
	for (i = 0; i < 300 && (c = count(1)) == 0; i++)
		usleep(100000);
	ASSERT_EQ(7, c);
	ASSERT_EQ(0, node_run(1, self->out,
			      "awk \"\\$2 != NR - 1 { print \\\"BAD\\\", NR } END { print NR }\" %s.out",
			      file));
	ASSERT_STREQ("60", self->out);
	/* nothing left of it in kdfs */
	ASSERT_NE(0, node_run(3, NULL, "ls /kdfs/.kddm-run/%d", pid));
}

/* Bad requests get a clear error. */
TEST_F(mig, bad_requests)
{
	ASSERT_EQ(2, node_run(1, self->out, "kddm migrate x 2"));
	ASSERT_NE(NULL, strstr(self->out, "is not a PID"));
	ASSERT_EQ(2, node_run(1, self->out, "kddm migrate 5 0"));
	ASSERT_EQ(2, node_run(1, self->out, "kddm ps --tree"));
	ASSERT_EQ(1, node_run(1, self->out, "kddm migrate 1 2"));
	ASSERT_NE(NULL, strstr(self->out, "init"));
	ASSERT_EQ(1, node_run(1, self->out, "kddm migrate 4000000 2"));
	ASSERT_NE(NULL, strstr(self->out, "no process"));
	ASSERT_EQ(1, node_run(1, self->out, "kddm migrate $(pidof kddm-migrated) 2"));
	ASSERT_EQ(1, node_run(1, self->out,
			      "sleep 60 </dev/null >/dev/null 2>&1 & kddm migrate $! 9; s=$?; kill $!; exit $s"));
	ASSERT_NE(NULL, strstr(self->out, "node 9")) TH_LOG("%s", self->out);
	/* a thread's id is not a process's */
	ASSERT_EQ(1, node_run(1, self->out,
			      "kddm migrate $(ls /proc/$(pidof kddm-migrated)/task | sort -n | tail -1) 2"));
	ASSERT_NE(NULL, strstr(self->out, "thread")) TH_LOG("%s", self->out);
	/* /dev/kddm_mig: bad reads and read aheads get EINVAL, a good one data */
	ASSERT_EQ(0, node_run(1, self->out,
			      "dd if=/dev/urandom of=/tmp/mig-ioctls bs=64k count=64 2>/dev/null && mig-worker ioctls /tmp/mig-ioctls; s=$?; rm -f /tmp/mig-ioctls; exit $s"))
		TH_LOG("%s", self->out);
}

/*
 * The restore fails there (a private mapping of a file node 2 lacks) while
 * CRIU already serves the lazy pages here: CRIU thaws the process, which
 * goes on here, intact, and nothing of the move is left on either node.
 */
TEST_F_TIMEOUT(mig, restore_fails_thaws, 300)
{
	char args[300];
	long long before, c;
	int pid;

	name_file("restorefail");
	ASSERT_EQ(0, node_run(1, NULL, "head -c 8192 /dev/urandom > /tmp/only-here"));
	ASSERT_NE(0, node_run(2, NULL, "test -e /tmp/only-here"));
	snprintf(args, sizeof(args), "counter %s -m 32 --map /tmp/only-here",
		 file);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(0, count_above(1, 0, 20));
	ASSERT_NE(0, move_to(1, pid, 2, self->out, ""));
	ASSERT_NE(NULL, strstr(self->out, "could not restore it"))
		TH_LOG("%s", self->out);
	ASSERT_TRUE(runs_on(1, pid));
	ASSERT_FALSE(runs_on(2, pid));
	before = count(1);
	c = count_above(1, before, 15);
	ASSERT_LT(before, c) TH_LOG("%lld then %lld", before, c);
	ASSERT_TRUE(nothing_left(1));
	ASSERT_TRUE(nothing_left(2));
	node_run(1, NULL, "kill %d; rm -f /tmp/only-here", pid);
}

/*
 * The destination dies while the state moves: the process goes on where
 * it was, intact. Kills node 3.
 */
TEST_F_TIMEOUT(mig, destination_killed, 300)
{
	char args[300], cmd[600];
	long long before, c;
	int pid, i, st;
	FILE *bg;

	name_file("destkill");
	snprintf(args, sizeof(args), "counter %s -m 96", file);
	pid = start(1, args);
	ASSERT_LT(0, pid);
	ASSERT_LT(0, count_above(1, 0, 20));
	/* --eager: all 96 MiB go before it runs there, a window to kill in */
	snprintf(cmd, sizeof(cmd), "%s exec 1 -n -t 200 -- kddm migrate %d 3 --eager 2>&1",
		 cluster_vm(), pid);
	bg = popen(cmd, "r");
	ASSERT_NE(NULL, bg);
	/* the dump has begun: its images directory exists */
	for (i = 0; i < 200; i++) {
		if (!node_run(1, NULL, "ls -d /run/kddm/migrate/out-*"))
			break;
		usleep(50000);
	}
	ASSERT_GT(200, i);
	snprintf(cmd, sizeof(cmd), "%s kill 3 >/dev/null", cluster_vm());
	ASSERT_EQ(0, system(cmd));
	st = fread(self->out, 1, sizeof(self->out) - 1, bg);
	self->out[st > 0 ? st : 0] = 0;
	st = pclose(bg);
	ASSERT_NE(0, WEXITSTATUS(st)) TH_LOG("%s", self->out);
	TH_LOG("migrate said: %s", self->out);
	ASSERT_TRUE(runs_on(1, pid));
	before = count(1);
	c = count_above(1, before, 15);
	ASSERT_LT(before, c) TH_LOG("%lld then %lld", before, c);
	/* nothing left behind */
	ASSERT_TRUE(nothing_left(1));
	node_run(1, NULL, "kill %d", pid);
}

TEST_HARNESS_MAIN
