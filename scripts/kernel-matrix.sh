#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Kernel matrix: boots Debian kernels under qemu (TCG, no KVM needed) and runs, inside each guest,
# the bpf label (test_bpf) and a small e2e set in network namespaces (tests/kernel/guest.sh).
#
# Usage: sudo scripts/kernel-matrix.sh [KERNEL...]
#   KERNEL: a Debian suite (bullseye, bookworm, trixie, bookworm-backports) or a kernel package
#   name (linux-image-6.1.0-50-amd64). Default: all four suites.
# Exit status 0 only when every kernel passed or refused cleanly (UNSUPPORTED with the reason).
# Results: a table on stdout and in $BUILD_DIR/kernels/results.txt; each guest's console log in
# $BUILD_DIR/kernels/<package>.log. Downloads are cached under $BUILD_DIR/kernels/debs.
# The mirror is the one of the machine's own apt sources; apt runs with a private configuration
# under $BUILD_DIR/kernels/apt and never touches the machine's sources or state.
# Environment: KM_TIMEOUT (seconds per guest, default 1500), KM_SMP (default 1), KM_MEM (1G),
# KM_NO_BUILD=1 (use the binaries already in $BUILD_DIR), KM_MIRROR (a Debian mirror URL instead of
# the machine's), KM_MODS (the modules to load in the guest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$repo/$BUILD_DIR ;; esac
KM=$BUILD_DIR/kernels
TIMEOUT=${KM_TIMEOUT:-1500}
SUITES=(bullseye bookworm trixie bookworm-backports)

die() { echo "kernel-matrix: $*" >&2; exit 2; }
log() { echo "kernel-matrix: $*"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, BPF in the build of test binaries): sudo $0"
[ $# -gt 0 ] || set -- "${SUITES[@]}"
for k in "$@"; do
	case $k in
	bullseye | bookworm | trixie | bookworm-backports | linux-image-*) ;;
	*) die "KERNEL '$k': expected a suite (${SUITES[*]}) or a linux-image-* package name" ;;
	esac
done

# ---- host tools -----------------------------------------------------------------------------
need=()
for p in qemu-system-x86 busybox-static cpio xz-utils zstd binutils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } ||
		die "cannot install ${need[*]}"
fi

t_start=$(date +%s)
if [ "${KM_NO_BUILD:-0}" != 1 ]; then
	BUILD_DIR=$BUILD_DIR scripts/build.sh apilb test_bpf >/dev/null || die "build failed (scripts/build.sh apilb test_bpf)"
fi
APILB_BIN=$BUILD_DIR/userspace/cli/apilb
TEST_BPF=$BUILD_DIR/tests/bpf/test_bpf
[ -x "$APILB_BIN" ] && [ -x "$TEST_BPF" ] || die "missing $APILB_BIN or $TEST_BPF"
mkdir -p "$KM/debs" "$KM/x"

# ---- fetch: a private apt configuration, the machine's own mirror ----------------------------
mirror=${KM_MIRROR:-}
[ -n "$mirror" ] || mirror=$(grep -rhoE '(URIs:|^deb) +\[?[^ ]*\]? *https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
	grep -oE 'https?://[^ ]+/debian' | head -1 || true)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*"
APT=$KM/apt
mkdir -p "$APT/etc/sources.list.d" "$APT/etc/preferences.d" "$APT/state/lists/partial" \
	"$APT/cache/archives/partial"
apt_opts=(-o "Dir::Etc::sourcelist=$APT/etc/sources.list" -o "Dir::Etc::sourceparts=$APT/etc/sources.list.d"
	-o "Dir::Etc::preferencesparts=$APT/etc/preferences.d" -o "Dir::State=$APT/state"
	-o "Dir::Cache=$APT/cache" -o Debug::NoLocking=1 -o APT::Architecture=amd64
	-o APT::Architectures=amd64 -o APT::Sandbox::User=root)
# Only the suites asked for (a package name needs them all: its suite is unknown).
want=()
for k in "$@"; do
	case $k in linux-image-*) want=("${SUITES[@]}") && break ;; *) want+=("$k") ;; esac
done
: >"$APT/etc/sources.list"
for s in $(printf '%s\n' "${want[@]}" | sort -u); do
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main" >>"$APT/etc/sources.list"
done
t0=$(date +%s)
if ! out=$(apt-get "${apt_opts[@]}" --error-on=any update 2>&1); then
	printf '%s\n' "$out" | grep -E '^(E|W):' | head -5 >&2
	die "Debian mirror $mirror unreachable or refused (apt-get update of ${want[*]} failed; see above)"
fi
# pkg_of SUITE: the kernel package linux-image-amd64 of SUITE depends on.
pkg_of() {
	apt-cache "${apt_opts[@]}" show "linux-image-amd64/$1" 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1
}
pkgs=()
declare -A suite_of
for k in "$@"; do
	case $k in
	linux-image-*) p=$k ;;
	*) p=$(pkg_of "$k") && [ -n "$p" ] || die "no linux-image-amd64 in suite $k at $mirror" ;;
	esac
	pkgs+=("$p")
	suite_of[$p]=$k
done
for p in "${pkgs[@]}"; do
	if ! ls "$KM/debs/${p}_"*.deb >/dev/null 2>&1; then
		log "downloading $p"
		(cd "$KM/debs" && apt-get "${apt_opts[@]}" -q download "$p" >/dev/null) ||
			die "cannot download $p from $mirror"
	fi
	[ -d "$KM/x/$p" ] || dpkg-deb -x "$(ls "$KM/debs/${p}_"*.deb | head -1)" "$KM/x/$p"
