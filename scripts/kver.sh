#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prints the newest Debian 12 (6.1) cloud kernel that has both its image in
# /boot and its headers installed: the kernel the guests boot and modules
# build against. A newer kernel on the host (bookworm-backports') is not
# taken: make check tests that one separately (selftests/run-newer-kernel.sh).
SERIES=${KDDM_KVER_SERIES:-6.1}
for img in $(ls /boot/vmlinuz-"$SERIES".*-cloud-amd64 2>/dev/null | sort -rV); do
	k=${img#/boot/vmlinuz-}
	if [ -d "/lib/modules/$k/build" ]; then
		echo "$k"
		exit 0
	fi
done
echo "kver: no $SERIES cloud kernel with headers (linux-image-cloud-amd64, linux-headers-cloud-amd64)" >&2
exit 1
