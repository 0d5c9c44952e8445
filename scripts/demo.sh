#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The five-minute tour: installs dependencies, builds apilb, starts the netns lab "apilbdemo"
# (a node namespace and three HTTPS "apiservers"), attaches apilb to the node with the VIP
# 169.254.64.43:6443, sends 30 new connections through the VIP and shows which apiserver answered
# each, prints `apilb status`, and leaves everything up with instructions to explore.
#
# Usage: sudo scripts/demo.sh          set up and show
#        sudo scripts/demo.sh down     tear the demo down (detach, namespaces, pins, files)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
. scripts/lab-lib.sh
PREFIX=apilbdemo
BUILD_DIR=${BUILD_DIR:-build}
APILB=${APILB:-$repo/$BUILD_DIR/userspace/cli/apilb}
NODE_NS=$PREFIX-node
PIN=$(lab_pin_dir "$PREFIX")
N=${N:-30}

[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root: sudo $0 $*" >&2; exit 2; }

lb() { "$APILB" --netns "$NODE_NS" --pin-dir "$PIN" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

down() {
	if [ -x "$APILB" ] && [ -e "/run/netns/$NODE_NS" ] && [ -d "$PIN" ]; then
		lb detach || true
	fi
	scripts/lab-down.sh "$PREFIX"
}

case "${1:-up}" in
down) down; exit 0 ;;
up) ;;
*) echo "usage: $0 [down]" >&2; exit 2 ;;
esac

step "Installing dependencies and building (scripts/build.sh)"
scripts/build.sh apilb

step "Starting the lab $PREFIX (scripts/lab-up.sh $PREFIX)"
scripts/lab-up.sh "$PREFIX"
. "$(lab_dir "$PREFIX")/lab.env"
backends=()
for s in "${LAB_APIS[@]}"; do backends+=(--backend "$(lab_addr4 "$s"):$LAB_PORT"); done
vip="$LAB_VIP4:$LAB_PORT"

step "Attaching apilb in $NODE_NS"
echo "+ apilb --netns $NODE_NS --pin-dir $PIN attach --vip $vip ${backends[*]} --iface eth0"
lb attach --vip "$vip" "${backends[@]}" --iface eth0

step "$N new connections to https://$vip/version from the node"
declare -A count=()
for i in $(seq "$N"); do
	out=$(ip netns exec "$NODE_NS" curl -sS --max-time 5 --cacert "$LAB_CA" \
		-w ' %{remote_ip} %{local_port}' "https://$vip/version" 2>&1) || out="error $out"
	srv=$(sed -n 's/.*"server":"\([^"]*\)".*/\1/p' <<<"$out")
	srv=${srv:-error}
	count[$srv]=$((${count[$srv]:-0} + 1))
	# shellcheck disable=SC2206
	w=(${out##*\}})	# after the JSON body: remote_ip local_port
	peer=${w[0]:-?} lport=${w[1]:-?}
	printf '  request %2d from %s:%-5s -> answered by %-5s (client saw peer %s)\n' \
		"$i" "$LAB_NODE4" "$lport" "$srv" "$peer"
done
echo
for s in "${!count[@]}"; do printf '  %-5s answered %2d of %d\n' "$s" "${count[$s]}" "$N"; done | sort
echo "  backends logged the client as: $(cat "$LAB_DIR"/api*/access.log | awk '/GET \/version/{print $1}' | sort | uniq -c | xargs)"

step "apilb status"
lb status

cat <<EOF2

== The lab is up. Explore:
  Shortcut:         alias apilb='$APILB --netns $NODE_NS --pin-dir $PIN'
  Status / flows:   apilb status;  apilb flows;  apilb backend list
  Change backends:  apilb backend del $(lab_addr4 api2):$LAB_PORT;  apilb backend add $(lab_addr4 api2):$LAB_PORT
  A request:        ip netns exec $NODE_NS curl --cacert $LAB_CA https://$vip/version
  Hairpin backend:  apilb backend add $LAB_NODE4:$LAB_PORT   (nginx "node" runs on the node itself)
  Maps (BTF-typed): bpftool map dump pinned $PIN/apilb_backends   (also apilb_vips, apilb_fwd,
                    apilb_rev_v2, apilb_stats, apilb_maglev, apilb_attach)
  Programs:         ip netns exec $NODE_NS tc filter show dev apilb0 egress
                    ip netns exec $NODE_NS ip -d link show eth0    (xdp)
  Backend logs:     tail $LAB_DIR/api1/access.log
  Make api2 unready / dead / hung:  scripts/lab-ctl.sh $PREFIX readyz api2 503 | stop api2 | freeze api2
  Shell on the node: ip netns exec $NODE_NS bash
  Tear down:        sudo scripts/demo.sh down
EOF2
