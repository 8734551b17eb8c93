// SPDX-License-Identifier: GPL-2.0
/*
 * kdfs-xattr: extended attributes and POSIX ACLs from the command line,
 * for the kdfs tests (the guests have no attr or acl tools).
 *
 *   kdfs-xattr set FILE NAME VALUE     setxattr
 *   kdfs-xattr get FILE NAME           the value, or the errno's name
 *   kdfs-xattr list FILE               the names, one per line
 *   kdfs-xattr rm FILE NAME            removexattr
 *   kdfs-xattr setacl FILE SPEC        the access ACL, e.g.
 *                                      u::rw-,u:1000:r--,g::r--,m::r--,o::---
 *   kdfs-xattr setdefacl DIR SPEC      the default ACL
 *   kdfs-xattr getacl FILE             the access ACL as a SPEC
 *   kdfs-xattr getdefacl DIR           the default ACL as a SPEC
 *   kdfs-xattr as UID GID CMD...       runs CMD with those ids
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define ACL_ACCESS	"system.posix_acl_access"
#define ACL_DEFAULT	"system.posix_acl_default"
#define ACL_VERSION	2
#define MAX_ENTRIES	64

struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

static const struct {
	char c;
	uint16_t tag;
} tags[] = {
	{ 'u', 0x01 }, { 'u', 0x02 }, { 'g', 0x04 }, { 'g', 0x08 },
	{ 'm', 0x10 }, { 'o', 0x20 },
};

/* The errno's name alone on stdout (what the tests compare). */
static int fail(const char *what)
{
	int e = errno;

	printf("%s\n", e == ENODATA ? "ENODATA" : e == EACCES ? "EACCES" :
	       e == EPERM ? "EPERM" : e == ENOSPC ? "ENOSPC" :
	       e == EEXIST ? "EEXIST" : e == ERANGE ? "ERANGE" : what);
	return 1;
}

/* "u::rw-,u:1000:r--,..." into @e; the count, or -1. */
static int parse_acl(char *spec, struct acl_entry *e)
{
	char *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char kind, qual[16] = "", perm[4];

		if (n == MAX_ENTRIES ||
		    (sscanf(tok, "%c::%3s", &kind, perm) != 2 &&
		     sscanf(tok, "%c:%15[0-9]:%3s", &kind, qual, perm) != 3) ||
		    strlen(perm) != 3)
			return -1;
		e[n].tag = kind == 'u' ? (*qual ? 0x02 : 0x01) :
			   kind == 'g' ? (*qual ? 0x08 : 0x04) :
			   kind == 'm' ? 0x10 : kind == 'o' ? 0x20 : 0;
		if (!e[n].tag)
			return -1;
		e[n].id = *qual ? (uint32_t)atol(qual) : (uint32_t)-1;
		e[n].perm = (perm[0] == 'r') << 2 | (perm[1] == 'w') << 1 |
			    (perm[2] == 'x');
		n++;
	}
	return n;
}

static int set_acl(const char *path, const char *name, char *spec)
{
	struct acl_entry e[MAX_ENTRIES];
	unsigned char buf[4 + 8 * MAX_ENTRIES], *p = buf + 4;
	int n = parse_acl(spec, e), i;
	uint32_t v = ACL_VERSION;

	if (n < 0) {
		fprintf(stderr, "bad ACL\n");
		return 2;
	}
	memcpy(buf, &v, 4);	/* little-endian host (x86) */
	for (i = 0; i < n; i++, p += 8) {
		memcpy(p, &e[i].tag, 2);
		memcpy(p + 2, &e[i].perm, 2);
		memcpy(p + 4, &e[i].id, 4);
	}
	if (setxattr(path, name, buf, p - buf, 0))
		return fail("setxattr");
	return 0;
}

static int get_acl(const char *path, const char *name)
{
	unsigned char buf[4 + 8 * MAX_ENTRIES];
	ssize_t len = getxattr(path, name, buf, sizeof(buf));
	struct acl_entry e;
	ssize_t off;
	size_t t;

	if (len < 0)
		return fail("getxattr");
	for (off = 4; off + 8 <= len; off += 8) {
		memcpy(&e.tag, buf + off, 2);
		memcpy(&e.perm, buf + off + 2, 2);
		memcpy(&e.id, buf + off + 4, 4);
		for (t = 0; t < sizeof(tags) / sizeof(tags[0]); t++)
			if (tags[t].tag == e.tag)
				break;
		if (t == sizeof(tags) / sizeof(tags[0]))
			return 1;
		printf("%s%c:", off > 4 ? "," : "", tags[t].c);
		if (e.tag == 0x02 || e.tag == 0x08)
			printf("%u", e.id);
		printf(":%c%c%c", e.perm & 4 ? 'r' : '-', e.perm & 2 ? 'w' : '-',
		       e.perm & 1 ? 'x' : '-');
	}
	printf("\n");
	return 0;
}

static int list(const char *path)
{
	char buf[65536];
	ssize_t len = listxattr(path, buf, sizeof(buf)), off;

	if (len < 0)
		return fail("listxattr");
	for (off = 0; off < len; off += strlen(buf + off) + 1)
		printf("%s\n", buf + off);
	return 0;
}

static int get(const char *path, const char *name)
{
	char buf[65536];
	ssize_t len = getxattr(path, name, buf, sizeof(buf));

	if (len < 0)
		return fail("getxattr");
	fwrite(buf, 1, len, stdout);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (argc == 5 && !strcmp(cmd, "set"))
		return setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) ?
		       fail("setxattr") : 0;
	if (argc == 4 && !strcmp(cmd, "get"))
		return get(argv[2], argv[3]);
	if (argc == 3 && !strcmp(cmd, "list"))
		return list(argv[2]);
	if (argc == 4 && !strcmp(cmd, "rm"))
		return removexattr(argv[2], argv[3]) ? fail("removexattr") : 0;
	if (argc == 4 && !strcmp(cmd, "setacl"))
		return set_acl(argv[2], ACL_ACCESS, argv[3]);
	if (argc == 4 && !strcmp(cmd, "setdefacl"))
		return set_acl(argv[2], ACL_DEFAULT, argv[3]);
	if (argc == 3 && !strcmp(cmd, "getacl"))
		return get_acl(argv[2], ACL_ACCESS);
	if (argc == 3 && !strcmp(cmd, "getdefacl"))
		return get_acl(argv[2], ACL_DEFAULT);
	if (argc >= 5 && !strcmp(cmd, "as")) {
		gid_t g = atol(argv[3]);
		uid_t u = atol(argv[2]);

		if (setgroups(0, NULL) || setresgid(g, g, g) ||
		    setresuid(u, u, u))
			return fail("setresuid");
		execvp(argv[4], argv + 4);
		return fail(argv[4]);
	}
	fprintf(stderr, "usage: kdfs-xattr set|get|list|rm|setacl|setdefacl|getacl|getdefacl|as ...\n");
	return 2;
}
