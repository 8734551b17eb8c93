#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kdfs-bench.sh: kdfs against the backing ext4 and the kernel's NFSv4.2,
# measured on the same 3 guests in one run.  See "Measured performance" in
# Documentation/kdfs/index.rst.
#
#   bench/kdfs-bench.sh     (KDDM_BENCH_MB=64 file size in MiB,
#                            KDDM_BENCH_FILES=300 files for the metadata
#                            rate, KDDM_BENCH_REPS=3 rounds, medians)
#
# Each round measures, with fio (psync, 1 MiB blocks), a sequential write
# (end_fsync=1) then, after dropping the caches of every node, a sequential
# read of one file, and with meta-rate the create + stat + unlink rate of
# empty files, on:
#   local        ext4, /var/lib/kddm/bench on node 2 (kdfs's backing disk)
#   kdfs-local   /kdfs, file made by node 2 (its home), run on node 2
#   kdfs-remote  /kdfs, file made by node 2, run on node 3 (read: the file
#                node 2 wrote; write: an empty file node 2 made)
#   nfs          nfsd on node 2 exporting /var/lib/kddm/nfs, NFSv4.2
#                client on node 3 over IPv6 link-local, run on node 3
#   kdfs-striped as kdfs-remote, in a directory striped over the three
#                nodes (1 MiB units): a third of the data on node 3
# and, for reference, what the network path itself carries from node 3 to
# node 2 (the file's size in zeros through one connection, tipc-stream):
#   tipc-stream  one TIPC stream connection (the transport kdfs uses)
#   tcp-stream   one TCP connection over IPv6 link-local (NFS's)
# Prints a table, then "ratio NAME=VALUE" lines last (kdfs-local / local,
# kdfs-remote / nfs, kdfs-striped / kdfs-remote; throughputs and rates:
# higher is better for kdfs; then the references: tipc-stream / tcp-stream,
# kdfs-remote and nfs writes each against its own transport's stream).
# Exits non-zero if anything failed (boot, a command, kernel trouble on a
# console), never because of a ratio.
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
VM=$ROOT/userspace/kddm-vm
export KDDM_VM_DIR=${KDDM_BENCH_DIR:-$ROOT/build/kdfs-bench-cluster}
export KDDM_VM_BENCH_TOOLS=1	# fio and NFS in the guests' initramfs
MB=${KDDM_BENCH_MB:-64}
FILES=${KDDM_BENCH_FILES:-300}
REPS=${KDDM_BENCH_REPS:-3}
FIO=(--bs=1M "--size=${MB}M" --ioengine=psync --fallocate=none --minimal)
LOCAL=/var/lib/kddm/bench	# on node 2's ext4, beside (not in) kdfs's store
KDFS=/kdfs/bench
NFS_EXPORT=/var/lib/kddm/nfs
NFS=/mnt/nfs

die() { echo "kdfs-bench: $*" >&2; exit 1; }
log() { echo "kdfs-bench: $*" >&2; }

if ! [[ $MB =~ ^[1-9][0-9]*$ ]] || [ "$MB" -gt 80 ]; then
	die "KDDM_BENCH_MB: 1 to 80 (256 MiB disks)"
fi
if ! [[ $FILES =~ ^[1-9][0-9]*$ ]] || [ "$FILES" -gt 2000 ]; then
	die "KDDM_BENCH_FILES: 1 to 2000"
fi
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "KDDM_BENCH_REPS: a positive count"

# x NODE CMD...: runs CMD on NODE, prints its output; dies (and so downs
# the cluster) on any failure.
x() {
	local n=$1 out rc
	shift
	out=$("$VM" exec "$n" -t 900 -- "$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		[ -z "$out" ] || echo "$out"
		return 0
	fi
	die "node $n: '$*' failed (exit $rc): $out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }

# Every node: dirty data written, then the clean page cache, dentries and
# inodes dropped (what kdfs holds in kDDM objects stays).
drop() {
	local n
	for n in 1 2 3; do
		x "$n" sh -c 'sync && echo 3 > /proc/sys/vm/drop_caches' >/dev/null
	done
}

# fio_run NODE write|read FILE: the throughput in MiB/s.
fio_run() {
	local n=$1 rw=$2 f=$3 out args=() bw
	if [ "$rw" = write ]; then
		# file_append: an existing (empty) file is written, not unlinked
		# and made again by fio (which would change its home node)
		args=(--rw=write --end_fsync=1 --file_append=1)
	else
		args=(--rw=read)
	fi
	out=$(x "$n" fio --name="$rw" --filename="$f" "${args[@]}" "${FIO[@]}") || exit 1
	# terse v3: 5 error, 7 read KiB/s, 48 write KiB/s
	bw=$(awk -F';' -v rw="$rw" '$1 == 3 && $5 == 0 {
		printf "%.1f", (rw == "write" ? $48 : $7) / 1024; found = 1 }
		END { exit !found }' <<<"$out") ||
		die "node $n: fio $rw $f: $out"
	echo "$bw"
}

# meta NODE MKDIR_NODE DIR: "create stat unlink total" operations per
# second on NODE, in a new directory DIR that MKDIR_NODE makes (and
# removes after).
meta() {
	local out
	x "$2" mkdir "$3"
	out=$(x "$1" meta-rate "$3" "$FILES") || exit 1
	[[ $out =~ ^[0-9]+\ [0-9]+\ [0-9]+\ [0-9]+$ ]] || die "node $1: meta-rate $3 printed '$out'"
	x "$2" rmdir "$3"
	echo "$out"
}

# home PATH: dies unless node 2 holds kdfs file PATH.
home2() {
	local w
	# not piped into grep -q: with pipefail, its early exit fails the pipe
	w=$(x 2 kddm where "$1") || exit 1
	case $w in
	*"on node 2"$'\n'*|*"on node 2") ;;
	*) die "$1 is not homed on node 2: $w" ;;
	esac
}

