// SPDX-License-Identifier: GPL-2.0
/*
 * burn: a fixed amount of CPU work, for the balancing experiment.
 *
 *   burn UNITS [-m MIB]
 *
 * Runs UNITS units of integer work (a unit is 2^20 steps of a
 * xorshift generator), then exits 0. With -m, it first fills MIB MiB and
 * every unit also reads a stretch of it: a memory-heavy job, that moves
 * with its memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	uint64_t x = 88172645463325252ULL, *mem = NULL;
	size_t words = 0, at = 0, i;
	long units, u;

	if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "-m"))) {
		fprintf(stderr, "usage: burn UNITS [-m MIB]\n");
		return 2;
	}
	units = atol(argv[1]);
	if (units <= 0) {
		fprintf(stderr, "burn: UNITS: a positive count\n");
		return 2;
	}
	if (argc == 4) {
		words = (size_t)atol(argv[3]) << 17;	/* 8-byte words */
		mem = words ? malloc(words * sizeof(*mem)) : NULL;
		if (!mem) {
			fprintf(stderr, "burn: -m: no memory\n");
			return 1;
		}
		for (i = 0; i < words; i++)
			mem[i] = i;
	}
	for (u = 0; u < units; u++) {
		for (i = 0; i < (1U << 20); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (mem && !(i & 63)) {
				x += mem[at];
				at = (at + 4099) % words;
			}
		}
	}
	printf("%llu\n", (unsigned long long)(x & 0xffff));
	return 0;
}
