#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What kddm.service does at boot and shutdown (kddm-setup up / down, as
# /etc/kddm/kddm.conf says), on every node of a cluster whose modules are
# unloaded and bearers disabled first: all nodes start at once and join,
# kipc and kdfs are up (a file written on one node reads back on another),
# down takes every node out with nothing left loaded nor enabled, as up
# recorded it (even where the file is broken by then); a configuration
# whose bearer device
# does not exist changes nothing; and one that fails after its first
# steps (no majority for kdfs: the other nodes are down) undoes them; and
# the same cluster over a UDP bearer, joined with the cluster key.
VM=${KDDM_VM:-userspace/kddm-vm}
NODES=${KDDM_NODES:-3}
t=0 fail=0

echo "TAP version 13"
ok() { # NAME CONDITION-STATUS [DETAIL]
	t=$((t + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $t $1"
	else
		echo "not ok $t $1"; fail=$((fail + 1))
		[ -n "${3:-}" ] && echo "$3" | head -20 | sed 's/^/# /'
	fi
}
x() { "$VM" exec "$1" -n -t "${T:-120}" -- "${@:2}"; }
conf() { # NODE [EXTRA LINE]: writes its kddm.conf
	x "$1" sh -c "mkdir -p /etc/kddm /kdfs && printf '%s\n' \
		'# written by setup_unit.sh' 'node = $1' 'nodes = $NODES' \
		'bearer = eth eth0' 'services = kipc kdfs   # both' \
		'kdfs_backing = /var/lib/kddm' 'module_dir = /lib/modules/kddm' \
		'${2:-}' > /etc/kddm/kddm.conf"
}
loaded() { x "$1" sh -c 'cat /proc/modules' | grep -Ec '^(kddm|kipc|kdfs|kddm_test) '; }

for n in $(seq "$NODES"); do
	x "$n" kddm-load -u >/dev/null 2>&1
	x "$n" tipc bearer disable media eth device eth0 >/dev/null 2>&1
	conf "$n"
done
all=0
for n in $(seq "$NODES"); do
	[ "$(loaded "$n")" = 0 ] && [ -z "$(x "$n" tipc bearer list)" ] || all=1
done
ok "modules unloaded and bearers disabled before the test" $all

# up on every node at once, as at a cluster's boot: one test named $1
up_all() {
	local n rc=0 out
	for n in $(seq "$NODES"); do
		x "$n" kddm-setup up >"/tmp/setup_unit.$$.$n" 2>&1 &
	done
	for n in $(seq "$NODES"); do wait -n || rc=1; done
	out=$(cat /tmp/setup_unit.$$.*); rm -f /tmp/setup_unit.$$.*
	ok "$1" $rc "$out"
}
up_all "kddm-setup up on $NODES nodes at once"

members=$(x 1 kddm nodes | grep -Ec ' (up|self)$')
[ "$members" = "$NODES" ]; ok "all $NODES nodes up in 'kddm nodes' ($members)" $?
st=$(x 2 kddm-setup status)
echo "$st" | grep -q '^member: yes' && echo "$st" | grep -q '^kdfs: mounted on /kdfs' &&
	echo "$st" | grep -q '^kipc: loaded'
ok "status on node 2: member, kipc loaded, kdfs mounted" $? "$st"
x 1 sh -c 'echo "unit $$" > /kdfs/setup_unit' >/dev/null
a=$(x 1 cat /kdfs/setup_unit) b=$(x "$NODES" cat /kdfs/setup_unit)
[ -n "$a" ] && [ "$a" = "$b" ]; ok "a kdfs file written on node 1 reads back on node $NODES" $? "'$a' '$b'"
x 1 rm -f /kdfs/setup_unit

# again: nothing to do, nothing changes
out=$(x 1 kddm-setup up 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | grep -vc 'is up$')" = 0 ] &&
	[ "$(x 1 grep -c ' kdfs ' /proc/mounts)" = 1 ]
ok "a second up is a no-op" $? "$out"

# modules installed since (another kddm.ko): up refuses, down first
x 1 sh -c 'mkdir -p /tmp/newer && cp /lib/modules/kddm/*.ko /tmp/newer/ &&
	cp /lib/modules/kddm/kdfs.ko /tmp/newer/kddm.ko &&
	sed -i "s|^module_dir = .*|module_dir = /tmp/newer|" /etc/kddm/kddm.conf'
out=$(x 1 kddm-setup up 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'the loaded kddm.ko is not the installed one' &&
	[ "$(x 1 grep -c ' kdfs ' /proc/mounts)" = 1 ]
ok "up with other modules installed than loaded: refused, nothing changed" $? "$out"
x 1 sed -i 's|^module_dir = .*|module_dir = /lib/modules/kddm|' /etc/kddm/kddm.conf

st=$(x 2 cat /run/kddm/setup.state 2>&1)
printf '%s\n' "$st" | grep -qx 'bearer eth eth0' &&
	printf '%s\n' "$st" | grep -qx 'mount /kdfs'
ok "up recorded the bearer it enabled and kdfs's mount point" $? "$st"

# down, in the reverse order; node 2's file is broken by then
x 2 sh -c 'echo "frob = 1" >> /etc/kddm/kddm.conf'
rc=0
for n in $(seq "$NODES" -1 1); do
	out=$(x "$n" kddm-setup down 2>&1) || { rc=1; echo "# node $n: $out"; }
done
ok "kddm-setup down on every node" $rc
all=0
for n in $(seq "$NODES"); do
	[ "$(loaded "$n")" = 0 ] || all=1
	x "$n" grep -q ' /kdfs kdfs ' /proc/mounts && all=1
	[ -z "$(x "$n" tipc bearer list)" ] || all=1
	x "$n" test -e /run/kddm/setup.state && all=1
done
ok "nothing loaded, mounted nor enabled after down, no state left" $all

# a bearer device that does not exist: refused before any change
conf 1
x 1 sed -i 's/eth eth0/eth eth9/' /etc/kddm/kddm.conf
before=$(x 1 tipc bearer list)
out=$(x 1 kddm-setup up 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'bearer eth eth9: no such network device' &&
	[ "$(loaded 1)" = 0 ] && [ "$(x 1 tipc bearer list)" = "$before" ]
ok "up with a missing bearer device: its error, nothing changed" $? "$out"

# a later step fails (node 1 alone: no majority for kdfs, within the
# join_timeout it is given): all undone
conf 1 'join_timeout = 5'
out=$(x 1 kddm-setup up 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'not a member of the cluster after 5 s' &&
	echo "$out" | grep -q 'undoing what this run did' &&
	[ "$(loaded 1)" = 0 ] && [ -z "$(x 1 tipc bearer list)" ]
ok "up that fails at kdfs undoes the bearer and modules it set up" $? "$out"

# Hosts on different subnets: TIPC over UDP, each node naming its own
# address and its peers' (192.0.2.0/24, TEST-NET-1, set on the guests'
# own segment only), joined with the cluster key, kipc only
udp_conf() { # NODE
	local p='' i
	for i in $(seq "$NODES"); do [ "$i" = "$1" ] || p="$p 192.0.2.$i"; done
	x "$1" sh -c "printf '%s\n' 'node = $1' 'nodes = $NODES' \
		'bearer = udp kddm0 192.0.2.$1$p' 'key_file = /etc/kddm/key' \
		'services = kipc' 'module_dir = /lib/modules/kddm' > /etc/kddm/kddm.conf"
}
for n in $(seq "$NODES"); do
	x "$n" ip addr add "192.0.2.$n/24" dev eth0
	x "$n" ip link set eth0 up
	udp_conf "$n"
done
up_all "up over a UDP bearer, with the cluster key, on $NODES nodes at once"
members=$(x 1 kddm nodes | grep -Ec ' (up|self)$')
b=$(x "$NODES" tipc bearer list) st=$(x 2 kddm status)
[ "$members" = "$NODES" ] && [ "$b" = "udp:kddm0" ] &&
	echo "$st" | grep -q '^member: yes'
ok "all $NODES nodes members over udp:kddm0 alone" $? "$members $b $st"
rc=0
for n in $(seq "$NODES" -1 1); do
	out=$(x "$n" kddm-setup down 2>&1) || { rc=1; echo "# node $n: $out"; }
	[ -z "$(x "$n" tipc bearer list)" ] && [ "$(loaded "$n")" = 0 ] || rc=1
	x "$n" ip addr del "192.0.2.$n/24" dev eth0
done
ok "down over UDP: every node out, its bearer disabled" $rc

# the test cluster as the next tests expect it
for n in $(seq "$NODES"); do
	x "$n" sh -c 'tipc bearer list | grep -q "^eth:eth0$" || tipc bearer enable media eth device eth0'
	x "$n" rm -f /etc/kddm/kddm.conf
done
for n in $(seq "$NODES"); do x "$n" kddm-load >/dev/null || fail=$((fail + 1)); done

echo "1..$t"
echo "# Totals: pass:$((t - fail)) fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
