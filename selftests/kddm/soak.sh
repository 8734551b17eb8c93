#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Three processes on every node increment, remove, flush and read a dozen
# objects of one set at random-ish times, then count exactly on a thirteenth
# object they increment in between: no operation may fail (a grab racing
# with a remove creates the object anew), the count must be exact, and no
# kernel warning may appear (the driver scans the consoles).
VM=${KDDM_VM:-userspace/kddm-vm}
NODES=${KDDM_NODES:-3}
ROUNDS=${KDDM_SOAK_ROUNDS:-60}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "TAP version 13"
set_id=$("$VM" exec 1 -n -- kddm-test create -s 256 -p rr) || exit 1
for n in $(seq "$NODES"); do
	"$VM" exec "$n" -n -t 300 -- sh -c "for p in 1 2 3; do (i=0; while [ \$i -lt $ROUNDS ]; do
		o=\$((i % 12))
		kddm-test incr $set_id \$o 2 >/dev/null || echo FAIL incr \$o
		kddm-test incr $set_id 99 >/dev/null || echo FAIL count
		[ \$((i % 7)) -eq 0 ] && kddm-test remove $set_id \$o 2>/dev/null
		[ \$((i % 5)) -eq 0 ] && kddm-test flush $set_id \$o 2>/dev/null
		kddm-test get -N $set_id \$((o + 1)) >/dev/null 2>&1
		i=\$((i + 1)); done) & done; wait" >"$tmp/out.$n" 2>&1 &
done
wait
pass=0 fail=0
if cat "$tmp"/out.* | grep -q FAIL; then
	echo "not ok 1 no operation failed"; grep -h FAIL "$tmp"/out.* | head | sed 's/^/# /'
	fail=$((fail + 1))
else
	echo "ok 1 no operation failed"; pass=$((pass + 1))
fi
want=$((NODES * 3 * ROUNDS))
got=$("$VM" exec 2 -n -- kddm-test get64 "$set_id" 99)
if [ "$got" = "$want" ]; then
	echo "ok 2 exact count $got"; pass=$((pass + 1))
else
	echo "not ok 2 count $got, want $want"; fail=$((fail + 1))
fi
"$VM" exec 1 -n -- kddm-test destroy "$set_id"
echo "1..2"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
