#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): all backends down -> fail open (the last non-empty table stays, fail_open in
# health.json, FAIL-OPEN in the log, the VIP flag set), then recovery of one backend -> the
# table holds exactly it and requests succeed.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_failopen

require daemon "apilb run attaches and sees api1..3 healthy" daemon_start -- api1 api2 api3
kill_server api2
check one.dead "api2 dead" wait_state api2 dead 5
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" readyz api1 503
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" readyz api3 503
t0=$(now_ms)
wait_fail_open true 5
expect_eq failopen.json "health.json fail_open" "$(fail_open)" true
echo "FIGURE failopen.enter_ms=$(($(now_ms) - t0)) (last usable backend unready -> fail-open)"
check failopen.log "FAIL-OPEN logged" grep -q 'FAIL-OPEN' "$LAB_DIR/daemon.log"
table=$(health | jq -r '.table | join(",")')
# api1 and api3 turn unready one after the other: the last good table is whichever was last.
check failopen.table "table kept: the last good set ($table)" \
	test "$table" = "$(be4 api1)" -o "$table" = "$(be4 api3)"
new=$(spread 12 "https://$VIP4/version")
expect_eq failopen.serves "requests answered in fail-open (api1/api3 still serve)" \
	"$(count_of error <<<"$new")" 0
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" start api2
t1=$(now_ms)
check recover.state "api2 healthy again" wait_state api2 healthy 8
wait_fail_open false 5
echo "FIGURE failopen.recover_ms=$(($(now_ms) - t1)) (api2 back -> fail-open ends)"
expect_eq recover.json "fail_open after recovery" "$(fail_open)" false
expect_eq recover.table "table after recovery" "$(health | jq -r '.table | join(",")')" "$(be4 api2)"
new=$(spread 12 "https://$VIP4/version")
expect_eq recover.all "requests answered by api2 after recovery" "$(count_of api2 <<<"$new")" 12
check recover.log "fail-open end logged" grep -q 'fail-open ended' "$LAB_DIR/daemon.log"
