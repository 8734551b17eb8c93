#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test driver: host-side tests, then boot the cluster once and run every
# selftest of selftests/cluster.list on the nodes it names, then scan every
# console.  Ends with "N passed, N failed, N skipped"; non-zero on failure.
#
#   selftests/run.sh [-n NODES] [-k] [TEST...]
#     -k      keep the cluster up afterwards (kddm-vm down to stop it)
#     TEST    run only these entries of cluster.list (e.g. kddm/tipc_peers)
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KDDM_BUILD:-$ROOT/build}
export KDDM_VM_DIR=${KDDM_VM_DIR:-$BUILD/check-cluster}
VM=$ROOT/userspace/kddm-vm
LOGS=${KDDM_TEST_LOGS:-$BUILD/test-logs}
LIST=${KDDM_TEST_LIST:-$ROOT/selftests/cluster.list}
NODES=3
KEEP=0
passed=0 failed=0 skipped=0

while getopts "n:k" o; do
	case $o in
	n) NODES=$OPTARG ;;
	k) KEEP=1 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
ONLY=("$@")

rm -rf "$LOGS"
mkdir -p "$LOGS"
# the guests' initramfs is built at the first boot of this run and taken
# again at the next ones (a nested run, driver_checks.sh's, shares it)
if [ -z "${KDDM_VM_INITRAMFS_CACHE:-}" ]; then
	mkdir -p "$BUILD"
	INITRAMFS_CACHE=$(mktemp -d "$BUILD/initramfs.XXXXXX") || exit 1
	export KDDM_VM_INITRAMFS_CACHE=$INITRAMFS_CACHE/initramfs.cpio
fi

say() { printf '%s\n' "$*"; }

