#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: the VIP device's MTU matches the NIC (matchVipMtu in userspace/bpf/attach.cpp). The node's
# eth0 is set to MTU 1400 while the apiservers stay at 1500; after attach, apilb0 has MTU 1400,
# so the client's segments toward the VIP fit the NIC (bpf_redirect_neigh does no MTU check), and
# a 1 MB upload through the VIP completes. Figure: upload bytes and time. (In this lab the upload
# also passes with apilb0 at 1500: the bridge side of eth0 stays at 1500 and accepts the frames; the
# MTU check is what fails without the fix.)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
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
