#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make dkms-source makes the source tree dkms.conf describes: its version,
# no build products. That tree is what make deb packages: deb_build.sh
# has DKMS build it for the host's kernel (the cloud kernel the guests
# boot), compat_build.sh for a newer one.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
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
tap_end
