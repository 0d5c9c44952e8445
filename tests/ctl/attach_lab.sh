#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Control-plane lab test for `apilb attach/detach/backend/status/flows`: the paths tests/e2e does
# not cover. A failure in the middle of attach must undo every earlier step. The default
# --ingress auto must pick TC on a veth, next to a foreign XDP program and where native XDP is
# refused; --ingress xdp must take native XDP on the veth, fall back to generic XDP where native
# XDP is refused, and refuse a foreign XDP program, which --ingress tc coexists with. A --pin-dir outside /sys/fs/bpf gets its own bpffs, which detach unmounts.
# It checks the text and JSON output formats other tools parse, the health columns of status, and
# that detach tolerates a deleted interface.
# Topology: <p>-sw (bridge) + <p>-node (eth0 10.77.0.1) + <p>-api1/2 (10.77.0.11/12, python HTTP
# on :6443). Needs root; exits 77 (skipped) otherwise. Everything is removed on exit.
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
APILB=${APILB:-$(dirname "$0")/../../build/userspace/cli/apilb}
P=apc$$
PIN=/sys/fs/bpf/$P
WORK=$(mktemp -d /tmp/$P.XXXX)
VIP=169.254.64.43:6443
pass=0 fail=0

cleanup() {
	for f in "$WORK"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	lb detach >/dev/null 2>&1
	for n in sw node api1 api2; do ip netns del $P-$n 2>/dev/null; done
	mountpoint -q "$WORK/pins" && umount "$WORK/pins"
	rm -rf "$WORK" "$PIN"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok   [$1] $2"; pass=$((pass + 1)); }
ko() { echo "FAIL [$1] $2"; fail=$((fail + 1)); }
check() { local t=$1 d=$2; shift 2; if "$@"; then ok "$t" "$d"; else ko "$t" "$d"; fi; }
lb() { "$APILB" --netns $P-node --pin-dir "$PIN" "$@"; }
in_node() { ip netns exec $P-node "$@"; }
get() { in_node curl -s --max-time 3 "http://$VIP/name"; }
contains() { grep -q -- "$2" <<<"$1"; }
not() { ! "$@"; }
TCX=$(dirname "$0")/../../scripts/lib/tcx.py
# tcx_list DEV DIR: the tcx programs on DEV in the node ("ID NAME" lines; none without tcx).
tcx_list() { in_node python3 "$TCX" list "$1" "$2"; }
TC_HOOK="tc filter"  # how status names the hook of a TC interface here
python3 "$TCX" supported && TC_HOOK=tcx

# nothing_left TAG: no device, no programs, no filters, no pins.
nothing_left() {
	check "$1" "no apilb0" test -z "$(ip -n $P-node -o link show apilb0 2>/dev/null)"
	check "$1" "no XDP on eth0" test -z "$(ip -n $P-node -o link show eth0 | grep -o 'prog/xdp')"
	check "$1" "no tc filter on lo" test -z "$(in_node tc filter show dev lo ingress)"
	check "$1" "no tcx program on lo" test -z "$(tcx_list lo ingress)"
	check "$1" "no clsact on lo" test -z "$(in_node tc qdisc show dev lo | grep clsact)"
	check "$1" "no pins" test ! -e "$PIN"
	check "$1" "accept_local restored" test "$(in_node sysctl -n net.ipv4.conf.lo.accept_local)" = 0
}

lab_up() {
	for n in sw node api1 api2; do ip netns add $P-$n && ip -n $P-$n link set lo up || return 1; done
	ip -n $P-sw link add br0 type bridge && ip -n $P-sw link set br0 up || return 1
	local i=0 n a
	for n in node api1 api2; do
		case $n in node) a=10.77.0.1 ;; api1) a=10.77.0.11 ;; api2) a=10.77.0.12 ;; esac
		ip link add $P-v$i type veth peer name eth0 netns $P-$n || return 1
		ip link set $P-v$i netns $P-sw && ip -n $P-sw link set $P-v$i master br0 up
		ip -n $P-$n addr add $a/24 dev eth0 && ip -n $P-$n link set eth0 up
		ip netns exec $P-$n ethtool -K eth0 tx off >/dev/null
		i=$((i + 1))
	done
	for n in api1 api2; do
		mkdir -p "$WORK/www-$n" && echo $n >"$WORK/www-$n/name"
		(cd "$WORK/www-$n" && ip netns exec $P-$n setsid python3 -m http.server 6443 \
			>/dev/null 2>&1 & echo $! >"$WORK/$n.pid")
	done
	for _ in $(seq 50); do in_node curl -s -o /dev/null http://10.77.0.12:6443/name && return 0; sleep 0.1; done
	return 1
}

