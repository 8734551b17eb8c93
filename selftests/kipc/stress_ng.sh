#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# stress-ng's SysV stressors with --verify on every node at once, on the
# cluster-wide IPC of kipc: every run must complete with no failure.
VM=${KDDM_VM:-userspace/kddm-vm}
NODES=${KDDM_NODES:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 i=0

echo "TAP version 13"
for n in $(seq "$NODES"); do "$VM" exec "$n" -n -- kddm-load kipc || exit 1; done
for stressor in "shm-sysv 1 --shm-sysv-ops 15" "msg 1 --msg-ops 2000" \
		"sem-sysv 1 --sem-sysv-ops 2000"; do
	i=$((i + 1))
	name=${stressor%% *}
	for n in $(seq "$NODES"); do
		# shellcheck disable=SC2086
		"$VM" exec "$n" -n -t 240 -- stress-ng --$stressor --verify \
			--metrics-brief >"$tmp/$name.$n" 2>&1 &
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
		echo "ok $i stress-ng --$name --verify on $NODES nodes at once"
		pass=$((pass + 1))
	else
		echo "not ok $i stress-ng --$name --verify on $NODES nodes at once"
		tail -n 5 "$tmp/$name".* | sed 's/^/# /'
		fail=$((fail + 1))
	fi
done
echo "1..$i"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
