#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The balancing experiment (make balance-experiment): workloads started on
# node 1 of a test cluster, with the balancer off (policy none) and with
# each policy; per-node load over time, each job's start and end, the
# moves; then plots (gnuplot, PNG) and a report. See "Experiments" in
# Documentation/balancer/index.rst.
#
#   bench/balance/run.sh
#
# Environment (defaults):
#   KDDM_BALANCE_NODES=2             nodes (1 vCPU, 1 GiB each)
#   KDDM_BALANCE_WORKLOADS="cpu8 mix arrivals"
#   KDDM_BALANCE_POLICIES="none least-loaded mosix"
#   KDDM_BALANCE_JOB_S=10            seconds a CPU job takes alone
#   KDDM_BALANCE_PERIOD=500          the balancers' period, ms
#   KDDM_BALANCE_OUT=build/balance   results: *.csv, *.png, report.txt
# Workloads:
#   cpu8       8 CPU-bound jobs at once
#   mix        4 CPU-bound jobs and 2 memory-heavy ones (64 MiB each)
#   arrivals   8 CPU-bound jobs, one every JOB_S/4 seconds
# The report ends with "ratio makespan_on_off=VALUE" (cpu8, least-loaded
# against none; goal <= 0.6 on 2 nodes, 0.5 is ideal) and the moves.
# Exits non-zero if anything failed, never because of a ratio.
set -u -o pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
VM=$ROOT/userspace/kddm-vm
export KDDM_VM_DIR=${KDDM_BALANCE_DIR:-$ROOT/build/balance-cluster}
NODES=${KDDM_BALANCE_NODES:-2}
WORKLOADS=${KDDM_BALANCE_WORKLOADS:-cpu8 mix arrivals}
POLICIES=${KDDM_BALANCE_POLICIES:-none least-loaded mosix}
JOB_S=${KDDM_BALANCE_JOB_S:-10}
PERIOD=${KDDM_BALANCE_PERIOD:-500}
OUT=${KDDM_BALANCE_OUT:-$ROOT/build/balance}

die() { echo "balance-experiment: $*" >&2; exit 1; }
log() { echo "balance-experiment: $*" >&2; }
[[ $NODES =~ ^[2-9]$ ]] || die "KDDM_BALANCE_NODES: 2 to 9"
[[ $JOB_S =~ ^[1-9][0-9]*$ ]] || die "KDDM_BALANCE_JOB_S: seconds"
[[ $PERIOD =~ ^[1-9][0-9]+$ ]] || die "KDDM_BALANCE_PERIOD: ms"
command -v gnuplot >/dev/null || die "gnuplot is missing (make balance-experiment installs it)"
for f in kddm-agent kddm kddm-migrated kddm-balancer burn; do
	[ -x "$ROOT/build/bin/$f" ] || die "build/bin/$f missing: run 'make' first"
done

# x NODE CMD...: runs CMD on NODE, prints its output; dies on failure.
x() {
	local n=$1 out
	shift
	out=$("$VM" exec "$n" -t 1800 -- "$@" 2>&1) || die "node $n: '$*' failed: $out"
	[ -z "$out" ] || echo "$out"
}

