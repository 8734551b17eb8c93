#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo: boot a 3-node cluster, show the nodes joined, shut it down.
set -eu -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VM=$ROOT/userspace/kddm-vm
export KDDM_VM_DIR=${KDDM_VM_DIR:-$ROOT/build/demo-cluster}
trap '"$VM" down >/dev/null 2>&1' EXIT

step() { printf '\n=== %s\n' "$*"; }

step "booting 3 nodes: Debian cloud kernel $("$ROOT/scripts/kver.sh") under qemu, one vde L2 segment"
"$VM" up -n 3 --owner $$
for n in 1 2 3; do
	step "node $n: hostname, TIPC address and links"
	"$VM" exec "$n" -- sh -c 'echo "$(hostname): TIPC $(tipc node get address)"; tipc link list'
done
step "kddm.ko loads on every node"
"$VM" exec all -- sh -c 'insmod /lib/modules/kddm/kddm.ko && dmesg | grep "kddm: version" | tail -1 && rmmod kddm'
step "consoles clean"
"$VM" check && echo "no kernel warnings on any node"
step "shutting down"
"$VM" down
