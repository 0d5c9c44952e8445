#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: a killed `apilb attach` is undone by `apilb detach` (the attach journal, bpf/journal.h).
# For each ingress mode (xdp, tc, and tc with classic filters: APILB_TCX=0) and every step N,
# APILB_TEST_KILL_AFTER_STEP=N (test-only) makes attach raise(SIGKILL) right after journaling and
# carrying out step N; then `apilb attach` must refuse
# with "run apilb detach", and `apilb detach` must leave nothing: no apilb0/apilb0p, no XDP or tc
# filter (ip, tc, bpftool net), no clsact qdisc on eth0 or lo, no VIP route, every sysctl at its
# non-default original, no pin dir, no journal. N runs until attach completes (the last step);
# that attach is detached too.
# Then `kill -9` at random delays after attach starts (20-40 ms, or the window in which the
# per-step kills above landed on a loaded machine), ten times, with the same checks.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init attach_killed

JOURNAL=${APILB_RUN_DIR:-/run/apilb}/pins/$(tr / _ <<<"${PIN%/}").journal
# Non-default originals that attach has to change and detach has to put back.
in_node sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1 \
	net.ipv4.conf.lo.rp_filter=1 net.ipv4.conf.lo.accept_local=0
before=$(sysctl_snapshot | tr "\n" " ")

# (bpftool 7.1 lists XDP and classic tc filters; nothing_attached checks tcx.)
no_bpf_hooks() { ! in_node bpftool net show 2>/dev/null | grep -q 'lb_'; }

# all_clean TAG: nothing of an attach left, sysctls as before.
all_clean() {
	local tag=$1
	nothing_attached "$tag"
	check "$tag" "no XDP/tc program in bpftool net" no_bpf_hooks
	# attach creates these qdiscs: one left empty by a kill is a leak too
	check "$tag" "no clsact qdisc on eth0" not has_clsact eth0
	check "$tag" "no clsact qdisc on lo" not has_clsact lo
	check "$tag" "pin dir $PIN gone" test ! -e "$PIN"
	check "$tag" "journal $JOURNAL gone" test ! -e "$JOURNAL"
	local after
	after=$(sysctl_snapshot | tr "\n" " ")
	expect_eq "$tag" "sysctls restored" "$after" "$before"
}

steps=0
# tc.classic: TC with classic tc filters (APILB_TCX=0), the journal's clsact lines; on a kernel
# without tcx, tc is that already.
for mode in xdp tc tc.classic; do
	if [ "$mode" = tc.classic ]; then export APILB_TCX=0; else unset APILB_TCX; fi
	n=0
	while :; do
		t0=$(date +%s%3N)
		APILB_TEST_KILL_AFTER_STEP=$n attach4 --ingress "${mode%.classic}" -- api1 api2 >/dev/null 2>&1
		rc=$?
		took=$(($(date +%s%3N) - t0))
		[ "$rc" -eq 0 ] && break
		# When a kill at the first and at the last step ends the process: the change window.
		[ "$n" -eq 0 ] && win_lo=${win_lo:-$took}
		[ "$mode" = xdp ] && win_hi=$took
		check "$mode.$n.killed" "attach killed after step $n (exit $rc)" test "$rc" -eq 137
		[ "$rc" -eq 137 ] || break
		if [ "$n" -eq 3 ]; then
			out=$(attach4 --ingress "${mode%.classic}" -- api1 api2 2>&1)
			expect_eq "$mode.$n.refused" "exit code of attach over a killed attach" "$?" 2
			check "$mode.$n.refused" "attach says to run detach ($out)" contains "$out" "apilb detach"
		fi
		echo "    journal: $(tr '\n' ';' <"$JOURNAL" 2>/dev/null)"
		out=$(lb detach 2>&1)
		check "$mode.$n.detach" "detach after a kill at step $n succeeds" test $? -eq 0
		all_clean "$mode.$n"
		n=$((n + 1))
	done
	echo "FIGURE attach_killed.$mode.steps=$n (kill points before the attach completes); whole attach ${took} ms"
	steps=$((steps + n))
	check "$mode.complete" "attach ran to completion after $n kill points" test "$rc" -eq 0
	require "$mode.detach" "detach of the completed attach" lb detach
	all_clean "$mode.done"
done
unset APILB_TCX
expect_ge steps "kill points exercised" "$steps" 20

# The kill lands between the first and the last change: 20-40 ms on an idle machine; under load
# the window measured above (time to the kill at step 0 and at the last step, xdp or tc).
lo=20 hi=40
[ "${win_hi:-0}" -gt "${win_lo:-0}" ] && lo=$win_lo hi=$win_hi
echo "FIGURE attach_killed.window=${lo}-${hi} ms after start (random kill delays)"
for i in $(seq 10); do
	delay=$((lo + RANDOM % (hi - lo + 1)))
	# exec: $! is apilb itself, not a subshell around it
	(exec "$APILB" --netns "$NODE_NS" --pin-dir "$PIN" attach --vip "$VIP4" \
		--backend "$(be4 api1)" --backend "$(be4 api2)" --iface eth0 >/dev/null 2>&1) &
	pid=$!
	sleep "$(awk -v d="$delay" 'BEGIN{print d/1000}')"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	out=$(lb detach 2>&1)
	drc=$?
	# 2 ("nothing attached") only when the kill came before attach changed anything.
	check "random.$i" "detach after kill -9 at ${delay} ms (attach exit $rc, detach exit $drc)" \
		test "$drc" -eq 0 -o "$drc" -eq 2
	all_clean "random.$i"
done
