#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install into a scratch root (DESTDIR, PREFIX=/usr, as a package
# build does): every file where Documentation/kddm/admin-guide.rst says,
# with its mode; the unit runs the installed kddm-setup; the man pages
# render with no groff warning; the example configuration passes check;
# make uninstall removes every file.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
# shellcheck source=selftests/tap.lib
. "$ROOT/selftests/tap.lib"
out=$(make -s -C "$ROOT" install DESTDIR="$D" PREFIX=/usr 2>&1)
ok "make install DESTDIR=... PREFIX=/usr" $? "$out"
for f in 755:usr/bin/kddm 755:usr/sbin/kddm-setup \
	 644:usr/lib/systemd/system/kddm.service 644:usr/share/man/man8/kddm.8 \
	 644:usr/share/man/man8/kddm-setup.8 644:usr/share/man/man5/kddm.conf.5 \
	 644:usr/share/doc/kddm/examples/kddm.conf; do
	m=$(stat -c %a "$D/${f#*:}" 2>&1)
	[ "$m" = "${f%%:*}" ]; ok "/${f#*:} mode ${f%%:*}" $? "$m"
done
grep -qx 'ExecStart=/usr/sbin/kddm-setup up' "$D/usr/lib/systemd/system/kddm.service" &&
	grep -qx 'ExecStop=/usr/sbin/kddm-setup down' "$D/usr/lib/systemd/system/kddm.service"
ok "the unit runs /usr/sbin/kddm-setup up and down" $?
for m in man8/kddm.8 man8/kddm-setup.8 man5/kddm.conf.5; do
	w=$(groff -man -Tutf8 -ww "$D/usr/share/man/$m" 2>&1 >/dev/null)
	[ -z "$w" ]; ok "$m renders with no warning" $? "$w"
done
out=$("$D/usr/sbin/kddm-setup" -c "$D/usr/share/doc/kddm/examples/kddm.conf" check 2>&1)
ok "the example kddm.conf passes check" $? "$out"
out=$(make -s -C "$ROOT" install DESTDIR="$D/l" 2>&1)
grep -qx 'ExecStart=/usr/local/sbin/kddm-setup up' "$D/l/usr/local/lib/systemd/system/kddm.service"
ok "default PREFIX /usr/local: the unit runs /usr/local/sbin/kddm-setup" $? "$out"
rm -rf "$D/l"
out=$(make -s -C "$ROOT" uninstall DESTDIR="$D" PREFIX=/usr 2>&1)
left=$(find "$D" -type f)
[ -z "$left" ]; ok "make uninstall leaves no file" $? "$out$left"
tap_end
