# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# Runs inside a kernel-matrix guest (scripts/kernel-matrix.sh), as busybox sh under /init.
# Prints one marker line per result, parsed by the host from the serial console:
#   @@KM kernel <release>
#   @@KM result <test> PASS|FAIL|UNSUPPORTED <reason>
# Tests: bpf (test_bpf: every program loads, every fixture passes) and an e2e set in network
# namespaces: a bridge, a node and three busybox httpd servers; apilb attach, 30 requests
# through the VIP (busybox nc), IPv6, hairpin (backend = the node), detach leaves nothing.
# A refusal is UNSUPPORTED only when `apilb attach` exits 2 naming the kernel.

VIP4=169.254.64.43
VIP6=fd00:a9:64::43
PORT=6443
NODE=km-node
PIN=/sys/fs/bpf/apilb
N=30

# busybox sh prefers its own applets: use iproute2's ip and tc (busybox ip has no netns).
ip() { /usr/local/sbin/ip "$@"; }
tc() { /usr/local/sbin/tc "$@"; }
result() { echo "@@KM result $1 $2 $3"; }

echo "@@KM kernel $(uname -r)"

# ---- bpf: the test_bpf GoogleTest binary --------------------------------------------------
run_bpf() {
	local out rc failed
	out=$(timeout 900 /usr/local/bin/test_bpf --gtest_brief=1 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    bpf| /'
	failed=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_./]*\).*/\1/p' | sort -u |
		head -5 | tr '\n' ' ')
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^\[  PASSED  \]' &&
		! echo "$out" | grep -q '^\[  SKIPPED \]'; then
		result bpf PASS "$(echo "$out" | sed -n 's/^\[  PASSED  \] //p')"
	elif echo "$out" | grep -q '^\[  SKIPPED \]'; then
		result bpf FAIL "skipped tests (exit $rc)"
	else
		result bpf FAIL "exit $rc; failed: ${failed:-none listed}"
	fi
}

# ---- e2e lab -------------------------------------------------------------------------------
in_ns() { local n=$1; shift; ip netns exec "km-$n" "$@"; }

lab_up() {
	local i n
	ip netns add km-br && ip -n km-br link set lo up &&
		ip -n km-br link add br0 type bridge && ip -n km-br link set br0 up || return 1
	i=0
	for n in node api1 api2 api3; do
		i=$((i + 1))
		ip netns add "km-$n" && ip -n "km-$n" link set lo up &&
			ip -n km-br link add "br-$n" type veth peer name eth0 netns "km-$n" &&
			ip -n km-br link set "br-$n" master br0 up &&
			ip -n "km-$n" addr add "10.77.0.1$i/24" dev eth0 &&
			ip -n "km-$n" addr add "fd77::1$i/64" dev eth0 nodad &&
			ip -n "km-$n" link set eth0 up || return 1
		mkdir -p "/srv/$n" && echo "$n" >"/srv/$n/id"
	done
	for n in api1 api2 api3; do
		in_ns "$n" httpd -p "$PORT" -h "/srv/$n" || return 1
	done
	# The hairpin server: on the node itself, only on the node's address.
	in_ns node httpd -p "10.77.0.11:$PORT" -h /srv/node || return 1
	# The lab works without apilb: a direct request to each server, v4 and v6.
	sleep 1
	for n in api1 api2 api3; do
		[ "$(get "$(addr4 $n)")" = "$n" ] && [ "$(get "$(addr6 $n)")" = "$n" ] ||
			{ echo "    lab: direct request to $n failed"; return 1; }
	done
}

addr4() { case $1 in node) echo 10.77.0.11 ;; api1) echo 10.77.0.12 ;; api2) echo 10.77.0.13 ;; api3) echo 10.77.0.14 ;; esac; }
addr6() { echo "fd77::$(addr4 "$1" | sed 's/.*\.//')"; }

lb() { apilb --netns "$NODE" --pin-dir "$PIN" "$@"; }

# get HOST: one HTTP/1.0 request for /id on HOST:PORT from the node (busybox nc: the static
# busybox's wget crashes in its resolver); prints the body (the server's name) or "error".
get() {
	local out
	out=$(printf 'GET /id HTTP/1.0\r\n\r\n' | in_ns node nc -w 5 "$1" "$PORT" 2>&1)
	case $out in "HTTP/1.1 200 OK"*) echo "$out" | tail -1 ;; *) echo error ;; esac
}

# requests HOST COUNT: prints one line per request: the server's name or "error".
requests() {
	local i
	for i in $(seq "$2"); do get "$1"; done
}

