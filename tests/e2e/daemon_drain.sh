#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): a draining backend (/readyz 503, still serving) gets no new flows while a long
# download from it completes byte for byte; when /readyz is 200 again it rejoins the table.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_drain

require daemon "apilb run attaches and sees api1..3 healthy" daemon_start -- api1 api2 api3
require dl "a download through the VIP served by api2" download_on api2 "$LAB_DIR/dl.bin" 2M
t0=$(now_ms)
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" readyz api2 503
check drain.state "api2 marked draining" wait_state api2 draining 5
echo "FIGURE drain.detect_ms=$(($(now_ms) - t0)) (/readyz 503 -> draining)"
expect_eq drain.flag "apilb backend list flags of api2" "$(backend_flags api2)" drain
new=$(spread 30 "https://$VIP4/version")
expect_eq drain.nonew "new connections reaching draining api2" "$(count_of api2 <<<"$new")" 0
expect_eq drain.errors "failed new connections while api2 drains" "$(count_of error <<<"$new")" 0
check drain.running "the download from api2 is still running" kill -0 "$DL_PID"
wait "$DL_PID" 2>/dev/null
read -r dl_rc dl_size _ <"$LAB_DIR/dl.bin.w"
sum=$(sha256sum "$LAB_DIR/dl.bin" | cut -d' ' -f1)
echo "FIGURE drain.download_bytes=$dl_size rc=$dl_rc (long download from the draining backend)"
expect_eq drain.dl.rc "download from draining api2 (curl rc)" "$dl_rc" 0
expect_eq drain.dl.sum "download checksum" "$sum" "$(awk '$2=="rand.bin"{print $1}' "$LAB_DIR/www/SHA256SUMS")"
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" readyz api2 200
check drain.back "api2 healthy again" wait_state api2 healthy 5
new=$(spread 30 "https://$VIP4/version")
expect_ge drain.rejoin "new connections reaching api2 again" "$(count_of api2 <<<"$new")" 1
