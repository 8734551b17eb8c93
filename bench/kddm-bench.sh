#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kddm-bench.sh: kDDM object latencies against the TIPC round trip measured
# on the same cluster in the same run.  See bench/README.rst.
#
#   bench/kddm-bench.sh            (KDDM_BENCH_OPS=N operations per sample,
#                                   default 500; KDDM_BENCH_REPS=3 samples)
#
# Prints a table, then as its last lines "ratio get_rtt=X" and
# "ratio grabK_rtt=X" (K = 1, 2, 3).  Exits non-zero if anything failed
# (boot, a command, kernel trouble on a console), never because a ratio
# misses its goal.
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
VM=$ROOT/userspace/kddm-vm
export KDDM_VM_DIR=${KDDM_BENCH_DIR:-$ROOT/build/bench-cluster}
OPS=${KDDM_BENCH_OPS:-500}
REPS=${KDDM_BENCH_REPS:-3}
NODES=5
SIZE=4096
GOAL_GET=1.3
GOAL_GRAB=1.5

die() { echo "kddm-bench: $*" >&2; exit 1; }
log() { echo "kddm-bench: $*" >&2; }

# exec NODE CMD...: runs CMD on NODE, dies (and so downs the cluster) on
# any failure.
x() {
	local n=$1 out rc
	shift
	out=$("$VM" exec "$n" -t 120 -- "$@")
	rc=$?
	if [ $rc -eq 0 ]; then
		[ -z "$out" ] || echo "$out"
		return 0
	fi
	die "node $n: '$*' failed (exit $rc): $out"
}

# m VAR NODE CMD...: VAR+=(the number CMD prints on NODE).
m() {
	local -n arr=$1
	local n=$2 v
	shift 2
	v=$(x "$n" "$@") || exit 1
	[[ $v =~ ^[0-9]+$ ]] || die "node $n: '$*' printed '$v'"
	arr+=("$v")
}

median() { sort -n | sed -n "$(( (REPS + 1) / 2 ))p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
meets() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g) ? "yes" : "NO" }'; }

make -s -C "$ROOT/bench" BUILD="$ROOT/build" || die "cannot build tipc-pingpong"
for f in kddm-test kddm-agent tipc-pingpong; do
	[ -x "$ROOT/build/bin/$f" ] || die "build/bin/$f missing: run 'make' first"
done

