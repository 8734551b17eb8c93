#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kipc-bench.sh: cluster SysV IPC against peers measured in the same run.
#   shm ping-pong: two processes on nodes 2 and 3 pass a counter through
#   one shared segment (one cache line each way), against a 64-byte
#   user-space TIPC ping-pong between the same two nodes.
# Prints a table, then "ratio NAME=VALUE" lines last. KDDM_BENCH_OPS
# (default 200) round trips per sample, KDDM_BENCH_REPS (3) samples.
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
VM=$ROOT/userspace/kddm-vm
export KDDM_VM_DIR=${KDDM_BENCH_DIR:-$ROOT/build/kipc-bench-cluster}
OPS=${KDDM_BENCH_OPS:-200}
REPS=${KDDM_BENCH_REPS:-3}

die() { echo "kipc-bench: $*" >&2; exit 1; }
x() { "$VM" exec "$@" || die "node $1: '${*:2}' failed"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

trap '"$VM" down >/dev/null 2>&1' EXIT
"$VM" up -n 3 --load --owner $$ >/dev/null || die "the cluster did not come up"
for n in 1 2 3; do x "$n" -n -- kddm-load kipc; done

"$VM" exec 3 -t 900 -- tipc-pingpong server </dev/null >"$KDDM_VM_DIR/srv.out" 2>&1 &
srv=$!
for _ in $(seq 100); do grep -q '^serving' "$KDDM_VM_DIR/srv.out" && break; sleep 0.1; done
grep -q '^serving' "$KDDM_VM_DIR/srv.out" || die "tipc-pingpong server: $(cat "$KDDM_VM_DIR/srv.out")"

# One shm ping-pong of $OPS round trips, key $1; prints ns per round trip.
shm_run() {
	local id pong ns
	id=$(x 2 -n -- shm-pingpong create "$1")
	"$VM" exec 3 -n -t 900 -- shm-pingpong pong "$id" "$OPS" >/dev/null &
	pong=$!
	ns=$(x 2 -n -- shm-pingpong ping "$id" "$OPS")
	wait "$pong" || die "shm-pingpong pong failed"
	x 2 -n -- ipc-tool shm-rm "$id"
	echo "$ns"
}
# For comparison: holds on written pages ended by polling the page
# (kipc.store_step=0) instead of by the store's single step.
store_step() { for n in 2 3; do x "$n" -n -- sh -c "echo $1 > /sys/module/kipc/parameters/store_step"; done; }

rtts="" shms="" polled=""
for r in $(seq "$REPS"); do
	rtts="$rtts $(x 2 -n -- tipc-pingpong client 3 64 "$OPS")"
	shms="$shms $(shm_run $((0x5050 + r)))"
	store_step 0
	polled="$polled $(shm_run $((0x5150 + r)))"
	store_step 1
done
# msg throughput: receiver on node 3 (cross-node) or node 2 (same node),
# sender and queue on node 2.
msg_run() { # receiver-node key
	local id rx
	id=$(x 2 -n -- msg-throughput create "$2")
	"$VM" exec "$1" -n -t 900 -- msg-throughput recv "$id" "$MSGS" 64 \
		>"$KDDM_VM_DIR/recv.out" &
	rx=$!
	x 2 -n -- msg-throughput send "$id" "$MSGS" 64
	wait "$rx" || die "msg-throughput recv failed"
	x 2 -n -- msg-tool rm "$id"
	cat "$KDDM_VM_DIR/recv.out"
}
MSGS=${KDDM_BENCH_MSGS:-300}
cross="" local_=""
for r in $(seq "$REPS"); do
	cross="$cross $(msg_run 3 $((0x6060 + r)))"
	local_="$local_ $(msg_run 2 $((0x6070 + r)))"
done
kill "$srv" 2>/dev/null
"$VM" exec 3 -n -- sh -c 'kill $(pidof tipc-pingpong)' 2>/dev/null
"$VM" check >/dev/null || die "kernel trouble on a console"

rtt=$(median <<<"${rtts# }")
shm=$(median <<<"${shms# }")
shp=$(median <<<"${polled# }")
printf '%-34s %10s %7s  samples\n' measurement ns/op /rtt
printf '%-34s %10s %7s %s\n' "tipc ping-pong 64 B (2<->3)" "$rtt" 1.00 "$rtts"
printf '%-34s %10s %7.2f %s\n' "shm ping-pong (2<->3, home 2)" "$shm" \
	"$(div "$shm" "$rtt")" "$shms"
printf '%-34s %10s %7.2f %s\n' "  same, holds polled (comparison)" "$shp" \
	"$(div "$shp" "$rtt")" "$polled"
mx=$(median <<<"${cross# }")
ml=$(median <<<"${local_# }")
printf '%-34s %10s %7s %s\n' "msg 64 B, same node (msgs/s)" "$ml" 1.00 "$local_"
printf '%-34s %10s %7.2f %s\n' "msg 64 B, cross-node (msgs/s)" "$mx" \
	"$(div "$mx" "$ml")" "$cross"
echo
printf 'ratio shm_pingpong_tipc=%.2f\n' "$(div "$shm" "$rtt")"
printf 'ratio msg_cross_same=%.2f\n' "$(div "$mx" "$ml")"
