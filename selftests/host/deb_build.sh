#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make deb builds kddm-dkms and kddm-utils, lintian finds no error in them,
# and dpkg unpacks them into a scratch root (its own package database)
# with every file where Documentation/kddm/install.rst says. From that
# root: the unit runs the packaged kddm-setup, the example configuration
# passes check, the CLI runs, kddm-dkms's postinst adds the modules to
# DKMS, and DKMS builds the packaged sources for the host's kernel.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VER=$(sed -n 's/^#define KDDM_VERSION "\(.*\)"/\1/p' "$ROOT/include/kddm/version.h")
KVER=$("$ROOT/scripts/kver.sh")
OUT=$ROOT/build/deb
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
# shellcheck source=selftests/tap.lib
. "$ROOT/selftests/tap.lib"

out=$(make -C "$ROOT" deb 2>&1)
ok "make deb" $? "$out"
for p in kddm-dkms_${VER}_all kddm-utils_${VER}_amd64; do
	[ -f "$OUT/$p.deb" ]; ok "$p.deb built" $?
done
out=$(lintian "$OUT/kddm_${VER}_amd64.changes" 2>&1)
! grep -q '^E: ' <<<"$out"; ok "lintian: no error" $? "$out"

R=$D/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: > "$R/var/lib/dpkg/status"
# unpacked, not configured: the maintainer scripts would act on the host
out=$(dpkg --root="$R" --force-depends --force-not-root --unpack \
	"$OUT/kddm-dkms_${VER}_all.deb" "$OUT/kddm-utils_${VER}_amd64.deb" 2>&1)
ok "dpkg --root unpacks both packages" $? "$out"
for p in kddm-dkms kddm-utils; do
	s=$(dpkg --root="$R" -s "$p" 2>&1 | sed -n 's/^Status: //p')
	[ "$s" = "install ok unpacked" ]; ok "$p is known to the root's dpkg" $? "$s"
done
for f in 755:usr/bin/kddm 755:usr/sbin/kddm-setup \
	 644:lib/systemd/system/kddm.service \
	 644:usr/share/man/man8/kddm.8.gz 644:usr/share/man/man8/kddm-setup.8.gz \
	 644:usr/share/man/man5/kddm.conf.5.gz \
	 644:usr/share/doc/kddm-utils/examples/kddm.conf \
	 644:usr/src/kddm-$VER/dkms.conf 644:usr/src/kddm-$VER/kddm/main.c \
	 644:usr/src/kddm-$VER/include/kddm/compat.h; do
	m=$(stat -c %a "$R/${f#*:}" 2>&1)
	[ "$m" = "${f%%:*}" ]; ok "/${f#*:} mode ${f%%:*}" $? "$m"
done
[ -z "$(find "$R/usr/src" -name '*.o' -o -name '*.ko' -o -path '*/tests/*')" ]
ok "no build product nor test module in /usr/src/kddm-$VER" $?
grep -qx 'ExecStart=/usr/sbin/kddm-setup up' "$R/lib/systemd/system/kddm.service"
ok "the unit runs /usr/sbin/kddm-setup up" $?
out=$("$R/usr/sbin/kddm-setup" -c "$R/usr/share/doc/kddm-utils/examples/kddm.conf" check 2>&1)
ok "the packaged example kddm.conf passes check" $? "$out"
out=$("$R/usr/bin/kddm" --help 2>&1)
ok "the packaged kddm runs" $? "$out"
post=$R/var/lib/dpkg/info/kddm-dkms.postinst
grep -qx "DKMS_NAME=kddm" "$post" && grep -qx "DKMS_VERSION=$VER" "$post" &&
	grep -q '/usr/lib/dkms/common.postinst' "$post"
ok "kddm-dkms's postinst adds kddm $VER to DKMS" $? "$(cat "$post" 2>&1)"

# the packaged sources
dkms_private_build "$D" "$R/usr/src" "$VER" "$KVER"
tap_end
