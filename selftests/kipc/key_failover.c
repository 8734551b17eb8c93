// SPDX-License-Identifier: GPL-2.0
/*
 * Keys survive the loss of node 1: keyed segments, queues and semaphore
 * sets made on nodes 2 and 3 (and on node 1, which also takes the key
 * locks last and writes node 2's key table), then node 1's qemu is
 * killed. On nodes 2 and 3: the same keys give the same ids, IPC_EXCL
 * says EEXIST, node 1's objects are gone (their keys free, their ids
 * EIDRM), new keys are made and seen from the other survivor, two nodes
 * racing on one new key get one id, *_INFO and kddm ipcs count what is
 * left; every call returns in bounded time; no kernel warning.
 * Before that, a partition (keys.partition): node 3's link is cut.
 * Needs 3 nodes; kills node 1 (selftests/cluster.list says so).
 */
#include "kselftest_harness.h"
#include "cluster.h"

#define VM cluster_vm()
#define SLOW 30.0		/* seconds: "bounded" for one call */
#define RACE_KEYS 8

enum { SHM, MSG, SEM, NTYPES };

static const char *const get_fmt[NTYPES] = {
	"ipc-tool shm-get %d 4096 %s",
	"msg-tool get %d %s",
	"sem-tool get %d 2 %s",
};
static const char *const stat_fmt[NTYPES] = {
	"ipc-tool shm-stat %s",
	"msg-tool stat %s",
	"sem-tool stat %s",
};
static const char *const rm_fmt[NTYPES] = {
	"ipc-tool shm-rm %s",
	"msg-tool rm %s",
	"sem-tool rm %s",
};
static const char *const info_cmd[NTYPES] = {
	"ipc-tool shm-info",	/* "used N ..." */
	"msg-tool info",	/* "queues N ..." */
	"sem-tool info",	/* "used N ..." */
};
static const char *const ipcs_type[NTYPES] = { "shm", "msg", "sem" };

/* A keyed object of the test: its key and the id it got. */
struct obj {
	int type;
	int key;
	char id[32];
};

/* Runs @fmt on @node like node_run(), failing the test if it is slow. */
static int timed_run(struct __test_metadata *_metadata, int node, char *out,
		     const char *fmt, ...)
{
	char cmd[1024];
	double t0 = now_s();
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = node_run(node, out, "%s", cmd);
	EXPECT_LT(now_s() - t0, SLOW) TH_LOG("node %d: '%s' took %.1f s",
					      node, cmd, now_s() - t0);
	return st;
}

static int get(struct __test_metadata *_metadata, int node, int type,
	       int key, const char *flags, char *out)
{
	char fmt[128];

	snprintf(fmt, sizeof(fmt), get_fmt[type], key, flags);
	return timed_run(_metadata, node, out, "%s", fmt);
}

/* The count *_INFO gives on @node for @type. */
static int info_count(struct __test_metadata *_metadata, int node, int type)
{
	char out[OUT_MAX];
	int n = -1;

	if (timed_run(_metadata, node, out, "%s", info_cmd[type]))
		return -1;
	if (sscanf(out, type == MSG ? "queues %d" : "used %d", &n) != 1)
		return -1;
	return n;
}

/*
 * kddm ipcs on @node: the rows of @type (all of them, or those homed on
 * @home if not 0) in @count; whether @id is among them in the return.
 */
static int ipcs_rows(struct __test_metadata *_metadata, int node, int type,
		     int home, int *count, const char *id)
{
	char out[OUT_MAX], t[8], *line, *save;
	int key, oid, onode, found = 0;

	*count = -1;
	if (timed_run(_metadata, node, out, "kddm ipcs"))
		return 0;
	*count = 0;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%7s %x %d %d", t, &key, &oid, &onode) != 4 ||
		    strcmp(t, ipcs_type[type]))
			continue;
		if (home && onode != home)
			continue;
		(*count)++;
		if (id && oid == atoi(id))
			found = 1;
	}
	return found;
}

/* The same *get with the key of the shell variable k. */
static const char *const race_fmt[NTYPES] = {
	"ipc-tool shm-get $k 4096 %s",
	"msg-tool get $k %s",
	"sem-tool get $k 2 %s",
};

