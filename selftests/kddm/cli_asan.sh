#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every kddm command, in tables and JSON, and its usage and kernel errors,
# run on a node by kddm-asan (the CLI built with AddressSanitizer, leak
# detection on, and UBSan): no sanitizer report, and the same exit status
# and output as the plain kddm. Objects of every kind exist meanwhile, so
# that the listings have rows to print.
VM=${KDDM_VM:-userspace/kddm-vm}
N=2
pass=0 fail=0 t=0

echo "TAP version 13"
"$VM" exec "$N" -n -- kddm-load kipc >/dev/null 2>&1
set_id=$("$VM" exec 1 -n -- kddm-test create -s 128 -p rr) || exit 1
"$VM" exec 1 -n -- kddm-test write "$set_id" 1 x >/dev/null || exit 1
"$VM" exec "$N" -n -- kddm-test get "$set_id" 1 >/dev/null || exit 1
shm=$("$VM" exec "$N" -n -- ipc-tool shm-get 0 8192 c,600) || exit 1
msg=$("$VM" exec "$N" -n -- msg-tool get 0 c,600) || exit 1
sem=$("$VM" exec "$N" -n -- sem-tool get 0 4 c,600) || exit 1

check() { # ARGS...: one kddm command
	local args="$*" out
	t=$((t + 1))
	out=$("$VM" exec "$N" -n -- sh -c "
		ASAN_OPTIONS=detect_leaks=1:exitcode=99 UBSAN_OPTIONS=halt_on_error=1:exitcode=98 \
			kddm-asan $args >/tmp/a.out 2>/tmp/a.err; a=\$?
		kddm $args >/tmp/p.out 2>/dev/null; p=\$?
		if [ \$a -ne \$p ]; then echo \"status \$a, plain \$p\"; cat /tmp/a.err
		elif grep -q 'Sanitizer\|runtime error' /tmp/a.err; then cat /tmp/a.err
		elif ! cmp -s /tmp/a.out /tmp/p.out; then echo 'output differs'; diff /tmp/a.out /tmp/p.out
		fi" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $t kddm $args"; pass=$((pass + 1))
	else
		echo "not ok $t kddm $args"; fail=$((fail + 1))
		echo "$out" | head -30 | sed 's/^/# /'
	fi
}

for j in "" --json; do
	check $j status
	check $j nodes
	check $j sets
	check $j stats
	check $j stats "$set_id"
	check $j ipcs
	check $j ipc status
	check $j stats 0x7700000001	# no such set
	check $j node set-id 7		# joined already
	check $j join			# joined already
	check $j leave			# sets exist
	check $j ps			# no kddm-migrated here
	check $j migrate 999999 1	# no kddm-migrated here
done
check --help
check
check bogus
check --bogus nodes
check stats notanumber
check stats 1 2
check node set-id 0
check node set-id 70000
check ipc sideways
check nodes extra
check migrate x 1
check migrate 5
check migrate 5 0
check migrate 5 1 --json extra
check ps extra
check ps --tree
check run --node 3 -- echo hi	# no kddm-migrated here
check run
check run --node 0 true
check run --node 2
check run --migratable true
check run --node 2 --bogus true

"$VM" exec "$N" -n -- ipc-tool shm-rm "$shm" >/dev/null
"$VM" exec "$N" -n -- msg-tool rm "$msg" >/dev/null
"$VM" exec "$N" -n -- sem-tool rm "$sem" >/dev/null
"$VM" exec 1 -n -- kddm-test destroy "$set_id" >/dev/null
echo "1..$t"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
