# SPDX-License-Identifier: Apache-2.0
# Shared definitions of the apilb netns lab, sourced by lab-up.sh, lab-down.sh, lab-ctl.sh, the
# demo and the e2e tests. The lab is a "Kubernetes node" namespace PREFIX-node and three
# "apiserver" namespaces PREFIX-api1..3 on a bridge that lives in its own namespace PREFIX-br, so
# nothing is created in the host namespace. Addresses exist only inside those namespaces
# (198.18.0.0/24 is the benchmarking range of RFC 2544; fd00:a9:1::/64 is unique-local).
# State (certificates, nginx configs, logs, pid files, served files) lives in $(lab_dir PREFIX).

LAB_PORT=6443
LAB_NODE4=198.18.0.1
LAB_NODE6=fd00:a9:1::1
LAB_VIP4=169.254.64.43
LAB_VIP6=fd00:a9:64::43
LAB_APIS=(api1 api2 api3)
LAB_ROOT=${LAB_ROOT:-/tmp}
LAB_PIN_ROOT=${LAB_PIN_ROOT:-/sys/fs/bpf}

# lab_addr4 NAME / lab_addr6 NAME: the address of server NAME (node, api1, api2, api3).
lab_addr4() {
	case "$1" in
	node) echo "$LAB_NODE4" ;;
	api[1-9]) echo "198.18.0.1${1#api}" ;;
	*) return 1 ;;
	esac
}
lab_addr6() {
	case "$1" in
	node) echo "$LAB_NODE6" ;;
	api[1-9]) echo "fd00:a9:1::1${1#api}" ;;
	*) return 1 ;;
	esac
}

# lab_check_prefix PREFIX: refuse anything that could make a path or a name ambiguous.
lab_check_prefix() {
	if [[ ! "$1" =~ ^[A-Za-z][A-Za-z0-9_-]{0,39}$ ]]; then
		echo "lab: bad prefix '$1' (letters, digits, '-', '_'; at most 40; starting with a letter)" >&2
		return 2
	fi
}

lab_dir() { echo "$LAB_ROOT/$1"; }
lab_pin_dir() { echo "$LAB_PIN_ROOT/$1"; }
# Server names whose nginx runs in the lab: the three apiservers and the node-local one.
lab_servers() { echo "${LAB_APIS[*]} node"; }
lab_namespaces() { echo "$1-br $1-node ${LAB_APIS[*]/#/$1-}"; }

# lab_nginx_pid PREFIX NAME: pid of NAME's nginx master, empty if not running.
lab_nginx_pid() {
	local pidf
	pidf="$(lab_dir "$1")/$2/nginx.pid"
	[ -s "$pidf" ] || return 0
	local pid
	pid=$(cat "$pidf")
	kill -0 "$pid" 2>/dev/null && echo "$pid"
	return 0
}

# lab_ns_of PREFIX NAME: the namespace server NAME runs in.
lab_ns_of() { echo "$1-$2"; }

# lab_nginx_start PREFIX NAME: start NAME's nginx inside its namespace (no-op if running).
lab_nginx_start() {
	local d
	d="$(lab_dir "$1")/$2"
	[ -n "$(lab_nginx_pid "$1" "$2")" ] && return 0
	ip netns exec "$(lab_ns_of "$1" "$2")" nginx -q -c "$d/nginx.conf" -p "$d" \
		2>>"$d/error.log" || { cat "$d/error.log" >&2; return 1; }
}

# lab_nginx_stop PREFIX NAME [SIGNAL]: stop NAME's nginx (default: KILL, i.e. a crash).
lab_nginx_stop() {
	local pid sig=${3:-KILL}
	pid=$(lab_nginx_pid "$1" "$2")
	[ -n "$pid" ] || return 0
	# Freeze the master first so it cannot respawn a worker, then the workers (children of the
	# master, they hold the listening socket), then the master itself.
	kill -STOP "$pid" 2>/dev/null || true
	pkill -"$sig" -P "$pid" 2>/dev/null || true
	kill -"$sig" "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true
	local i
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$(lab_dir "$1")/$2/nginx.pid"
}

# lab_wait_http PREFIX URL: wait (<= 10 s) until URL answers from the node namespace.
lab_wait_http() {
	local i
	for i in $(seq 100); do
		ip netns exec "$1-node" curl -gsf -o /dev/null --max-time 1 \
			--cacert "$(lab_dir "$1")/ca.crt" "$2" && return 0
		sleep 0.1
	done
	echo "lab: $2 did not answer within 10 s" >&2
	return 1
}
