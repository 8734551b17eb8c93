// SPDX-License-Identifier: GPL-2.0
/*
 * meta-rate: the metadata rate of a file system, for bench/kdfs-bench.sh.
 *
 *   meta-rate DIR N [BYTES]
 *
 * In DIR (which must exist), creates N files f000000 .. (open O_CREAT |
 * O_EXCL, BYTES bytes written, default 0, close), then stats each one by
 * name, then unlinks each one. Prints one line:
 *
 *   CREATE STAT UNLINK TOTAL
 *
 * the operations per second of each phase and of the three together
 * (3 N operations over the sum of the three times), as integers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "meta-rate: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	static char buf[65536];
	char path[4096];
	double t0, t1, t2, t3;
	long n, i, bytes = 0;
	struct stat st;
	int fd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: meta-rate DIR N [BYTES]\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	if (argc == 4)
		bytes = strtol(argv[3], NULL, 10);
	if (n < 1 || n > 999999 || bytes < 0 || bytes > (long)sizeof(buf)) {
		fprintf(stderr, "meta-rate: N from 1 to 999999, BYTES up to %zu\n",
			sizeof(buf));
		return 2;
	}
	memset(buf, 'x', sizeof(buf));

	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld", argv[1], i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			die("create", path);
		if (bytes && write(fd, buf, bytes) != bytes)
			die("write", path);
		if (close(fd))
			die("close", path);
	}
	t1 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld", argv[1], i);
		if (stat(path, &st))
			die("stat", path);
		if (st.st_size != bytes) {
			fprintf(stderr, "meta-rate: %s: size %lld, not %ld\n",
				path, (long long)st.st_size, bytes);
			return 1;
		}
	}
	t2 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld", argv[1], i);
		if (unlink(path))
			die("unlink", path);
	}
	t3 = now();
	printf("%.0f %.0f %.0f %.0f\n", n / (t1 - t0), n / (t2 - t1),
	       n / (t3 - t2), 3 * n / (t3 - t0));
	return 0;
}
