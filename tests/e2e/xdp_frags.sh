#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: lb_rev_xdp is SEC("xdp.frags") (multi-buffer), with a fallback to plain xdp. Every lab
# link at a jumbo MTU of 9000, so a reply frame no longer fits one page:
#   1. default load: "loaded lb_rev_xdp as xdp.frags", native XDP on eth0, a 16 MiB download
#      through the VIP arrives intact, and the frames were multi-buffer: rev_hit counts more than
#      4096 bytes per packet (bpf_xdp_get_buff_len; the first buffer alone averages ~3.4 KiB);
#   2. forced fallback (APILB_XDP_FRAGS=0: the load taken on kernels that refuse xdp.frags): the
#      loader says "plain xdp", attach says which XDP mode it got (a driver that checks frags
#      refuses native XDP at this MTU: then generic, with the WARNING line, and status says so;
#      veth on 6.18 does not check), and the download still arrives intact.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init mbuf	# not "xdp...": nothing_attached greps ip -d link for xdp

MTU=9000
jumbo() {
	local n
	for n in node "${LAB_APIS[@]}"; do
		ip -n "$PREFIX-br" link set "br-$n" mtu "$MTU" || return 1
		in_ns "$n" ip link set eth0 mtu "$MTU" || return 1
	done
}
require jumbo "every lab link at MTU $MTU" jumbo

counter() { lb status --json | jq ".counters.$1.$2 // 0"; }

# download TAG: 16 MiB through the VIP, checked byte for byte.
download() {
	local tag=$1 out_file="$LAB_DIR/download.bin" w
	w=$(ncurl --max-time 60 -o "$out_file" -w '%{size_download} %{remote_ip}' \
		"https://$VIP4/files/rand.bin")
	expect_eq "$tag.download" "16 MiB download through the VIP (bytes, peer)" "$w" \
		"$(stat -c %s "$LAB_DIR/www/rand.bin") $LAB_VIP4"
	expect_eq "$tag.sha256" "sha256 of the download" "$(sha256sum <"$out_file" | cut -d' ' -f1)" \
		"$(awk '$2=="rand.bin"{print $1}' "$LAB_DIR/www/SHA256SUMS")"
	rm -f "$out_file"
}

# 1. xdp.frags: native XDP at MTU 9000.
out=$(attach4 --ingress xdp -- api1 api2 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    attach| /'
require frags.attach "apilb attach exits 0" test "$rc" -eq 0
check frags.loaded "attach says lb_rev_xdp is multi-buffer" \
	contains "$out" "loaded lb_rev_xdp as xdp.frags (multi-buffer)"
check frags.native "native XDP on eth0 at MTU $MTU" \
	contains "$out" "attached lb_rev_xdp to eth0 (native XDP)"
check frags.status "status shows native XDP" contains "$(lb status)" "interface:    eth0 (native XDP)"
check frags.ip "ip link shows a driver-mode (xdp) program on eth0" \
	bash -c "ip -n '$NODE_NS' -d link show eth0 | grep -q 'prog/xdp '"
download frags
pkts=$(counter rev_hit packets) bytes=$(counter rev_hit bytes)
avg=$((bytes / (pkts > 0 ? pkts : 1)))
echo "FIGURE xdp_frags.rev_hit=$pkts packets, $bytes bytes, $avg bytes/packet"
expect_ge frags.bigframes "bytes per translated reply (frames above one page)" "$avg" 4097
require frags.detach "apilb detach" lb detach

# 2. Forced fallback to plain xdp: the driver refuses it natively at this MTU.
out=$(APILB_XDP_FRAGS=0 attach4 --ingress xdp -- api1 api2 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    attach| /'
require plain.attach "apilb attach with APILB_XDP_FRAGS=0 exits 0" test "$rc" -eq 0
check plain.loaded "attach says lb_rev_xdp is plain xdp" \
	contains "$out" "loaded lb_rev_xdp as plain xdp"
mode=$(sed -n 's/^attached lb_rev_xdp to eth0 (\(.*\))$/\1/p' <<<"$out")
expect_eq plain.mode "attach names the XDP mode it got" "$(grep -cxE 'native XDP|generic XDP' <<<"$mode")" 1
check plain.status "status shows the same mode ($mode)" contains "$(lb status)" "interface:    eth0 ($mode)"
if [ "$mode" = "generic XDP" ]; then
	check plain.warning "attach warns about generic XDP" contains "$out" "WARNING: eth0: generic XDP"
fi
download plain
pkts=$(counter rev_hit packets) bytes=$(counter rev_hit bytes)
echo "FIGURE xdp_frags.plain_rev_hit=$pkts packets, $bytes bytes, $((bytes / (pkts > 0 ? pkts : 1))) bytes/packet"
require plain.detach "apilb detach" lb detach
nothing_attached after
