/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the System V IPC test tools (ipc-tool, msg-tool, sem-tool) share:
 * errors printed as "TOOL: OP: ERRNAME" (exit status 1), numbers (exit
 * status 2 if not one), creation flags. A tool defines TOOL, its name,
 * before including this, and sets op to the operation it runs.
 */
#ifndef IPC_COMMON_H
#define IPC_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <unistd.h>

static const char *op;

static int fail(void)
{
	const char *name = strerrorname_np(errno);

	fprintf(stderr, TOOL ": %s: %s\n", op, name ? name : "?");
	return 1;
}

static long num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (*end || end == s) {
		fprintf(stderr, TOOL ": not a number: %s\n", s);
		exit(2);
	}
	return v;
}

/* "cx,600": c IPC_CREAT, x IPC_EXCL, the mode in octal (default 0600). */
static int ipc_flags(const char *s)
{
	int f = 0;

	for (; *s && *s != ','; s++)
		f |= *s == 'c' ? IPC_CREAT : *s == 'x' ? IPC_EXCL : 0;
	return f | (*s == ',' ? (int)strtol(s + 1, NULL, 8) : 0600);
}

/*
 * "[-u UID] OP ARGS...": takes the identity UID if given, sets op.
 * Returns the index of OP in @argv, or -1 (usage printed) if none.
 */
static int tool_args(int argc, char **argv)
{
	int i = 1;

	if (argc > 3 && !strcmp(argv[1], "-u")) {
		uid_t uid = (uid_t)num(argv[2]);

		if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) {
			op = "setresuid";
			exit(fail());
		}
		i = 3;
	}
	if (argc <= i) {
		fprintf(stderr, "usage: see the comment at the top of " TOOL ".c\n");
		return -1;
	}
	op = argv[i];
	return i;
}

#endif