check setup "lab up" lab_up
check setup "apilb binary" test -x "$APILB"

# 1. A runtime failure in the last step (sysctl write on a read-only /proc/sys) undoes all steps.
out=$(unshare -m sh -c "mount -o bind,ro /proc/sys /proc/sys && exec $APILB --netns $P-node \
	--pin-dir $PIN attach --vip $VIP --backend 10.77.0.11:6443 --iface eth0 --ingress xdp" 2>&1)
rc=$?
check undo "exit 1 on runtime failure ($(tail -1 <<<"$out"))" test $rc -eq 1
check undo "it had got as far as XDP" contains "$out" "attached lb_rev_xdp to eth0"
nothing_left undo

# 2. Attach, formats, backend management.
out=$(lb attach --vip $VIP --backend 10.77.0.11:6443 --backend 10.77.0.12:6443@2 --ingress xdp 2>&1)
check attach "attach exits 0 (default --iface from the routes)" test $? -eq 0
check attach "prints the sysctl change" contains "$out" "sysctl net.ipv4.conf.lo.accept_local 0 -> 1"
check attach "last line" contains "$(tail -1 <<<"$out")" "attached: VIP $VIP -> 2 backend(s), pins in $PIN"
seen=$(for _ in $(seq 12); do get; done | sort -u | tr '\n' ' ')
check attach "requests reach both backends ($seen)" test "$seen" = "api1 api2 "
st=$(lb status)
check status "interface line" contains "$st" "interface:    eth0 (native XDP)"
check status "node IP" contains "$st" "node IP:      10.77.0.1"
check status "weighted share" grep -qE "10.77.0.12:6443  2       -      109(19|20|21)  66.7%" <<<"$st"
check status "counters by name" contains "$st" "fwd_new"
js=$(lb status --json)
check status.json "valid JSON with table size" test "$(jq -r .table_size <<<"$js")" = 16381
check status.json "interfaces[0].mode" test "$(jq -r '.interfaces[0].mode' <<<"$js")" = "native XDP"
check status.json "slots add up" test "$(jq '[.backends[].slots] | add' <<<"$js")" = 16381
hs=$(jq -r .backends[0].address <<<"$js")
mkdir -p "$WORK/state"
# health.json (lb/health_doc.h) as `apilb run` writes it: a live writer (a sleep standing in for
# the daemon, identified by pid and start time) and a recent time -> its health is shown.
sleep 60 &
writer=$!
echo "$writer" >"$WORK/writer.pid"
health_doc() {  # health_doc PID PID_START UPDATED_MS
	printf '{"version":1,"pid":%s,"pid_start":%s,"updated":"u","updated_ms":%s,"write_period_ms":2000,"backends":[{"address":"%s","state":"draining","since":"s","last_probe":"p","latency_ms":2.5,"error":"HTTP 503","successes":0,"failures":2}],"fail_open":true}\n' \
		"$1" "$2" "$3" "$hs" >"$WORK/state/health.json"
}
health_doc "$writer" "$(awk '{print $22}' "/proc/$writer/stat")" "$(date +%s%3N)"
st=$(lb status --state-dir "$WORK/state")
check health "health columns" contains "$st" "draining  s      p           2.5ms    0/2      HTTP 503"
check health "fail-open shown" contains "$st" "FAIL-OPEN"
check health "writer named as running" contains "$st" "by pid $writer (apilb run, running)"
# The same document from a writer that is gone (same pid, another start time = a recycled pid):
# said plainly, and its old health is not printed as current.
health_doc "$writer" 1 "$(date +%s%3N)"
st=$(lb status --state-dir "$WORK/state")
check health.gone "not running said plainly" contains "$st" "NOT CURRENT: written u"
check health.gone "no old health shown" not contains "$st" "HTTP 503"
# A live writer that stopped writing 10 s ago (more than 3 periods of 2 s): stale.
health_doc "$writer" "$(awk '{print $22}' "/proc/$writer/stat")" "$(($(date +%s%3N) - 10000))"
st=$(lb status --state-dir "$WORK/state")
check health.stale "stale said plainly" contains "$st" "STALE: written u"
check health.stale "no stale health shown" not contains "$st" "HTTP 503"
kill "$writer"
wait "$writer" 2>/dev/null
# A client that holds one connection open for a while.
in_node python3 -c "
import socket,time
s=socket.create_connection(('169.254.64.43',6443)); time.sleep(6)" &
echo $! >"$WORK/client.pid"
for _ in $(seq 30); do fl=$(lb flows); contains "$fl" established && break; sleep 0.2; done
check flows "an established flow is listed" contains "$fl" "established"
check flows "count line" grep -qE '^[1-9][0-9]* flow\(s\)$' <<<"$fl"
check flows.json "client is the node address" \
	test "$(lb flows --json | jq -r '.[0].client' | cut -d: -f1)" = 10.77.0.1
