#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Changes the state of one server of a running netns lab, to test what apilb (and its daemon) do
# when an apiserver goes unready, dies or hangs.
#
# Usage: lab-ctl.sh PREFIX COMMAND SERVER [ARG]
#   readyz SERVER 503|401|200  /readyz answers 503 "not ready" (draining), 401 (anonymous auth
#                          off, as on k3s/RKE2/CIS) or 200 "ok" again
#   stop SERVER            kill -9 its nginx: connections are refused / reset (dead)
#   start SERVER           start its nginx again
#   freeze SERVER          SIGSTOP its nginx: connects succeed (kernel backlog) but nothing answers
#   thaw SERVER            SIGCONT after freeze
#   status SERVER          prints "running", "frozen" or "stopped" and the readyz mode
# SERVER is api1, api2, api3 or node.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-lib.sh
. "$here/lab-lib.sh"

usage() { sed -n '/^# Usage/,/^# SERVER/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 3 ] || usage
prefix=$1 cmd=$2 srv=$3 arg=${4:-}
lab_check_prefix "$prefix" || exit 2
d="$(lab_dir "$prefix")/$srv"
[[ " $(lab_servers) " == *" $srv "* ]] && [ -f "$d/nginx.conf" ] ||
	{ echo "lab-ctl: no server '$srv' in lab $prefix" >&2; exit 2; }

signal_all() {
	local pid
	pid=$(lab_nginx_pid "$prefix" "$srv")
	[ -n "$pid" ] || { echo "lab-ctl: $srv is not running" >&2; exit 1; }
	pkill -"$1" -P "$pid" || true
	kill -"$1" "$pid"
}

case "$cmd" in
readyz)
	case "$arg" in
	503) rm -f "$d/readyz-401" && touch "$d/readyz-503" ;;
	401) rm -f "$d/readyz-503" && touch "$d/readyz-401" ;;
	200) rm -f "$d/readyz-503" "$d/readyz-401" ;;
	*) usage ;;
	esac
	;;
stop) lab_nginx_stop "$prefix" "$srv" KILL ;;
start)
	lab_nginx_start "$prefix" "$srv"
	lab_wait_http "$prefix" "https://$(lab_addr4 "$srv"):$LAB_PORT/livez"
	;;
freeze) signal_all STOP ;;
thaw) signal_all CONT ;;
status)
	pid=$(lab_nginx_pid "$prefix" "$srv")
	if [ -z "$pid" ]; then
		state=stopped
	elif grep -q '^State:.*T' "/proc/$pid/status"; then
		state=frozen
	else
		state=running
	fi
	ready=200
	[ -f "$d/readyz-503" ] && ready=503
	[ -f "$d/readyz-401" ] && ready=401
	echo "$srv $state readyz=$ready"
	;;
*) usage ;;
esac
