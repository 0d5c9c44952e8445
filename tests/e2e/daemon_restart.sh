#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): kill -9 of the daemon and a restart do not disturb anything. A client loop opens
# new connections through the VIP back to back and a download runs; the daemon is killed with
# SIGKILL, the datapath keeps forwarding with the last table, a new `apilb run` adopts the pinned
# maps without republishing the (same) table. Figure: failed requests of the loop (must be 0).
# Then SIGTERM leaves the datapath attached (default), and --cleanup-on-exit detaches.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_restart

require daemon "apilb run attaches and sees api1..3 healthy" daemon_start -- api1 api2 api3
require dl "a download through the VIP" download_on api1 "$LAB_DIR/dl.bin" 2M
client_loop "$LAB_DIR/loop.txt"
sleep 1
daemon_stop KILL
echo "    daemon killed with SIGKILL"
sleep 2
check forwarding "the VIP still answers with no daemon" vip_answers
: >"$LAB_DIR/daemon.log"
require restart "a new apilb run adopts the datapath" daemon_start -- api1 api2 api3
sleep 2
loop_stop
wait "$DL_PID" 2>/dev/null
read -r dl_rc dl_size _ <"$LAB_DIR/dl.bin.w"
total=$(wc -l <"$LAB_DIR/loop.txt")
failed=$(awk '$3!=0' "$LAB_DIR/loop.txt" | wc -l)
echo "FIGURE restart.failed_requests=$failed of $total (new connections across kill -9 + restart)"
expect_eq restart.failed "failed requests across kill -9 + restart" "$failed" 0
expect_ge restart.total "requests made across the restart" "$total" 10
expect_eq restart.download "download across kill -9 + restart (curl rc)" "$dl_rc" 0
expect_eq restart.bytes "downloaded bytes" "$dl_size" "$(stat -c %s "$LAB_DIR/www/rand.bin")"
check restart.adopt "second daemon adopted the pinned datapath" \
	grep -q 'already attached at .*: adopting it' "$LAB_DIR/daemon.log"
check restart.norepublish "second daemon did not republish the same table" \
	not grep -q 'published Maglev table' "$LAB_DIR/daemon.log"

daemon_stop TERM
check term.kept "SIGTERM leaves the datapath attached" has_link apilb0
check term.serves "the VIP answers after SIGTERM" vip_answers
check term.json "health.json removed on exit" test ! -e "$STATE_DIR/health.json"
require cleanup "apilb run --cleanup-on-exit adopts" daemon_start --cleanup-on-exit -- api1 api2 api3
daemon_stop TERM
nothing_attached cleanup