check backend "add" contains "$(lb backend add 10.77.0.1:6443)" "added backend 10.77.0.1:6443 (id 2"
check backend "local flag" contains "$(lb backend list)" "10.77.0.1:6443   1       local"
check backend "list --json" test "$(lb backend list --json | jq length)" = 3
lb backend del 10.77.0.1:6443 >/dev/null
lb backend del 10.77.0.11:6443 >/dev/null
lb backend del 10.77.0.12:6443 >/dev/null 2>&1
check backend "last one is refused" test $? -eq 2
seen=$(for _ in $(seq 4); do get; done | sort -u | tr '\n' ' ')
check backend "only api2 left ($seen)" test "$seen" = "api2 "
# 3. Detach tolerates a vanished piece: our lo filter removed behind our back.
in_node tc filter del dev lo ingress pref 1 handle 0xa11b bpf 2>/dev/null
in_node python3 "$TCX" detach lo ingress lb_rev_tc 2>/dev/null
out=$(lb detach 2>&1)
check detach "exit 0 despite the missing filter" test $? -eq 0
check detach "warns about it" contains "$out" "warning: detach lb_rev_tc from lo"
nothing_left detach
lb detach >/dev/null 2>&1
check detach "second detach exits 2" test $? -eq 2

# 4. Foreign XDP program: refused with xdp, coexists with --ingress tc and auto, survives detach.
in_node ip link set dev eth0 xdpgeneric obj /dev/null 2>/dev/null # no-op if unsupported
cat >"$WORK/pass.c" <<'C'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int other_xdp(struct xdp_md *c) { return XDP_PASS; }
char L[] SEC("license") = "GPL";
C
clang -O2 -target bpf -idirafter /usr/include/"$(uname -m)"-linux-gnu -c "$WORK/pass.c" -o "$WORK/pass.o" &&
	in_node ip link set dev eth0 xdpdrv obj "$WORK/pass.o" sec xdp
out=$(lb attach --vip $VIP --backend 10.77.0.11:6443 --ingress xdp 2>&1)
check foreign "refused with exit 2" test $? -eq 2
check foreign "message names the program" contains "$out" "other_xdp"
lb attach --vip $VIP --backend 10.77.0.11:6443 --ingress tc >/dev/null
check foreign "--ingress tc attaches next to it" test $? -eq 0
check foreign "serves" test "$(get)" = api1
lb detach >/dev/null
check foreign "their XDP program survives detach" contains "$(ip -n $P-node link show eth0)" "other_xdp"
# auto on a veth picks TC anyway; on a bridge holding a foreign program, the program decides.
ip -n $P-node link add br-$P type bridge && ip -n $P-node addr add 10.76.0.1/24 dev br-$P &&
	ip -n $P-node link set br-$P up && in_node ip link set dev br-$P xdpgeneric obj "$WORK/pass.o" sec xdp
out=$(lb attach --vip $VIP --backend 10.76.0.2:6443 2>&1)
check foreign.auto "auto attaches next to it" test $? -eq 0
check foreign.auto "says why TC" contains "$out" "ingress auto: TC on br-$P: br-$P already has an XDP program (other_xdp)"
check foreign.auto "status: TC" contains "$(lb status)" "interface:    br-$P (TC, $TC_HOOK)"
lb detach >/dev/null
check foreign.auto "their XDP program survives detach" contains "$(ip -n $P-node link show br-$P)" "other_xdp"
ip -n $P-node link del br-$P
in_node ip link set dev eth0 xdpdrv off

# 4b. The default, --ingress auto, on a veth: TC, and why.
out=$(lb attach --vip $VIP --backend 10.77.0.11:6443 2>&1)
check auto.veth "attach exits 0" test $? -eq 0
check auto.veth "says why TC" contains "$out" "ingress auto: TC on eth0: eth0 is a veth"
check auto.veth "attached lb_rev_tc to eth0" contains "$out" "attached lb_rev_tc to tc ingress of eth0"
if python3 "$TCX" supported; then
	check auto.veth "with tcx, first in the chain" contains "$out" "to tc ingress of eth0 (tcx, first in the chain)"
	check auto.veth "tcx lists it on eth0" contains "$(tcx_list eth0 ingress)" " lb_rev_tc"
	check auto.veth "and lb_fwd on apilb0's egress" contains "$(tcx_list apilb0 egress)" " lb_fwd"
	check auto.veth "no classic filter" test -z "$(in_node tc filter show dev eth0 ingress)"
