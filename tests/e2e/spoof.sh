#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: spoofed RSTs and SYN-ACKs from the backend side change nothing (lb_rev_rst, lb_rev_synack in
# bpf/lib/flow.h). While a rate-limited download of 16 MiB of random bytes runs through the VIP, a
# third namespace of the lab subnet (api3, not a backend) sends 30 RSTs and 30 SYN-ACKs with random
# sequence numbers, each spoofing a backend's address:6443 toward the node's client port. The
# download must complete with the exact byte count and checksum, and its flow must stay tracked.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init spoof

RATE=1M
require attach "apilb attach (api1, api2)" attach4 --ingress xdp -- api1 api2
out_file="$LAB_DIR/download.bin"
ncurl --max-time 60 --limit-rate "$RATE" -o "$out_file" \
	-w '%{size_download} %{remote_ip}\n' "https://$VIP4/files/rand.bin" >"$LAB_DIR/download.w" &
dl=$!

serving="" cport=""
for _ in $(seq 30); do
	serving=$(backend_of_conn)
	[ -n "$serving" ] && break
	sleep 0.1
done
require serving "the download is served by api1 or api2 (got '$serving')" \
	bash -c "[ '$serving' = api1 ] || [ '$serving' = api2 ]"
cport=$(in_ns "$serving" ss -Htn state established "( sport = :$LAB_PORT )" |
	awk '{n=split($4, a, ":"); print a[n]; exit}')
require cport "client port of the download (got '$cport')" test -n "$cport"
echo "    download served by $serving, node port $cport"
sleep 0.3

# inject SRC_IP DST_IP DST_PORT FLAGS COUNT: COUNT raw TCP segments SRC_IP:6443 -> DST_IP:DST_PORT
# with random seq (and random ack), sent from the api3 namespace.
inject() {
	in_ns api3 python3 - "$@" "$LAB_PORT" <<'PY'
import random, socket, struct, sys
src, dst, dport, flags, count, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4], 0), int(sys.argv[5]), int(sys.argv[6])
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
sa, da = socket.inet_aton(src), socket.inet_aton(dst)
for _ in range(count):
    seq, ack = random.getrandbits(32), random.getrandbits(32)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = csum(sa + da + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64, 6,
                     0, sa, da)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.sendto(ip + tcp, (dst, 0))
PY
}

for b in api1 api2; do
	check "rst.$b" "30 RSTs spoofing $(be4 $b) -> node:$cport sent" \
		inject "$(lab_addr4 $b)" "$LAB_NODE4" "$cport" 0x04 30
	check "synack.$b" "30 SYN-ACKs spoofing $(be4 $b) -> node:$cport sent" \
		inject "$(lab_addr4 $b)" "$LAB_NODE4" "$cport" 0x12 30
done
sleep 0.3
check running "download still running after the spoofed segments" kill -0 "$dl"
flows=$(lb flows 2>&1)
flow_listed() { grep -F -- "$1" <<<"$flows" | grep -qF -- "$2"; }
printf '%s\n' "$flows" | sed 's/^/    flows| /'
check flows "apilb flows still lists the download's flow (node port $cport -> $serving)" \
	flow_listed "$(be4 "$serving")" ":$cport"

wait "$dl"
rc=$?
read -r size peer <"$LAB_DIR/download.w"
want_size=$(stat -c %s "$LAB_DIR/www/rand.bin")
want_sum=$(awk '$2=="rand.bin"{print $1}' "$LAB_DIR/www/SHA256SUMS")
echo "    download: curl rc $rc, $size bytes, peer $peer"
expect_eq download.rc "curl exit code" "$rc" 0
expect_eq download.size "bytes received" "$size" "$want_size"
expect_eq download.sha256 "sha256 of the download" "$(sha256sum <"$out_file" | cut -d' ' -f1)" "$want_sum"
expect_eq download.peer "peer of the download" "$peer" "$LAB_VIP4"
require detach "apilb detach" lb detach
