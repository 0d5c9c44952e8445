#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: bad input. Every command of the table below (attach, run, backend, status, flows, detach,
# malformed flags, values and config files) must exit 2 with a one-line message on stderr and
# leave nothing attached (ip link, XDP, tc filters, route, pins, bpftool net). Attaching twice must fail the same way and leave the first attach
# working. Missing privileges (an unprivileged user) exit 2 as well.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init bad_input

A1=$(be4 api1)
A2=$(be4 api2)
notdir="$LAB_DIR/ca.crt"
# tag | arguments after `apilb --netns NODE --pin-dir PIN` (word-split); the pindir.* cases use
# the pin dir of pin_dir_for instead.
HUGE="1$(printf '0%.0s' {1..400})s"
printf 'vip: %s\nbackend: [%s]\nprobe_intervall: 1s\n' "$VIP4" "$A1" >"$LAB_DIR/unknown.yaml"
printf 'backend: [%s]\nprobe:\n  interval: 1s\n' "$A1" >"$LAB_DIR/nested.yaml"
printf 'backend: [%s]\nvip: [%s, %s]\n' "$A1" "$VIP4" "$VIP4" >"$LAB_DIR/list.yaml"
printf 'backend: [%s\n' "$A1" >"$LAB_DIR/syntax.yaml"
printf -- '- %s\n' "$A1" >"$LAB_DIR/toplist.yaml"
printf 'backend: [%s]\nprobe_interval: %s\n' "$A1" "$HUGE" >"$LAB_DIR/huge.yaml"
head -c 512 /dev/urandom >"$LAB_DIR/binary.yaml"

cases=(
	"vip.octet|attach --vip 169.254.64.443:6443 --backend $A1 --iface eth0"
	"vip.noport|attach --vip $LAB_VIP4 --backend $A1 --iface eth0"
	"vip.port0|attach --vip $LAB_VIP4:0 --backend $A1 --iface eth0"
	"vip.bigport|attach --vip $LAB_VIP4:65536 --backend $A1 --iface eth0"
	"vip.name|attach --vip kubernetes:6443 --backend $A1 --iface eth0"
	"vip.local|attach --vip $LAB_NODE4:6443 --backend $A1 --iface eth0"
	"vip.missing|attach --backend $A1 --iface eth0"
	"be.none|attach --vip $VIP4 --iface eth0"
	"be.malformed|attach --vip $VIP4 --backend 198.18.0.300:6443 --iface eth0"
	"be.port0|attach --vip $VIP4 --backend $(lab_addr4 api1):0 --iface eth0"
	"be.noport|attach --vip $VIP4 --backend $(lab_addr4 api1) --iface eth0"
	"be.mixed|attach --vip $VIP4 --backend $A1 --backend $(be6 api2) --iface eth0"
	"be.v6vip|attach --vip $VIP6 --backend $A1 --iface eth0"
	"iface.unknown|attach --vip $VIP4 --backend $A1 --iface nosuch0"
	"ingress.bad|attach --vip $VIP4 --backend $A1 --iface eth0 --ingress sideways"
	"table.notprime|attach --vip $VIP4 --backend $A1 --iface eth0 --table-size 16380"
	"table.zero|attach --vip $VIP4 --backend $A1 --iface eth0 --table-size 0"
	"table.huge|attach --vip $VIP4 --backend $A1 --iface eth0 --table-size 1000003"
	"pindir.file|attach --vip $VIP4 --backend $A1 --iface eth0"
	"pindir.proc|attach --vip $VIP4 --backend $A1 --iface eth0"
	"detach.none|detach"
	"backend.none|backend add $A2"
	"unknown.cmd|frobnicate"
	# The node's intent (userspace/config): attach takes the same keys, parser and validator as run.
	"attach.vip.empty|attach --vip= --backend $A1"
	"attach.weight0|attach --vip $VIP4 --backend $A1@0"
	"attach.weight.huge|attach --vip $VIP4 --backend $A1@99999999999"
	"attach.be.dup|attach --vip $VIP4 --backend $A1 --backend $A1"
	"attach.be.vip|attach --vip $A1 --backend $A1"
	"attach.iface.lo|attach --vip $VIP4 --backend $A1 --iface lo"
	"attach.iface.vipdev|attach --vip $VIP4 --backend $A1 --iface apilb0"
	"attach.iface.dup|attach --vip $VIP4 --backend $A1 --iface eth0 --iface eth0"
	"attach.iface.long|attach --vip $VIP4 --backend $A1 --iface abcdefghijklmnopq"
	"attach.iface.slash|attach --vip $VIP4 --backend $A1 --iface a/b"
	"attach.iface.many|attach --vip $VIP4 --backend $A1 --iface a --iface b --iface c --iface d --iface e --iface f --iface g --iface h --iface i"
	"attach.table.small|attach --vip $VIP4 --backend $A1 --table-size 251"
	"attach.table.neg|attach --vip $VIP4 --backend $A1 --table-size -7"
	"attach.table.huge|attach --vip $VIP4 --backend $A1 --table-size 99999999999999999999999"
	"attach.table.junk|attach --vip $VIP4 --backend $A1 --table-size 16381x"
	"attach.ingress.case|attach --vip $VIP4 --backend $A1 --ingress XDP"
	"attach.unknown.flag|attach --vip $VIP4 --backend $A1 --probe-interval 1s"
	"attach.extra.arg|attach --vip $VIP4 --backend $A1 extra"
	"attach.pindir.rel|attach --vip $VIP4 --backend $A1"
	"attach.pindir.root|attach --vip $VIP4 --backend $A1"
	"run.vip|run --vip 169.254.64.43 --backend $A1 --probe-ca $LAB_CA"
	"run.nobackend|run --probe-ca $LAB_CA"
	"run.weight|run --backend $A1@0 --probe-ca $LAB_CA"
	"run.interval.huge|run --backend $A1 --probe-interval $HUGE --probe-ca $LAB_CA"
	"run.interval.unit|run --backend $A1 --probe-interval 5 --probe-ca $LAB_CA"
	"run.interval.short|run --backend $A1 --probe-interval 50ms --probe-ca $LAB_CA"
	"run.interval.neg|run --backend $A1 --probe-interval -1s --probe-ca $LAB_CA"
	"run.timeout.over|run --backend $A1 --probe-interval 500ms --probe-timeout 2s --probe-ca $LAB_CA"
	"run.timeout.huge|run --backend $A1 --probe-timeout 99999999999999999999h --probe-ca $LAB_CA"
	"run.rise0|run --backend $A1 --probe-rise 0 --probe-ca $LAB_CA"
	"run.fall.big|run --backend $A1 --probe-fall 101 --probe-ca $LAB_CA"
	"run.rise.huge|run --backend $A1 --probe-rise 99999999999999999999 --probe-ca $LAB_CA"
	"run.type|run --backend $A1 --probe-type icmp --probe-ca $LAB_CA"
	"run.path|run --backend $A1 --probe-path readyz --probe-ca $LAB_CA"
	"run.ca|run --backend $A1 --probe-ca /nonexistent/ca.crt"
	"run.cert.nokey|run --backend $A1 --probe-cert $LAB_CA --probe-ca $LAB_CA"
	"run.token|run --backend $A1 --probe-token-file /nonexistent/token --probe-ca $LAB_CA"
	"run.sni|run --backend $A1 --probe-server-name a/b --probe-ca $LAB_CA"
	"run.statedir|run --backend $A1 --state-dir relative --probe-ca $LAB_CA"
	"run.loglevel|run --backend $A1 --log-level loud --probe-ca $LAB_CA"
	"run.iface.lo|run --backend $A1 --iface lo --probe-ca $LAB_CA"
	"run.table|run --backend $A1 --table-size 16380 --probe-ca $LAB_CA"
	"run.ingress|run --backend $A1 --ingress afxdp --probe-ca $LAB_CA"
	"run.unknown.flag|run --backend $A1 --probe-intervall 1s"
	"run.config.missing|run --config $LAB_DIR/none.yaml"
	"run.config.dir|run --config $LAB_DIR"
	"run.config.unknown|run --config $LAB_DIR/unknown.yaml"
	"run.config.nested|run --config $LAB_DIR/nested.yaml"
	"run.config.list|run --config $LAB_DIR/list.yaml"
	"run.config.syntax|run --config $LAB_DIR/syntax.yaml"
	"run.config.toplist|run --config $LAB_DIR/toplist.yaml"
	"run.config.huge|run --config $LAB_DIR/huge.yaml"
	"run.config.binary|run --config $LAB_DIR/binary.yaml"
	"be.add.noport|backend add $(lab_addr4 api2)"
	"be.add.weight|backend add $A2@0"
	"be.add.name|backend add apiserver:6443"
	"be.add.none|backend add"
	"be.del.bad|backend del nope:1"
	"be.del.none|backend del $A2"
	"be.nosub|backend"
	"be.badsub|backend frob $A2"
	"status.none|status"
	"status.flag|status --frob"
	"status.statedir|status --state-dir"
	"flows.none|flows"
	"flows.arg|flows extra"
	"detach.flag|detach --frob"
	"global.flag|--frob status"
)

