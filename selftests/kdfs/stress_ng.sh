#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# stress-ng's file-system stressors with --verify on every node at once,
# all in one kdfs directory: every run must complete with no failure.
# Each node starts its stressors at its own pid range (stress-ng names its
# work directories after the pid, which fresh guests share).
VM=${KDDM_VM:-userspace/kddm-vm}
NODES=${KDDM_NODES:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 i=0
dir=/kdfs/stress-$$

echo "TAP version 13"
for n in $(seq "$NODES"); do "$VM" exec "$n" -n -- kddm-load || exit 1; done
for n in $(seq "$NODES"); do "$VM" exec "$n" -n -- kddm-load kdfs || exit 1; done
"$VM" exec 1 -n -- mkdir -p "$dir" || exit 1
# link and symlink make 8192 names per operation: they run for 15 s each
# (a directory listing is at most 128 KiB, see Documentation/kdfs).
for stressor in "hdd 1 --hdd-ops 40 --hdd-bytes 1m --hdd-write-size 4k" \
		"dir 1 --dir-ops 200" "dentry 1 --dentry-ops 20" \
		"rename 1 --rename-ops 400" "link 1 --timeout 15" \
		"symlink 1 --timeout 15" "seek 1 --seek-ops 2000 --seek-size 1m" \
		"mmap 1 --mmap-ops 10 --mmap-file --mmap-bytes 256k" \
		"filename 1 --filename-ops 200" "io 1 --io-ops 20"; do
	i=$((i + 1))
	name=${stressor%% *}
	for n in $(seq "$NODES"); do
		# shellcheck disable=SC2086
		"$VM" exec "$n" -n -t 300 -- sh -c "echo $((n * 8000)) > /proc/sys/kernel/ns_last_pid && exec stress-ng --$stressor --temp-path $dir --verify --metrics-brief" \
			>"$tmp/$name.$n" 2>&1 &
	done
	ok=1
	for n in $(seq "$NODES"); do
		wait -n || ok=0
	done
	for n in $(seq "$NODES"); do
		grep -q 'successful run completed' "$tmp/$name.$n" || ok=0
		grep -qiE 'fail|error' "$tmp/$name.$n" && ok=0
	done
	if [ $ok -eq 1 ]; then
		echo "ok $i stress-ng --$name --verify on $NODES nodes at once in $dir"
		pass=$((pass + 1))
	else
		echo "not ok $i stress-ng --$name --verify on $NODES nodes at once in $dir"
		tail -n 8 "$tmp/$name".* | sed 's/^/# /'
		fail=$((fail + 1))
	fi
done
left=$("$VM" exec 1 -n -- sh -c "ls -A $dir | wc -l")
if [ "$left" = 0 ]; then
	echo "ok $((i + 1)) nothing left in $dir"
	pass=$((pass + 1))
else
	echo "not ok $((i + 1)) $left entries left in $dir"
	fail=$((fail + 1))
fi
echo "1..$((i + 1))"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
