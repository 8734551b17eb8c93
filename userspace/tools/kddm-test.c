// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-test: drives objects of "kddm_test" sets through /dev/kddm_test
 * (the test io-linker module). Used by the selftests and the benchmarks.
 *
 *   kddm-test create [-s SIZE] [-p fixed|rr|bits] [-n NODE]   prints SET
 *   kddm-test destroy SET
 *   kddm-test get|grab|find SET OBJ [-t] [-N] [-a]  prints the object
 *                                   as text (-a: get starts a prefetch)
 *   kddm-test get64 SET OBJ                     prints it as a u64
 *   kddm-test write SET OBJ TEXT
 *   kddm-test incr SET OBJ [COUNT]              prints the last value
 *   kddm-test remove|flush SET OBJ
 *   kddm-test sync SET OBJ          the home writes it to its store
 *   kddm-test stored SET OBJ        prints this node's stored copy
 *   kddm-test hold-get|hold-grab SET OBJ        freeze, say "held", wait
 *                                               for stdin to close, put
 *   kddm-test bench-get|bench-grab SET FIRST N  get (grab) + put of objects
 *                                   FIRST..FIRST+N-1 once each, prints ns/op
 *   kddm-test touch SET FIRST N     get + put of those objects (read copies)
 *   kddm-test fill SET OBJ SEED     writes the whole object with bytes drawn
 *                                   from SEED, prints "LEN CHECKSUM"
 *   kddm-test sum SET OBJ           prints "LEN CHECKSUM" of the object
 * Errors print "kddm-test: OP: ERRNAME (message)" and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <kddm/kddm_test.h>

static int dev = -1;
static const char *op;

