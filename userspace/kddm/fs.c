// SPDX-License-Identifier: GPL-2.0
/*
 * kddm df and kddm where: the kdfs cluster file system, as a user sees it.
 *
 * df reads /proc/fs/kdfs/df (each node's backing store, as the node last
 * published it). where: a kdfs inode number carries its home node in
 * bits 48..63, and the home holds the file's metadata and data, in its
 * backing directory as kdfs/i/<ino> and kdfs/f/<ino>; the data of a
 * striped file is on each of its stripe nodes, as kdfs/f/<ino> there,
 * which the read-only attribute kdfs.layout names.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>

#include "fs.h"

#define KDFS_MAGIC	0x6b646673
#define DF_FILE		"/proc/fs/kdfs/df"

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int kddm_df(bool json)
{
	uint64_t size, used, avail, files, ffree;
	unsigned int node;
	char line[256];
	int n = 0;
	FILE *f = fopen(DF_FILE, "r");

	if (!f) {
		fprintf(stderr, "kddm: df: %s: %s (is kdfs.ko loaded?)\n",
			DF_FILE, strerror(errno));
		return 1;
	}
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		fprintf(stderr, "kddm: df: %s is empty\n", DF_FILE);
		return 1;
	}
	printf(json ? "[" : "%-6s %14s %14s %14s %10s %10s\n", "NODE",
	       "SIZE", "USED", "AVAIL", "FILES", "FFREE");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %" SCNu64 " %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64, &node, &size, &used,
			   &avail, &files, &ffree) != 6)
			continue;
		if (json)
			printf("%s{\"node\":%u,\"size\":%" PRIu64 ",\"used\":%" PRIu64
			       ",\"avail\":%" PRIu64 ",\"files\":%" PRIu64
			       ",\"ffree\":%" PRIu64 "}", n ? "," : "", node,
			       size, used, avail, files, ffree);
		else
			printf("%-6u %14" PRIu64 " %14" PRIu64 " %14" PRIu64
			       " %10" PRIu64 " %10" PRIu64 "\n", node, size,
			       used, avail, files, ffree);
		n++;
	}
	fclose(f);
	if (json)
		printf("]\n");
	if (!n && !json)
		fprintf(stderr, "kddm: df: kdfs is not mounted on this node\n");
	return n ? 0 : 1;
}

/*
 * The stripe nodes of a regular file (kdfs.layout "stripe unit=U
 * nodes=A,B,..."): the comma list in @nodes and the unit; 0 if striped,
 * 1 if not, -1 on an error (said).
 */
static int stripes(const char *path, char *nodes, size_t len,
		   unsigned long *unit)
{
	char buf[512];
	ssize_t n = lgetxattr(path, "kdfs.layout", buf, sizeof(buf) - 1);
	int end = 0;

	if (n < 0 && (errno == ENODATA || errno == EOPNOTSUPP))
		return 1;	/* a kdfs.ko that does not stripe */
	if (n < 0) {
		fprintf(stderr, "kddm: where: %s: kdfs.layout: %s\n", path,
			strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	if (strncmp(buf, "stripe ", 7))
		return 1;
	if (sscanf(buf, "stripe unit=%lu nodes=%n", unit, &end) != 1 ||
	    !end || !buf[end] || strlen(buf + end) >= len) {
		fprintf(stderr, "kddm: where: %s: kdfs.layout: \"%s\"?\n",
			path, buf);
		return -1;
	}
	strcpy(nodes, buf + end);
	return 0;
}

static int where_striped(const char *path, const struct stat *st,
			 const char *nodes, unsigned long unit, bool json)
{
	unsigned int node = (unsigned int)(st->st_ino >> 48);

	if (json) {
		printf("{\"path\":");
		json_str(path);
		printf(",\"inode\":\"%016" PRIx64 "\",\"metadata_node\":%u,"
		       "\"data_nodes\":[%s],\"stripe_unit\":%lu,"
		       "\"metadata\":\"kdfs/i/%016" PRIx64
		       "\",\"data\":\"kdfs/f/%016" PRIx64 "\"}\n",
		       (uint64_t)st->st_ino, node, nodes, unit,
		       (uint64_t)st->st_ino, (uint64_t)st->st_ino);
		return 0;
	}
	printf("%s: inode %016" PRIx64 ": metadata on node %u, data striped over nodes %s\n"
	       "  %lu bytes on each in turn; in their backing directories: kdfs/i/%016" PRIx64
	       " (node %u) and kdfs/f/%016" PRIx64 " (each data node)\n",
	       path, (uint64_t)st->st_ino, node, nodes, unit,
	       (uint64_t)st->st_ino, node, (uint64_t)st->st_ino);
	return 0;
}

int kddm_where(const char *path, bool json)
{
	struct statfs sfs;
	struct stat st;
	unsigned int node;
	unsigned long unit;
	char nodes[400], glob[48];
	int r;

	if (lstat(path, &st) || statfs(path, &sfs)) {
		fprintf(stderr, "kddm: where: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if ((unsigned long)sfs.f_type != KDFS_MAGIC) {
		fprintf(stderr, "kddm: where: %s is not on kdfs\n", path);
		return 1;
	}
	if (S_ISREG(st.st_mode)) {
		r = stripes(path, nodes, sizeof(nodes), &unit);
		if (r < 0)
			return 1;
		if (!r)
			return where_striped(path, &st, nodes, unit, json);
	}
	node = (unsigned int)(st.st_ino >> 48);
	/* a listing's other nodes: digits 5 to 10 of their ids */
	snprintf(glob, sizeof(glob), "kdfs/d/%04x??????%06" PRIx64, node,
		 (uint64_t)st.st_ino & 0xffffff);
	if (json) {
		printf("{\"path\":");
		json_str(path);
		printf(",\"inode\":\"%016" PRIx64 "\",\"metadata_node\":%u,"
		       "\"data_node\":%u,\"data_nodes\":[%u],"
		       "\"metadata\":\"kdfs/i/%016" PRIx64
		       "\",\"data\":\"kdfs/%c/%016" PRIx64 "\"",
		       (uint64_t)st.st_ino, node, node, node, (uint64_t)st.st_ino,
		       S_ISDIR(st.st_mode) ? 'd' : 'f', (uint64_t)st.st_ino);
		if (S_ISDIR(st.st_mode))
			printf(",\"listing\":\"%s\"", glob);
		printf("}\n");
		return 0;
	}
	printf("%s: inode %016" PRIx64 ": metadata and %s on node %u\n"
	       "  in that node's backing directory: kdfs/i/%016" PRIx64
	       " and kdfs/%c/%016" PRIx64 "\n", path, (uint64_t)st.st_ino,
	       S_ISDIR(st.st_mode) ? "listing" : "data", node,
	       (uint64_t)st.st_ino, S_ISDIR(st.st_mode) ? 'd' : 'f',
	       (uint64_t)st.st_ino);
	if (S_ISDIR(st.st_mode))
		printf("  a listing of more than 128 KiB also in: %s\n", glob);
	return 0;
}
