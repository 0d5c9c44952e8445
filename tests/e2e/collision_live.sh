#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: the *simultaneous* NAT-without-SNAT collision (docs/datapath.md, "Simultaneous collision").
# A live VIP flow node:P -> VIP:6443 is served by backend B; meanwhile a direct connection
# node:P -> B:6443 from the same source port is opened (both sockets use SO_REUSEADDR, so the
# node's kernel lets them share P: their 4-tuples differ). Without SNAT the two are one tuple to
# B and on the wire: node:P <-> B:6443. Defined behaviour, checked here during one server-paced
# download through the VIP:
#   A. B's own stack: it answers the direct SYN with a challenge ACK of the live connection (RFC
#      5961), which is a valid reply of the VIP flow and is translated into it. The direct
#      connect() gets no SYN-ACK and times out; the VIP flow is untouched.
#   B. A SYN-ACK that acks the direct SYN (a crafted one from B's namespace while B's stack is
#      kept from seeing that SYN: what a spoofer, or a middlebox answering for B, would send).
#      It does not ack the VIP flow's SYN, so apilb passes it untranslated (pass_synack_live),
#      the direct handshake completes with B as its peer, and the live flow keeps its entries.
#      The direct connection's later replies share the live flow's tuple and are translated into
#      it: it gets no data while the VIP flow lives (its TLS handshake times out).
#   In both: the VIP download completes intact and stays in `apilb flows`; once it is over, a
#   direct connection from P works (the sequential case, tests/e2e/collision.sh).
#   C. The same as A with a hairpin (the backend is the node's own address, replies on lo).
# B fails without lb_flow_live (bpf/lib/flow.h): the mismatching SYN-ACK then deletes the live
# flow's entries, B's next segments reach the node untranslated and the download stalls.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init collision_live

P=41077
RATE=512k	# server pacing: 16 MiB in ~33 s, longer than parts A and B
vip_pid=""
trap 'rc=$?; if [ -n "$vip_pid" ]; then kill "$vip_pid" 2>/dev/null; fi; (exit $rc); e2e_cleanup' EXIT
require attach "apilb attach (3 backends)" attach4 --ingress xdp -- api1 api2 api3

# client.py vip|direct ADDR PORT LOCAL_PORT CA [PATH]: a TLS client bound to LOCAL_PORT with
# SO_REUSEADDR. vip: GET PATH, prints "status bytes sha256 peer". direct: prints "connected PEER"
# (TCP handshake done) or "connect-error E", then "tls-ok" or "tls-error E".
cat >"$LAB_DIR/client.py" <<'PY'
import errno, hashlib, socket, ssl, struct, sys
mode, addr, port, lport, ca = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", lport))
if mode == "direct":
    s.settimeout(3)  # SYN at 0, 1 and 3 s: each one answered by a challenge ACK in case A
    try:
        s.connect((addr, port))
    except OSError as e:
        print(" ".join(["connect-error", type(e).__name__, errno.errorcode.get(e.errno or 0, "")]).strip(), flush=True)
        sys.exit(0)
    # Closed with a RST, not a FIN: B's stack ignores it either way, and an orphan in FIN_WAIT
    # retransmitting to B would hold the tuple node:P -> B:6443 for minutes.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    print("connected", s.getpeername()[0], flush=True)
    s.settimeout(3)
    try:
        ctx.wrap_socket(s, server_hostname=addr).close()
        print("tls-ok", flush=True)
    except (OSError, ssl.SSLError) as e:
        print("tls-error", type(e).__name__, flush=True)
    sys.exit(0)
s.settimeout(30)
chunks = []
try:
    s.connect((addr, port))
    t = ctx.wrap_socket(s, server_hostname=addr)
    t.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (sys.argv[6], addr)).encode())
    chunks = []
    while True:
        d = t.recv(65536)
        if not d:
            break
        chunks.append(d)
    peer = t.getpeername()[0]
except (OSError, ssl.SSLError) as e:
    print("error", type(e).__name__, sum(len(c) for c in chunks), repr(e).replace(" ", "_"))
    sys.exit(0)
