#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: socket mode (--mode socket) on the IPv4 VIP, attached to a per-test cgroup (never the
# cgroup root). Clients in that cgroup: new connections spread over api1..3, the backends log the
# node's own address (no SNAT), getpeername() returns the VIP while the socket really talks to the
# backend, per-backend connect counts in `apilb status` add up. A client outside the cgroup is not
# translated (no VIP route exists in socket mode). No VIP device, tc or XDP program is created;
# detach leaves no link on the cgroup and no pin. In a cgroup namespace (a container) the default
# cgroup is refused.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sock_mode
require cgroup "a per-test cgroup under the cgroup v2 root" sock_cg_init

sock_attach() {
	lb attach --mode socket --cgroup "$SOCK_CG" --vip "$VIP4" --backend "$(be4 api1)" \
		--backend "$(be4 api2)" --backend "$(be4 api3)"
}
# Bad input: exit 2, one line, nothing attached.
bad_attach() { # bad_attach TAG WANT_TEXT ARGS...
	local tag=$1 want=$2 out rc
	shift 2
	out=$(lb attach --vip "$VIP4" --backend "$(be4 api1)" "$@" 2>&1)
	rc=$?
	expect_eq "$tag.rc" "exit code of attach $*" "$rc" 2
	check "$tag.msg" "message names the problem ($out)" contains "$out" "$want"
	check "$tag.nothing" "nothing pinned" not pins_left
}
bad_attach bad.fs "not on a cgroup v2 filesystem" --mode socket --cgroup /tmp
bad_attach bad.rel "must be an absolute path" --mode socket --cgroup relative/cg
bad_attach bad.packet "only with mode socket or both" --cgroup "$SOCK_CG"
# In a cgroup namespace (a container's view: cgroup2 mounted at /sys/fs/cgroup in a private mount
# namespace, rooted at the test cgroup), the default cgroup is not the hierarchy's root: refused.
cgns_attach() {
	in_cg unshare --mount --cgroup --propagation private bash -c \
		'mount -t cgroup2 none /sys/fs/cgroup || exit 99; exec "$@"' _ \
		"$APILB" --netns "$NODE_NS" --pin-dir "$PIN" attach --mode socket --vip "$VIP4" \
		--backend "$(be4 api1)" 2>&1
}
out=$(cgns_attach)
rc=$?
expect_eq cgns.rc "exit code of attach --mode socket in a cgroup namespace" "$rc" 2
check cgns.msg "message names the problem ($out)" contains "$out" "not the hierarchy's root"
check cgns.nothing "nothing pinned" not pins_left
expect_eq cgns.links "programs on the test cgroup" "$(cg_links | wc -l)" 0
bad_attach bad.mode "must be packet, socket or both" --mode sockets
expect_eq bad.links "programs on the cgroup after the refused attaches" "$(cg_links | wc -l)" 0

# A killed attach leaves nothing half-attached: links not yet pinned die with the process, pinned
# ones are in the journal (cglink) and `apilb detach` removes them. Journal steps: pindir, pins,
# cglink x5, record.
for k in 2 3 5 7; do
	APILB_TEST_KILL_AFTER_STEP=$k sock_attach >/dev/null 2>&1
	n=$(cg_links | wc -l)
	echo "    killed after journal step $k: $n program(s) on the cgroup"
	check killed.$k "detach after an attach killed at step $k" e2e_quiet lb detach
	expect_eq killed.$k.links "programs left on the cgroup after that detach" "$(cg_links | wc -l)" 0
	check killed.$k.pins "no pins left" not pins_left
done
expect_ge killed.some "the kill at step 7 had pinned links to undo" "$n" 4

require attach "apilb attach --mode socket --cgroup $SOCK_CG (3 backends)" \
	lb attach --mode socket --cgroup "$SOCK_CG" --vip "$VIP4" --backend "$(be4 api1)" \
	--backend "$(be4 api2)" --backend "$(be4 api3)"
check nodev "no VIP device in socket mode" not has_link apilb0
check noxdp "no XDP on eth0 in socket mode" not has_xdp eth0
check notc "no tc filter on eth0" not has_tc_filter eth0
check notc "no tc filter on lo" not has_tc_filter lo
check noroute "no VIP route in socket mode" not has_vip_route
links=$(cg_links | sort | tr '\n' ' ')
expect_eq links "programs bpftool lists on the test cgroup" "$links" \
	"lb_sock_connect4 lb_sock_connect6 lb_sock_peer4 lb_sock_peer6 lb_sock_release "

