#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: bad input. Every command of the table below must exit 2 with a one-line message on stderr
# and leave nothing attached. Attaching twice must fail the same way and leave the first attach
# working. Missing privileges (an unprivileged user) exit 2 as well.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init bad_input

A1=$(be4 api1)
A2=$(be4 api2)
notdir="$LAB_DIR/ca.crt"
# tag | arguments after `apilb --netns NODE --pin-dir PIN` (word-split); the pindir.* cases use
# the pin dir of pin_dir_for instead.
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
)

pin_dir_for() {
	case "$1" in
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