head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
print(head.split(b" ")[1].decode(), len(body), hashlib.sha256(body).hexdigest(), peer)
PY
client() { in_node python3 "$LAB_DIR/client.py" "$@"; }
counter() { lb status --json | jq ".counters.$1.packets // 0"; }

# 1. The live VIP flow: a server-paced download from port P.
client vip "$LAB_VIP4" "$LAB_PORT" "$P" "$LAB_CA" "/paced/rand.bin?rate=$RATE" >"$LAB_DIR/vip.out" &
vip_pid=$!
b=""
for _ in $(seq 50); do
	for s in "${LAB_APIS[@]}"; do
		in_ns "$s" ss -Htn state established "( sport = :$LAB_PORT and dport = :$P )" |
			grep -q . && b=$s
	done
	[ -n "$b" ] && break
	sleep 0.1
done
require vip.flow "VIP download from port $P is established (backend '$b')" test -n "$b"
sleep 1

# A. B's own stack answers the direct SYN.
syn0=$(counter pass_synack_live)
direct=$(client direct "$(lab_addr4 "$b")" "$LAB_PORT" "$P" "$LAB_CA")
printf '%s\n' "$direct" | sed 's/^/    A.direct| /'
expect_eq a.direct "direct connect from port $P to $b while the VIP flow lives (challenge ACK only)" \
	"$direct" "connect-error TimeoutError"
expect_eq a.synack "SYN-ACKs passed as pass_synack_live (B sent none)" \
	"$(($(counter pass_synack_live) - syn0))" 0
check a.running "the VIP download is still running" kill -0 "$vip_pid"

# B. A SYN-ACK acking the direct SYN. In B's namespace: iptables keeps the direct SYN from B's
# stack (no challenge ACK), a packet socket sees it anyway and a raw socket answers it.
bip=$(lab_addr4 "$b")
require b.drop "iptables in $b drops SYNs from node:$P" in_ns "$b" iptables -I INPUT -p tcp --syn \
	-s "$LAB_NODE4" --sport "$P" --dport "$LAB_PORT" -j DROP
