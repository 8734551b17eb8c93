#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# migrate-bench.sh: kddm migrate against stock CRIU and a TIPC stream, on
# the same 3 guests (1 GiB each) in one run.  See "Measured" in
# Documentation/migrate/index.rst.
#
#   bench/migrate-bench.sh     (KDDM_BENCH_REPS=3 rounds, medians)
#
# A warm-up round (round 0) runs first and is not counted: the first of
# everything on a fresh cluster is slower (the first migration's downtime
# twice the next ones', its pull up to a quarter longer), and the stream,
# which comes last in a round, would be the only one measured warm.
#
# Each round, with mig-worker counters (they check all their memory every
# step, so they touch every page as soon as they run again):
#   kddm-16, kddm-256   kddm migrate of a 16 and a 256 MiB counter from
#                       node 1 to node 2: the downtime and the total time
#                       it reports (the command's own time), and for 256
#                       MiB the time node 2's daemon took to pull all its
#                       memory (it logs it; all of the process's memory
#                       must have come that way)
#   criu-256            stock CRIU, the same 256 MiB counter from node 2
#                       to node 3: criu dump, the images through one TIPC
#                       stream connection (tar | tipc-stream), criu
#                       restore; its downtime is all of that
#   stream-256          256 MiB through one TIPC stream connection
# Prints a table, then "ratio NAME=VALUE" lines last:
#   downtime_256_16     kddm downtime 256 MiB / 16 MiB (goal <= 1.5)
#   downtime_vs_criu    kddm / stock CRIU downtime at 256 MiB (goal <= 0.5)
#   pull_vs_stream      kddm's pull of 256 MiB / the stream's time (<= 1.5)
# Exits non-zero if anything failed, never because of a ratio.
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
VM=$ROOT/userspace/kddm-vm
export KDDM_VM_DIR=${KDDM_BENCH_DIR:-$ROOT/build/migrate-bench-cluster}
REPS=${KDDM_BENCH_REPS:-3}

die() { echo "migrate-bench: $*" >&2; exit 1; }
log() { echo "migrate-bench: $*" >&2; }
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "KDDM_BENCH_REPS: a positive count"

