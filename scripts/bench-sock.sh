#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Socket mode's cost per connection, from the kernel's own BPF run statistics: a netns lab, socket
# mode attached to a private cgroup (never the root), then N connect()+close() from that cgroup,
# straight to api1 (a socket the hooks only look at) and to the VIP (translated to api1), in
# alternating order, with kernel.bpf_stats_enabled=1. Prints, per batch, the average ns of lb_sock_connect4 and
# lb_sock_release (run_time_ns / run_cnt deltas from bpftool; the stats add a clock read on each
# side of every run) and the client's µs per connect+close. Removes the lab, the cgroup and the
# sysctl it set, even on failure.
#
# Usage: sudo scripts/bench-sock.sh [--connects N] [--batches B]   (defaults 2000, 3)
#        APILB=path/to/apilb (default build/userspace/cli/apilb)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib/root.sh
. "$here/lib/root.sh"
KEEP_ENV="APILB" as_root "$@"
APILB=${APILB:-$root/build/userspace/cli/apilb}
N=2000
B=3
while [ $# -gt 0 ]; do
	case "$1" in
	--connects) N=${2:?}; shift ;;
	--batches) B=${2:?}; shift ;;
	*) echo "usage: $0 [--connects N] [--batches B]" >&2; exit 2 ;;
	esac
	shift
done
[[ "$N" =~ ^[1-9][0-9]*$ && "$B" =~ ^[1-9][0-9]?$ ]] || { echo "bench-sock: N and B must be positive" >&2; exit 2; }
[ -x "$APILB" ] || { echo "bench-sock: $APILB not built (scripts/build.sh)" >&2; exit 2; }
for t in bpftool jq python3; do command -v $t >/dev/null || { echo "bench-sock: needs $t" >&2; exit 2; }; done

P=apilbs-$$
cgroot=$(awk '$3=="cgroup2" && $2=="/sys/fs/cgroup"{print $2; exit}' /proc/mounts)
[ -n "$cgroot" ] || cgroot=$(awk '$3=="cgroup2"{print $2; exit}' /proc/mounts)
CG=$cgroot/$P
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$stats_before" || true
	"$APILB" --netns "$P-node" --pin-dir "/sys/fs/bpf/$P" detach >/dev/null 2>&1 || true
	if [ -d "$CG" ]; then
		for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		rmdir "$CG" 2>/dev/null || true
	fi
	"$here/lab-down.sh" "$P" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$here/lab-up.sh" "$P" >/dev/null
mkdir "$CG"
ip netns exec "$P-node" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"
API1=198.18.0.11
VIP=169.254.64.43
"$APILB" --netns "$P-node" --pin-dir "/sys/fs/bpf/$P" attach --mode socket --cgroup "$CG" \
	--vip "$VIP:6443" --backend "$API1:6443" >/dev/null
loop='import socket, sys, time
host, n = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
for _ in range(n):
    s = socket.socket(); s.connect((host, 6443)); s.close()
print("%.1f" % ((time.perf_counter() - t) / n * 1e6))'
stats() {
	bpftool prog show -j | jq -r '.[] | select(.name=="lb_sock_connect4" or .name=="lb_sock_release")
		| "\(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"' | sort
}
sysctl -qw kernel.bpf_stats_enabled=1
echo "bench-sock: $B batches of $N connect()+close() per destination, kernel $(uname -r)"
printf '%-6s %-30s %12s %12s %16s\n' batch destination "connect4 ns" "release ns" "client µs/conn"
for b in $(seq "$B"); do
	# Every connection leaves a TIME_WAIT socket to api1:6443 that the next connect()s' port search
	# walks past, so the order alternates: neither destination always goes second.
	order=("$API1 (not translated)" "$VIP (VIP)")
	[ $((b % 2)) -eq 0 ] && order=("${order[1]}" "${order[0]}")
	for dst in "${order[@]}"; do
		host=${dst%% *}
		before=$(stats)
		us=$(bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" \
			ip netns exec "$P-node" python3 -c "$loop" "$host" "$N")
		after=$(stats)
		read -r c r < <(paste <(echo "$before") <(echo "$after") |
			awk '{n=$5-$2; v[NR]=n ? ($6-$3)/n : 0} END {printf "%.0f %.0f\n", v[1], v[2]}')
		printf '%-6s %-30s %12s %12s %16s\n' "$b" "$dst" "$c" "$r" "$us"
	done
done
