// SPDX-License-Identifier: GPL-2.0
/*
 * kddm.ko loads, says so in the kernel log, and unloads, several times over;
 * it unloads cleanly with live sets and objects. Runs on a node of the test
 * cluster; leaves kddm.ko and kddm_test.ko loaded and joined (kddm-load).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define KO "/lib/modules/kddm/kddm.ko"

static int load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static int loaded(void)
{
	struct stat st;

	return stat("/sys/module/kddm", &st) == 0;
}

static int klog_count(const char *needle)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), n = 0;
	char *buf, *p;

	if (len <= 0)
		return -1;
	buf = malloc(len + 1);
	if (!buf)
		return -1;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	buf[len > 0 ? len : 0] = '\0';
	for (p = buf; (p = strstr(p, needle)); p++)
		n++;
	free(buf);
	return n;
}

TEST(load_unload_cycles)
{
	int i, before;

	ASSERT_EQ(0, system("kddm-load -u"));
	before = klog_count("kddm: version");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, load(KO));
		ASSERT_TRUE(loaded());
		ASSERT_EQ(0, syscall(SYS_delete_module, "kddm", 0));
		ASSERT_FALSE(loaded());
	}
	/* one "loaded" and one "unloaded" line per cycle */
	EXPECT_EQ(before + 6, klog_count("kddm: version"));
}

TEST(double_load_refused)
{
	ASSERT_EQ(0, load(KO));
	EXPECT_EQ(-1, load(KO));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, syscall(SYS_delete_module, "kddm", 0));
}

/* Sets with objects and read copies, then both modules go. */
TEST(unload_with_live_sets)
{
	char cmd[256], id[64] = "";
	FILE *p;

	ASSERT_EQ(0, system("kddm-load"));
	p = popen("kddm-test create -s 128", "r");
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, fgets(id, sizeof(id), p));
	ASSERT_EQ(0, pclose(p));
	id[strcspn(id, "\n")] = '\0';
	snprintf(cmd, sizeof(cmd), "kddm-test write %s 1 x", id);
	ASSERT_EQ(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "kddm-test incr %s 2 5 >/dev/null", id);
	ASSERT_EQ(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "kddm-test touch %s 10 100", id);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, system("kddm-test create >/dev/null"));
	ASSERT_EQ(0, system("kddm-load -u"));
	EXPECT_FALSE(loaded());
	ASSERT_EQ(0, system("kddm-load"));
	EXPECT_TRUE(loaded());
	/* the new incarnation works */
	EXPECT_EQ(0, system("kddm-test create >/dev/null"));
}

TEST_HARNESS_MAIN
