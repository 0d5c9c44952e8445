# SPDX-License-Identifier: Apache-2.0
# Shared helpers of the e2e tests (sourced, never run). A test calls `e2e_init NAME`, which builds
# its own netns lab (scripts/lab-up.sh) with the unique prefix apilbt-<pid>-NAME and installs an
# EXIT trap that checks TcpInCsumErrors, tears the lab down (scripts/lab-down.sh) and turns the
# assertion tally into the exit code. Every assertion is tagged and printed as "ok|FAIL [tag] ...".
#
# Environment: APILB (the apilb binary; default build/userspace/cli/apilb), APILB_REPO,
# APILB_BUILD_DIR (the build tree, for other build outputs; default build/).
# Exit codes: 0 all assertions passed, 1 some failed, 77 not root (ctest: skipped).

E2E_REPO=${APILB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
APILB=${APILB:-$E2E_REPO/build/userspace/cli/apilb}
APILB_BUILD_DIR=${APILB_BUILD_DIR:-$E2E_REPO/build}
# shellcheck source=scripts/lab-lib.sh
. "$E2E_REPO/scripts/lab-lib.sh"

E2E_PASS=0
E2E_FAIL=0

ok() { E2E_PASS=$((E2E_PASS + 1)); echo "ok   [$1] ${*:2}"; }
bad() { E2E_FAIL=$((E2E_FAIL + 1)); echo "FAIL [$1] ${*:2}"; }

# check TAG DESCRIPTION COMMAND...: the command's success is the assertion.
check() {
	local tag=$1 what=$2
	shift 2
	if "$@"; then ok "$tag" "$what"; else bad "$tag" "$what"; fi
}
# expect_eq TAG WHAT GOT WANT / expect_ge TAG WHAT GOT MIN
expect_eq() {
	if [ "$3" = "$4" ]; then ok "$1" "$2: $3"; else bad "$1" "$2: got '$3', want '$4'"; fi
}
expect_ge() {
	if [ "$3" -ge "$4" ] 2>/dev/null; then ok "$1" "$2: $3 >= $4"; else bad "$1" "$2: got '$3', want >= $4"; fi
}
# contains TEXT STRING: TEXT has STRING in it (fixed string).
contains() { grep -qF -- "$2" <<<"$1"; }
# wait_for SECONDS CMD...: true as soon as CMD succeeds (tried every 50 ms), false after SECONDS.
wait_for() {
	local n=$(($1 * 20))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		n=$((n - 1))
		sleep 0.05
	done
	return 1
}
# require TAG WHAT COMMAND...: like check, but the test cannot go on without it.
require() {
	local before=$E2E_FAIL
	check "$@"
	[ "$E2E_FAIL" -eq "$before" ] || { echo "FATAL: [$1] failed, stopping"; exit 1; }
}

e2e_cleanup() {
	local rc=$?
	trap - EXIT
	if [ -n "${E2E_DAEMON_PID:-}" ]; then kill "$E2E_DAEMON_PID" 2>/dev/null; wait "$E2E_DAEMON_PID" 2>/dev/null; fi
	if [ -n "${PREFIX:-}" ] && [ -e "/run/netns/$PREFIX-node" ]; then e2e_csum_check; fi
	[ -n "${PREFIX:-}" ] && "$E2E_REPO/scripts/lab-down.sh" "$PREFIX" >/dev/null
	echo "$E2E_NAME: $E2E_PASS passed, $E2E_FAIL failed"
	[ "$E2E_FAIL" -eq 0 ] && [ "$rc" -eq 0 ] && [ "$E2E_PASS" -gt 0 ] && exit 0
	exit 1
}

# e2e_init_nolab NAME: for a test that drives a script which builds its own lab (the benchmarks):
# root check (exit 77) and the tally's trap, no lab. Sets E2E_NAME.
e2e_init_nolab() {
	E2E_NAME=$1
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP $E2E_NAME: needs root (network namespaces, BPF)"
		exit 77
	fi
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM
}

# e2e_init NAME: root check, binary check, fresh lab, trap. Sets PREFIX, NODE_NS, PIN and the
# lab variables (LAB_VIP4, LAB_CA, ...).
e2e_init() {
	e2e_init_nolab "$1"
	PREFIX="apilbt-$$-$1"
	PREFIX=${PREFIX:0:40}
	require setup "apilb binary at $APILB" test -x "$APILB"
	require setup "lab $PREFIX up" e2e_quiet "$E2E_REPO/scripts/lab-up.sh" "$PREFIX"
	# shellcheck disable=SC1090
	. "$(lab_dir "$PREFIX")/lab.env"
	NODE_NS=$LAB_NODE_NS
	PIN=$LAB_PIN_DIR
	VIP4="$LAB_VIP4:$LAB_PORT"
	VIP6="[$LAB_VIP6]:$LAB_PORT"
}

# e2e_quiet COMMAND...: run, showing output only if it fails.
e2e_quiet() {
	local out
	out=$("$@" 2>&1) && return 0
	local rc=$?
	printf '%s\n' "$out" | sed 's/^/    | /'
	return $rc
}

# lb ARGS...: the apilb CLI on the lab's node namespace and pin dir.
lb() { "$APILB" --netns "$NODE_NS" --pin-dir "$PIN" "$@"; }
in_node() { ip netns exec "$NODE_NS" "$@"; }
in_ns() { local n=$1; shift; ip netns exec "$PREFIX-$n" "$@"; }

be4() { echo "$(lab_addr4 "$1"):$LAB_PORT"; }
be6() { echo "[$(lab_addr6 "$1")]:$LAB_PORT"; }

# attach4 [EXTRA ARGS] -- SERVER...: attach the v4 VIP to the named servers on eth0.
attach4() {
	local extra=() b=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do extra+=("$1"); shift; done
	shift
	local s
	for s in "$@"; do b+=(--backend "$(be4 "$s")"); done
	lb attach --vip "$VIP4" "${b[@]}" --iface eth0 "${extra[@]}"
}

# ncurl ARGS...: curl in the node namespace, trusting the lab CA.
ncurl() { in_node curl -gsS --cacert "$LAB_CA" --max-time 10 "$@"; }

# who URL [CURL ARGS]: prints "<server> <remote_ip>" of one new connection, or "error <rc>".
who() {
	local url=$1 out
	shift
	out=$(ncurl "$@" -w ' %{remote_ip}' "$url" 2>/dev/null) || { echo "error $?"; return 0; }
	# body is {"server":"api1",...}\n; the remote ip follows.
	local srv ip
	srv=$(printf '%s' "$out" | sed -n 's/.*"server":"\([^"]*\)".*/\1/p' | head -1)
	ip=${out##* }
	echo "${srv:-unknown} $ip"
}

# spread N URL: N new connections to URL; prints one "<server> <remote_ip>" line per request.
spread() {
	local i
	for i in $(seq "$1"); do who "$2"; done
}

# access_count SERVER REGEX: number of SERVER's access-log lines matching REGEX.
access_count() { grep -cE "$2" "$LAB_DIR/$1/access.log" || true; }
access_reset() { local s; for s in $(lab_servers); do : >"$LAB_DIR/$s/access.log"; done; }

e2e_csum_check() {
	local n v
	for n in node "${LAB_APIS[@]}"; do
		v=$(in_ns "$n" nstat -az TcpInCsumErrors 2>/dev/null | awk '$1=="TcpInCsumErrors"{print $2}')
		expect_eq csum "TcpInCsumErrors in $n" "${v:-missing}" 0
	done
}

# ---- "nothing attached" probes ----------------------------------------------------------
has_link() { in_node ip link show "$1" >/dev/null 2>&1; }
has_xdp() { in_node ip -d link show "$1" 2>/dev/null | grep -q 'xdp'; }
has_clsact() { in_node tc qdisc show dev "$1" | grep -q clsact; }
# has_tc_filter DEV: a classic tc filter or a tcx program (scripts/lib/tcx.py) on DEV, either way.
has_tc_filter() {
	[ -n "$(in_node tc filter show dev "$1" ingress 2>/dev/null)" ] ||
		[ -n "$(in_node tc filter show dev "$1" egress 2>/dev/null)" ] ||
		[ -n "$(in_node python3 "$E2E_REPO/scripts/lib/tcx.py" list "$1" ingress 2>/dev/null)" ] ||
		[ -n "$(in_node python3 "$E2E_REPO/scripts/lib/tcx.py" list "$1" egress 2>/dev/null)" ]
}
has_vip_route() { [ -n "$(in_node ip route show "$LAB_VIP4" 2>/dev/null)$(in_node ip -6 route show "$LAB_VIP6" 2>/dev/null)" ]; }
# pins_left: the pin dir exists and holds something.
pins_left() { [ -d "$PIN" ] && [ -n "$(ls -A "$PIN" 2>/dev/null)" ]; }

not() { ! "$@"; }

# nothing_attached TAG: every trace of an attach is absent.
nothing_attached() {
	local tag=$1 d
	check "$tag" "no apilb0 device" not has_link apilb0
	check "$tag" "no apilb0p device" not has_link apilb0p
	check "$tag" "no XDP on eth0" not has_xdp eth0
	for d in eth0 lo; do
		check "$tag" "no tc filters on $d" not has_tc_filter "$d"
	done
	check "$tag" "no route to the VIP" not has_vip_route
	check "$tag" "no pins under $PIN" not pins_left
}

# sysctl_snapshot: the node's sysctls attach may change, one "key=value" per line.
sysctl_snapshot() {
	local k
	for k in net.ipv4.conf.all.rp_filter net.ipv4.conf.default.rp_filter \
		net.ipv4.conf.eth0.rp_filter net.ipv4.conf.lo.rp_filter \
		net.ipv4.conf.lo.accept_local net.ipv4.conf.eth0.accept_local \
		net.ipv4.conf.all.accept_local net.ipv4.ip_forward \
		net.ipv4.conf.eth0.forwarding net.ipv6.conf.all.forwarding; do
		echo "$k=$(in_node sysctl -n "$k")"
	done
}

# backend_of_conn: the api server holding an established connection on :6443 from the node.
backend_of_conn() {
	local s
	for s in "${LAB_APIS[@]}"; do
		if in_ns "$s" ss -Htn state established "( sport = :$LAB_PORT )" | grep -q .; then
			echo "$s"
		fi
	done
}

# flow_count: the tracked-flow count `apilb flows` reports on its last line ("N flow(s)"),
# or "none" if that line is missing.
flow_count() {
	local n
	n=$(lb flows 2>/dev/null | sed -n 's/^\([0-9][0-9]*\) flow(s)$/\1/p')
	echo "${n:-none}"
}

# count_of SERVER < "server ip" lines
count_of() { awk -v s="$1" '$1==s{n++} END{print n+0}'; }

# ---- a pod-like network namespace routed through the node --------------------------------
# pod_ns_up ROUTE: creates POD_NS=$PREFIX-pod (eth0 $POD_ADDR/24; the node is 10.250.0.1 on its
# podveth) with ROUTE ("default" or a prefix) via the node, and turns on IPv4 forwarding in the
# node. pod_ns_down removes it (call it from the test's EXIT trap).
POD_ADDR=10.250.0.2
pod_ns_up() {
	POD_NS="$PREFIX-pod"
	ip netns add "$POD_NS" &&
		ip -n "$NODE_NS" link add podveth type veth peer name eth0 netns "$POD_NS" &&
		ip -n "$NODE_NS" addr add 10.250.0.1/24 dev podveth && ip -n "$NODE_NS" link set podveth up &&
		ip -n "$POD_NS" addr add "$POD_ADDR/24" dev eth0 && ip -n "$POD_NS" link set eth0 up &&
		ip -n "$POD_NS" link set lo up &&
		ip -n "$POD_NS" route add "$1" via 10.250.0.1 &&
		ip netns exec "$NODE_NS" sysctl -qw net.ipv4.ip_forward=1
}
pod_ns_down() { [ -z "${POD_NS:-}" ] || ip netns del "$POD_NS" 2>/dev/null || true; }

# ---- socket mode: a per-test cgroup (never the cgroup root) ------------------------------
# sock_cg_init: creates SOCK_CG=<cgroup v2 root>/apilbt-<pid>-<test> and chains its removal
# (its processes are killed first) into the EXIT trap. Tests attach socket mode there only.
sock_cg_init() {
	local root
	root=$(awk '$3=="cgroup2" && $2=="/sys/fs/cgroup"{print $2; f=1; exit} END{}' /proc/mounts)
	[ -n "$root" ] || root=$(awk '$3=="cgroup2"{print $2; exit}' /proc/mounts)
	SOCK_CG_ROOT=$root
	SOCK_CG="$root/apilbt-$$-$E2E_NAME"
	mkdir "$SOCK_CG" || return 1
	trap 'rc=$?; sock_cg_cleanup; (exit $rc); e2e_cleanup' EXIT
}
sock_cg_cleanup() {
	local p
	[ -d "${SOCK_CG:-}" ] || return 0
	for p in $(cat "$SOCK_CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	for _ in $(seq 20); do rmdir "$SOCK_CG" 2>/dev/null && return 0; sleep 0.1; done
	echo "warning: could not remove $SOCK_CG"
}
# in_cg CMD...: runs CMD as a process of the test's cgroup.
in_cg() { bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$SOCK_CG" "$@"; }
# cg_curl ARGS...: curl in the node namespace, inside the test cgroup.
cg_curl() { in_cg ip netns exec "$NODE_NS" curl -gsS --cacert "$LAB_CA" --max-time 10 "$@"; }
# cg_who URL: "<server> <remote_ip>" of one new connection from the test cgroup, or "error <rc>".
cg_who() {
	local out srv
	out=$(cg_curl -w ' %{remote_ip}' "$1" 2>/dev/null) || { echo "error $?"; return 0; }
	srv=$(printf '%s' "$out" | sed -n 's/.*"server":"\([^"]*\)".*/\1/p' | head -1)
	echo "${srv:-unknown} ${out##* }"
}
# cg_peer NS VIP PORT: a plain TCP connect() from the test cgroup in netns NS; prints
# "<getpeername address> <getpeername port> <peer ss sees>" (the latter is the real destination).
cg_peer() {
	in_cg ip netns exec "$1" /usr/bin/python3 - "$2" "$3" <<'PY'
import socket, subprocess, sys
vip, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in vip else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect((vip, port))
except OSError as e:
    print("error", type(e).__name__, "-")
    sys.exit(0)
peer = s.getpeername()
lport = s.getsockname()[1]
ss = subprocess.check_output(["ss", "-Htn", "state", "established", "( sport = :%d )" % lport]).decode().split()
print(peer[0], peer[1], ss[-1] if ss else "?")
PY
}
# cg_links: the programs bpftool lists on the test cgroup (one name per line).
cg_links() { bpftool cgroup show "$SOCK_CG" 2>/dev/null | awk 'NR>1 && $NF ~ /^lb_/ {print $NF}'; }
