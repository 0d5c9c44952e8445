#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: apilb's tcx program stays first in the NIC's tcx chain (Linux 6.6+). A program someone
# attaches at the head of the chain (BPF_F_BEFORE) runs before apilb's, and one that returns
# TCX_PASS for the node's traffic, as a CNI's host program does, hides every reply from lb_rev_tc:
# connections through the VIP time out. With `apilb attach` alone that is what happens, and
# `apilb doctor` names the program ahead. Under `apilb run`, the 1 s sweep finds it (tcx sends no
# notification) and puts another load of apilb's program first in the chain, then detaches the
# old one: the VIP answers again, their program stays and sees the translated replies. A program
# that keeps putting itself first is not fought: after the 6th move within 60 s the daemon pauses.
# Figure: ms from their program's arrival to apilb's running first again.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
TCX=$E2E_REPO/scripts/lib/tcx.py
[ "$(id -u)" -ne 0 ] || python3 "$TCX" supported || { echo "skip: this kernel has no tcx"; exit 77; }
e2e_init tcx_first

# Their program: tests/e2e/their_tc.bpf.c (counts by source address, returns TCX_PASS).
# shellcheck source=tests/e2e/their_tc_lib.sh
. "$E2E_REPO/tests/e2e/their_tc_lib.sh"
require build "their program compiles" their_build "$LAB_DIR/theirs.o"
require build "the attach tool compiles" their_tcx_build "$LAB_DIR/tcx_attach"
theirs_first() { in_node "$LAB_DIR/tcx_attach" "$LAB_DIR/theirs.o" eth0 head; }
theirs_del() { in_node python3 "$TCX" detach eth0 ingress their_tc; }
# chain: the names in eth0's tcx ingress chain, in run order.
chain() { in_node python3 "$TCX" list eth0 ingress | awk '{print $2}' | paste -sd' '; }
from_vip() {
	their_count "$(in_node python3 "$TCX" list eth0 ingress | awk '$2 == "their_tc" {print $1}')" "${LAB_VIP4##*.}"
}
quick() { ncurl --max-time 2 "https://$VIP4/version" >/dev/null; }

# ---- attach alone: their program, put at the head of the chain, runs first -------------------
require attach "attach --ingress tc (tcx)" e2e_quiet attach4 --ingress tc -- api1
check attach.serves "the VIP answers" quick
require theirs "their program attached at the head of eth0's tcx ingress" theirs_first
expect_eq order "eth0's tcx chain in run order" "$(chain)" "their_tc lb_rev_tc"
check hidden "the VIP does not answer: lb_rev_tc never sees a reply" not quick
check doctor "doctor names the program ahead of lb_rev_tc" \
	grep -q "warn  attach eth0: tcx program(s) their_tc run before lb_rev_tc" <<<"$(lb doctor 2>&1)"
require detach "detach" e2e_quiet lb detach
expect_eq detach.theirs "their program is left alone" "$(chain)" "their_tc"
theirs_del

# ---- apilb run: puts another load of its program first within a second -----------------------
require daemon "apilb run attaches (TC, tcx)" daemon_start --ingress tc -- api1
check daemon.serves "the VIP answers" quick
old_id=$(in_node python3 "$TCX" list eth0 ingress | awk '$2 == "lb_rev_tc" {print $1}')
require theirs2 "their program attached at the head" theirs_first
t0=$(now_ms)
ms=never
for _ in $(seq 300); do
	[ "$(chain)" = "lb_rev_tc their_tc" ] && { ms=$(($(now_ms) - t0)); break; }
	sleep 0.01
done
echo "FIGURE tcx_first.reorder_ms=$ms (their program put first -> apilb's first again)"
check daemon.first "lb_rev_tc runs first again ($ms ms after theirs came), one copy of it" \
	test "$(chain)" = "lb_rev_tc their_tc"
within() { [ "$ms" != never ] && [ "$ms" -le 1500 ]; }
check daemon.within "within the 1 s sweep and a margin ($ms ms)" within
new_id=$(in_node python3 "$TCX" list eth0 ingress | awk '$2 == "lb_rev_tc" {print $1}')
check daemon.fresh "another load of lb_rev_tc (id $old_id -> $new_id)" test "$new_id" != "$old_id"
check daemon.log "the daemon says what it did" \
	grep -q "tc ingress of eth0: the tcx program(s) their_tc had been put before apilb's; apilb's moved back to the front" "$LAB_DIR/daemon.log"
before=$(from_vip)
ok_all=1
for _ in 1 2 3; do quick || ok_all=0; done
check daemon.serves2 "the VIP answers again" test $ok_all -eq 1
check daemon.theirs "their program sees the translated replies (from the VIP: $before -> $(from_vip))" \
	test "$(from_vip)" -gt "$before"
check doctor.ok "doctor: lb_rev_tc first" \
	grep -q "ok    attach eth0: reverse NAT in TC (tcx, first in the chain)" <<<"$(lb doctor 2>&1)"
status=$(lb status 2>&1)
check status "status: eth0 (TC, tcx)" grep -q "eth0 (TC, tcx)" <<<"$status"

# ---- a program that keeps putting itself first: not fought -----------------------------------
# Their program goes back to the head whenever it is not there, every 0.4 s for 10 s; the daemon
# moves apilb's back at each sweep until its 6th move within 60 s (one above), then pauses for
# 60 s and says so once.
moved_lines() { grep -c "the tcx program(s) their_tc had been put before apilb's" "$LAB_DIR/daemon.log"; }
for _ in $(seq 25); do
	[ "$(chain | cut -d' ' -f1)" = their_tc ] || { theirs_del; theirs_first; }
	sleep 0.4
done
check fight.pause "the daemon pauses, once" \
	test "$(grep -c "another program keeps putting itself first; not fighting it" "$LAB_DIR/daemon.log")" -eq 1
check fight.moves "it moved apilb's program 6 times in all ($(moved_lines))" test "$(moved_lines)" -eq 6
check fight.theirs "their program stays first" test "$(chain | cut -d' ' -f1)" = their_tc
expect_eq fight.metric "apilb_tc_order_moves_total" "$(metric apilb_tc_order_moves_total)" 6
expect_eq fight.paused "apilb_tc_order_paused" "$(metric apilb_tc_order_paused)" 1
daemon_stop TERM
require detach2 "detach" e2e_quiet lb detach
expect_eq detach2.theirs "apilb's program gone, theirs left" "$(chain)" "their_tc"
theirs_del
expect_eq detach2.empty "nothing left in eth0's tcx chain" "$(chain)" ""
nothing_left=$(in_node python3 "$TCX" show apilb0 lo)
expect_eq detach2.lo "no tcx program left on lo or apilb0" "$nothing_left" ""