/*
 * Runs the *get of @type with @flags for the @nkeys keys from @key on the
 * nodes of @nodes (0-terminated), all at once; out[i] gets node i's
 * answers, one line per key: the id, or ERR.
 */
static void race(struct __test_metadata *_metadata, const int *nodes,
		 int type, int key, int nkeys, const char *flags,
		 char out[][OUT_MAX])
{
	char op[128], cmd[512];
	FILE *p[4];
	size_t len;
	int i, n;

	snprintf(op, sizeof(op), race_fmt[type], flags);
	for (n = 0; nodes[n]; n++) {
		snprintf(cmd, sizeof(cmd),
			 "%s exec %d -t 120 -- sh -c 'for k in $(seq %d %d); do %s 2>/dev/null || echo ERR; done'",
			 VM, nodes[n], key, key + nkeys - 1, op);
		p[n] = popen(cmd, "r");
		ASSERT_NE(NULL, p[n]);
	}
	for (i = 0; i < n; i++) {
		len = fread(out[i], 1, OUT_MAX - 1, p[i]);
		out[i][len] = '\0';
		EXPECT_EQ(0, pclose(p[i])) TH_LOG("node %d: %s", nodes[i],
						  out[i]);
	}
}

/* Lines of @s that are not ERR; their ids go to @list, space separated. */
static int ids_in(const char *s, char *list, size_t size)
{
	size_t len = 0;
	int n = 0, l;

	if (list)
		list[0] = '\0';
	for (; *s; s += l, s += !!*s) {
		l = strcspn(s, "\n");
		if (!l || !strncmp(s, "ERR", 3))
			continue;
		n++;
		if (list && len + l + 2 < size)
			len += snprintf(list + len, size - len, "%.*s ", l, s);
	}
	return n;
}

/* Removes the objects of @type whose ids are in @list, on @node. */
static void rm_list(int node, int type, const char *list)
{
	static const char *const rm_cmd[NTYPES] = {
		"ipc-tool shm-rm", "msg-tool rm", "sem-tool rm",
	};

	node_run(node, NULL, "for i in %s; do %s $i; done", list,
		 rm_cmd[type]);
}

/*
 * Racing creations: with IPC_CREAT every node gets the same ids; with
 * IPC_CREAT|IPC_EXCL each key is made once. @nodes 0-terminated.
 */
static void check_races(struct __test_metadata *_metadata, const int *nodes,
			int base)
{
	static char out[4][OUT_MAX];
	char list[1024];
	int t, n, made;

	for (t = 0; t < NTYPES; t++) {
		race(_metadata, nodes, t, base, RACE_KEYS, "c,666", out);
		EXPECT_EQ(RACE_KEYS, ids_in(out[0], list, sizeof(list)))
			TH_LOG("%s", out[0]);
		for (n = 1; nodes[n]; n++) {
			EXPECT_STREQ(out[0], out[n])
				TH_LOG("%s: node %d and node %d differ",
				       ipcs_type[t], nodes[0], nodes[n]);
		}
		rm_list(nodes[0], t, list);

		race(_metadata, nodes, t, base + RACE_KEYS, RACE_KEYS,
		     "cx,666", out);
		for (made = 0, n = 0; nodes[n]; n++) {
			made += ids_in(out[n], list, sizeof(list));
			rm_list(nodes[n], t, list);
		}
		EXPECT_EQ(RACE_KEYS, made) TH_LOG("%s: %d made",
						  ipcs_type[t], made);
		base += 2 * RACE_KEYS;
	}
}

/* Polls (bounded) until @cmd succeeds on @node. */
static int node_until(int node, const char *cmd)
{
	double end = now_s() + 60;

	while (now_s() < end) {
		if (!node_run(node, NULL, "%s", cmd))
			return 0;
		node_run(node, NULL, "sleep 0.2");
	}
	return -1;
}

FIXTURE(keys) {
	int unused;
};

FIXTURE_SETUP(keys)
{
}

FIXTURE_TEARDOWN(keys)
{
}

/* Cuts node 3 off (its TIPC bearer) for longer than the link tolerance. */
static int cut(int node, bool on)
{
	if (on)
		return node_run(node, NULL, "b=$(tipc bearer list | sed -n 1s/^eth://p) && echo $b > /tmp/bearer && tipc bearer disable media eth device $b");
	return node_run(node, NULL, "tipc bearer enable media eth device $(cat /tmp/bearer)");
}