done
t_fetch=$(($(date +%s) - t0))

# ---- the initramfs: one common part + a small per-kernel module part -------------------------
t0=$(date +%s)
root=$KM/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,lib64,lib/x86_64-linux-gnu,usr/local/bin,usr/local/sbin,modules,etc}
cp /bin/busybox "$root/bin/busybox"
file /bin/busybox | grep -q 'statically linked' || die "/bin/busybox is not static (install busybox-static)"
cp "$repo/tests/kernel/init" "$root/init"
cp "$repo/tests/kernel/guest.sh" "$root/guest.sh"
cp "$APILB_BIN" "$TEST_BPF" "$root/usr/local/bin/"
cp "$(command -v ip)" "$(command -v tc)" "$root/usr/local/sbin/"
for b in "$APILB_BIN" "$TEST_BPF" "$(command -v ip)" "$(command -v tc)"; do
	ldd "$b" | grep -oE '/[^ ]+\.so[^ ]*'
done | sort -u | while read -r lib; do
	case $lib in
	*/ld-linux*) cp -L "$lib" "$root/lib64/" ;;
	*) cp -L "$lib" "$root/lib/x86_64-linux-gnu/" ;;
	esac
done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$KM/common.cpio.gz"

# mods_for PKG: writes $KM/mods-PKG.cpio.gz with the modules the tests need, uncompressed, and
# modules/order listing them dependency first.
MODS=${KM_MODS:-veth dummy bridge sch_ingress cls_bpf}
mods_for() {
	local p=$1 mdir m d tmp
	mdir=
	for d in "$KM/x/$p"/lib/modules/* "$KM/x/$p"/usr/lib/modules/*; do [ -d "$d" ] && mdir=$d; done
	[ -n "$mdir" ] || die "$p: no modules directory"
	tmp=$KM/mods-$p && rm -rf "$tmp" && mkdir -p "$tmp/modules"
	declare -A seen=()
	local order=()
	add_mod() {
		local name=$1 f dep
		[ -n "${seen[$name]:-}" ] && return 0
		seen[$name]=1
		f=$(find "$mdir" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \
			-o -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.xz" -o -name "${name//_/-}.ko.zst" \) | head -1)
		[ -n "$f" ] || return 0 # built in
		case $f in
		*.xz) xz -dc "$f" >"$tmp/modules/$name.ko" ;;
		*.zst) zstd -qdc "$f" >"$tmp/modules/$name.ko" ;;
		*) cp "$f" "$tmp/modules/$name.ko" ;;
		esac
		for dep in $(objcopy -O binary --only-section=.modinfo "$tmp/modules/$name.ko" /dev/stdout |
			tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
			add_mod "$dep"
		done
		order+=("$name.ko")
	}
	for m in $MODS; do add_mod "$m"; done
	printf '%s\n' "${order[@]}" >"$tmp/modules/order"
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$KM/mods-$p.cpio.gz"
	rm -rf "$tmp"
}
for p in "${pkgs[@]}"; do mods_for "$p"; done
t_initramfs=$(($(date +%s) - t0))
log "fetch ${t_fetch}s, initramfs ${t_initramfs}s ($(du -h "$KM/common.cpio.gz" | cut -f1) common)"

# ---- boot and parse ----------------------------------------------------------------------------
results=$KM/results.txt
{
	printf '%-34s %-16s %-13s %6s  %s\n' KERNEL RELEASE RESULT SECONDS DETAILS
} >"$results.new"
overall=0
for p in "${pkgs[@]}"; do
	vmlinuz=$(ls "$KM/x/$p/boot/vmlinuz-"* | head -1)
	cat "$KM/common.cpio.gz" "$KM/mods-$p.cpio.gz" >"$KM/initrd-$p.img"
	clog=$KM/$p.log
	log "booting $p (${suite_of[$p]}), timeout ${TIMEOUT}s, console log $clog"
	t0=$(date +%s)
	set +e
	timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 -nographic -no-reboot -m "${KM_MEM:-1G}" \
		-smp "${KM_SMP:-1}" -cpu max -nic none -kernel "$vmlinuz" -initrd "$KM/initrd-$p.img" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3" </dev/null >"$clog" 2>&1
	qrc=$?
	set -e
	secs=$(($(date +%s) - t0))
	tr -d '\r' <"$clog" >"$clog.tmp" && mv "$clog.tmp" "$clog"
	release=$(sed -n 's/.*@@KM kernel //p' "$clog" | head -1)
	status=passed
	details=()
	while read -r _ _ name res reason; do
		details+=("$name=$res")
		case $res in
		PASS) ;;
		UNSUPPORTED) [ $status = failed ] || status="not-supported" ; details+=("($reason)") ;;
		*) status=failed; details+=("($reason)") ;;
		esac
	done < <(grep '^@@KM result ' "$clog")
	if [ ${#details[@]} -eq 0 ]; then
		status=failed
		details=("no results (qemu exit $qrc$([ $qrc -eq 124 ] && echo ', timeout'))")
	elif ! grep -q '^@@KM done' "$clog"; then
		status=failed
		details+=("guest did not finish (qemu exit $qrc$([ $qrc -eq 124 ] && echo ', timeout'))")
	fi
	[ $status = failed ] && overall=1
	printf '%-34s %-16s %-13s %6s  %s\n' "$p" "${release%%-*}" "$status" "$secs" "${details[*]}" >>"$results.new"
	log "$p: $status in ${secs}s"
done
mv "$results.new" "$results"
cat "$results"
log "total $(($(date +%s) - t_start))s (fetch ${t_fetch}s, initramfs ${t_initramfs}s); results in $results"
exit $overall
