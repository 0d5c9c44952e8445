#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: the VIP device's MTU matches the NIC (matchVipMtu in userspace/bpf/attach.cpp). The node's
# eth0 is set to MTU 1400 while the apiservers stay at 1500; after attach, apilb0 has MTU 1400,
# so the client's segments toward the VIP fit the NIC (bpf_redirect_neigh does no MTU check), and
# a 1 MB upload through the VIP completes. Figure: upload bytes and time. (In this lab the upload
# also passes with apilb0 at 1500: the bridge side of eth0 stays at 1500 and accepts the frames; the
# MTU check is what fails without the fix.) Then eth0 goes to 1300 with no daemon (`apilb status`
# warns) and to 1280 under `apilb run` (apilb0 follows within 2 s). Figure: follow latency.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init mtu

in_node ip link set eth0 mtu 1400
require attach "apilb attach with eth0 at MTU 1400" attach4 -- api1 api2 api3
mtu=$(in_node cat /sys/class/net/apilb0/mtu)
expect_eq mtu.vip "apilb0 MTU" "$mtu" 1400
head -c 1000000 /dev/urandom >"$LAB_DIR/up.bin"
t0=$(date +%s%3N)
out=$(ncurl --max-time 20 -o /dev/null -w '%{http_code} %{size_upload}' -X POST \
	--data-binary @"$LAB_DIR/up.bin" "https://$VIP4/version" 2>&1)
# (1000000 bytes: under the lab nginx's default client_max_body_size of 1 MiB)
echo "FIGURE mtu.upload=$out (http_code bytes_up) in $(($(date +%s%3N) - t0)) ms"
expect_eq mtu.upload "HTTP code and bytes uploaded through the VIP" "$out" "200 1000000"

# The NIC's MTU changes after attach. Without a daemon, `apilb status` warns (vipMtuOf); under
# `apilb run`, the VIP device follows within its 1 s sweep tick (followNicMtu).
in_node ip link set eth0 mtu 1300
out=$(lb status 2>&1)
check follow.warn "status warns that apilb0's MTU is above eth0's" \
	contains "$out" "warning:      apilb0 MTU 1400 is above the smallest attached interface's (1300)"
require follow.daemon "apilb run adopts the datapath" daemon_start -- api1 api2 api3
in_node ip link set eth0 mtu 1280
t0=$(date +%s%3N)
while [ "$(in_node cat /sys/class/net/apilb0/mtu)" != 1280 ] && [ $(($(date +%s%3N) - t0)) -lt 2000 ]; do
	sleep 0.05
done
took=$(($(date +%s%3N) - t0))
echo "FIGURE mtu.follow=${took} ms (eth0 MTU change to apilb0 following it under apilb run)"
expect_eq follow.mtu "apilb0 MTU 2 s after eth0 went to 1280" "$(in_node cat /sys/class/net/apilb0/mtu)" 1280
out=$(lb status 2>&1)
check follow.nowarn "no MTU warning once matched" not contains "$out" "warning:      apilb0 MTU"
check follow.log "the daemon logged the change" grep -q "mtu apilb0 .* -> 1280" "$LAB_DIR/daemon.log"