fi
check auto.veth "no XDP program loaded line" not contains "$out" "loaded lb_rev_xdp"
check auto.veth "status: TC" test "$(lb status --json | jq -r '.interfaces[0].mode')" = TC
check auto.veth "serves" test "$(get)" = api1
lb detach >/dev/null
nothing_left auto.veth

# 4c. The NIC's tc ingress is shared. Classic filters (APILB_TCX=0; a kernel without tcx):
# someone else's filter at a later priority (a CNI's, a policer) still sees every packet while
# lb_rev_tc is attached, the replies already translated, and keeps its filter and the clsact qdisc
# after detach. Its program (tests/e2e/their_tc.bpf.c) counts IPv4 TCP packets by the last byte of
# their source address; it returns 0, which is TC_ACT_OK and, in a tcx chain, TCX_PASS.
# shellcheck source=tests/e2e/their_tc_lib.sh
. "$(dirname "$0")/../e2e/their_tc_lib.sh"
their_build "$WORK/count.o" && in_node tc qdisc add dev eth0 clsact && in_node tc filter add dev eth0 ingress pref 5 bpf da obj "$WORK/count.o" sec tc
check shared "their filter attached" contains "$(in_node tc filter show dev eth0 ingress)" "their_tc"
# from_src BYTE: packets their filter counted from source addresses ending in BYTE.
from_src() {
	their_count "$(in_node tc filter show dev eth0 ingress | grep -o 'id [0-9]* name their_tc' | cut -d' ' -f2)" "$1"
}
APILB_TCX=0 lb attach --vip $VIP --backend 10.77.0.11:6443 --ingress tc >/dev/null
check shared "attach --ingress tc next to their filter" test $? -eq 0
check shared "as a classic filter (APILB_TCX=0)" test -n "$(in_node tc filter show dev eth0 ingress pref 1)"
before=$(from_src 43)
ok_all=1
for _ in 1 2 3; do [ "$(get)" = api1 ] || ok_all=0; done
check shared "serves" test $ok_all -eq 1
after=$(from_src 43)
check shared "their later filter saw the translated replies (from .43, the VIP: $before -> $after)" \
	test "$after" -gt "$before"
lb detach >/dev/null
check shared "their filter survives detach" contains "$(in_node tc filter show dev eth0 ingress)" "their_tc"
check shared "and so does the clsact qdisc" contains "$(in_node tc qdisc show dev eth0)" "clsact"
in_node tc qdisc del dev eth0 clsact
nothing_left shared

# 4d. tcx (Linux 6.6+): a program attached with tcx runs before every classic filter, and its
# TCX_PASS ends the hook. Cilium 1.16+ attaches its host programs that way, at the tail of the
# chain, and passes the node's own traffic with TCX_PASS: a classic lb_rev_tc would never see a
# reply (every VIP connection timed out before apilb used tcx). apilb goes first in the chain,
# and hands on what it lets through (TCX_NEXT): theirs sees the translated replies.
if python3 "$TCX" supported; then
	their_tcx_build "$WORK/tcx_attach" && in_node "$WORK/tcx_attach" "$WORK/count.o" eth0 tail
	check tcx "their tcx program attached" contains "$(tcx_list eth0 ingress)" " their_tc"
	from_tcx() { their_count "$(tcx_list eth0 ingress | awk '$2 == "their_tc" {print $1}')" "$1"; }
	out=$(lb attach --vip $VIP --backend 10.77.0.11:6443 --ingress tc 2>&1)
	check tcx "attach exits 0" test $? -eq 0
	check tcx "says tcx, first" contains "$out" "attached lb_rev_tc to tc ingress of eth0 (tcx, first in the chain)"
	check tcx "lb_rev_tc runs before theirs" test "$(tcx_list eth0 ingress | awk '{print $2}' | tr '\n' ' ')" = "lb_rev_tc their_tc "
	before=$(from_tcx 43)
	ok_all=1
	for _ in 1 2 3; do [ "$(get)" = api1 ] || ok_all=0; done
	check tcx "serves next to a TCX_PASS program" test $ok_all -eq 1
	after=$(from_tcx 43)
	check tcx "theirs saw the translated replies (from .43, the VIP: $before -> $after)" test "$after" -gt "$before"
	lb detach >/dev/null
	check tcx "their program survives detach, alone" test "$(tcx_list eth0 ingress | awk '{print $2}')" = their_tc
	in_node python3 "$TCX" detach eth0 ingress their_tc
	nothing_left tcx
