#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Extracts what we use from Debian's linux-source-6.1 tarball (kselftest
# harness, checkpatch) into a cache outside the tree; prints its path.
set -eu
cache=${KDDM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kddm}
tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null) || {
	echo "ksft: /usr/src/linux-source-6.1.tar.xz missing (linux-source-6.1)" >&2
	exit 1
}
dst=$cache/linux-source
stamp=$dst/.stamp
if [ ! -e "$stamp" ] || [ "$tarball" -nt "$stamp" ]; then
	rm -rf "$dst.tmp"
	mkdir -p "$dst.tmp"
	tar -xJf "$tarball" -C "$dst.tmp" --strip-components=1 --wildcards \
		'linux-source-6.1/tools/testing/selftests/kselftest*' \
		'linux-source-6.1/tools/testing/selftests/lib.mk' \
		'linux-source-6.1/scripts/checkpatch.pl' \
		'linux-source-6.1/scripts/spelling.txt' \
		'linux-source-6.1/scripts/const_structs.checkpatch'
	touch "$dst.tmp/.stamp"
	rm -rf "$dst"
	mv "$dst.tmp" "$dst"
fi
echo "$dst"
