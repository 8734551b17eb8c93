#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kddm-setup check on the host: a good kddm.conf passes; each kind of bad
# one fails with exit status 2 and a message naming its line (or the
# file, for what is missing); nothing needs root or a cluster.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SETUP=$ROOT/userspace/kddm-setup
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
t=0 fail=0
echo "TAP version 13"

# case NAME EXPECTED-STATUS EXPECTED-MESSAGE LINES...: the file of LINES
case_() {
	local name=$1 want=$2 msg=$3 out rc
	shift 3
	printf '%s\n' "$@" > "$D/kddm.conf"
	out=$("$SETUP" -c "$D/kddm.conf" check 2>&1); rc=$?
	t=$((t + 1))
	if [ $rc -eq "$want" ] && grep -qF -- "$msg" <<<"$out"; then
		echo "ok $t $name"
	else
		echo "not ok $t $name (status $rc, want $want)"
		sed 's/^/# /' <<<"$out"
		fail=$((fail + 1))
	fi
}
good=('node = 2' 'nodes = 3' 'bearer = eth eth0')
C=$D/kddm.conf
case_ "a good file" 0 "node 2, configuration good" \
	'# comment' "${good[@]}" 'bearer = udp net1 192.0.2.1@6118 192.0.2.2 2001:db8::1@6118' \
	'services = kipc kdfs  # both' 'kdfs_backing = /var/lib/kddm' \
	'kdfs_options = root=1,place=2' 'key_file = /etc/kddm/key' 'kipc_init_ns = no' \
	'kdfs_mount = /kdfs/' 'join_timeout = 30'
case_ "node out of range" 2 "$C:1: node: '0' is not a node id (1..65535)" 'node = 0' 'bearer = eth eth0'
case_ "leading zero (octal to the kernel)" 2 "$C:1: node: '010' is not a node id" 'node = 010' 'bearer = eth eth0'
case_ "CRLF lines" 0 "node 2, configuration good" $'node = 2\r' $'bearer = eth eth0\r' $'\r'
case_ "a key with a space" 2 "$C:4: 'no de' is not a key" "${good[@]}" 'no de = 1'
case_ "a mount option kdfs lacks" 2 "$C:4: kdfs_options: unknown option 'cache_mb=128'" "${good[@]}" 'kdfs_options = cache_mb=128'
case_ "tipc address out of range" 2 "$C:4: tipc_address: '999.1.1' is not Z.C.N" "${good[@]}" 'tipc_address = 999.1.1'
case_ "node not a number" 2 "$C:1: node: 'x1' is not a node id" 'node = x1' 'bearer = eth eth0'
case_ "a key set twice" 2 "$C:4: 'nodes' is set twice" "${good[@]}" 'nodes = 4'
case_ "unknown key" 2 "$C:4: unknown key 'frob'" "${good[@]}" 'frob = 1'
case_ "no '='" 2 "$C:4: not 'key = value': 'just words'" "${good[@]}" 'just words'
case_ "unknown media" 2 "$C:4: unknown bearer media 'ppp'" "${good[@]}" 'bearer = ppp x'
case_ "eth without device" 2 "$C:4: bearer eth takes one device" "${good[@]}" 'bearer = eth'
case_ "udp without local address" 2 "$C:4: bearer udp takes a name and a local address" "${good[@]}" 'bearer = udp n1'
case_ "udp bad address" 2 "$C:4: '300.1.1.1' is not an IP address" "${good[@]}" 'bearer = udp n1 300.1.1.1'
case_ "udp bad port" 2 "$C:4: '70000' is not a UDP port" "${good[@]}" 'bearer = udp n1 192.0.2.1@70000'
case_ "unknown service" 2 "$C:4: services: unknown service 'nfs'" "${good[@]}" 'services = kipc nfs'
case_ "relative path" 2 "$C:4: kdfs_mount: 'kdfs' is not an absolute path" "${good[@]}" 'kdfs_mount = kdfs'
case_ "backing in kdfs_options" 2 "$C:4: kdfs_options: the backing directory is kdfs_backing" "${good[@]}" 'kdfs_options = backing=/x'
case_ "bad boolean" 2 "$C:4: kipc_init_ns: 'maybe' is not yes or no" "${good[@]}" 'kipc_init_ns = maybe'
case_ "join_timeout zero" 2 "$C:4: join_timeout: '0' is not a number of seconds (1..3600)" "${good[@]}" 'join_timeout = 0'
case_ "bad tipc address" 2 "$C:4: tipc_address: '1.1' is not Z.C.N" "${good[@]}" 'tipc_address = 1.1'
case_ "no node" 2 "$C: 'node' is not set" 'bearer = eth eth0'
case_ "no bearer" 2 "$C: no 'bearer' is set" 'node = 1'
case_ "kdfs without backing" 2 "$C: service kdfs needs 'kdfs_backing'" "${good[@]}" 'services = kdfs'
case_ "node past 1.1.N" 2 "$C: node 5000 needs a 'tipc_address'" 'node = 5000' 'bearer = eth eth0'
case_ "every error reported" 2 "$C:2: unknown key 'b'" 'a' 'b = 1' 'node = 1' 'bearer = eth eth0'
out=$("$SETUP" -c "$D/none" check 2>&1); rc=$?
t=$((t + 1))
if [ $rc -eq 2 ] && grep -qF "$D/none: no such file" <<<"$out"; then echo "ok $t missing file"
else echo "not ok $t missing file ($rc: $out)"; fail=$((fail + 1)); fi
out=$("$SETUP" frob 2>&1); rc=$?
t=$((t + 1))
if [ $rc -eq 2 ] && grep -qF "unknown command 'frob'" <<<"$out"; then echo "ok $t bad command"
else echo "not ok $t bad command ($rc: $out)"; fail=$((fail + 1)); fi
echo "1..$t"
echo "# Totals: pass:$((t - fail)) fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
