#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# stress-ng's file-system stressors with --verify on every node at once,
# all in one kdfs directory (the data stressors in a striped one too):
# every run must complete with no failure, and leave nothing behind.
# shellcheck source=selftests/stress_ng.lib
. "$(dirname "$0")/../stress_ng.lib"
dir=/kdfs/stress-$$

echo "TAP version 13"
for n in $(seq "$NODES"); do "$VM" exec "$n" -n -- kddm-load || exit 1; done
for n in $(seq "$NODES"); do "$VM" exec "$n" -n -- kddm-load kdfs || exit 1; done
"$VM" exec 1 -n -- mkdir -p "$dir" || exit 1
# link and symlink make 8192 names per operation: one takes some 12 s
# (a directory listing is at most 128 KiB, see Documentation/kdfs).
stress_ng_run "--temp-path $dir" \
	"hdd 1 --hdd-ops 40 --hdd-bytes 1m --hdd-write-size 4k" \
	"dir 1 --dir-ops 200" "dentry 1 --dentry-ops 10" \
	"rename 1 --rename-ops 200" "link 1 --timeout 8" \
	"symlink 1 --timeout 8" "seek 1 --seek-ops 2000 --seek-size 1m" \
	"mmap 1 --mmap-ops 10 --mmap-file --mmap-bytes 256k" \
	"filename 1 --filename-ops 200" "io 1 --io-ops 20"
# The data stressors again with 1 MiB of file pages per node: kDDM writes
# back and drops pages under them (Documentation/kdfs, "Memory").
bound() {
	for n in $(seq "$NODES"); do
		"$VM" exec "$n" -n -- sh -c "echo $1 > /sys/module/kdfs/parameters/cache_mb" || exit 1
	done
}
bound 1
STRESS_NG_LABEL=", 1 MiB page bound" stress_ng_run "--temp-path $dir" \
	"hdd 1 --hdd-ops 40 --hdd-bytes 1m --hdd-write-size 4k" \
	"seek 1 --seek-ops 2000 --seek-size 1m" \
	"mmap 1 --mmap-ops 10 --mmap-file --mmap-bytes 256k"
# Two of them in a striped directory, still under the bound: 16 KiB units
# over the nodes, so that every file's pages are homed on all of them.
"$VM" exec 1 -n -- sh -c "mkdir $dir/striped && kdfs-xattr set $dir/striped kdfs.placement stripe:16k" || exit 1
STRESS_NG_LABEL=", striped, 1 MiB page bound" stress_ng_run "--temp-path $dir/striped" \
	"hdd 1 --hdd-ops 40 --hdd-bytes 1m --hdd-write-size 4k" \
	"mmap 1 --mmap-ops 4 --mmap-file --mmap-bytes 256k"
"$VM" exec 1 -n -- rmdir "$dir/striped" || exit 1
bound 0
left=$("$VM" exec 1 -n -- sh -c "ls -A $dir | wc -l")
i=$((i + 1))
if [ "$left" = 0 ]; then
	echo "ok $i nothing left in $dir"
	pass=$((pass + 1))
else
	echo "not ok $i $left entries left in $dir"
	fail=$((fail + 1))
fi
stress_ng_totals
