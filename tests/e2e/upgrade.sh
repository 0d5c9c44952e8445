#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (upgrade in place, userspace/bpf/upgrade.h): `apilb_prev` (the same sources with another
# program image, bpf/CMakeLists.txt) attaches and runs; under a client loop of new connections
# and a long-lived keep-alive connection, it is stopped and the new `apilb run` adopts the pins.
# It must replace the programs on every hook (new program ids and tags), keep every map (same
# map ids) and the long-lived connection's flow entry (not re-adopted), with 0 failed requests.
# A second start finds the programs current and replaces nothing. Then a datapath with another
# map ABI in its attach record, and one whose pinned map differs from this build's, are refused
# with exit 2 and nothing changed. On a kernel with tcx, last, an apilb that attached classic tc
# filters (apilb_prev with APILB_TCX=0, as an apilb before tcx support did) is adopted under a
# client loop: its filters move to tcx, with 0 failed requests and no filter left.
# Figures: failed requests, long-lived connection requests.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
APILB_PREV=${APILB_PREV:-$(dirname "$APILB")/apilb_prev}
e2e_init upgrade
require setup "previous build at $APILB_PREV" test -x "$APILB_PREV"

# prog_ids: "<dev>/<hook>=<prog id>" of apilb's programs in the node namespace, sorted.
# Classic tc filters and XDP from bpftool, tcx programs (tcx_ingress, tcx_egress) from tcx.py.
prog_ids() {
	{
		in_node bpftool -j net show 2>/dev/null | jq -r '
			(.[0].xdp[]? | "\(.devname)/xdp=\(.id)"),
			(.[0].tc[]? | select(.name | startswith("lb_")) | "\(.devname)/\(.kind)=\(.id)")'
		in_node python3 "$E2E_REPO/scripts/lib/tcx.py" show apilb0 lo eth0 |
			awk '$4 ~ /^lb_/ {print $1 "/" $2 "=" $3}'
	} | sort
}
one_line() { tr '\n' ' ' <<<"$1" | sed 's/ $//'; }
# map_ids: "<pin>=<map id>" of every pinned apilb map except the per-load .rodata.
map_ids() {
	local p
	for p in "$PIN"/apilb_*; do
		[ "${p##*/}" = apilb_rodata ] && continue
		echo "${p##*/}=$(map_id "$p")"
	done
}
map_id() { bpftool -j map show pinned "$1" | jq .id; }
prog_tag() { bpftool -j prog show id "$1" | jq -r .tag; }

# keepalive_client PORT OUT STOPFILE: one TLS connection through the VIP from local PORT, a
# GET /version every 50 ms until STOPFILE exists; OUT gets "<ok> <failed> <reconnects>".
keepalive_client() {
	in_node python3 - "$LAB_CA" "$LAB_VIP4" "$LAB_PORT" "$1" "$2" "$3" <<'PY' &
import http.client, os, ssl, sys, time
ca, vip, vport, lport, out, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=ca)
c = http.client.HTTPSConnection(vip, vport, context=ctx, timeout=5, source_address=("", lport))
ok = failed = reconnects = 0
c.connect()
sock = c.sock
c.request("GET", "/version")
c.getresponse().read()
open(out + ".up", "w").write("connected\n")
while not os.path.exists(stop):
    try:
        c.request("GET", "/version")
        r = c.getresponse()
        r.read()
        ok += r.status == 200
        failed += r.status != 200
    except Exception:
        failed += 1
        c.close()
    if c.sock is not sock:
        reconnects += 1
        break
    time.sleep(0.05)
open(out, "w").write("%d %d %d\n" % (ok, failed, reconnects))
PY
	KA_PID=$!
}

# ---- the previous build attaches and runs --------------------------------------------------
NEW=$APILB
APILB=$APILB_PREV
require prev "apilb_prev run attaches, api1..3 healthy" daemon_start -- api1 api2 api3
APILB=$NEW
ids_prev=$(prog_ids)
maps_prev=$(map_ids)
rodata_prev=$(map_id "$PIN/apilb_rodata")
expect_eq prev.hooks "hooks holding apilb programs (apilb0 egress, eth0 ingress, lo ingress)" \
	"$(wc -l <<<"$ids_prev")" 3
fwd_prev=$(sed -n 's/^apilb0\/.*=//p' <<<"$ids_prev")
tag_prev=$(prog_tag "$fwd_prev")

KA_PORT=24517
keepalive_client "$KA_PORT" "$LAB_DIR/ka.txt" "$LAB_DIR/ka.stop"
for _ in $(seq 100); do [ -e "$LAB_DIR/ka.txt.up" ] && break; sleep 0.1; done
require ka.up "the long-lived connection made its first request" test -e "$LAB_DIR/ka.txt.up"
client_loop "$LAB_DIR/loop.txt"
sleep 1
# ka_flow: "<created, ms since the epoch> <adopted>" of the long-lived connection's flow entry.
ka_flow() {
	local t
	t=$(now_ms)
	lb flows --json | jq -r --arg p ":$KA_PORT" --argjson t "$t" \
		'.[] | select(.client | endswith($p)) | "\($t - (.age_ns / 1000000 | floor)) \(.adopted)"'
}
ka_before=$(ka_flow)
check ka.flow "the long-lived connection has a flow entry ($ka_before)" test -n "$ka_before"

