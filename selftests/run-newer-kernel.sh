#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every cluster test again (selftests/cluster.list, not the host tests), on
# guests that boot bookworm-backports' cloud kernel (6.12) with the modules
# built for it. make check runs it after selftests/run.sh.
#
#   selftests/run-newer-kernel.sh [-n NODES] [TEST...]
#
# scripts/kernel-headers.sh fetches the kernel and its headers into
# build/kernels/; the modules are built, W=1 and with no warning allowed, in
# build/modules-newer/.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KDDM_BUILD:-$ROOT/build}
NODES=3
if [ "${1:-}" = -n ]; then
	NODES=$2
	shift 2
fi

KDIR=$("$ROOT/scripts/kernel-headers.sh") || exit 1
IMG=$("$ROOT/scripts/kernel-headers.sh" --image) || exit 1
KVER=$(make -s -C "$KDIR" kernelrelease)
if [ ! -d "$IMG/lib/modules/$KVER" ]; then
	echo "FAIL headers for $KVER, but the kernel image is $(ls "$IMG/lib/modules")"
	exit 1
fi
M=$BUILD/modules-newer
rm -rf "$M"
mkdir -p "$M"
(cd "$ROOT" && git ls-files -z Kbuild kddm kipc kdfs migrate include selftests/kddm |
	tar --null -T - -cf -) | tar -xf - -C "$M" || exit 1
if ! make -j"$(nproc)" -C "$KDIR" M="$M" W=1 modules > "$M/build.log" 2>&1; then
	tail -30 "$M/build.log"
	echo "FAIL the modules do not build for $KVER ($M/build.log)"
	exit 1
fi
# the same warnings as make modules: none, with W=1
if grep -iE '(warning|error):' "$M/build.log"; then
	echo "FAIL warnings in the W=1 build for $KVER ($M/build.log)"
	exit 1
fi
echo "ok   W=1 build for $KVER, no warning"

export KDDM_VM_KERNEL=$IMG KDDM_VM_MODULES=$M
export KDDM_TEST_LOGS=${KDDM_TEST_LOGS_NEWER:-$BUILD/test-logs-newer}
if [ $# -eq 0 ]; then
	# all but the main-only tests (see cluster.list)
	mapfile -t tests < <(awk '!/^#/ && NF && !/main-only/ { print $1 }' \
		"$ROOT/selftests/cluster.list")
	set -- "${tests[@]}"
fi
echo "== the cluster tests on $KVER =="
exec "$ROOT/selftests/run.sh" -n "$NODES" "$@"
