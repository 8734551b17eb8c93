#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The DKMS package builds for the host's kernel (the cloud kernel the
# guests boot), in a private DKMS tree (no change to the system's):
# make dkms-source makes the source tree dkms.conf describes, dkms add
# and build make kddm.ko, kipc.ko and kdfs.ko, each for that kernel.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KVER=$("$ROOT/scripts/kver.sh")
VER=$(sed -n 's/^#define KDDM_VERSION "\(.*\)"/\1/p' "$ROOT/include/kddm/version.h")
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
# shellcheck source=selftests/tap.lib
. "$ROOT/selftests/tap.lib"
command -v dkms >/dev/null; ok "dkms is installed (scripts/packages.list)" $?
out=$(make -s -C "$ROOT" dkms-source DKMS_SRC="$D/src/kddm-$VER" 2>&1)
ok "make dkms-source" $? "$out"
grep -qx "PACKAGE_VERSION=\"$VER\"" "$D/src/kddm-$VER/dkms.conf"
ok "dkms.conf has version $VER" $?
[ -z "$(find "$D/src" -name '*.o' -o -name '*.ko' -o -name '.*')" ]; ok "no build products in the source tree" $?
mkdir -p "$D/tree"
# dkms signs with a key it makes in /var/lib/dkms unless given one
export mok_signing_key=$D/mok.key mok_certificate=$D/mok.pub
opts=(--dkmstree "$D/tree" --sourcetree "$D/src" -m kddm -v "$VER" -k "$KVER")
out=$(dkms add "${opts[@]}" 2>&1); ok "dkms add" $? "$out"
out=$(dkms build "${opts[@]}" 2>&1); ok "dkms build for $KVER" $? "$out$(cat "$D"/tree/kddm/"$VER"/build/make.log 2>/dev/null)"
for m in kddm kipc kdfs; do
	f=$(find "$D/tree/kddm/$VER/$KVER" -name "$m.ko*" | head -1)
	v=$( [ -n "$f" ] && modinfo -F vermagic "$f" | cut -d' ' -f1)
	[ "$v" = "$KVER" ]; ok "$m.ko built for $KVER" $? "file '$f' vermagic '$v'"
done
tap_end