# Adds the kselftest totals of log $1 (exit status $2) to the counters.
account() {
	local log=$1 rc=$2 name=$3 t p f s
	t=$(grep -a '^# Totals:' "$log" | tail -1)
	p=$(sed -n 's/.* pass:\([0-9]*\).*/\1/p' <<<"$t")
	f=$(sed -n 's/.* fail:\([0-9]*\).*/\1/p' <<<"$t")
	s=$(sed -n 's/.*skip:\([0-9]*\).*/\1/p' <<<"$t")
	e=$(sed -n 's/.*error:\([0-9]*\).*/\1/p' <<<"$t")
	p=${p:-0} f=$(( ${f:-0} + ${e:-0} )) s=${s:-0}
	# A crash, a timeout or a lost node fails even if totals looked fine.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	[ -z "$t" ] && [ "$rc" -eq 4 ] && s=1
	# No totals at all: the test did not run to its end (or at all).
	[ -z "$t" ] && [ "$rc" -ne 4 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		say "FAIL $name (exit $rc): pass $p fail $f skip $s, log $log ($((SECONDS - T_START)) s)"
		grep -a -E '^(not ok|#.*(FAIL|Expected|ASSERT|timed out|lost))' "$log" | head -20 | sed 's/^/    /'
		tail -3 "$log" | sed 's/^/    | /'
	else
		say "ok   $name: pass $p skip $s ($((SECONDS - T_START)) s)"
	fi
}

KILLED=""
T_START=0
killed() { local k; for k in $KILLED; do [ "$k" = "$1" ] && return 0; done; return 1; }

# Every guest that no test killed on purpose is still running.
nodes_alive() {
	local l n dead=0
	while read -r l; do
		n=${l#node }
		n=${n%%:*}
		killed "$n" && continue
		say "FAIL a guest died: $l (see its console)"
		dead=1
	done < <("$VM" status 2>&1 | grep ': dead')
	return $dead
}

wanted() {
	local t
	[ ${#ONLY[@]} -eq 0 ] && return 0
	for t in "${ONLY[@]}"; do [ "$t" = "$1" ] && return 0; done
	return 1
}

run_entry() {
	local test=$1 where=$2 timeout=$3 n log rc targets
	if [ "$where" = host ]; then
		local name=$test
		log=$LOGS/$(basename "$test").host.log
		case $test in
		/*) ;;
		*) if [ -x "$BUILD/selftests/$test" ]; then test=$BUILD/selftests/$test
		   else test=$ROOT/selftests/$test; fi ;;
		esac
		T_START=$SECONDS
		(cd "$ROOT" && KDDM_VM=$VM KDDM_NODES=$NODES \
			timeout "$timeout" "$test" </dev/null >"$log" 2>&1)
		rc=$?
		[ $rc -eq 124 ] && echo "# timed out after ${timeout}s" >>"$log"
		account "$log" $rc "$name"
		return
	fi
	case $where in
	all) targets=$(seq 1 "$NODES") ;;
	*) targets=${where//,/ } ;;
	esac
	for n in $targets; do
		log=$LOGS/${test//\//_}.node$n.log
		T_START=$SECONDS
		"$VM" exec "$n" -n -t "$timeout" -- env KDDM_NODES="$NODES" \
			KDDM_NODE="$n" "/selftests/$test" >"$log" 2>&1
		rc=$?
		account "$log" $rc "$test@node$n"
	done
}

host_tests() {
	local t log rc
	[ -n "${KDDM_SKIP_HOST_TESTS:-}" ] && return
	for t in "$ROOT"/selftests/host/*.sh; do
		[ -x "$t" ] || continue
		wanted "host/$(basename "$t")" || continue
		log=$LOGS/host_$(basename "$t").log
		T_START=$SECONDS
		"$t" >"$log" 2>&1
		rc=$?
		account "$log" $rc "host/$(basename "$t")"
	done
}

BOOTS=0

boot() {
	BOOTS=$((BOOTS + 1))
	say "booting $NODES nodes (consoles in $KDDM_VM_DIR)"
	"$VM" down >/dev/null 2>&1
	# a disk per node (kdfs); empty at the first boot of a run only
	wipe=""
	[ "$BOOTS" -eq 1 ] && wipe=--wipe-disks
	T_START=$SECONDS
	if ! "$VM" up -n "$NODES" --load --disk 256M $wipe --owner $$ >"$LOGS/up.log" 2>&1; then
		cat "$LOGS/up.log"
		say "FAIL cluster did not come up"
		failed=$((failed + 1))
		return 1
	fi
	KILLED=""
	say "booted in $((SECONDS - T_START)) s"
}

# dmesg of the nodes alive and a scan of every console of this boot; the
# consoles of an earlier boot are kept in $LOGS/bootN.
scan_boot() {
	local n sfx=""
	[ "$BOOTS" -gt 1 ] && sfx=.boot$BOOTS
	for n in $(seq 1 "$NODES"); do
		killed "$n" && continue
		"$VM" exec "$n" -n -t 30 -- dmesg >"$LOGS/dmesg.node$n$sfx" 2>&1
	done
	if "$VM" check; then
		passed=$((passed + 1))
		say "ok   consoles: no kernel BUG/WARNING/Oops/lockdep/hung task on $NODES nodes"
	else
		failed=$((failed + 1))
		say "FAIL consoles: kernel trouble reported above"
	fi
}

cluster_tests() {
	local test where timeout flags kills f
	boot || return
	while read -r test where timeout flags <&3; do
		case $test in ''|'#'*) continue ;; esac
		wanted "$test" || continue
		# A test killed a node: the next one gets a whole cluster.
		if [ -n "$KILLED" ]; then
			scan_boot
			mkdir -p "$LOGS/boot$BOOTS"
			cp "$KDDM_VM_DIR"/node*.console "$LOGS/boot$BOOTS/" 2>/dev/null
			boot || return
		fi
		run_entry "$test" "$where" "${timeout:-120}"
		kills=""
		for f in $flags; do
			case $f in kills=*) kills=${f#kills=} ;; esac
		done
		[ -n "$kills" ] && KILLED="$KILLED $kills"
		if ! nodes_alive; then
			failed=$((failed + 1))
			say "stopping: the cluster lost a node"
			break
		fi
	done 3<"$LIST"
	scan_boot
	[ "$KEEP" -eq 1 ] || "$VM" down >/dev/null
}

cleanup() {
	[ "$KEEP" -eq 1 ] || "$VM" down >/dev/null 2>&1
	[ -n "${INITRAMFS_CACHE:-}" ] && rm -rf "$INITRAMFS_CACHE"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

host_tests
cluster_tests
say "$passed passed, $failed failed, $skipped skipped, in $SECONDS s"
[ "$failed" -eq 0 ]
