// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs-lock: file locks, for the kdfs tests.
 *
 *   kdfs-lock posix|ofd FILE START LEN r|w nb|wait HOLD_MS
 *        take an fcntl() lock (a process's POSIX lock, or an open file
 *        description's), print "locked" and hold it HOLD_MS, then exit
 *        (which lets it go); "busy" and exit 2 if nb finds it held;
 *        with wait, "waiting" first
 *   kdfs-lock flock FILE sh|ex nb|wait HOLD_MS
 *        the same with flock()
 *   kdfs-lock test FILE START LEN r|w
 *        F_GETLK: "free", or "held TYPE START LEN PID"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: kdfs-lock posix|ofd FILE START LEN r|w nb|wait HOLD_MS\n"
		"       kdfs-lock flock FILE sh|ex nb|wait HOLD_MS\n"
		"       kdfs-lock test FILE START LEN r|w\n");
	return 1;
}

static void hold(const char *ms)
{
	long n = atol(ms);
	struct timespec ts = { n / 1000, (n % 1000) * 1000000L };

	printf("locked\n");
	fflush(stdout);
	nanosleep(&ts, NULL);
}

static int busy_or_fail(const char *what)
{
	if (errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK) {
		printf("busy\n");
		return 2;
	}
	fprintf(stderr, "kdfs-lock: %s: %s\n", what, strerror(errno));
	return 1;
}

static int do_fcntl(int argc, char **argv, int fd, int ofd)
{
	struct flock fl = { .l_whence = SEEK_SET };
	int nb, cmd;

	if (argc != 8)
		return usage();
	fl.l_start = atoll(argv[3]);
	fl.l_len = atoll(argv[4]);
	fl.l_type = argv[5][0] == 'w' ? F_WRLCK : F_RDLCK;
	nb = !strcmp(argv[6], "nb");
	if (ofd)
		cmd = nb ? F_OFD_SETLK : F_OFD_SETLKW;
	else
		cmd = nb ? F_SETLK : F_SETLKW;
	if (!nb) {
		printf("waiting\n");
		fflush(stdout);
	}
	if (fcntl(fd, cmd, &fl))
		return busy_or_fail("fcntl");
	hold(argv[7]);
	return 0;
}

static int do_flock(int argc, char **argv, int fd)
{
	int op;

	if (argc != 6)
		return usage();
	op = strcmp(argv[3], "ex") ? LOCK_SH : LOCK_EX;
	if (!strcmp(argv[4], "nb")) {
		op |= LOCK_NB;
	} else {
		printf("waiting\n");
		fflush(stdout);
	}
	if (flock(fd, op))
		return busy_or_fail("flock");
	hold(argv[5]);
	return 0;
}

static int do_test(int argc, char **argv, int fd)
{
	struct flock fl = { .l_whence = SEEK_SET };

	if (argc != 6)
		return usage();
	fl.l_start = atoll(argv[3]);
	fl.l_len = atoll(argv[4]);
	fl.l_type = argv[5][0] == 'w' ? F_WRLCK : F_RDLCK;
	if (fcntl(fd, F_GETLK, &fl)) {
		fprintf(stderr, "kdfs-lock: F_GETLK: %s\n", strerror(errno));
		return 1;
	}
	if (fl.l_type == F_UNLCK)
		printf("free\n");
	else
		printf("held %s %lld %lld %d\n", fl.l_type == F_WRLCK ? "w" : "r",
		       (long long)fl.l_start, (long long)fl.l_len, fl.l_pid);
	return 0;
}

int main(int argc, char **argv)
{
	int fd, ret;

	if (argc < 3)
		return usage();
	fd = open(argv[2], O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		fprintf(stderr, "kdfs-lock: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "posix") || !strcmp(argv[1], "ofd"))
		ret = do_fcntl(argc, argv, fd, argv[1][0] == 'o');
	else if (!strcmp(argv[1], "flock"))
		ret = do_flock(argc, argv, fd);
	else if (!strcmp(argv[1], "test"))
		ret = do_test(argc, argv, fd);
	else
		ret = usage();
	close(fd);
	return ret;
}
