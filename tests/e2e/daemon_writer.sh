#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): one writer per pin dir (userspace/bpf/pin_lock.h). While `apilb run` serves api1
# and api2, a second `apilb run` on the same pin dir (configured with api3 only) exits non-zero
# at once naming the first one's pid, and `apilb backend add|del` and `apilb detach` are refused
# with a message saying how to do it instead; the first daemon's backends and flows stay, a
# download and a loop of new connections through the VIP see no failure. Figures: the second
# daemon's time to exit, failed requests of the loop.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_writer

require daemon "apilb run attaches and sees api1, api2 healthy" daemon_start -- api1 api2
require dl "a download through the VIP" download_on api1 "$LAB_DIR/dl.bin" 2M
client_loop "$LAB_DIR/loop.txt"
sleep 1
flows_before=$(flow_count)
t0=$(now_ms)
"$APILB" --netns "$NODE_NS" --pin-dir "$PIN" run --vip "$VIP4" --backend "$(be4 api3)" \
	--iface eth0 --probe-ca "$LAB_CA" --state-dir "$LAB_DIR/state2" >"$LAB_DIR/second.log" 2>&1 &
second=$!
for _ in $(seq 50); do kill -0 "$second" 2>/dev/null || break; sleep 0.1; done
kill -0 "$second" 2>/dev/null && { kill -9 "$second"; echo "    second daemon still running"; }
wait "$second"
rc=$?
ms=$(($(now_ms) - t0))
sed 's/^/    | /' "$LAB_DIR/second.log"
echo "FIGURE writer.second_daemon_exit_ms=$ms rc=$rc"
check second.rc "second apilb run exits non-zero" test "$rc" -ne 0
check second.fast "second apilb run exits within 2 s" test "$ms" -lt 2000
check second.pid "its message names the first daemon's pid" \
	grep -q "pid $E2E_DAEMON_PID" "$LAB_DIR/second.log"
check second.oneline "its message is one line" test "$(wc -l <"$LAB_DIR/second.log")" -eq 1

out=$(lb backend add "$(be4 api3)" 2>&1); rc=$?
echo "    backend add: $out"
expect_eq add.rc "backend add while the daemon runs (exit code)" "$rc" 2
check add.msg "backend add names the daemon and says how" \
	contains "$out" "apilb run (pid $E2E_DAEMON_PID)"
check add.sighup "backend add points at the config + SIGHUP" contains "$out" SIGHUP
out=$(lb backend del "$(be4 api2)" 2>&1); rc=$?
expect_eq del.rc "backend del while the daemon runs (exit code)" "$rc" 2
out=$(lb detach 2>&1); rc=$?
echo "    detach: $out"
expect_eq detach.rc "detach while the daemon runs (exit code)" "$rc" 2
check detach.kept "detach refused: apilb0 still there" has_link apilb0

sleep 2
loop_stop
wait "$DL_PID" 2>/dev/null
read -r dl_rc dl_size _ <"$LAB_DIR/dl.bin.w"
total=$(wc -l <"$LAB_DIR/loop.txt")
failed=$(awk '$3!=0' "$LAB_DIR/loop.txt" | wc -l)
echo "FIGURE writer.failed_requests=$failed of $total (second daemon + refused CLI writes)"
expect_eq first.failed "failed requests through the VIP" "$failed" 0
expect_ge first.total "requests made" "$total" 10
expect_eq first.download "download through the VIP (curl rc)" "$dl_rc" 0
expect_eq first.bytes "downloaded bytes" "$dl_size" "$(stat -c %s "$LAB_DIR/www/rand.bin")"
backends=$(lb backend list | awk 'NR>1{print $2}' | sort | tr '\n' ' ')
expect_eq first.backends "backends in the datapath" "$backends" \
	"$(printf '%s\n' "$(be4 api1)" "$(be4 api2)" | sort | tr '\n' ' ')"
check first.flows "the first daemon's flows were not killed" \
	not grep -q 'terminated' "$LAB_DIR/daemon.log"
check first.alive "the first daemon still runs" kill -0 "$E2E_DAEMON_PID"
echo "    flows before: $flows_before"

daemon_stop TERM
out=$(lb backend add "$(be4 api3)" 2>&1); rc=$?
expect_eq nodaemon.add "backend add with no daemon running (exit code)" "$rc" 0