# x NODE CMD...: runs CMD on NODE, prints its output; dies on failure.
x() {
	local n=$1 out rc
	shift
	out=$("$VM" exec "$n" -t 900 -- "$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		[ -z "$out" ] || echo "$out"
		return 0
	fi
	die "node $n: '$*' failed (exit $rc): $out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
json() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" <<<"$1"; }

# counter NODE MIB: starts a checking counter, prints its PID once it counts.
counter() {
	local n=$1 mib=$2 f=/kdfs/bench-$2-$RANDOM pid
	pid=$(x "$n" sh -c "setsid mig-worker counter $f -m $mib </dev/null >/dev/null 2>&1 & echo \$!") || exit 1
	for _ in $(seq 300); do
		"$VM" exec "$n" -- cat "$f" 2>/dev/null | grep -q '^[1-9]' && break
		sleep 0.2
	done
	echo "$pid"
}

# kddm_move NODE PID TO MIB: "downtime_s total_s pull_s" (total_s: until
# the command returned, as it reports it). pull_s is what TO's daemon
# logs: from CRIU's restore connecting to it (before the process runs) to
# its last page copied in. Then waits until NODE holds nothing of it.
MLOG=/var/log/kddm-migrated.log
PULLED='pulled [0-9]* bytes of memory'
kddm_move() {
	local out d t n0 line ms b
	n0=$(x "$3" sh -c "cat $MLOG 2>/dev/null | grep -c '$PULLED'; true")
	[[ $n0 =~ ^[0-9]+$ ]] || die "node $3: '$n0' lines in $MLOG?"
	out=$(x "$1" kddm --json migrate "$2" "$3") || exit 1
	d=$(json "$out" downtime_us)
	t=$(json "$out" total_us)
	[ -n "$d" ] && [ -n "$t" ] || die "kddm migrate printed '$out'"
	# at most 10 minutes
	line=$(x "$3" sh -c "i=0; until [ \$(grep -c '$PULLED' $MLOG) -gt $n0 ]; do
		i=\$((i + 1)); [ \$i -le 1200 ] || exit 1; sleep 0.5; done
		grep '$PULLED' $MLOG | tail -1") || exit 1
	ms=$(sed -n 's/.*pulled [0-9]* bytes .* in \([0-9]*\) ms (.*/\1/p' <<<"$line")
	[ -n "$ms" ] || die "node $3 logged '$line'"
	# all of its memory came lazily (none of it while it was frozen)
	b=$(sed -n 's/.*pulled \([0-9]*\) bytes .*/\1/p' <<<"$line")
	[ "${b:-0}" -ge $(($4 * 1048576)) ] || die "node $3 pulled ${b:-0} bytes of a $4 MiB process: $line"
	case $line in *failed*) die "node $3: $line" ;; esac
	# shellcheck disable=SC2016 # expands in the guest
	x "$1" sh -c 'while ls -d /run/kddm/migrate/out-* >/dev/null 2>&1; do sleep 0.5; done'
	awk -v d="$d" -v t="$t" -v ms="$ms" \
		'BEGIN { printf "%.4f %.4f %.4f\n", d / 1e6, t / 1e6, ms / 1e3 }'
}

# criu_move FROM PID TO: stock CRIU's downtime in seconds, measured in
# the guests (/proc/uptime): dump and send on FROM, restore on TO.
criu_move() {
	local a b
	x "$3" sh -c 'rm -rf /tmp/ci && mkdir /tmp/ci && (tipc-stream recv 77 2>/tmp/ci.log | tar -C /tmp/ci -xf - ; echo done >> /tmp/ci.log) </dev/null >/dev/null 2>&1 &' >/dev/null
	sleep 0.5
	# shellcheck disable=SC2016 # expands in the guest
	a=$(x "$1" sh -c 'rm -rf /tmp/co && mkdir /tmp/co && s=$(cut -d" " -f1 /proc/uptime) &&
		criu dump -t '"$2"' -D /tmp/co --shell-job >/dev/null 2>&1 &&
		tar -C /tmp/co -cf - . | tipc-stream send 77 &&
		e=$(cut -d" " -f1 /proc/uptime) && echo "$s $e"') || exit 1
	until "$VM" exec "$3" -- grep -q 'done' /tmp/ci.log; do sleep 0.1; done
	# shellcheck disable=SC2016
	b=$(x "$3" sh -c 's=$(cut -d" " -f1 /proc/uptime) &&
		criu restore -D /tmp/ci --shell-job -d >/dev/null 2>&1 &&
		e=$(cut -d" " -f1 /proc/uptime) && echo "$s $e"') || exit 1
	x "$3" kill "$2" >/dev/null
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%.4f\n", (x[2] - x[1]) + (y[2] - y[1]) }'
}

# stream: the seconds tipc-stream's receiver on node 3 logs for 256 MiB
# from node 2, waited for inside node 3 as kddm_move waits for the pull
# (a poll from the host would cost the receiver an agent's command
# every tenth of a second).
stream() {
	local out
	x 3 sh -c 'tipc-stream recv 78 >/dev/null 2>/tmp/st.log </dev/null &' >/dev/null
	x 2 tipc-stream zero 78 256 >/dev/null
	out=$(x 3 sh -c 'i=0; until grep -qE "[0-9]+ [0-9.]+$" /tmp/st.log; do
		grep -q "^tipc-stream:" /tmp/st.log && { cat /tmp/st.log; exit 1; }
		i=$((i + 1)); [ $i -le 1200 ] || exit 1; sleep 0.5; done
		cat /tmp/st.log') || exit 1
	[[ $out =~ [0-9]+\ [0-9.]+$ ]] || die "node 3 logged '$out'"
	echo "${out##* }"
}

for f in kddm-agent kddm kddm-migrated mig-worker tipc-stream; do
	[ -x "$ROOT/build/bin/$f" ] || die "build/bin/$f missing: run 'make' first"
done
trap '"$VM" down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

T0=$(date +%s)
KDDM_VM_MEM=1024 "$VM" up -n 3 --load --disk 256M --wipe-disks --owner $$ >/dev/null ||
	die "the cluster did not come up"
for n in 1 2 3; do x "$n" kddm-load >/dev/null; done
for n in 1 2 3; do x "$n" kddm-load migrate >/dev/null; done
log "cluster of 3 up in $(( $(date +%s) - T0 ))s (state in $KDDM_VM_DIR)"

: > "$KDDM_VM_DIR/d16" ; : > "$KDDM_VM_DIR/d256"; : > "$KDDM_VM_DIR/pull"
: > "$KDDM_VM_DIR/t16" ; : > "$KDDM_VM_DIR/t256"
: > "$KDDM_VM_DIR/criu"; : > "$KDDM_VM_DIR/stream"
for r in $(seq 0 "$REPS"); do
	p=$(counter 1 16) || exit 1
	m=$(kddm_move 1 "$p" 2 16) || exit 1
	read -r d t _ <<<"$m"
	echo "$d" >> "$KDDM_VM_DIR/d16"
	echo "$t" >> "$KDDM_VM_DIR/t16"
	x 2 kill "$p" >/dev/null
	p=$(counter 1 256) || exit 1
	m=$(kddm_move 1 "$p" 2 256) || exit 1
	read -r d t pl <<<"$m"
	echo "$d" >> "$KDDM_VM_DIR/d256"
	echo "$t" >> "$KDDM_VM_DIR/t256"
	echo "$pl" >> "$KDDM_VM_DIR/pull"
	x 2 kill "$p" >/dev/null
	p=$(counter 2 256) || exit 1
	criu_move 2 "$p" 3 >> "$KDDM_VM_DIR/criu" || exit 1
	stream >> "$KDDM_VM_DIR/stream" || exit 1
	w=; [ "$r" != 0 ] || w=" (warm-up, not counted)"
	log "round $r$w: kddm 16 $(tail -1 "$KDDM_VM_DIR/d16") s (total $(tail -1 "$KDDM_VM_DIR/t16") s), 256 $(tail -1 "$KDDM_VM_DIR/d256") s (total $(tail -1 "$KDDM_VM_DIR/t256") s, pull $(tail -1 "$KDDM_VM_DIR/pull") s), criu $(tail -1 "$KDDM_VM_DIR/criu") s, stream $(tail -1 "$KDDM_VM_DIR/stream") s"
	if [ "$r" = 0 ]; then
		for f in d16 d256 t16 t256 pull criu stream; do : > "$KDDM_VM_DIR/$f"; done
	fi
done
d16=$(median < "$KDDM_VM_DIR/d16")
d256=$(median < "$KDDM_VM_DIR/d256")
t16=$(median < "$KDDM_VM_DIR/t16")
t256=$(median < "$KDDM_VM_DIR/t256")
pull=$(median < "$KDDM_VM_DIR/pull")
criu=$(median < "$KDDM_VM_DIR/criu")
st=$(median < "$KDDM_VM_DIR/stream")
"$VM" check >/dev/null || die "kernel trouble on a console (see $KDDM_VM_DIR)"

printf '%-34s %10s\n' "median of $REPS rounds" seconds
printf '%-34s %10s\n' "kddm downtime, 16 MiB" "$d16"
printf '%-34s %10s\n' "kddm downtime, 256 MiB" "$d256"
printf '%-34s %10s\n' "kddm migrate's total, 16 MiB" "$t16"
printf '%-34s %10s\n' "kddm migrate's total, 256 MiB" "$t256"
printf '%-34s %10s\n' "kddm pull of 256 MiB" "$pull"
printf '%-34s %10s\n' "stock CRIU downtime, 256 MiB" "$criu"
printf '%-34s %10s\n' "TIPC stream, 256 MiB" "$st"
echo "ratio downtime_256_16=$(ratio "$d256" "$d16")"
echo "ratio downtime_vs_criu=$(ratio "$d256" "$criu")"
echo "ratio pull_vs_stream=$(ratio "$pull" "$st")"
