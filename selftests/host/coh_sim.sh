#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The coherence engine under randomized schedules and node crashes, on
# 2..1024 simulated nodes (userspace/kddm-sim --quick), then a smaller
# campaign under ASan/UBSan. Each campaign counts as one test.
cd "$(dirname "$0")/../../userspace/kddm-sim" || exit 1
pass=0 fail=0
echo "TAP version 13"
if out=$(./kddm-sim --quick 2>&1) && grep -q '^sim: [0-9]* passed, 0 failed' <<<"$out"; then
	echo "ok 1 randomized campaign: $(tail -1 <<<"$out")"; pass=$((pass + 1))
else
	echo "not ok 1 randomized campaign"; tail -20 <<<"$out" | sed 's/^/# /'; fail=$((fail + 1))
fi
if out=$(make -s check-asan 2>&1); then
	echo "ok 2 campaign under ASan/UBSan"; pass=$((pass + 1))
else
	echo "not ok 2 campaign under ASan/UBSan"; tail -20 <<<"$out" | sed 's/^/# /'; fail=$((fail + 1))
fi
echo "1..2"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
