#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test driver itself: a guest that dies in the middle of a test fails
# the run with a clear message and leaves no qemu behind; so does killing
# the driver; a test that prints no totals fails. Runs a nested driver on a 2-node cluster of its own.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
export KDDM_VM_DIR=$work/cluster KDDM_SKIP_HOST_TESTS=1 KDDM_TEST_LOGS=$work/logs
# the nested runs share one initramfs (a killed run leaves none behind)
export KDDM_VM_INITRAMFS_CACHE=${KDDM_VM_INITRAMFS_CACHE:-$work/initramfs.cpio}
trap 'KDDM_VM_DIR=$KDDM_VM_DIR "$ROOT/userspace/kddm-vm" down >/dev/null 2>&1; rm -rf "$work"' EXIT
pass=0 fail=0 i=0

check() { # description, command...
	local d=$1
	shift
	i=$((i + 1))
	if "$@"; then echo "ok $i $d"; pass=$((pass + 1))
	else echo "not ok $i $d"; fail=$((fail + 1)); fi
}

no_qemu() { ! pgrep -f "qemu-system.*$KDDM_VM_DIR" >/dev/null; }

cat >"$work/kill2.sh" <<EOS
#!/bin/bash
"$ROOT/userspace/kddm-vm" kill 2 >/dev/null
echo "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0"
EOS
chmod +x "$work/kill2.sh"
printf '%s host 60\nkddm/tipc_peers all 60\n' "$work/kill2.sh" >"$work/list"

echo "TAP version 13"
KDDM_TEST_LIST=$work/list KDDM_BUILD=$ROOT/build "$ROOT/selftests/run.sh" -n 2 >"$work/out" 2>&1
rc=$?
sed 's/^/# /' "$work/out"
check "a guest killed mid-run fails the run" [ $rc -ne 0 ]
check "the failure names the dead guest" grep -q 'a guest died: node 2' "$work/out"
check "the closing line counts the failure" grep -qE '^[0-9]+ passed, [1-9][0-9]* failed' "$work/out"
check "no qemu left behind" no_qemu

# The driver killed with SIGKILL: its watchdog stops the cluster. Before
# that, a test that exits 0 without any kselftest totals did not run: it
# fails, and is counted as failed.
printf '#!/bin/sh\necho starting\n' >"$work/silent.sh"
printf '#!/bin/sh\nsleep 120\n' >"$work/sleep.sh"
chmod +x "$work/silent.sh" "$work/sleep.sh"
printf 'kddm/tipc_peers all 60\n%s host 60\n%s host 60\n' "$work/silent.sh" "$work/sleep.sh" >"$work/list"
KDDM_TEST_LIST=$work/list setsid "$ROOT/selftests/run.sh" -n 2 >"$work/out2" 2>&1 &
drv=$!
for _ in $(seq 900); do grep -q '^FAIL .*silent.sh' "$work/out2" && break; sleep 0.1; done
sed 's/^/# /' "$work/out2"
check "the nested driver had its cluster up" grep -q 'tipc_peers@node2' "$work/out2"
check "a test without totals fails" grep -qE '^FAIL .*silent.sh \(exit 0\): pass 0 fail 1' "$work/out2"
kill -9 "$drv"
wait "$drv" 2>/dev/null
for _ in $(seq 100); do no_qemu && break; sleep 0.1; done
check "killing the driver leaves no qemu behind" no_qemu
pkill -f "$work/sleep.sh"
echo "1..$i"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
