#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Installs the Debian packages in scripts/packages.list (or in the lists
# given, e.g. scripts/packages-balance.list) that are missing.
# Idempotent: with everything installed it only reads dpkg's database.
set -eu
here=$(dirname "$0")
lists=("$@")
[ ${#lists[@]} -gt 0 ] || lists=("$here/packages.list")
missing=()
for p in $(cat "${lists[@]}" | grep -v '^#'); do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