# leftovers: prints what a detach left behind (empty when clean).
leftovers() {
	local d
	in_ns node ip link show apilb0 >/dev/null 2>&1 && echo "apilb0"
	in_ns node ip -d link show eth0 | grep -q xdp && echo "xdp on eth0"
	for d in eth0 lo; do
		[ -n "$(in_ns node tc filter show dev "$d" ingress 2>/dev/null)$(in_ns node tc filter show dev "$d" egress 2>/dev/null)" ] &&
			echo "tc filter on $d"
	done
	[ -n "$(in_ns node ip route show "$VIP4")$(in_ns node ip -6 route show "$VIP6")" ] && echo "VIP route"
	[ -d "$PIN" ] && [ -n "$(ls -A "$PIN")" ] && echo "pins"
}

# e2e NAME VIP COUNT MINSERVERS ATTACH-ARGS...: attach, COUNT requests, every one answered and
# at least MINSERVERS distinct servers, detach, nothing left.
e2e() {
	local name=$1 url=$2 count=$3 min=$4 out rc got errs servers left
	shift 4
	out=$(lb attach "$@" 2>&1)
	rc=$?
	echo "$out" | sed "s/^/    $name.attach| /"
	if [ $rc -ne 0 ]; then
		lb detach >/dev/null 2>&1
		if [ $rc -eq 2 ] && echo "$out" | grep -q 'kernel'; then
			result "$name" UNSUPPORTED "$(echo "$out" | grep -m1 kernel)"
		else
			result "$name" FAIL "attach exit $rc: $(echo "$out" | grep -m1 '^apilb:' | cut -c1-200)"
		fi
		return
	fi
	got=$(requests "$url" "$count")
	errs=$(echo "$got" | grep -c '^error$')
	servers=$(echo "$got" | grep -v '^error$' | sort -u | tr '\n' ' ')
	echo "    $name: answered by: $(echo "$got" | sort | uniq -c | tr '\n' ' ')"
	if [ "$errs" -ne 0 ]; then
		printf 'GET /id HTTP/1.0\r\n\r\n' | in_ns node nc -w 5 "$url" "$PORT" 2>&1 |
			sed "s/^/    $name.nc| /"
		lb status 2>&1 | sed "s/^/    $name.status| /"
		in_ns node ip -d link show apilb0 | sed "s/^/    $name.link| /"
		in_ns node ip route get "$VIP4" | sed "s/^/    $name.route| /"
	fi
	out=$(lb detach 2>&1)
	rc=$?
	left=$(leftovers | tr '\n' ' ')
	if [ "$errs" -ne 0 ]; then
		result "$name" FAIL "$errs of $count requests failed (answered by: $servers)"
	elif [ "$(echo "$servers" | wc -w)" -lt "$min" ]; then
		result "$name" FAIL "only $servers answered, want >= $min servers"
	elif [ $rc -ne 0 ]; then
		result "$name" FAIL "detach exit $rc: $(echo "$out" | tail -1)"
	elif [ -n "$left" ]; then
		result "$name" FAIL "detach left: $left"
	else
		result "$name" PASS "$count requests, servers: $servers, detach clean"
	fi
}

run_e2e() {
	local b4="--backend $(addr4 api1):$PORT --backend $(addr4 api2):$PORT --backend $(addr4 api3):$PORT"
	local b6="--backend [$(addr6 api1)]:$PORT --backend [$(addr6 api2)]:$PORT --backend [$(addr6 api3)]:$PORT"
	# shellcheck disable=SC2086
	e2e e2e.v4.xdp "$VIP4" $N 3 --vip "$VIP4:$PORT" $b4 --iface eth0 --ingress xdp
	# shellcheck disable=SC2086
	e2e e2e.v4.tc "$VIP4" $N 3 --vip "$VIP4:$PORT" $b4 --iface eth0 --ingress tc
	# shellcheck disable=SC2086
	e2e e2e.v6.xdp "$VIP6" $N 3 --vip "[$VIP6]:$PORT" $b6 --iface eth0 --ingress xdp
	e2e e2e.hairpin "$VIP4" 10 1 --vip "$VIP4:$PORT" \
		--backend "$(addr4 node):$PORT" --iface eth0
}

run_bpf
if lab_up; then
	run_e2e
else
	for t in e2e.v4.xdp e2e.v4.tc e2e.v6.xdp e2e.hairpin; do result "$t" FAIL "lab setup failed"; done
fi
