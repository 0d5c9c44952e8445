#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: hairpin. The backend is the node's own address (nginx "node" listening on 198.18.0.1:6443
# in the node namespace): requests through the VIP reach it via lo, the client sees the VIP, the
# server sees the node's address. Then `apilb backend add` puts a remote backend next to it and
# new connections reach both.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init hairpin

N=20
require attach "apilb attach with the node's own address as the only backend" \
	attach4 --ingress xdp -- node
out=$(spread $N "https://$VIP4/version")
expect_eq hairpin.served "requests answered by the node-local server" "$(count_of node <<<"$out")" "$N"
expect_eq hairpin.peer "requests whose peer is the VIP" \
	"$(awk -v v="$LAB_VIP4" '$2==v{n++} END{print n+0}' <<<"$out")" "$N"
expect_eq hairpin.nosnat "node-local log lines from $LAB_NODE4" \
	"$(access_count node "^$LAB_NODE4 .*GET /version")" "$N"

require backend.add "apilb backend add $(be4 api1)" lb backend add "$(be4 api1)"
list=$(lb backend list 2>&1)
printf '%s\n' "$list" | sed 's/^/    list| /'
check backend.list "backend list shows the node" contains "$list" "$LAB_NODE4"
check backend.list "backend list shows api1" contains "$list" "$(lab_addr4 api1)"
N=40
out=$(spread $N "https://$VIP4/version")
echo "    after add: node $(count_of node <<<"$out"), api1 $(count_of api1 <<<"$out") of $N"
expect_ge mixed.node "requests to the node-local backend" "$(count_of node <<<"$out")" 1
expect_ge mixed.api1 "requests to api1" "$(count_of api1 <<<"$out")" 1
expect_eq mixed.errors "failed requests" "$(count_of error <<<"$out")" 0
require detach "apilb detach" lb detach
