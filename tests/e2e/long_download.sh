#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: an established flow keeps its backend while the backend set changes. A rate-limited
# download of 16 MiB of random bytes (several seconds) runs through the VIP while `apilb backend
# add` adds a third backend and `apilb backend del` removes the other one; the download must
# complete with the exact byte count and checksum, and new connections must stop reaching the
# deleted backend.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init long_download

RATE=3M
require attach "apilb attach (api1, api2)" attach4 --ingress xdp -- api1 api2
out_file="$LAB_DIR/download.bin"
start=$(date +%s.%N)
ncurl --max-time 60 --limit-rate "$RATE" -o "$out_file" \
	-w '%{size_download} %{remote_ip}\n' "https://$VIP4/files/rand.bin" >"$LAB_DIR/download.w" &
dl=$!

serving=""
for _ in $(seq 30); do
	serving=$(backend_of_conn)
	[ -n "$serving" ] && break
	sleep 0.1
done
require serving "the download is served by api1 or api2 (got '$serving')" \
	bash -c "[ '$serving' = api1 ] || [ '$serving' = api2 ]"
other=api1
[ "$serving" = api1 ] && other=api2
echo "    download served by $serving; will delete $other"

sleep 1
check backend.add "apilb backend add $(be4 api3) during the download" lb backend add "$(be4 api3)"
sleep 1
check backend.del "apilb backend del $(be4 "$other") during the download" lb backend del "$(be4 "$other")"
check running "download still running after add and del" kill -0 "$dl"
flows=$(lb flows 2>&1)
printf '%s\n' "$flows" | sed 's/^/    flows| /'
check flows "apilb flows lists the download's flow to $serving" \
	contains "$flows" "$(be4 "$serving")"
new=$(spread 30 "https://$VIP4/version")
echo "    new connections while downloading: $serving $(count_of "$serving" <<<"$new")," \
	"api3 $(count_of api3 <<<"$new"), $other $(count_of "$other" <<<"$new")"
expect_eq deleted "new connections reaching the deleted backend $other" "$(count_of "$other" <<<"$new")" 0
expect_ge added "new connections reaching the added backend api3" "$(count_of api3 <<<"$new")" 1

wait "$dl"
rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
read -r size peer <"$LAB_DIR/download.w"
want_size=$(stat -c %s "$LAB_DIR/www/rand.bin")
want_sum=$(awk '$2=="rand.bin"{print $1}' "$LAB_DIR/www/SHA256SUMS")
echo "    download: curl rc $rc, $size bytes in ${secs}s at --limit-rate $RATE, peer $peer"
expect_eq download.rc "curl exit code" "$rc" 0
expect_eq download.size "bytes received" "$size" "$want_size"
expect_eq download.sha256 "sha256 of the download" "$(sha256sum <"$out_file" | cut -d' ' -f1)" "$want_sum"
expect_eq download.peer "peer of the download" "$peer" "$LAB_VIP4"
check download.long "download lasted >= 4 s (it overlapped add and del)" \
	awk -v s="$secs" 'BEGIN{exit !(s >= 4)}'
expect_eq download.backend "access log of $serving has the download, from $LAB_NODE4" \
	"$(access_count "$serving" "^$LAB_NODE4 .*GET /files/rand.bin HTTP/1.1\" 200 $want_size")" 1
require detach "apilb detach" lb detach