make -s -C "$ROOT/bench" BUILD="$ROOT/build" || die "cannot build meta-rate"
for f in kddm-agent kddm meta-rate tipc-stream; do
	[ -x "$ROOT/build/bin/$f" ] || die "build/bin/$f missing: run 'make' first"
done
for f in /usr/bin/fio /usr/sbin/rpc.nfsd /usr/sbin/rpc.mountd /usr/sbin/exportfs \
	 /usr/sbin/mount.nfs; do
	[ -x "$f" ] || die "$f missing: scripts/install-deps.sh (fio, nfs-kernel-server)"
done

trap '"$VM" down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

T0=$(date +%s)
"$VM" up -n 3 --load --disk 256M --wipe-disks --owner $$ >/dev/null ||
	die "the cluster did not come up"
for n in 1 2 3; do x "$n" kddm-load kdfs; done
log "cluster of 3 up, kdfs mounted in $(( $(date +%s) - T0 ))s (state in $KDDM_VM_DIR)"

# ------------------------------------------------------------------ NFS
# shellcheck disable=SC2016 # the sh -c scripts expand in the guest
# NFSv4 only: no rpcbind, no lockd; nfsd listens on node 2's link-local
# address of the cluster NIC only.  Started first, so that its grace
# period (10 s) is over before the NFS rounds.
for n in 2 3; do
	x "$n" sh -c 'for m in $(cat /etc/kddm/modules.nfs); do
		b=$(basename "$m" .ko); [ -d "/sys/module/$b" ] || insmod "$m" || exit 1
	done'
done
# shellcheck disable=SC2016
# link NODE: "IFACE ADDRESS", the IPv6 link-local address of NODE's
# cluster NIC (the one with the MAC of kddm.mac), once DAD is done.
link() {
	x "$1" sh -c 'mac=$(tr " " "\n" < /proc/cmdline | sed -n "s/^kddm.mac=//p")
		for i in /sys/class/net/*; do
			[ "$(cat "$i/address")" = "$mac" ] && ifc=${i##*/}
		done
		[ -n "${ifc:-}" ] || exit 1
		for _ in $(seq 100); do
			a=$(ip -6 -o addr show dev "$ifc" scope link |
			    grep -v tentative | sed -n "s|.* inet6 \(fe80:[0-9a-f:]*\)/.*|\1|p")
			[ -n "$a" ] && echo "$ifc $a" && exit 0
			sleep 0.1
		done
		exit 1'
}
read -r IF2 ADDR2 <<<"$(link 2)"
read -r IF3 _ <<<"$(link 3)"
if [ -z "${ADDR2:-}" ] || [ -z "${IF3:-}" ]; then
	die "no IPv6 link-local address on the cluster NIC"
fi
# shellcheck disable=SC2016
x 2 sh -c '
	mkdir -p "$1" /proc/fs/nfsd
	grep -q " /proc/fs/nfsd " /proc/mounts || mount -t nfsd nfsd /proc/fs/nfsd
	echo "$1 *(rw,sync,no_root_squash,fsid=0,no_subtree_check)" > /etc/exports
	exportfs -ra
	rpc.mountd -N 2 -N 3 </dev/null >/tmp/mountd.log 2>&1
	rpc.nfsd -N 3 -p 2049 -H "$2" --grace-time 10
	grep -q "+4.2" /proc/fs/nfsd/versions' \
	sh "$NFS_EXPORT" "$ADDR2%$IF2"
