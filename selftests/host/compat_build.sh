#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The modules build through DKMS for a newer Debian kernel than the one
# the guests boot: bookworm-backports' cloud kernel, whose headers
# scripts/kernel-headers.sh unpacks into build/kernels/ (dkms add and
# build in a private tree, from make dkms-source), and dkms.conf's kernel
# filter skips a kernel it does not name. The W=1 build for that kernel,
# with no warning, is run-newer-kernel.sh's (it boots guests with it).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VER=$(sed -n 's/^#define KDDM_VERSION "\(.*\)"/\1/p' "$ROOT/include/kddm/version.h")
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
# shellcheck source=selftests/tap.lib
. "$ROOT/selftests/tap.lib"

KDIR=$("$ROOT/scripts/kernel-headers.sh" 2>"$D/err")
ok "scripts/kernel-headers.sh fetches bookworm-backports' headers" $? "$(cat "$D/err")"
KVER=$(make -s -C "$KDIR" kernelrelease 2>/dev/null)
case $KVER in
6.1.*|'') false ;;
*) true ;;
esac
ok "a newer kernel than 6.1: '$KVER'" $?

out=$(make -s -C "$ROOT" dkms-source DKMS_SRC="$D/src/kddm-$VER" 2>&1)
ok "make dkms-source" $? "$out"

dkms_private_build "$D" "$D/src" "$VER" "$KVER" "$KDIR"

# a kernel dkms.conf does not name is skipped, not failed
other=(--dkmstree "$D/tree" --sourcetree "$D/src" -m kddm -v "$VER"
       -k 6.6.0-1-cloud-amd64 --kernelsourcedir "$KDIR")
out=$(dkms build "${other[@]}" 2>&1); rc=$?
[ $rc -eq 77 ] && grep -qi "BUILD_EXCLUSIVE" <<<"$out"
ok "dkms skips a kernel it was not built and checked for (6.6: status 77)" $? "status $rc: $out"
tap_end
