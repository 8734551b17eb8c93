#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo: boot a 3-node cluster, show it joined (TIPC, then kDDM), write
# an object on one node and read it on the others, share SysV memory and a
# kdfs file system across the nodes, shut down.
set -eu -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VM=$ROOT/userspace/kddm-vm
export KDDM_VM_DIR=${KDDM_VM_DIR:-$ROOT/build/demo-cluster}
trap '"$VM" down >/dev/null 2>&1' EXIT

step() { printf '\n=== %s\n' "$*"; }
on() { local n=$1; shift; printf 'node%s$ %s\n' "$n" "$*"; "$VM" exec "$n" -- sh -c "$*"; }

step "booting 3 nodes: Debian cloud kernel $("$ROOT/scripts/kver.sh") under qemu, one vde L2 segment"
"$VM" up -n 3 --owner $$ --disk 256M --wipe-disks
for n in 1 2 3; do
	on "$n" 'echo "$(hostname): TIPC address $(tipc node get address)"; tipc link list'
done

step "loading kddm.ko on every node (node id = guest number) and joining"
for n in 1 2 3; do on "$n" kddm-load; done
for n in 1 2 3; do on "$n" kddm nodes; done

step "an object written on node 1, read on nodes 2 and 3"
set_id=$("$VM" exec 1 -- kddm-test create -s 64)
echo "set $set_id created on node 1 (home of its objects: node 1)"
on 1 "kddm-test write $set_id 42 'hello from node 1'"
on 2 "kddm-test get $set_id 42"
on 3 "kddm-test get $set_id 42"

step "node 3 grabs it (the read copies on nodes 1 and 2 are invalidated) and writes"
on 3 "kddm-test write $set_id 42 'node 3 was here'"
on 2 "kddm-test find $set_id 42 || echo '(no local copy on node 2 any more)'"
on 1 "kddm-test get $set_id 42"
on 2 "kddm-test get $set_id 42"
on 1 "kddm sets; kddm stats $set_id"

step "System V shared memory across nodes (kipc.ko; ipc-tool is a plain SysV program)"
for n in 1 2 3; do on "$n" "kddm-load kipc"; done
shmid=$("$VM" exec 1 -- ipc-tool shm-get 0x2026 8192 c,666)
echo "node1: shmget(0x2026, 8192, IPC_CREAT|0666) = $shmid"
on 1 "ipc-tool shm-write $shmid 0 'written on node 1'"
on 3 "ipc-tool shm-get 0x2026 0"
on 3 "ipc-tool shm-read $shmid 0 64"
on 3 "ipc-tool shm-write $shmid 0 'changed on node 3'"
on 1 "ipc-tool shm-read $shmid 0 64"
on 2 "kddm ipcs"
on 2 "ipc-tool shm-rm $shmid"

step "one file system on every node (kdfs.ko; each node's share on its own disk)"
for n in 1 2 3; do on "$n" "kddm-load kdfs"; done
on 1 "mkdir /kdfs/demo && echo 'written on node 1' > /kdfs/demo/hello"
on 3 "cat /kdfs/demo/hello"
on 3 "echo 'appended on node 3' >> /kdfs/demo/hello"
on 2 "cat /kdfs/demo/hello; ls -l /kdfs/demo"
on 2 "kddm where /kdfs/demo/hello"
on 2 "kddm df"

step "consoles clean"
"$VM" check && echo "no kernel warnings on any node"
step "shutting down"
"$VM" down
