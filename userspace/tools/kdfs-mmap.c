// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs-mmap: shared mappings of a file, for the kdfs tests.
 *
 *   kdfs-mmap store FILE OFFSET TEXT   store TEXT through a shared mapping
 *                                      (no msync, no fsync)
 *   kdfs-mmap load FILE OFFSET LEN     print LEN bytes read through one
 *   kdfs-mmap pingpong FILE ROLE ROUNDS
 *          ROLE 0 and ROLE 1 (on two nodes) take turns incrementing the
 *          counter at offset 0 of one mapping, ROUNDS times each, and
 *          check that each turn saw the other's value; prints the final
 *          value. Offset 4096 counts the turns of ROLE 0 alone (a second
 *          page written by one side, read by the other).
 *   kdfs-mmap touch FILE OFFSET        read one byte at OFFSET of a mapping
 *                                      of the whole first page; prints
 *                                      "sigbus" if the access faults
 *   kdfs-mmap twice FILE OFFSET A B    store A, msync, store B, msync (one
 *                                      mapping)
 *   kdfs-mmap private FILE TEXT FLAG   store TEXT at 0 of a MAP_PRIVATE
 *                                      mapping, make FLAG.ready, wait for
 *                                      the file FLAG to exist, print the
 *                                      mapping's first bytes
 *   kdfs-mmap selfio FILE              write() from a shared mapping of
 *                                      FILE into FILE, read() into one:
 *                                      page 0 copied to page 1 and back
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_S	240

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *map(const char *path, size_t len, int prot)
{
	int fd = open(path, prot & PROT_WRITE ? O_RDWR : O_RDONLY);
	void *p;

	if (fd < 0)
		die(path);
	p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	close(fd);
	return p;
}

static int do_store(const char *path, long off, const char *text)
{
	size_t len = off + strlen(text);
	char *p = map(path, len, PROT_READ | PROT_WRITE);

	memcpy(p + off, text, strlen(text));
	return munmap(p, len) ? 1 : 0;
}

static int do_load(const char *path, long off, long n)
{
	char *p = map(path, off + n, PROT_READ);

	fwrite(p + off, 1, n, stdout);
	return munmap(p, off + n) ? 1 : 0;
}

static int do_pingpong(const char *path, int role, long rounds)
{
	volatile uint32_t *c = map(path, 8192, PROT_READ | PROT_WRITE);
	volatile uint32_t *turns = c + 4096 / sizeof(*c);
	time_t end = time(NULL) + TIMEOUT_S;
	long done = 0;
	uint32_t v;

	while (done < rounds) {
		v = *c;
		if ((v & 1) != (uint32_t)role) {
			if (time(NULL) > end) {
				fprintf(stderr, "role %d: stuck at %u after %ld turns\n",
					role, v, done);
				return 1;
			}
			continue;
		}
		if (v != 2 * done + role) {
			fprintf(stderr, "role %d: turn %ld saw %u, want %ld\n",
				role, done, v, 2 * done + role);
			return 1;
		}
		if (role == 0)
			*turns = done + 1;
		else if (*turns != done + 1) {
			fprintf(stderr, "role 1: turn %ld saw %u turns of role 0\n",
				done, *turns);
			return 1;
		}
		*c = v + 1;
		done++;
	}
	while (*c < 2 * rounds && time(NULL) <= end)
		;	/* the other side's last turn */
	printf("%u\n", *c);
	return 0;
}

static sigjmp_buf jump;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

static int do_touch(const char *path, long off)
{
	volatile char *p = map(path, off + 1, PROT_READ);
	char c;

	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(jump, 1)) {
		printf("sigbus\n");
		return 0;
	}
	c = p[off];
	printf("%d\n", c);
	return 0;
}

static int do_twice(const char *path, long off, const char *a,
		    const char *b)
{
	size_t len = off + strlen(a) + strlen(b);
	char *p = map(path, len, PROT_READ | PROT_WRITE);

	memcpy(p + off, a, strlen(a));
	if (msync(p, len, MS_SYNC))
		die("msync");
	memcpy(p + off, b, strlen(b));
	if (msync(p, len, MS_SYNC))
		die("msync");
	return munmap(p, len) ? 1 : 0;
}

static int do_private(const char *path, const char *text, const char *flag)
{
	size_t len = strlen(text);
	int fd = open(path, O_RDONLY);
	time_t end = time(NULL) + TIMEOUT_S;
	char *p, ready[4096];

	if (fd < 0)
		die(path);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memcpy(p, text, len);
	snprintf(ready, sizeof(ready), "%s.ready", flag);
	fd = open(ready, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		die(ready);
	close(fd);
	while (access(flag, F_OK) && time(NULL) <= end)
		usleep(10000);
	fwrite(p, 1, len, stdout);
	printf("\n");
	return 0;
}

static int do_selfio(const char *path)
{
	int fd = open(path, O_RDWR);
	char *p;

	if (fd < 0)
		die(path);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	/* the source and the target are pages of this very file */
	if (pwrite(fd, p, 4096, 4096) != 4096)
		die("pwrite");
	if (memcmp(p, p + 4096, 4096)) {
		fprintf(stderr, "page 1 is not page 0 after write()\n");
		return 1;
	}
	if (pread(fd, p + 4096, 4096, 0) != 4096)
		die("pread");
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "store"))
		return do_store(argv[2], atol(argv[3]), argv[4]);
	if (argc == 5 && !strcmp(argv[1], "load"))
		return do_load(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "pingpong"))
		return do_pingpong(argv[2], atoi(argv[3]) & 1, atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "touch"))
		return do_touch(argv[2], atol(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "twice"))
		return do_twice(argv[2], atol(argv[3]), argv[4], argv[5]);
	if (argc == 5 && !strcmp(argv[1], "private"))
		return do_private(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "selfio"))
		return do_selfio(argv[2]);
	fprintf(stderr, "usage: kdfs-mmap store|load|pingpong|touch|twice|private|selfio ...\n");
	return 2;
}
