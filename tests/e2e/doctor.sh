#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: `apilb doctor` in the lab. Each check passes on the healthy lab and fails, with its fix,
# when the pitfall is made real: a certificate without the VIP, /readyz answering 401, an address
# nobody listens on, strict rp_filter, a NIC MTU below the VIP device's, a kubelet kubeconfig
# that bypasses the VIP, no daemon. Exit status 0 / 1, and --json parsed.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init doctor

require daemon "apilb run on api1..3" daemon_start -- api1 api2 api3
KUBELET="$LAB_DIR/kubelet.conf"
kubeconfig() {  # kubeconfig SERVER_URL: a kubelet kubeconfig pointing at it
	cat >"$KUBELET" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "$1", certificate-authority: "$LAB_CA"}
contexts:
- name: kubelet@lab
  context: {cluster: lab, user: kubelet}
current-context: kubelet@lab
users:
- name: kubelet
  user: {}
EOF
}
kubeconfig "https://$VIP4"
doc() {
	lb doctor --vip "$VIP4" --probe-ca "$LAB_CA" --state-dir "$STATE_DIR" \
		--kubelet-kubeconfig "$KUBELET" "$@" >"$LAB_DIR/doctor.out" 2>&1
	echo $? >"$LAB_DIR/doctor.rc"
}
rc() { cat "$LAB_DIR/doctor.rc"; }
# line STATUS CHECK: doctor printed "STATUS CHECK: ..." (the check's own line).
line() { grep -qE "^$1 +$2:" "$LAB_DIR/doctor.out"; }
# fix_has CHECK TEXT [STATUS]: the "fix:" line under CHECK's line (status FAIL unless given) has TEXT.
fix_has() { grep -A1 -E "^${3:-FAIL} +$1:" "$LAB_DIR/doctor.out" | grep -qF -- "$2"; }
show() { sed 's/^/    | /' "$LAB_DIR/doctor.out"; }

# ---- a healthy lab: everything ok, exit 0 --------------------------------------------------
doc
show
expect_eq healthy.rc "doctor exit status on the healthy lab" "$(rc)" 0
for c in "kernel XDP" "kernel TC \\(sched_cls\\)" "kernel bpf_redirect_neigh" "kernel SOCK_DESTROY" \
	"datapath" "rp_filter eth0" "mtu eth0" "daemon" "kubelet kubeconfig" "attach eth0"; do
	check "healthy.${c%% *}" "ok line for '$c'" line ok "$c"
done
# The lab's NICs are veths: the default --ingress auto put TC there.
check healthy.veth "the veth eth0 has reverse NAT in TC" grep -qE "^ok +attach eth0: reverse NAT in TC" \
	"$LAB_DIR/doctor.out"
for s in api1 api2 api3; do
	check healthy.cert.$s "certificate of $s covers the VIP" line ok "cert $(be4 $s)"
	check healthy.readyz.$s "/readyz of $s answers 200" line ok "readyz $(be4 $s)"
done

# ---- pitfalls, one at a time -------------------------------------------------------------
# A certificate without the VIP (api3): re-issued from the lab CA, nginx reloaded.
d3="$LAB_DIR/api3"
cp "$d3/server.key" "$d3/server.key.orig" && cp "$d3/server.crt" "$d3/server.crt.orig"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=api3" \
	-keyout "$d3/server.key" -out "$d3/server.csr" 2>/dev/null
openssl x509 -req -in "$d3/server.csr" -CA "$LAB_CA" -CAkey "$LAB_DIR/ca.key" -CAcreateserial \
	-days 1 -out "$d3/server.crt" \
	-extfile <(printf 'subjectAltName=IP:%s,DNS:api3\nextendedKeyUsage=serverAuth\n' \
		"$(lab_addr4 api3)") 2>/dev/null
kill -HUP "$(lab_nginx_pid "$PREFIX" api3)"
sleep 0.5
# /readyz of api2 answers 401 (anonymous auth off).
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" readyz api2 401
doc
show
expect_eq pitfalls.rc "doctor exit status with failing checks" "$(rc)" 1
check cert.fail "cert of api3 FAILs" line FAIL "cert $(be4 api3)"
check cert.says "it names the VIP and lists the SANs it has" \
	grep -qF "does not cover the VIP $LAB_VIP4 (SANs: IP $(lab_addr4 api3); DNS api3)" "$LAB_DIR/doctor.out"
check cert.fix "the fix names certSANs and tls-san" fix_has "cert $(be4 api3)" "certSANs"
check cert.others "api1's certificate still ok" line ok "cert $(be4 api1)"
check readyz.401 "readyz of api2 FAILs with 401" line FAIL "readyz $(be4 api2)"
check readyz.fix "the 401 fix explains anonymous auth and the credential to set" \
	fix_has "readyz $(be4 api2)" "anonymous auth is off"
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" readyz api2 200
mv "$d3/server.key.orig" "$d3/server.key" && mv "$d3/server.crt.orig" "$d3/server.crt"
kill -HUP "$(lab_nginx_pid "$PREFIX" api3)"
sleep 0.5

# Nobody listens at the given address (wrong --advertise-address / port).
doc --backend "$(lab_addr4 api1):6444"
check refused "an address nobody listens on FAILs as refused" \
	grep -qF "connection refused: nobody listens at $(lab_addr4 api1):6444" "$LAB_DIR/doctor.out"

# Strict rp_filter. (A NIC MTU below the VIP device's is checked once the daemon is gone: it
# re-matches the VIP device's MTU on its 1 s tick, which could fix it before doctor looks.)
old_rp=$(in_node sysctl -n net.ipv4.conf.eth0.rp_filter)
in_node sysctl -qw net.ipv4.conf.eth0.rp_filter=1
kubeconfig "https://$(be4 api1)"
doc
show
check rp.fail "strict rp_filter on eth0 FAILs" line FAIL "rp_filter eth0"
check rp.fix "its fix is the sysctl" fix_has "rp_filter eth0" "net.ipv4.conf.eth0.rp_filter=2"
check kubelet.fail "a kubelet kubeconfig that bypasses the VIP FAILs" line FAIL "kubelet kubeconfig"
check kubelet.says "it names both addresses" \
	grep -qF "points at https://$(be4 api1), not the VIP https://$VIP4" "$LAB_DIR/doctor.out"
in_node sysctl -qw net.ipv4.conf.eth0.rp_filter="$old_rp"
kubeconfig "https://$VIP4"

# No daemon (the datapath stays attached): a NIC MTU below the VIP device's; then --json.
daemon_stop
in_node ip link set eth0 mtu 1400
doc
check mtu.fail "NIC MTU below the VIP device's FAILs" line FAIL "mtu eth0"
in_node ip link set eth0 mtu 1500
doc --json
expect_eq json.rc "exit status with the daemon gone" "$(rc)" 1
json=$(/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = [c["check"] for c in d["checks"] if c["status"] == "FAIL"]
print(d["ok"], ",".join(bad))' "$LAB_DIR/doctor.out")
expect_eq json.fail "--json: ok flag and the failing checks" "$json" "False daemon"

# Re-attached with --ingress xdp: native XDP on a veth is a warning (exit status stays 0), with its fix.
lb detach >/dev/null 2>&1
lb attach --vip "$VIP4" --backend "$(be4 api1)" --iface eth0 --ingress xdp >/dev/null 2>&1
doc
check xdp.veth "native XDP on the veth eth0 warns" line warn "attach eth0"
check xdp.veth.fix "its fix is --ingress tc" fix_has "attach eth0" "--ingress tc" warn
lb detach >/dev/null 2>&1