# ---- upgrade: stop the previous daemon (the datapath stays), start this build --------------
daemon_stop TERM
: >"$LAB_DIR/daemon.log"
require upgrade "apilb run (this build) adopts the datapath" daemon_start -- api1 api2 api3
# At least 5 more requests of the loop after the swap (the machine may be slow).
n=$(wc -l <"$LAB_DIR/loop.txt")
for _ in $(seq 150); do [ "$(wc -l <"$LAB_DIR/loop.txt")" -ge $((n + 5)) ] && break; sleep 0.1; done
ka_after=$(ka_flow)  # before the client closes it
loop_stop
touch "$LAB_DIR/ka.stop"
wait "$KA_PID"
ids_new=$(prog_ids)
maps_new=$(map_ids)
sed 's/^/    | /' "$LAB_DIR/daemon.log" | grep 'upgrade:'

total=$(wc -l <"$LAB_DIR/loop.txt")
failed=$(awk '$3!=0' "$LAB_DIR/loop.txt" | wc -l)
read -r ka_ok ka_failed ka_reconnects <"$LAB_DIR/ka.txt"
echo "FIGURE upgrade.failed_requests=$failed of $total (new connections across the upgrade)"
echo "FIGURE upgrade.keepalive_requests=$ka_ok failed=$ka_failed (one connection across it)"
expect_eq upgrade.failed "failed requests across the upgrade" "$failed" 0
expect_ge upgrade.total "requests made across the upgrade" "$total" 10
expect_eq ka.failed "failed requests on the long-lived connection" "$ka_failed" 0
expect_eq ka.same "the long-lived connection was never re-opened" "$ka_reconnects" 0
expect_ge ka.ok "requests on the long-lived connection" "$ka_ok" 20
# same_flow BEFORE AFTER: created within 300 ms of each other (the age's clock), not adopted.
same_flow() {
	local b=${1%% *} a=${2%% *}
	[[ "$b" =~ ^[0-9]+$ && "$a" =~ ^[0-9]+$ ]] || return 1
	[ "${2#* }" = false ] && [ $((a > b ? a - b : b - a)) -le 300 ]
}
check ka.kept "its flow entry is the one from before the upgrade (created, adopted: '$ka_before' -> '$ka_after')" \
	same_flow "$ka_before" "$ka_after"
expect_eq maps.same "map ids before and after" "$(echo $maps_new)" "$(echo $maps_prev)"
expect_eq progs.count "hooks holding apilb programs after" "$(wc -l <<<"$ids_new")" 3
check progs.changed "every hook holds a new program" \
	test -z "$(comm -12 <(sort <<<"$ids_prev") <(sort <<<"$ids_new"))"
fwd_new=$(sed -n 's/^apilb0\/.*=//p' <<<"$ids_new")
check progs.tag "lb_fwd's tag changed ($tag_prev -> $(prog_tag "$fwd_new"))" \
	test "$(prog_tag "$fwd_new")" != "$tag_prev"
expect_eq upgrade.log "replaced lines in the daemon log" "$(grep -c 'upgrade: replaced' "$LAB_DIR/daemon.log")" 3
check upgrade.rodata "the .rodata pin is the new programs' (no warning, no apilb_rodata_new left)" \
	test "$(map_id "$PIN/apilb_rodata")" != "$rodata_prev" -a ! -e "$PIN/apilb_rodata_new" \
	-a -z "$(grep 'upgrade: warning' "$LAB_DIR/daemon.log")"

# ---- the same build again: nothing to replace ------------------------------------------------
daemon_stop TERM
: >"$LAB_DIR/daemon.log"
require same "apilb run again" daemon_start -- api1 api2 api3
expect_eq same.ids "program ids after a restart of the same build" "$(one_line "$(prog_ids)")" "$(one_line "$ids_new")"
check same.log "the daemon says nothing was to replace" grep -q 'nothing to replace' "$LAB_DIR/daemon.log"
daemon_stop TERM

# ---- refusals: exit 2, one line, nothing changed ---------------------------------------------
# refused TAG WHAT GREP: `apilb run` exits 2 with a message matching GREP; hooks and maps unchanged.
refused() {
	local tag=$1 what=$2 want=$3 rc
	"$APILB" --netns "$NODE_NS" --pin-dir "$PIN" run --vip "$VIP4" --backend "$(be4 api1)" \
		--iface eth0 --probe-ca "$LAB_CA" --state-dir "$LAB_DIR/state" >"$LAB_DIR/refused.out" 2>"$LAB_DIR/refused.err" &
	local pid=$!
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	sed 's/^/    | /' "$LAB_DIR/refused.err"
	expect_eq "$tag.rc" "$what: exit code" "$rc" 2
	check "$tag.msg" "$what: the message says why" grep -qE "$want" "$LAB_DIR/refused.err"
	expect_eq "$tag.progs" "$what: program ids unchanged" "$(one_line "$(prog_ids)")" "$(one_line "$ids_new")"
	expect_eq "$tag.maps" "$what: map ids unchanged" "$(echo $(map_ids))" "$(echo $maps_new)"
	check "$tag.serves" "$what: the VIP still answers" vip_answers
}