# shellcheck disable=SC2016
x 3 sh -c 'mkdir -p "$2" && mount.nfs4 "[$1]:/" "$2" -o vers=4.2,sec=sys' \
	sh "$ADDR2%$IF3" "$NFS"
NFS_OPTS=$(x 3 sh -c "grep ' $NFS ' /proc/mounts | cut -d' ' -f4")
log "NFS: node 2 [$ADDR2] exports $NFS_EXPORT, node 3 mounts it on $NFS ($NFS_OPTS)"
x 2 mkdir -p "$LOCAL" "$KDFS" "$KDFS/striped"
home2 "$KDFS"
x 2 kdfs-xattr set "$KDFS/striped" kdfs.placement stripe >/dev/null

# stream tipc|tcp: MiB/s of $MB MiB of zeros from node 3 to node 2 through
# one connection, as node 2's receiver logs it (from its first byte).
stream() {
	local out
	if [ "$1" = tipc ]; then
		x 2 sh -c 'tipc-stream recv 80 >/dev/null 2>/tmp/st.log </dev/null &' >/dev/null
		x 3 tipc-stream zero 80 "$MB" >/dev/null
	else
		x 2 sh -c 'tipc-stream tcp-recv 8080 >/dev/null 2>/tmp/st.log </dev/null &' >/dev/null
		x 3 tipc-stream tcp-zero "$ADDR2%$IF3" 8080 "$MB" >/dev/null
	fi
	# shellcheck disable=SC2016 # expands in the guest
	out=$(x 2 sh -c 'i=0; until grep -qE "^[0-9]+ [0-9.]+$" /tmp/st.log; do
		grep -q "^tipc-stream:" /tmp/st.log && { cat /tmp/st.log; exit 1; }
		i=$((i + 1)); [ $i -le 600 ] || exit 1; sleep 0.2; done
		tail -1 /tmp/st.log') || exit 1
	[[ $out =~ ^([0-9]+)\ ([0-9.]+)$ ]] || die "node 2: tipc-stream logged '$out'"
	awk -v b="${BASH_REMATCH[1]}" -v t="${BASH_REMATCH[2]}" \
		'BEGIN { printf "%.1f", b / 1048576 / t }'
}

# --------------------------------------------------------------- rounds
# Each round measures everything once, so that a drift of the host's load
# hits the four setups alike.
declare -A W R M MC MS MU
add() { # add SETUP "write read" "create stat unlink total"
	local s=$1 w r c st u t
	read -r w r <<<"$2"
	read -r c st u t <<<"$3"
	W[$s]+=" $w" R[$s]+=" $r" M[$s]+=" $t" MC[$s]+=" $c" MS[$s]+=" $st" MU[$s]+=" $u"
}
for round in $(seq "$REPS"); do
	log "round $round of $REPS ($(( $(date +%s) - T0 ))s)"
	# local: node 2's ext4
	w=$(fio_run 2 write "$LOCAL/seq") || exit 1
	drop
	r=$(fio_run 2 read "$LOCAL/seq") || exit 1
	x 2 rm "$LOCAL/seq"
	m=$(meta 2 2 "$LOCAL/m$round") || exit 1
	add local "$w $r" "$m"

	# kdfs-local, then kdfs-remote reading the file node 2 wrote
	w=$(fio_run 2 write "$KDFS/seq") || exit 1
	home2 "$KDFS/seq"
	drop
	r=$(fio_run 2 read "$KDFS/seq") || exit 1
	drop
	rr=$(fio_run 3 read "$KDFS/seq") || exit 1
	x 2 rm "$KDFS/seq"
	m=$(meta 2 2 "$KDFS/m$round") || exit 1
	add kdfs-local "$w $r" "$m"

	# kdfs-remote write: an empty file made by node 2, written by node 3;
	# metadata: a directory made by node 2, its files made by node 3
	x 2 touch "$KDFS/seq"
	rw=$(fio_run 3 write "$KDFS/seq") || exit 1
	home2 "$KDFS/seq"
	x 2 rm "$KDFS/seq"
	m=$(meta 3 2 "$KDFS/r$round") || exit 1
	add kdfs-remote "$rw $rr" "$m"

	# kdfs-striped: node 2 writes a striped file, node 3 reads it; node
	# 3 writes one node 2 made
	x 2 touch "$KDFS/striped/seq"
	w=$(fio_run 2 write "$KDFS/striped/seq") || exit 1
	drop
	sr=$(fio_run 3 read "$KDFS/striped/seq") || exit 1
	x 2 rm "$KDFS/striped/seq"
	x 2 touch "$KDFS/striped/seq"
	sw=$(fio_run 3 write "$KDFS/striped/seq") || exit 1
	x 2 rm "$KDFS/striped/seq"
	add kdfs-striped "$sw $sr" "0 0 0 0"

	# nfs: server node 2, client node 3
	w=$(fio_run 3 write "$NFS/seq") || exit 1
	drop
	r=$(fio_run 3 read "$NFS/seq") || exit 1
	x 3 rm "$NFS/seq"
	m=$(meta 3 3 "$NFS/m$round") || exit 1
	add nfs "$w $r" "$m"

	# the network path alone, node 3 to node 2
	w=$(stream tipc) || exit 1
	add tipc-stream "$w 0" "0 0 0 0"
	w=$(stream tcp) || exit 1
	add tcp-stream "$w 0" "0 0 0 0"
done
x 3 umount "$NFS"

"$VM" check >/dev/null 2>&1 || { "$VM" check >&2; die "kernel trouble on a console"; }

# ---------------------------------------------------------------- report
med() { tr ' ' '\n' <<<"${1# }" | median; }
SETUPS=(local kdfs-local kdfs-remote nfs kdfs-striped tipc-stream tcp-stream)
declare -A NAME=([local]="local (ext4, node 2)" [kdfs-local]="kdfs-local (node 2)"
		 [kdfs-remote]="kdfs-remote (home 2, on 3)" [nfs]="nfs 4.2 (server 2, on 3)"
		 [kdfs-striped]="kdfs-striped (1-3, on 3)"
		 [tipc-stream]="tipc stream (3 to 2)" [tcp-stream]="tcp stream (3 to 2)")
declare -A MW MR MM
for s in "${SETUPS[@]}"; do
	MW[$s]=$(med "${W[$s]}") MR[$s]=$(med "${R[$s]}") MM[$s]=$(med "${M[$s]}")
done
row() { printf '%-28s %12s %11s %9s %9s %9s %11s\n' "$@"; }
printf '\nkdfs, 3 nodes (qemu TCG), fio psync 1 MiB blocks on a %d MiB file (write: end_fsync=1; read: caches dropped), %d empty files created, stated, unlinked; median of %d\n' \
	"$MB" "$FILES" "$REPS"
row setup "write MiB/s" "read MiB/s" create/s stat/s unlink/s "meta ops/s"
for s in "${SETUPS[@]}"; do
	case $s in
	kdfs-striped)	# data only
		row "${NAME[$s]}" "${MW[$s]}" "${MR[$s]}" - - - -
		continue ;;
	*-stream)	# one way
		row "${NAME[$s]}" "${MW[$s]}" - - - - -
		continue ;;
	esac
	row "${NAME[$s]}" "${MW[$s]}" "${MR[$s]}" "$(med "${MC[$s]}")" \
		"$(med "${MS[$s]}")" "$(med "${MU[$s]}")" "${MM[$s]}"