fi

# 5. A device without native XDP (a bridge): auto takes TC, xdp generic XDP, reported by status.
ip -n $P-node link add br-$P type bridge && ip -n $P-node addr add 10.76.0.1/24 dev br-$P &&
	ip -n $P-node link set br-$P up
out=$(lb attach --vip $VIP --backend 10.76.0.2:6443 2>&1)
check auto.refused "auto: attach exits 0" test $? -eq 0
check auto.refused "auto: TC, the driver refused native XDP" \
	contains "$out" "ingress auto: TC on br-$P: the driver of br-$P refused native XDP ("
check auto.refused "auto: no generic XDP" not contains "$out" "generic XDP"
check auto.refused "auto: status TC" contains "$(lb status)" "interface:    br-$P (TC, $TC_HOOK)"
check auto.refused "auto: no XDP left on the bridge" not contains "$(ip -n $P-node link show br-$P)" "xdp"
lb detach >/dev/null
# The same attach killed after each of its steps (APILB_TEST_KILL_AFTER_STEP, bpf/journal.h): its
# journal holds an "xdp" line for the program the bridge refused, then the tc lines. detach leaves
# nothing, on the bridge either.
n=0 killed=0
while [ $n -lt 40 ]; do
	APILB_TEST_KILL_AFTER_STEP=$n lb attach --vip $VIP --backend 10.76.0.2:6443 >/dev/null 2>&1
	rc=$?
	[ $rc -eq 0 ] && break
	[ $rc -eq 137 ] || { ko auto.killed "attach killed after step $n: exit $rc, not 137"; break; }
	killed=$((killed + 1))
	lb detach >/dev/null 2>&1 || ko auto.killed "detach after a kill at step $n: exit $?"
	[ -z "$(in_node tc filter show dev br-$P ingress)$(tcx_list br-$P ingress)$(in_node tc qdisc show dev br-$P | grep clsact)" ] ||
		ko auto.killed "a tc filter, tcx program or clsact left on br-$P after a kill at step $n"
	if [ -n "$(ip -n $P-node -o link show apilb0 2>/dev/null)" ] || [ -e "$PIN" ]; then
		ko auto.killed "apilb0 or pins left after a kill at step $n"
	fi
	n=$((n + 1))
done
check auto.killed "killed at every step before the attach completed ($killed kill points)" \
	test $rc -eq 0 -a $killed -ge 10
lb detach >/dev/null
check auto.killed "nothing left on br-$P" \
	test -z "$(in_node tc filter show dev br-$P ingress)$(tcx_list br-$P ingress)$(in_node tc qdisc show dev br-$P | grep clsact)"
nothing_left auto.killed
out=$(lb attach --vip $VIP --backend 10.76.0.2:6443 --ingress xdp 2>&1)
check generic "falls back to generic XDP" contains "$out" "attached lb_rev_xdp to br-$P (generic XDP)"
warn="WARNING: br-$P: generic XDP (the driver refused native XDP): every reply is copied; use --ingress tc"
check generic "attach warns loudly" contains "$out" "$warn"
st=$(lb status)
check generic "status says so" contains "$st" "interface:    br-$P (generic XDP)"
check generic "status warns loudly" contains "$st" "$warn"
ip -n $P-node link del br-$P
out=$(lb detach 2>&1)
check generic "detach with the interface deleted: exit 0" test $? -eq 0
check generic "warns that it is gone" contains "$out" "is gone"
nothing_left generic

# 6. A pin dir outside /sys/fs/bpf gets its own bpffs, removed by detach.
PIN_SAVE=$PIN
PIN=$WORK/pins
out=$(lb attach --vip $VIP --backend 10.77.0.11:6443 2>&1)
check pindir "mounted bpffs on it ($(tail -1 <<<"$out"))" contains "$out" "mounted bpffs on $PIN"
check pindir "serves" test "$(get)" = api1
lb detach >/dev/null
check pindir "unmounted and removed" test ! -e "$PIN"
PIN=$PIN_SAVE

echo "attach_lab: $pass passed, $fail failed"
[ $fail -eq 0 ]
