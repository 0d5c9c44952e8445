#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Tears down the apilb netns lab PREFIX: kills every process still running in its namespaces
# (nginx, a daemon, a stuck curl), deletes the namespaces (PREFIX-node, -api1..3, -br and any
# other named PREFIX or PREFIX-*; this removes apilb0, the veths and every program attached to
# them), removes the pin dir $(lab_pin_dir PREFIX) (unmounting it if it is a mount point) and the
# state dir. Idempotent: safe on a half-built lab or twice in a row.
#
# Usage: lab-down.sh PREFIX
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-lib.sh
. "$here/lab-lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 PREFIX" >&2; exit 2; }
prefix=$1
lab_check_prefix "$prefix" || exit 2

kill_ns_pids() {
	local ns=$1 sig=$2 pids
	pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -"$sig" $pids 2>/dev/null
	return 0
}

# The lab's own namespaces, plus any other named PREFIX or PREFIX-* (a test may add its own, e.g. a
# pod namespace), so that they are cleaned up as well.
nss=$( (lab_namespaces "$prefix" | tr ' ' '\n'
	ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$prefix(-.*)?\$") | sort -u)
present=()
for ns in $nss; do
	[ -e "/run/netns/$ns" ] && present+=("$ns")
done
for ns in "${present[@]}"; do kill_ns_pids "$ns" TERM; done
for i in $(seq 20); do
	left=0
	for ns in "${present[@]}"; do
		[ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && left=1
	done
	[ $left -eq 0 ] && break
	sleep 0.1
done
for ns in "${present[@]}"; do kill_ns_pids "$ns" KILL; done
for ns in "${present[@]}"; do ip netns del "$ns" 2>/dev/null || true; done

pin=$(lab_pin_dir "$prefix")
if [ -e "$pin" ]; then
	mountpoint -q "$pin" && umount "$pin"
	rm -rf "$pin"
fi
# The writer lock and attach journal of the lab's pin dir (userspace/bpf/pin_lock.cpp: the pin dir
# with '/' as '_' under /run/apilb/pins; APILB_RUN_DIR moves /run/apilb). Nothing holds them now.
key=$(printf '%s' "$pin" | tr / _)
rm -f "${APILB_RUN_DIR:-/run/apilb}/pins/$key.lock" "${APILB_RUN_DIR:-/run/apilb}/pins/$key.journal"
dir=$(lab_dir "$prefix")
[ -d "$dir" ] && rm -rf "$dir"

for ns in $nss; do
	[ -e "/run/netns/$ns" ] && { echo "lab-down: namespace $ns still present" >&2; exit 1; }
done
echo "lab-down: $prefix removed"
