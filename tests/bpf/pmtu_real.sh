#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real-kernel check of the datapath parts BPF_PROG_TEST_RUN cannot show: checksums of packets
# that really are CHECKSUM_PARTIAL / verified by the receiver (tx offload off), and path-MTU
# discovery through the VIP (ICMP "fragmentation needed" / "packet too big" from a router,
# quoting client -> backend, must be translated or the upload stalls in a PMTU black hole).
#
# Topology (namespaces apA-<pid>-{node,rtr,be}):
#   node eth0 10.77.0.1 / fd77::1  --  rtr  --(MTU 1280)--  be eth0 10.78.0.11 / fd78::11
# The backend's own link has MTU 1500, so it advertises a full MSS; the router must send ICMP
# errors for the client's 1448-byte segments. For each of IPv4 and IPv6, and each reverse-NAT
# mode (xdp, tc): attach, upload 300 kB to the VIP, expect the echo of its length within 10 s,
# ICMP_XLATE counted, TcpInCsumErrors 0 on node and backend; then detach. Then hairpin (the
# node's own address as the only backend: lo ingress, CHECKSUM_PARTIAL replies), v4 and v6.
#
# Usage: pmtu_real.sh APILB_BINARY. Exit 0 pass, 1 fail, 77 not root.
set -uo pipefail
APILB=${1:?usage: $0 APILB_BINARY}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
P=apA-$$
NODE=$P-node RTR=$P-rtr BE=$P-be
PIN=/sys/fs/bpf/$P
PY=/usr/bin/python3
fails=0
srv_pids=()

cleanup() {
	local p
	for p in "${srv_pids[@]}"; do kill "$p" 2>/dev/null; done
	"$APILB" --netns "$NODE" --pin-dir "$PIN" detach >/dev/null 2>&1
	for n in "$NODE" "$RTR" "$BE"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$PIN"
}
trap cleanup EXIT

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
for n in "$NODE" "$RTR" "$BE"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add eth0 netns "$NODE" type veth peer name r0 netns "$RTR"
ip link add eth0 netns "$BE" type veth peer name r1 netns "$RTR"
ip -n "$RTR" link set r1 mtu 1280
ip -n "$NODE" addr add 10.77.0.1/24 dev eth0
ip -n "$NODE" addr add fd77::1/64 dev eth0 nodad
ip -n "$RTR" addr add 10.77.0.254/24 dev r0
ip -n "$RTR" addr add fd77::fe/64 dev r0 nodad
ip -n "$RTR" addr add 10.78.0.254/24 dev r1
ip -n "$RTR" addr add fd78::fe/64 dev r1 nodad
ip -n "$BE" addr add 10.78.0.11/24 dev eth0
ip -n "$BE" addr add fd78::11/64 dev eth0 nodad
for l in "$NODE:eth0" "$RTR:r0" "$RTR:r1" "$BE:eth0"; do
	ip -n "${l%%:*}" link set "${l#*:}" up
	ip netns exec "${l%%:*}" ethtool -K "${l#*:}" tx off >/dev/null
done
ip -n "$NODE" route add default via 10.77.0.254
ip -n "$NODE" -6 route add default via fd77::fe
ip -n "$BE" route add default via 10.78.0.254
ip -n "$BE" -6 route add default via fd78::fe
ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

# echo_server NS ADDR: reads until EOF, answers "got <bytes>".
echo_server() {
	ip netns exec "$1" "$PY" -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a, 6443)); s.listen(16)
while True:
    c, _ = s.accept()
    n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    c.sendall(b"got %d" % n); c.close()
' "$2" &
	srv_pids+=($!)
}
for addr in 10.78.0.11 fd78::11; do echo_server "$BE" "$addr"; done
# The node's own apiserver, for hairpin (backend = the node's address: lo ingress, CHECKSUM_PARTIAL).
for addr in 10.77.0.1 fd77::1; do echo_server "$NODE" "$addr"; done
sleep 0.5

