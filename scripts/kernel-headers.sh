#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetches the headers of a newer Debian kernel than the host's (by default
# the cloud kernel of bookworm-backports) into build/kernels/, without
# touching the system's apt sources or package database, and prints the
# directory to build modules against (make modules KDIR=...).
#
#   scripts/kernel-headers.sh [--image] [SUITE [FLAVOUR]]
#
# --image: the kernel itself instead, for guests (kddm-vm's
# KDDM_VM_KERNEL): prints a root holding boot/vmlinuz-KVER and
# lib/modules/KVER, with its modules.dep.
# apt checks the archive's signatures with Debian's keyring, as for any
# package; the packages are unpacked, not installed.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin	# depmod
IMAGE=0
[ "${1:-}" = --image ] && { IMAGE=1; shift; }
SUITE=${1:-bookworm-backports}
FLAVOUR=${2:-cloud-amd64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${KDDM_KERNELS_DIR:-$ROOT/build/kernels}/$SUITE
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
die() { echo "kernel-headers: $*" >&2; exit 1; }

[ -r "$KEYRING" ] || die "no $KEYRING (package debian-archive-keyring)"
mkdir -p "$W"/apt/{lists/partial,cache/archives/partial} "$W/debs"
echo "deb [signed-by=$KEYRING] http://deb.debian.org/debian $SUITE main" \
	> "$W/apt/sources.list"
APT=(-o Dir::Etc::SourceList="$W/apt/sources.list"
     -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$W/apt/lists"
     -o Dir::Cache="$W/apt/cache"
     -o Dir::State::status=/dev/null
     -o APT::Sandbox::User=root
     -o Debug::NoLocking=1)
# offline, the lists of the last update do
if ! apt-get -qq "${APT[@]}" update >"$W/apt.log" 2>&1; then
	[ -n "$(find "$W/apt/lists" -maxdepth 1 -name '*Packages*' -print -quit)" ] ||
		die "apt-get update of $SUITE failed: $(tail -3 "$W/apt.log")"
	echo "kernel-headers: apt-get update failed, using the lists of the last one" >&2
fi

# the meta package names the current version's headers
dep() {
	{ apt-cache "${APT[@]}" depends "$1" 2>/dev/null || true; } |
		sed -n "s/^  Depends: \($2\)$/\1/p" | head -1
}
# the kernel series kDDM is checked against (dkms.conf, compat.h, kipc)
SERIES=${KDDM_NEWER_SERIES:-6.12}
series() {
	case $1 in
	"$SERIES".*) ;;
	*) die "$SUITE's $FLAVOUR kernel is $1 now, not $SERIES.x, the series kDDM was checked against (dkms.conf, include/kddm/compat.h, kipc)" ;;
	esac
}
if [ $IMAGE = 1 ]; then
	img=$(dep "linux-image-$FLAVOUR" "linux-image-[0-9].*-$FLAVOUR")
	[ -n "$img" ] || die "$SUITE has no linux-image-$FLAVOUR"
	kver=${img#linux-image-}
	series "$kver"
	out=$W/image
	if [ ! -f "$out/.kddm-ready-$kver" ]; then
		(cd "$W/debs" && apt-get -qq "${APT[@]}" download "$img") \
			>"$W/download.log" 2>&1 ||
			die "download failed: $(tail -3 "$W/download.log")"
		rm -rf "$out"
		f=$(find "$W/debs" -name "${img}_*.deb" | sort -V | tail -1)
		[ -n "$f" ] || die "no package file for $img"
		dpkg-deb -x "$f" "$out"
		depmod -b "$out" "$kver"
		touch "$out/.kddm-ready-$kver"
	fi
	echo "$out"
	exit 0
fi
hdr=$(dep "linux-headers-$FLAVOUR" "linux-headers-[0-9].*-$FLAVOUR")
[ -n "$hdr" ] || die "$SUITE has no linux-headers-$FLAVOUR"
kver=${hdr#linux-headers-}
series "$kver"
common=$(dep "$hdr" 'linux-headers-[0-9].*-common')
kbuild=$(dep "$hdr" 'linux-kbuild-[0-9].*')
if [ -z "$common" ] || [ -z "$kbuild" ]; then
	die "$hdr: cannot find its common headers and kbuild packages"
fi

out=$W/root/usr/src/linux-headers-$kver
if [ ! -f "$out/.kddm-ready" ]; then
	(cd "$W/debs" && apt-get -qq "${APT[@]}" download \
		"$hdr" "$common" "$kbuild") >"$W/download.log" 2>&1 ||
		die "download failed: $(tail -3 "$W/download.log")"
	rm -rf "$W/root"
	for p in "$hdr" "$common" "$kbuild"; do
		f=$(find "$W/debs" -name "${p}_*.deb" | sort -V | tail -1)
		[ -n "$f" ] || die "no package file for $p"
		dpkg-deb -x "$f" "$W/root"
	done
	# the flavour's Makefile includes the common tree by absolute path
	sed -i "s#/usr/src/#$W/root/usr/src/#" "$out/Makefile"
	touch "$out/.kddm-ready"
fi
echo "$out"