static int fail(void)
{
	const char *name = strerrorname_np(errno);

	fprintf(stderr, "kddm-test: %s: %s (%s)\n", op, name ? name : "?",
		strerror(errno));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: see the comment at the top of kddm-test.c\n");
	return 2;
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "kddm-test: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static int create(int argc, char **argv)
{
	struct kddm_test_set ts = { .obj_size = 64 };
	int c;

	while ((c = getopt(argc, argv, "s:p:n:")) != -1) {
		if (c == 's')
			ts.obj_size = (uint32_t)num(optarg);
		else if (c == 'n')
			ts.fixed_node = (uint32_t)num(optarg);
		else if (c == 'p' && !strcmp(optarg, "fixed"))
			ts.policy = 0;
		else if (c == 'p' && !strcmp(optarg, "rr"))
			ts.policy = 1;
		else if (c == 'p' && !strcmp(optarg, "bits"))
			ts.policy = 2;
		else
			return usage();
	}
	if (ioctl(dev, KDDM_TEST_CREATE, &ts))
		return fail();
	printf("0x%llx\n", (unsigned long long)ts.set_id);
	return 0;
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* get (or grab) + put of N consecutive objects: the average in ns. */
static int bench(struct kddm_test_obj *to, unsigned long cmd, uint64_t n,
		 bool quiet)
{
	uint64_t first = to->obj_id, i;
	double t0 = now_ns();

	to->buf = 0;
	for (i = 0; i < n; i++) {
		to->obj_id = first + i;
		if (ioctl(dev, cmd, to))
			return fail();
	}
	if (!quiet)
		printf("%.0f\n", (now_ns() - t0) / (double)n);
	return 0;
}

static int hold(struct kddm_test_obj *to, unsigned long cmd)
{
	char c;

	to->flags |= KDDM_TEST_F_HOLD;
	if (ioctl(dev, cmd, to))
		return fail();
	printf("held\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	to->flags = 0;
	if (ioctl(dev, KDDM_TEST_PUT, to))
		return fail();
	return 0;
}

/* FNV-1a, 64 bits. */
static uint64_t checksum(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* fill (@seed != 0) or sum the whole object of @to. */
static int fill_or_sum(struct kddm_test_obj *to, unsigned char *buf,
		       uint64_t seed)
{
	uint64_t x = seed;
	uint32_t i;

	if (ioctl(dev, KDDM_TEST_GET, to))
		return fail();
	if (seed) {
		for (i = 0; i < to->len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (unsigned char)x;
		}
		if (ioctl(dev, KDDM_TEST_WRITE, to))
			return fail();
	}
	printf("%u %016llx\n", to->len,
	       (unsigned long long)checksum(buf, to->len));
	return 0;
}

static int obj_cmd(int argc, char **argv)
{
	static char buf[KDDM_TEST_MAX_SIZE + 1];
	struct kddm_test_obj to = { .buf = (uintptr_t)buf,
				    .len = KDDM_TEST_MAX_SIZE };
	uint64_t count = 1, i;
	int c;

	while ((c = getopt(argc, argv, "tNa")) != -1) {
		if (c == 'a')
			to.flags |= KDDM_TEST_F_ASYNC;
		else if (c == 't')
			to.flags |= KDDM_TEST_F_TRY;
		else if (c == 'N')
			to.flags |= KDDM_TEST_F_NO_FT;
		else
			return usage();
	}
	if (argc - optind < 2)
		return usage();
	to.set_id = num(argv[optind]);
	to.obj_id = num(argv[optind + 1]);
	if (!strcmp(op, "get") || !strcmp(op, "grab") || !strcmp(op, "find")) {
		unsigned long cmd = op[1] == 'e' ? KDDM_TEST_GET :
				    op[1] == 'r' ? KDDM_TEST_GRAB :
						   KDDM_TEST_FIND;

		if (ioctl(dev, cmd, &to))
			return fail();
		printf("%s\n", buf);
	} else if (!strcmp(op, "get64")) {
		uint64_t v;

		if (ioctl(dev, KDDM_TEST_GET, &to))
			return fail();
		memcpy(&v, buf, sizeof(v));
		printf("%llu\n", (unsigned long long)v);
	} else if (!strcmp(op, "write") && argc - optind == 3) {
		to.buf = (uintptr_t)argv[optind + 2];
		to.len = strlen(argv[optind + 2]);
		if (ioctl(dev, KDDM_TEST_WRITE, &to))
			return fail();
	} else if (!strcmp(op, "incr")) {
		if (argc - optind == 3)
			count = num(argv[optind + 2]);
		for (i = 0; i < count; i++)
			if (ioctl(dev, KDDM_TEST_INCR, &to))
				return fail();
		printf("%llu\n", (unsigned long long)to.value);
	} else if (!strcmp(op, "sync")) {
		if (ioctl(dev, KDDM_TEST_SYNC, &to))
			return fail();
	} else if (!strcmp(op, "stored")) {
		memset(buf, 0, KDDM_TEST_STORE_MAX + 1);
		to.len = KDDM_TEST_STORE_MAX;
		if (ioctl(dev, KDDM_TEST_STORED, &to))
			return fail();
		printf("%s\n", buf);
	} else if (!strcmp(op, "remove") || !strcmp(op, "flush")) {
		if (ioctl(dev, op[0] == 'r' ? KDDM_TEST_REMOVE :
			  KDDM_TEST_FLUSH, &to))
			return fail();
	} else if (!strcmp(op, "hold-get") || !strcmp(op, "hold-grab")) {
		return hold(&to, op[6] == 'e' ? KDDM_TEST_GET : KDDM_TEST_GRAB);
	} else if (!strncmp(op, "bench-", 6) && argc - optind == 3) {
		return bench(&to, op[7] == 'e' ? KDDM_TEST_GET : KDDM_TEST_GRAB,
			     num(argv[optind + 2]), false);
	} else if (!strcmp(op, "fill") && argc - optind == 3) {
		if (!num(argv[optind + 2]))
			return usage();
		return fill_or_sum(&to, (unsigned char *)buf,
				   num(argv[optind + 2]));
	} else if (!strcmp(op, "sum") && argc - optind == 2) {
		return fill_or_sum(&to, (unsigned char *)buf, 0);
	} else if (!strcmp(op, "touch") && argc - optind == 3) {
		return bench(&to, KDDM_TEST_GET, num(argv[optind + 2]), true);
	} else {
		return usage();
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	op = argv[1];
	dev = open("/dev/kddm_test", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		op = "open /dev/kddm_test (is kddm_test.ko loaded?)";
		return fail();
	}
	if (!strcmp(op, "create"))
		return create(argc - 1, argv + 1);
	if (!strcmp(op, "destroy") && argc == 3) {
		struct kddm_test_set ts = { .set_id = num(argv[2]) };

		if (ioctl(dev, KDDM_TEST_DESTROY, &ts))
			return fail();
		return 0;
	}
	return obj_cmd(argc - 1, argv + 1);
}