/*
 * A partition: node 3 alone is a minority and fences itself (its calls
 * fail with ENOLINK), nodes 1 and 2 go on and make keys; once the link is
 * back, node 3 rejoins as a new incarnation and every node sees each key
 * once, with the majority's id. What node 3 made before the cut went
 * with its old incarnation.
 */
TEST_F_TIMEOUT(keys, partition, 240)
{
	static const int majority[] = { 1, 2, 0 }, alone[][2] = {
		{ 1, 0 }, { 2, 0 }, { 3, 0 } };
	int base = 0x4b480000 + (getpid() & 0xfff) * 64, t, n;
	static char made[4][OUT_MAX], seen[4][OUT_MAX];
	char out[OUT_MAX], list[1024];
	struct obj old3;
	int fenced;

	ASSERT_EQ(3, nodes());
	ASSERT_EQ(0, cluster_load_kipc(out)) TH_LOG("%s", out);
	old3 = (struct obj){ .type = SHM, .key = base + 60 };
	ASSERT_EQ(0, get(_metadata, 3, SHM, old3.key, "cx,666", old3.id))
		TH_LOG("%s", old3.id);

	fenced = fence_count(3);
	ASSERT_LE(0, fenced);
	ASSERT_EQ(0, cut(3, true));
	/* node 3 sees the others leave at once, they see it after a while */
	ASSERT_EQ(0, node_until(3, "kddm status | grep -q \"^member: no\""));
	ASSERT_EQ(0, node_until(1, "kddm nodes | grep -q \"^3 *down\""));
	ASSERT_EQ(0, node_until(2, "kddm nodes | grep -q \"^3 *down\""));
	EXPECT_EQ(1, get(_metadata, 3, SHM, base + 61, "c,666", out));
	EXPECT_NE(NULL, strstr(out, "ENOLINK")) TH_LOG("%s", out);

	for (t = 0; t < NTYPES; t++) {
		/* the minority makes nothing, the majority makes every key */
		race(_metadata, alone[2], t, base + t * 16, RACE_KEYS, "c,666",
		     made + 2);
		EXPECT_EQ(0, ids_in(made[2], NULL, 0)) TH_LOG("%s", made[2]);
		race(_metadata, majority, t, base + t * 16, RACE_KEYS,
		     "c,666", made);
		EXPECT_EQ(RACE_KEYS, ids_in(made[0], NULL, 0))
			TH_LOG("%s", made[0]);
		EXPECT_STREQ(made[0], made[1]);
	}

	ASSERT_EQ(0, cut(3, false));
	ASSERT_EQ(0, node_until(3, "kddm status | grep -q \"^member: yes\""));
	ASSERT_EQ(0, node_until(1, "kddm nodes | grep -q \"^3 *up\""));
	ASSERT_EQ(0, node_until(2, "kddm nodes | grep -q \"^3 *up\""));
	/* once: cut off, it did not fence again on its way back */
	EXPECT_EQ(fenced + 1, fence_count(3));

	for (t = 0; t < NTYPES; t++) {
		race(_metadata, majority, t, base + t * 16, RACE_KEYS, "c,666",
		     made);
		/* each key once: the same id on every node, from any node */
		for (n = 1; n <= 3; n++) {
			race(_metadata, alone[n - 1], t, base + t * 16,
			     RACE_KEYS, "", seen);
			EXPECT_STREQ(made[0], seen[0])
				TH_LOG("%s: node %d", ipcs_type[t], n);
		}
		ids_in(made[0], list, sizeof(list));
		rm_list(1, t, list);
	}
	/* node 3's segment went with its old incarnation */
	for (n = 1; n <= 3; n++) {
		EXPECT_EQ(1, get(_metadata, n, SHM, old3.key, "", out));
		EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("node %d: %s", n,
							     out);
	}
}