SERVER_PID=()
cleanup() {
	local p
	for p in "${SERVER_PID[@]}"; do kill "$p" 2>/dev/null; done
	"$VM" down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(date +%s)
"$VM" up -n $NODES --load --owner $$ >/dev/null || die "cluster did not come up"
log "cluster of $NODES up in $(( $(date +%s) - T0 ))s (state in $KDDM_VM_DIR)"

# ---------------------------------------------------------------- servers
# tipc-pingpong servers on the home (1) and on the copies (3..5), each run
# by a background exec; each prints its pid so that it is stopped by pid.
SERVERS=(1 3 4 5)
SERVER_PID=()
GPID=()
for n in "${SERVERS[@]}"; do
	"$VM" exec "$n" -t 900 -- sh -c 'echo pid $$; exec tipc-pingpong server' \
		</dev/null >"$KDDM_VM_DIR/pingpong-server$n.out" 2>&1 &
	SERVER_PID+=($!)
done
for n in "${SERVERS[@]}"; do
	out=$KDDM_VM_DIR/pingpong-server$n.out
	for _ in $(seq 50); do
		grep -q '^serving' "$out" 2>/dev/null && break
		sleep 0.2
	done
	grep -q '^serving' "$out" || die "tipc-pingpong server on node $n: $(cat "$out")"
	GPID+=("$(awk '$1 == "pid" { print $2 }' "$out")")
done
stop_servers() {
	local i n
	for i in "${!SERVERS[@]}"; do
		n=${SERVERS[i]}
		x "$n" kill "${GPID[i]}" >/dev/null
		wait "${SERVER_PID[i]}"
		"$VM" exec "$n" -- sh -c "! kill -0 ${GPID[i]} 2>/dev/null" ||
			die "tipc-pingpong server (pid ${GPID[i]} on node $n) still running"
	done
	SERVER_PID=()
}

SET=$(x 1 kddm-test create -s $SIZE -p fixed -n 1) || exit 1
[[ $SET =~ ^0x[0-9a-f]+$ ]] || die "kddm-test create printed '$SET'"
NEXT=1
# fresh N: f = the first of N objects no node has touched yet.
fresh() { f=$NEXT; NEXT=$(( NEXT + $1 )); }

# Each round measures everything once, so that drift of the host's load
# hits the round trip and the kDDM latencies alike.
# shellcheck disable=SC2034 # g0..g3, p0..p3 are filled through m and declare -n
rtts=() gets=() g0=() g1=() g2=() g3=() p0=() p1=() p2=() p3=()
for round in $(seq "$REPS"); do
	log "round $round of $REPS"
	# rtt: 4 KiB echo by node 1's server.
	m rtts 2 tipc-pingpong client 1 $SIZE "$OPS"

	# the message pattern of grab k in user space (tipc-pingpong grab):
	# what TIPC itself costs for it on this host, for comparison only.
	for k in 0 1 2 3; do
		# shellcheck disable=SC2046 # the copies as arguments
		m "p$k" 2 tipc-pingpong grab 1 $SIZE "$OPS" $(seq 3 $(( 2 + k )))
	done

	# get: objects created (first touch) on their home, node 1, then read
	# once each from node 2, which never had them: REQ_READ -> DATA.
	fresh "$OPS"
	x 1 kddm-test touch "$SET" "$f" "$OPS"
	m gets 2 kddm-test bench-get "$SET" "$f" "$OPS"

	# grab k: objects created on node 1, read copies on k of nodes 3..5,
	# then grabbed once each by node 2 (no copy): the home invalidates the
	# k copies.  k = 0 is printed for comparison only.
	for k in 0 1 2 3; do
		fresh "$OPS"
		x 1 kddm-test touch "$SET" "$f" "$OPS"
		for c in $(seq 3 $(( 2 + k ))); do
			x "$c" kddm-test touch "$SET" "$f" "$OPS"
		done
		m "g$k" 2 kddm-test bench-grab "$SET" "$f" "$OPS"
	done
done

stop_servers

RTT=$(printf '%s\n' "${rtts[@]}" | median)
GET=$(printf '%s\n' "${gets[@]}" | median)
GRAB=() SAMPLES=() R=() PAT=() PSAMPLES=()
for k in 0 1 2 3; do
	declare -n gk=g$k pk=p$k
	GRAB[k]=$(printf '%s\n' "${gk[@]}" | median)
	SAMPLES[k]="${gk[*]}"
	PAT[k]=$(printf '%s\n' "${pk[@]}" | median)
	PSAMPLES[k]="${pk[*]}"
	unset -n gk pk
done

"$VM" check >/dev/null 2>&1 || { "$VM" check >&2; die "kernel trouble on a console"; }

# ---------------------------------------------------------------- report
row() { printf '%-30s %10s %7s %6s %5s  %s\n' "$@"; }
printf '\nkDDM latencies, %d nodes (qemu TCG), %d-byte objects, %d ops/sample, median of %d\n' \
	$NODES $SIZE "$OPS" "$REPS"
row measurement ns/op /rtt goal meets samples
row "rtt (tipc-pingpong 2<->1)" "$RTT" 1.00 - - "${rtts[*]}"
R_GET=$(ratio "$GET" "$RTT")
row "get (2, home 1)" "$GET" "$R_GET" "$GOAL_GET" "$(meets "$R_GET" $GOAL_GET)" "${gets[*]}"
for k in 0 1 2 3; do
	R[k]=$(ratio "${GRAB[k]}" "$RTT")
	if [ "$k" = 0 ]; then g=- ok=-; else g=$GOAL_GRAB ok=$(meets "${R[k]}" $GOAL_GRAB); fi
	row "grab k=$k (2, home 1)" "${GRAB[k]}" "${R[k]}" "$g" "$ok" "${SAMPLES[k]}"
done
echo
echo "for comparison: a grab's message pattern between user-space TIPC sockets"
prow() { printf '%-30s %10s %7s %12s  %s\n' "$@"; }
prow pattern ns/op /rtt grab/pattern samples
for k in 0 1 2 3; do
	prow "tipc grab pattern k=$k" "${PAT[k]}" "$(ratio "${PAT[k]}" "$RTT")" \
		"$(ratio "${GRAB[k]}" "${PAT[k]}")" "${PSAMPLES[k]}"
done
log "done in $(( $(date +%s) - T0 ))s"
echo
echo "ratio get_rtt=$R_GET"
echo "ratio grab1_rtt=${R[1]}"
echo "ratio grab2_rtt=${R[2]}"
echo "ratio grab3_rtt=${R[3]}"