N=45
access_reset
out=$(for _ in $(seq $N); do cg_who "https://$VIP4/version"; done)
for s in "${LAB_APIS[@]}"; do
	n=$(count_of "$s" <<<"$out")
	echo "    $s answered $n of $N"
	expect_ge spread "$s share of $N new connections" "$n" 1
done
expect_eq errors "failed requests" "$(count_of error <<<"$out")" 0
total=0
for s in "${LAB_APIS[@]}"; do
	total=$((total + $(access_count "$s" '"GET /version')))
	expect_eq nosnat "$s log lines from an address other than $LAB_NODE4" \
		"$(grep -vc "^$LAB_NODE4 " "$LAB_DIR/$s/access.log")" 0
done
expect_eq logged "/version requests logged by the backends" "$total" "$N"

# getpeername: the VIP; the kernel's socket (ss) talks to a backend.
p=$(cg_peer "$NODE_NS" "$LAB_VIP4" "$LAB_PORT")
echo "    getpeername / real peer: $p"
read -r pa pp real <<<"$p"
expect_eq peer "getpeername() address" "$pa" "$LAB_VIP4"
expect_eq peer.port "getpeername() port" "$pp" "$LAB_PORT"
check peer.real "the socket's real peer is a backend ($real)" \
	bash -c "[[ '$real' =~ ^198\.18\.0\.1[123]:$LAB_PORT$ ]]"

# Outside the cgroup nothing is translated: no route to the VIP exists in socket mode.
outside=$(in_node curl -gsS --cacert "$LAB_CA" --connect-timeout 1 --max-time 2 "https://$VIP4/version" 2>&1)
check outside "a client outside the cgroup is not translated ($outside)" \
	test "${outside#*\"server\"}" = "$outside"

st=$(lb status 2>&1)
expect_eq status "apilb status exit code" "$?" 0
printf '%s\n' "$st" | sed 's/^/    status| /'
check status.mode "status says mode socket" contains "$st" "mode:         socket"
check status.cgroup "status names the cgroup" contains "$st" "$SOCK_CG"
js=$(lb status --json)
sum=$(jq '[.backends[].connects] | add' <<<"$js")
expect_eq status.connects "connects summed over backends (N curl + 1 python)" "$sum" "$((N + 1))"
expect_eq status.counter "socket counter connect" "$(jq '.socket.counters.connect' <<<"$js")" "$((N + 1))"
expect_ge status.peer "socket counter peer_vip" "$(jq '.socket.counters.peer_vip' <<<"$js")" 1
for s in api1 api2 api3; do
	a=$(be4 "$s")
	c=$(jq --arg a "$a" '.backends[] | select(.address==$a) | .connects' <<<"$js")
	n=$(count_of "$s" <<<"$out")
	expect_eq status.per "$s connects (curl answers, +1 if the python client landed there)" \
		"$((c - $([ "$real" = "$a" ] && echo 1 || echo 0)))" "$n"
done
# Slots whose backend is DOWN while the table still holds them (between a health flag and the
# next table) are passed over: api2 and api3 (ids 1, 2) flagged DOWN by hand, table unchanged;
# every connect must land on api1, none refused.
flag_down() {
	local raw bytes
	raw=$(bpftool -j map lookup pinned "$PIN/apilb_backends_v2" key "$1" 0 0 0 | jq -r '.value | join(" ")')
	read -r -a bytes <<<"$raw"
	bytes[20]=0x09 # LB_BE_F_IN_USE | LB_BE_F_DOWN
	bpftool map update pinned "$PIN/apilb_backends_v2" key "$1" 0 0 0 value "${bytes[@]}"
}
check down.flag "api2 and api3 flagged DOWN in apilb_backends_v2" bash -c "$(declare -f flag_down); PIN=$PIN; flag_down 1 && flag_down 2"
out=$(for _ in $(seq 20); do cg_who "https://$VIP4/version"; done)
expect_eq down.errors "connects refused while api2, api3 are DOWN in a table that still holds them" \
	"$(count_of error <<<"$out")" 0
expect_eq down.api1 "answers from api1, the only usable backend" "$(count_of api1 <<<"$out")" 20
echo "    socket counters: $(lb status --json | jq -c .socket.counters); failed: $(grep error <<<"$out" | tr "\n" " ")"
# Closed sockets leave no cookie entry behind (cgroup/sock_release).
sleep 0.2
expect_eq cookies "apilb_scookie entries after every client closed" \
	"$(bpftool map dump pinned "$PIN/apilb_scookie" -j | jq length)" 0

require detach "apilb detach" lb detach
expect_eq detach.links "programs left on the test cgroup" "$(cg_links | wc -l)" 0
check detach.pins "no pins under $PIN" not pins_left
nothing_attached detach