/* Many round trips through kddm-vm exec: more than the default 30 s. */
TEST_F_TIMEOUT(keys, node1_lost, 240)
{
	struct obj on2[NTYPES], on3[NTYPES], on1[NTYPES], gone2[NTYPES];
	static const int all[] = { 1, 2, 3, 0 }, survivors[] = { 2, 3, 0 };
	int race_base = 0x4b470000 + (getpid() & 0xfff) * 256;
	int before[NTYPES], home1[NTYPES], n, t, c;
	struct obj new2[NTYPES], new3[NTYPES];
	char out[OUT_MAX], cmd[512];
	FILE *churn;

	ASSERT_EQ(3, nodes());
	ASSERT_EQ(0, cluster_load_kipc(out)) TH_LOG("%s", out);
	check_races(_metadata, all, race_base);

	for (t = 0; t < NTYPES; t++) {
		on2[t] = (struct obj){ .type = t, .key = cluster_key(0x4b460000) };
		on3[t] = (struct obj){ .type = t, .key = cluster_key(0x4b460000) };
		on1[t] = (struct obj){ .type = t, .key = cluster_key(0x4b460000) };
		gone2[t] = (struct obj){ .type = t, .key = cluster_key(0x4b460000) };
		ASSERT_EQ(0, get(_metadata, 2, t, on2[t].key, "cx,666", on2[t].id))
			TH_LOG("%s", on2[t].id);
		ASSERT_EQ(0, get(_metadata, 3, t, on3[t].key, "cx,666", on3[t].id))
			TH_LOG("%s", on3[t].id);
		ASSERT_EQ(0, get(_metadata, 2, t, gone2[t].key, "cx,666",
				 gone2[t].id)) TH_LOG("%s", gone2[t].id);
		/* node 1 sees them, and removes one homed on node 2 */
		ASSERT_EQ(0, get(_metadata, 1, t, on2[t].key, "", out));
		EXPECT_STREQ(on2[t].id, out);
		ASSERT_EQ(0, timed_run(_metadata, 1, out, rm_fmt[t],
				       gone2[t].id)) TH_LOG("%s", out);
		/* node 1 creates last: it holds every key lock */
		ASSERT_EQ(0, get(_metadata, 1, t, on1[t].key, "cx,666", on1[t].id))
			TH_LOG("%s", on1[t].id);
		before[t] = info_count(_metadata, 2, t);
		ASSERT_LE(3, before[t]);
		ipcs_rows(_metadata, 2, t, 1, &home1[t], NULL);
		ASSERT_LE(1, home1[t]);
	}

	/* node 1 dies in the middle of creations, key locks in hand */
	snprintf(cmd, sizeof(cmd),
		 "%s exec 1 -t 300 -- sh -c 'for i in $(seq 300); do ipc-tool shm-get 0 4096 c; msg-tool get 0 c; sem-tool get 0 1 c; done' >/dev/null 2>&1",
		 VM);
	churn = popen(cmd, "r");
	ASSERT_NE(NULL, churn);
	for (c = 0; c < 300 && info_count(_metadata, 2, SHM) < before[SHM] + 5;
	     c++)
		node_run(2, NULL, "sleep 0.1");
	ASSERT_LE(before[SHM] + 5, info_count(_metadata, 2, SHM));
	ASSERT_EQ(0, system("${KDDM_VM:-userspace/kddm-vm} kill 1 >/dev/null"));
	pclose(churn);
	/* the survivors learn that node 1 left (TIPC link timeout) */
	ASSERT_EQ(0, node_until(2, "kddm nodes | grep -q \"^1 *down\""));
	ASSERT_EQ(0, node_until(3, "kddm nodes | grep -q \"^1 *down\""));

	for (n = 2; n <= 3; n++) {
		for (t = 0; t < NTYPES; t++) {
			/* the same keys, the same ids */
			ASSERT_EQ(0, get(_metadata, n, t, on2[t].key, "", out))
				TH_LOG("node %d: %s", n, out);
			EXPECT_STREQ(on2[t].id, out) TH_LOG("node %d", n);
			ASSERT_EQ(0, get(_metadata, n, t, on3[t].key, "", out))
				TH_LOG("node %d: %s", n, out);
			EXPECT_STREQ(on3[t].id, out) TH_LOG("node %d", n);
			EXPECT_EQ(1, get(_metadata, n, t, on2[t].key, "cx", out));
			EXPECT_NE(NULL, strstr(out, "EEXIST")) TH_LOG("%s", out);
			EXPECT_EQ(1, get(_metadata, n, t, on3[t].key, "cx", out));
			EXPECT_NE(NULL, strstr(out, "EEXIST")) TH_LOG("%s", out);
			EXPECT_EQ(0, timed_run(_metadata, n, out, stat_fmt[t],
					       on3[t].id)) TH_LOG("%s", out);
			/* removed from node 1 before it died: still gone */
			EXPECT_EQ(1, get(_metadata, n, t, gone2[t].key, "", out));
			EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
			/* node 1's objects are gone */
			EXPECT_EQ(1, get(_metadata, n, t, on1[t].key, "", out));
			EXPECT_NE(NULL, strstr(out, "ENOENT")) TH_LOG("%s", out);
			EXPECT_EQ(1, timed_run(_metadata, n, out, stat_fmt[t],
					       on1[t].id));
			EXPECT_NE(NULL, strstr(out, "EIDRM")) TH_LOG("%s", out);
		}
	}

	/* new keys, made on one survivor, seen from the other */
	for (t = 0; t < NTYPES; t++) {
		new2[t] = (struct obj){ .type = t, .key = cluster_key(0x4b460000) };
		new3[t] = (struct obj){ .type = t, .key = cluster_key(0x4b460000) };
		ASSERT_EQ(0, get(_metadata, 2, t, new2[t].key, "cx,666",
				 new2[t].id)) TH_LOG("%s", new2[t].id);
		ASSERT_EQ(0, get(_metadata, 3, t, new3[t].key, "cx,666",
				 new3[t].id)) TH_LOG("%s", new3[t].id);
		ASSERT_EQ(0, get(_metadata, 3, t, new2[t].key, "", out));
		EXPECT_STREQ(new2[t].id, out);
		ASSERT_EQ(0, get(_metadata, 2, t, new3[t].key, "", out));
		EXPECT_STREQ(new3[t].id, out);
		EXPECT_EQ(1, get(_metadata, 3, t, new2[t].key, "cx", out));
		EXPECT_NE(NULL, strstr(out, "EEXIST")) TH_LOG("%s", out);
		/* the key of node 1's object is free again */
		ASSERT_EQ(0, get(_metadata, 3, t, on1[t].key, "cx,666", out))
			TH_LOG("%s", out);
		EXPECT_STRNE(on1[t].id, out);
		strcpy(on1[t].id, out);
		ASSERT_EQ(0, get(_metadata, 2, t, on1[t].key, "", out));
		EXPECT_STREQ(on1[t].id, out);
	}

	/* nodes 2 and 3 race on new keys: one id each */
	check_races(_metadata, survivors, race_base + 128);

	/* *_INFO and ipcs count what is left, the same on both survivors */
	for (t = 0; t < NTYPES; t++) {
		for (n = 2; n <= 3; n++) {
			EXPECT_EQ(before[t] - home1[t] + 3, info_count(_metadata, n, t))
				TH_LOG("node %d, %s", n, ipcs_type[t]);
			EXPECT_EQ(1, ipcs_rows(_metadata, n, t, 0, &c, new3[t].id));
			EXPECT_EQ(before[t] - home1[t] + 3, c);
			ipcs_rows(_metadata, n, t, 1, &c, NULL);
			EXPECT_EQ(0, c) TH_LOG("node %d, %s", n, ipcs_type[t]);
		}
	}

	for (t = 0; t < NTYPES; t++) {
		EXPECT_EQ(0, timed_run(_metadata, 2, out, rm_fmt[t], on3[t].id));
		EXPECT_EQ(0, timed_run(_metadata, 3, out, rm_fmt[t], on2[t].id));
		EXPECT_EQ(0, timed_run(_metadata, 2, out, rm_fmt[t], new2[t].id));
		EXPECT_EQ(0, timed_run(_metadata, 3, out, rm_fmt[t], new3[t].id));
		EXPECT_EQ(0, timed_run(_metadata, 2, out, rm_fmt[t], on1[t].id));
		EXPECT_EQ(before[t] - home1[t] - 2, info_count(_metadata, 3, t));
	}

	/* no kernel trouble on the survivors */
	for (n = 2; n <= 3; n++) {
		node_run(n, out, "dmesg | grep -E \"WARNING:|BUG:|Oops|Call Trace\" || true");
		EXPECT_STREQ("", out) TH_LOG("node %d: %s", n, out);
	}
}

TEST_HARNESS_MAIN
