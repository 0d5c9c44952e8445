#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): a timeout is not proof of death. api3 hangs (SIGSTOP of its nginx: the kernel
# still accepts TCP, nothing answers) while an idle keep-alive TLS client through the VIP is
# served by it. With probe_timeout_dead_after 6s the daemon must first drain api3 (out of the
# table, the client's connection kept), and terminate the connection only once api3 has timed
# out for 6 s. Figures: hang -> draining, hang -> dead, hang -> idle client reset.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_timeout

GRACE_S=6
require daemon "apilb run (probe_timeout_dead_after ${GRACE_S}s) sees api1..3 healthy" \
	daemon_start --probe-timeout-dead-after "${GRACE_S}s" -- api1 api2 api3
require idle "an idle keep-alive TLS client through the VIP served by api3" \
	idle_client_on api3 "$LAB_DIR/idle.txt"
sleep 1
t_freeze=$(now_ms)
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" freeze api3
check drain "api3 draining on timeouts" wait_state api3 draining 6
t_drain=$(now_ms)
check drain.alive "the idle client's connection is kept while draining" kill -0 "$IDLE_PID"
check drain.table "new connections avoid api3 while draining" \
	test "$(for _ in 1 2 3 4 5 6; do who "https://$VIP4/version" --max-time 3 | cut -d' ' -f1; done | grep -c api3)" -eq 0
check dead "api3 dead after the grace" wait_state api3 dead $((GRACE_S + 5))
for _ in $(seq 20); do kill -0 "$IDLE_PID" 2>/dev/null || break; sleep 0.1; done
check reset "the idle client was reset once api3 was dead" not kill -0 "$IDLE_PID" 2>/dev/null
kill "$IDLE_PID" 2>/dev/null
wait "$IDLE_PID" 2>/dev/null
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" thaw api3
read -r t_idle idle_err <"$LAB_DIR/idle.txt" || t_idle=0
drain_line=$(grep -m1 '198.18.0.13:6443: healthy -> draining' "$LAB_DIR/daemon.log")
dead_line=$(grep -m1 '198.18.0.13:6443: draining -> dead' "$LAB_DIR/daemon.log")
echo "    daemon: $drain_line"
echo "    daemon: $dead_line"
t_dr=$(log_ms "$drain_line")
t_dd=$(log_ms "$dead_line")
echo "FIGURE timeout.draining_ms=$((t_dr - t_freeze)) (api3 hangs -> draining, out of the table)"
echo "FIGURE timeout.dead_ms=$((t_dd - t_freeze)) (api3 hangs -> dead; grace ${GRACE_S}s)"
echo "FIGURE timeout.idle_reset_ms=$((t_idle - t_freeze)) (api3 hangs -> idle client reset: $idle_err)"
check order "draining logged before dead" test "$t_dr" -gt 0 -a "$t_dd" -gt "$t_dr"
check grace "dead no earlier than the grace after the hang ($((t_dd - t_freeze)) ms)" \
	test $((t_dd - t_freeze)) -ge $((GRACE_S * 1000))
check kept "the idle client lived at least the grace ($((t_idle - t_freeze)) ms)" \
	test $((t_idle - t_freeze)) -ge $((GRACE_S * 1000))