# upload VIP: prints what the server answered (or an error) within 10 s.
upload() {
	ip netns exec "$NODE" timeout 15 "$PY" -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(10)
try:
    s.connect((a, 6443)); s.sendall(b"x" * 300000); s.shutdown(socket.SHUT_WR)
    print(s.recv(100).decode())
except Exception as e:
    print("error:", e)
' "$1"
}

stat_of() { # REASON-INDEX: packets counted under it (sum over CPUs)
	bpftool -j map lookup pinned "$PIN/apilb_stats" key "$1" 0 0 0 2>/dev/null |
		"$PY" -c 'import json,sys; v=json.load(sys.stdin); print(sum(x["value"]["packets"] for x in v["formatted"]["values"]))'
}

csum_errors() { ip netns exec "$1" nstat -az TcpInCsumErrors | awk '/TcpInCsumErrors/{print $2}'; }

ICMP_XLATE=12 FWD_HAIRPIN=10 # enum lb_reason in maps/apilb_maps.h
for fam in 4 6; do
	if [ $fam = 4 ]; then vip=169.254.64.43 be=10.78.0.11:6443; else vip=fd00:43::1 be=[fd78::11]:6443; fi
	for mode in xdp tc; do
		t="v$fam/$mode"
		vipep=$vip:6443
		[ $fam = 6 ] && vipep="[$vip]:6443"
		if ! out=$("$APILB" --netns "$NODE" --pin-dir "$PIN" attach --vip "$vipep" --backend "$be" \
			--iface eth0 --ingress "$mode" --table-size 257 2>&1); then
			bad "$t attach: $out"
			continue
		fi
		ip netns exec "$NODE" ip route flush cache 2>/dev/null
		ip netns exec "$NODE" ip -6 route flush cache 2>/dev/null
		got=$(upload "$vip")
		[ "$got" = "got 300000" ] && ok "$t upload of 300000 bytes through the VIP: $got" ||
			bad "$t upload through the VIP: '$got'"
		n=$(stat_of $ICMP_XLATE)
		[ "${n:-0}" -ge 1 ] && ok "$t ICMP errors translated: $n" || bad "$t no ICMP_XLATE counted ($n)"
		for ns in "$NODE" "$BE"; do
			e=$(csum_errors "$ns")
			[ "${e:-1}" = 0 ] && ok "$t TcpInCsumErrors in ${ns#$P-}: 0" || bad "$t TcpInCsumErrors in ${ns#$P-}: $e"
		done
		"$APILB" --netns "$NODE" --pin-dir "$PIN" detach >/dev/null 2>&1 || bad "$t detach"
	done
done
# Hairpin: the VIP's only backend is the node itself.
for fam in 4 6; do
	if [ $fam = 4 ]; then vipep=169.254.64.43:6443 vip=169.254.64.43 be=10.77.0.1:6443
	else vipep=[fd00:43::1]:6443 vip=fd00:43::1 be=[fd77::1]:6443; fi
	t="v$fam/hairpin"
	if ! out=$("$APILB" --netns "$NODE" --pin-dir "$PIN" attach --vip "$vipep" --backend "$be" \
		--iface eth0 --table-size 257 2>&1); then
		bad "$t attach: $out"
		continue
	fi
	got=$(upload "$vip")
	[ "$got" = "got 300000" ] && ok "$t upload of 300000 bytes to the node's own backend: $got" ||
		bad "$t upload to the node's own backend: '$got'"
	n=$(stat_of $FWD_HAIRPIN)
	[ "${n:-0}" -ge 1 ] && ok "$t hairpin redirects counted: $n" || bad "$t no FWD_HAIRPIN counted ($n)"
	e=$(csum_errors "$NODE")
	[ "${e:-1}" = 0 ] && ok "$t TcpInCsumErrors in node: 0" || bad "$t TcpInCsumErrors in node: $e"
	"$APILB" --netns "$NODE" --pin-dir "$PIN" detach >/dev/null 2>&1 || bad "$t detach"
done
echo "pmtu_real: $fails failed"
[ $fails -eq 0 ]
