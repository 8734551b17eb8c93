#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# stress-ng's SysV stressors with --verify on every node at once, on the
# cluster-wide IPC of kipc: every run must complete with no failure.
# shellcheck source=selftests/stress_ng.lib
. "$(dirname "$0")/../stress_ng.lib"

echo "TAP version 13"
for n in $(seq "$NODES"); do "$VM" exec "$n" -n -- kddm-load kipc || exit 1; done
stress_ng_run "" "shm-sysv 1 --shm-sysv-ops 15" "msg 1 --msg-ops 2000" \
	"sem-sysv 1 --sem-sysv-ops 2000"
stress_ng_totals