done
echo
echo "samples (write MiB/s | read MiB/s | meta ops/s)"
for s in "${SETUPS[@]}"; do
	case $s in
	*-stream) printf '%-28s%s\n' "${NAME[$s]}" "${W[$s]}" ;;
	*) printf '%-28s%s |%s |%s\n' "${NAME[$s]}" "${W[$s]}" "${R[$s]}" "${M[$s]}" ;;
	esac
done
log "done in $(( $(date +%s) - T0 ))s"
echo
echo "ratio kdfs_local_write=$(ratio "${MW[kdfs-local]}" "${MW[local]}")"
echo "ratio kdfs_local_read=$(ratio "${MR[kdfs-local]}" "${MR[local]}")"
echo "ratio kdfs_local_meta=$(ratio "${MM[kdfs-local]}" "${MM[local]}")"
echo "ratio kdfs_nfs_write=$(ratio "${MW[kdfs-remote]}" "${MW[nfs]}")"
echo "ratio kdfs_nfs_read=$(ratio "${MR[kdfs-remote]}" "${MR[nfs]}")"
echo "ratio kdfs_nfs_meta=$(ratio "${MM[kdfs-remote]}" "${MM[nfs]}")"
echo "ratio kdfs_striped_write=$(ratio "${MW[kdfs-striped]}" "${MW[kdfs-remote]}")"
echo "ratio kdfs_striped_read=$(ratio "${MR[kdfs-striped]}" "${MR[kdfs-remote]}")"
echo "ratio tipc_vs_tcp_stream=$(ratio "${MW[tipc-stream]}" "${MW[tcp-stream]}")"
echo "ratio kdfs_remote_write_vs_tipc_stream=$(ratio "${MW[kdfs-remote]}" "${MW[tipc-stream]}")"
echo "ratio nfs_write_vs_tcp_stream=$(ratio "${MW[nfs]}" "${MW[tcp-stream]}")"