trap '"$VM" down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"
rm -f "$OUT"/*.csv "$OUT"/*.png "$OUT"/report.txt
KDDM_VM_MEM=1024 "$VM" up -n "$NODES" --load --owner $$ >/dev/null ||
	die "the cluster did not come up"
for n in $(seq "$NODES"); do
	x "$n" kddm-load balancer --period "$PERIOD" --policy none >/dev/null
done

# The work units a job needs to run JOB_S seconds alone on node 1.
t=$(x 1 sh -c 'a=$(cut -d" " -f1 /proc/uptime); burn 20 >/dev/null;
	b=$(cut -d" " -f1 /proc/uptime); echo "$a $b"')
UNITS=$(awk -v t="$t" -v s="$JOB_S" 'BEGIN { split(t, v, " ");
	u = int(20 * s / (v[2] - v[1]) + 0.5); print (u < 1 ? 1 : u) }')
log "$NODES nodes up; a job is $UNITS units ($JOB_S s alone)"

# The jobs of workload $1, as "ID DELAY_S ARGS" lines.
jobs_of() {
	local i
	case $1 in
	cpu8) for i in $(seq 8); do echo "$i 0 $UNITS"; done ;;
	mix)
		for i in $(seq 4); do echo "$i 0 $UNITS"; done
		for i in 5 6; do echo "$i 0 $UNITS -m 64"; done ;;
	arrivals)
		for i in $(seq 8); do
			echo "$i $(( (i - 1) * JOB_S / 4 )) $UNITS"
		done ;;
	*) die "unknown workload $1" ;;
	esac
}

# On node 1: every job through kddm run --migratable, started after its
# delay; "ID START END" per job (node 1's clock), then "makespan S".
# shellcheck disable=SC2016 # expands in the guest
RUNNER='t0=$(cut -d" " -f1 /proc/uptime)
while read -r id delay args; do
	(sleep "$delay"; s=$(cut -d" " -f1 /proc/uptime)
	 kddm run --node 1 --migratable -- burn $args >/dev/null 2>&1 </dev/null
	 e=$(cut -d" " -f1 /proc/uptime)
	 echo "$id $s $e") &
done
wait
t1=$(cut -d" " -f1 /proc/uptime)
echo "t0 $t0"
echo "makespan $(awk -v a="$t0" -v b="$t1" "BEGIN { print b - a }")"'

# On node 1, in the background: every node's load each second.
# shellcheck disable=SC2016
SAMPLER='while :; do
	printf "%s " "$(cut -d" " -f1 /proc/uptime)"
	kddm --json load | tr -d "\n"
	echo
	sleep 1
done > /tmp/load.samples 2>/dev/null'

printf 'workload,policy,makespan_s,moves\n' > "$OUT/results.csv"
for wl in $WORKLOADS; do
	for pol in $POLICIES; do
		run=$wl-$pol
		for n in $(seq "$NODES"); do
			x "$n" kddm balancer policy "$pol" >/dev/null
			x "$n" sh -c ': > /var/log/kddm-balancer.decisions'
		done
		x 1 sh -c "setsid sh -c '$SAMPLER' </dev/null >/dev/null 2>&1 & echo \$! > /tmp/sampler.pid"
		res=$(jobs_of "$wl" | "$VM" exec 1 -t 3600 -- sh -c "$RUNNER") ||
			die "$run: the jobs failed: $res"
		x 1 sh -c 'kill $(cat /tmp/sampler.pid)'
		make_s=$(sed -n 's/^makespan //p' <<<"$res")
		t0=$(sed -n 's/^t0 //p' <<<"$res")
		grep -E '^[0-9]+ [0-9.]+ [0-9.]+$' <<<"$res" |
			awk -v t0="$t0" '{ printf "%s,%.2f,%.2f\n", $1, $2 - t0, $3 - t0 }' \
			> "$OUT/$run.jobs.csv"
		# every node's load: "t,node,run" from node 1's samples
		x 1 cat /tmp/load.samples | awk -v t0="$t0" '
			{ t = $1 - t0; line = $0
			  while (match(line, /"node":[0-9]+,"published":true[^}]*"running":[0-9.]+/)) {
				s = substr(line, RSTART, RLENGTH)
				n = s; sub(/"node":/, "", n); sub(/,.*/, "", n)
				r = s; sub(/.*"running":/, "", r)
				printf "%.1f,%s,%.2f\n", t, n, r
				line = substr(line, RSTART + RLENGTH)
			  } }' > "$OUT/$run.load.csv"
		moves=0
		: > "$OUT/$run.moves.csv"
		for n in $(seq "$NODES"); do
			x "$n" sh -c 'grep "\"result\":\"moved" /var/log/kddm-balancer.decisions || :' |
				sed 's/.*"time_ms":\([0-9]*\).*"pid":\([0-9]*\),"to":\([0-9]*\).*/\1,'"$n"',\3/' \
				>> "$OUT/$run.moves.csv"
		done
		moves=$(grep -c . "$OUT/$run.moves.csv")
		log "$run: makespan $make_s s, $moves moves"
		printf '%s,%s,%s,%s\n' "$wl" "$pol" "$make_s" "$moves" >> "$OUT/results.csv"
		for n in $(seq "$NODES"); do
			x "$n" sh -c 'kill $(pidof burn) 2>/dev/null; :'
		done
	done
done

"$ROOT/bench/balance/plot.sh" "$OUT" "$NODES" || die "plots failed"
{
	echo "workload policy makespan_s moves"
	tail -n +2 "$OUT/results.csv" | tr , ' '
	off=$(awk -F, '$1 == "cpu8" && $2 == "none" { print $3 }' "$OUT/results.csv")
	on=$(awk -F, '$1 == "cpu8" && $2 == "least-loaded" { print $3 }' "$OUT/results.csv")
	for pol in $POLICIES; do
		awk -F, -v p="$pol" '$2 == p { n++; m += $4 } END { if (n) printf "moves_%s=%d\n", p, m }' \
			"$OUT/results.csv"
	done
	if [ -n "$off" ] && [ -n "$on" ]; then
		echo "ratio makespan_on_off=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", a / b }')"
	fi
} | tee "$OUT/report.txt"
log "plots and data in $OUT"
