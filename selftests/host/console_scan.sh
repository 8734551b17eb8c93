#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The console scanner flags every kind of kernel trouble and nothing else.
VM=$(dirname "$0")/../../userspace/kddm-vm
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
pass=0 fail=0 i=0

check() { # want(0 flagged / 1 clean) line
	i=$((i + 1))
	printf '[    1.000000] %s\n' "$2" >"$tmp"
	"$VM" scan "$tmp" >/dev/null
	if [ $? -eq "$1" ]; then
		echo "ok $i $2"; pass=$((pass + 1))
	else
		echo "not ok $i $2"; fail=$((fail + 1))
	fi
}

echo "TAP version 13"
check 0 "WARNING: CPU: 0 PID: 97 at kddm/main.c:12 kddm_init+0x5/0x1000 [kddm]"
check 0 "BUG: kernel NULL pointer dereference, address: 0000000000000008"
check 0 "kernel BUG at kddm/object.c:42!"
check 0 "Oops: 0002 [#1] PREEMPT SMP NOPTI"
check 0 "general protection fault, probably for non-canonical address"
check 0 "INFO: task kworker/0:1:23 blocked for more than 60 seconds."
check 0 "WARNING: possible circular locking dependency detected"
check 0 "BUG: soft lockup - CPU#0 stuck for 22s!"
check 0 "Kernel panic - not syncing: Attempted to kill init!"
check 0 "UBSAN: shift-out-of-bounds in kddm/coh.c:10:3"
check 1 "kddm: version 0.1.0 loaded"
check 1 "tipc: Established link <1001001:eth0-1001002:eth0> on network plane A"
check 1 "kddm: loading out-of-tree module taints kernel."
echo "1..$i"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ "$fail" -eq 0 ]