# Another ABI: the record's version is the ABI of the apilb that attached (maps/apilb_maps.h).
rec_hex=$(bpftool -j map lookup pinned "$PIN/apilb_attach" key 0 0 0 0 | jq -r '.value | join(" ")')
set_record() { bpftool map update pinned "$PIN/apilb_attach" key 0 0 0 0 value hex $1; }
abi_now=$("$APILB" version | sed -n 's/.*(map ABI \([0-9]*\)).*/\1/p')
other=$((abi_now + 1))
rec_other=$(awk -v v="$(printf '%02x' "$other")" '{$5 = v; $6 = "00"; $7 = "00"; $8 = "00"; print}' <<<"$rec_hex")
require abi.set "record rewritten to map ABI $other" set_record "$rec_other"
refused abi "datapath with map ABI $other" "map ABI $other, this apilb has map ABI $abi_now: not adopting it"
require abi.restore "record restored" set_record "$rec_hex"

# Same ABI number but a map that differs (a layout change without a new ABI version).
bports_id=$(bpftool -j map show pinned "$PIN/apilb_bports" | jq .id)
rm "$PIN/apilb_bports"
require map.fake "a different apilb_bports pinned" \
	bpftool map create "$PIN/apilb_bports" type array key 4 value 8 entries 4 name apilb_bports
maps_new=$(map_ids)  # the fake's id; refused() checks nothing else moves
refused map "pinned map that differs" "apilb_bports: value size 8, this build's is 4"
rm "$PIN/apilb_bports"
require map.restore "apilb_bports restored" bpftool map pin id "$bports_id" "$PIN/apilb_bports"

# ---- an older apilb's classic tc filters move to tcx -------------------------------------------
if python3 "$E2E_REPO/scripts/lib/tcx.py" supported; then
	require tcx.detach "detach what the refusals left" lb detach
	APILB=$APILB_PREV
	export APILB_TCX=0
	: >"$LAB_DIR/daemon.log"
	require tcx.prev "apilb_prev run attaches classic tc filters (APILB_TCX=0)" daemon_start -- api1 api2 api3
	unset APILB_TCX
	APILB=$NEW
	ids_cls=$(prog_ids)
	check tcx.prev.cls "no tcx program ($(one_line "$ids_cls"))" not grep -q tcx_ <<<"$ids_cls"
	n_cls=$(grep -c -v /xdp= <<<"$ids_cls")
	expect_ge tcx.prev.count "classic tc filters of apilb (apilb0, lo, and eth0 unless XDP)" "$n_cls" 2
	client_loop "$LAB_DIR/loop_tcx.txt"
	sleep 1
	daemon_stop TERM
	: >"$LAB_DIR/daemon.log"
	require tcx.adopt "apilb run (this build) adopts it" daemon_start -- api1 api2 api3
	n=$(wc -l <"$LAB_DIR/loop_tcx.txt")
	for _ in $(seq 150); do [ "$(wc -l <"$LAB_DIR/loop_tcx.txt")" -ge $((n + 5)) ] && break; sleep 0.1; done
	loop_stop
	sed 's/^/    | /' "$LAB_DIR/daemon.log" | grep 'upgrade:'
	ids_tcx=$(prog_ids)
	failed=$(awk '$3!=0' "$LAB_DIR/loop_tcx.txt" | wc -l)
	echo "FIGURE upgrade.tcx_failed_requests=$failed of $(wc -l <"$LAB_DIR/loop_tcx.txt") (new connections across the move to tcx)"
	expect_eq tcx.failed "failed requests across the move to tcx" "$failed" 0
	expect_eq tcx.moved "moved lines in the daemon log" "$(grep -c 'upgrade: moved .* from a tc filter to tcx' "$LAB_DIR/daemon.log")" "$n_cls"
	expect_eq tcx.count "tcx programs of apilb after ($(one_line "$ids_tcx"))" "$(grep -c /tcx_ <<<"$ids_tcx")" "$n_cls"
	for d in apilb0 lo eth0; do
		check tcx.nocls "no tc filter left on $d" test -z "$(in_node tc filter show dev $d ingress)$(in_node tc filter show dev $d egress)"
	done
	check tcx.serves "the VIP answers" vip_answers
	daemon_stop TERM
	: >"$LAB_DIR/daemon.log"
	require tcx.again "apilb run again" daemon_start -- api1 api2 api3
	check tcx.again.log "nothing to replace or move the second time" grep -q 'nothing to replace' "$LAB_DIR/daemon.log"
	daemon_stop TERM
fi