pin_dir_for() {
	case "$1" in
	attach.pindir.rel) echo "relative/pins" ;;
	attach.pindir.root) echo "/sys/fs/bpf/" ;;
	pindir.file) echo "$notdir" ;;              # a regular file
	pindir.proc) echo "/proc/apilb-$PREFIX" ;; # cannot be created, cannot be mounted
	*) echo "$PIN" ;;
	esac
}

# bad_cmd TAG ARGS...: exit 2 and exactly one line on stderr.
bad_cmd() {
	local tag=$1 err rc
	shift
	err=$("$APILB" --netns "$NODE_NS" --pin-dir "$(pin_dir_for "$tag")" "$@" 2>&1 >/dev/null)
	rc=$?
	expect_eq "$tag" "exit code of: apilb $*" "$rc" 2
	check "$tag" "one-line message: $(head -1 <<<"$err")" \
		test "$(grep -c . <<<"$err")" -eq 1
}

for c in "${cases[@]}"; do
	tag=${c%%|*}
	# shellcheck disable=SC2086
	bad_cmd "$tag" ${c#*|}
done
nothing_attached clean
# bpftool's view of the node's netns: no XDP or tc program of apilb anywhere in it.
check clean "bpftool net: no apilb program in the node netns" \
	test -z "$(ip netns exec "$NODE_NS" bpftool net show 2>/dev/null | grep -E 'lb_(fwd|rev)')"
check clean "no pin dir left" test ! -e "$PIN"

# Missing privileges: the same valid attach as an unprivileged user.
err=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$APILB" --netns "$NODE_NS" --pin-dir "$PIN" attach --vip "$VIP4" --backend "$A1" --iface eth0 2>&1)
rc=$?
expect_eq noperm "exit code of attach as nobody ($(head -1 <<<"$err"))" "$rc" 2
nothing_attached noperm.clean

# Attach twice: the second fails and the first keeps working.
require twice.first "first attach" attach4 --ingress xdp -- api1 api2 api3
bad_cmd twice.second attach --vip "$VIP4" --backend "$A1" --iface eth0
bad_cmd twice.dup backend add "$A1"
got=$(who "https://$VIP4/version")
check twice.works "the first attach still serves ($got)" contains "$got" " $LAB_VIP4"
require detach "apilb detach" lb detach
nothing_attached final