cat >"$LAB_DIR/synack.py" <<'PY'
import random, socket, struct, sys, time
node, bip, sport, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))  # from the IP header
sniff.bind(("eth0", 0))
sniff.settimeout(1)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
print("ready", flush=True)
deadline = time.time() + 15
while time.time() < deadline:
    try:
        f = sniff.recv(2048)
    except socket.timeout:
        continue
    ihl = (f[0] & 15) * 4
    if f[9] != 6 or f[12:16] != socket.inet_aton(node) or f[16:20] != socket.inet_aton(bip):
        continue
    sp, dp, seq, _, _, flags = struct.unpack("!HHIIBB", f[ihl:ihl + 14])
    if sp != sport or dp != dport or flags & 0x3f != 0x02:
        continue
    sa, da = socket.inet_aton(bip), socket.inet_aton(node)
    tcp = struct.pack("!HHIIBBHHH", dport, sport, random.getrandbits(32), (seq + 1) & 0xffffffff,
                      5 << 4, 0x12, 65535, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(sa + da + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64, 6, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    raw.sendto(ip + tcp, (node, 0))
    print("answered", seq, flush=True)
    sys.exit(0)
print("no-syn", flush=True)
PY
in_ns "$b" python3 "$LAB_DIR/synack.py" "$LAB_NODE4" "$bip" "$P" "$LAB_PORT" >"$LAB_DIR/synack.out" &
responder=$!
for _ in $(seq 50); do grep -q ready "$LAB_DIR/synack.out" && break; sleep 0.1; done
syn0=$(counter pass_synack_live)
direct=$(client direct "$bip" "$LAB_PORT" "$P" "$LAB_CA")
wait "$responder"
printf '%s\n' "$direct" | sed 's/^/    B.direct| /'
sed 's/^/    B.responder| /' "$LAB_DIR/synack.out"
check b.answered "the responder answered the direct SYN" grep -q answered "$LAB_DIR/synack.out"
expect_eq b.connect "direct TCP connection from port $P to $b (the SYN-ACK passed untranslated)" \
	"$(sed -n 1p <<<"$direct")" "connected $bip"
expect_ge b.synack "SYN-ACKs passed as pass_synack_live" \
	"$(($(counter pass_synack_live) - syn0))" 1
expect_eq b.data "the direct connection gets no data while the VIP flow lives" \
	"$(sed -n 2p <<<"$direct")" "tls-error TimeoutError"
in_ns "$b" iptables -D INPUT -p tcp --syn -s "$LAB_NODE4" --sport "$P" --dport "$LAB_PORT" -j DROP
flows=$(lb flows 2>&1)
check vip.tracked "apilb flows still lists the VIP flow (node port $P -> $b)" \
	bash -c "grep -F -- '$(be4 "$b")' <<<'$flows' | grep -qF -- ':$P'"
check vip.running "the VIP download is still running after both direct connections" kill -0 "$vip_pid"

# 3. The VIP download completes intact.
wait "$vip_pid"
vip_pid=""
read -r status size sum peer <"$LAB_DIR/vip.out"
want_size=$(stat -c %s "$LAB_DIR/www/rand.bin")
want_sum=$(awk '$2=="rand.bin"{print $1}' "$LAB_DIR/www/SHA256SUMS")
echo "    VIP download: $status $size bytes, peer $peer"
expect_eq vip.status "HTTP status of the VIP download" "$status" 200
expect_eq vip.size "bytes received through the VIP" "$size" "$want_size"
expect_eq vip.sha256 "sha256 of the VIP download" "$sum" "$want_sum"
expect_eq vip.peer "peer of the VIP download" "$peer" "$LAB_VIP4"

# 4. Once the VIP flow is gone, the same direct connection works (the sequential case).
expect_eq after.flows "tracked flows after the VIP flow closed" "$(flow_count)" 0
direct=$(client direct "$(lab_addr4 "$b")" "$LAB_PORT" "$P" "$LAB_CA")
expect_eq after.direct "direct connection from port $P to $b after the VIP flow" \
	"$(tr '\n' ' ' <<<"$direct")" "connected $(lab_addr4 "$b") tls-ok "
require detach "apilb detach" lb detach

# C. Hairpin: the backend is the node itself (nginx "node" on the node's address). The direct
# connection node:P2 -> node:6443 meets the hairpinned VIP flow's server socket (node:6443 <->
# node:P2): the node's own stack answers with a challenge ACK, which lb_rev_tc on lo translates
# into the VIP flow. Same outcome as A.
P2=41078
require c.attach "apilb attach with the node's own address as the only backend" \
	attach4 --ingress xdp -- node
client vip "$LAB_VIP4" "$LAB_PORT" "$P2" "$LAB_CA" "/paced/rand.bin?rate=2m" >"$LAB_DIR/vip2.out" &
vip_pid=$!
up=""
for _ in $(seq 50); do
	up=$(in_node ss -Htn state established "( sport = :$LAB_PORT and dport = :$P2 )")
	[ -n "$up" ] && break
	sleep 0.1
done
require c.flow "hairpinned VIP download from port $P2 is established" test -n "$up"
direct=$(client direct "$LAB_NODE4" "$LAB_PORT" "$P2" "$LAB_CA")
printf '%s\n' "$direct" | sed 's/^/    C.direct| /'
expect_eq c.direct "direct connect from port $P2 to the node's own :$LAB_PORT while the VIP flow lives" \
	"$direct" "connect-error TimeoutError"
check c.running "the hairpinned VIP download is still running" kill -0 "$vip_pid"
wait "$vip_pid"
vip_pid=""
read -r status size sum peer <"$LAB_DIR/vip2.out"
echo "    hairpinned VIP download: $status $size bytes, peer $peer"
expect_eq c.download "hairpinned VIP download (status, bytes, sha256, peer)" "$status $size $sum $peer" \
	"200 $want_size $want_sum $LAB_VIP4"
require c.detach "apilb detach" lb detach
