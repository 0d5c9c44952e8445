#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package apilb needs to build, test, demo and benchmark.
# Idempotent: packages already present are skipped, apt-get update runs only when something is missing.
set -euo pipefail

PKGS=(
	# build
	build-essential cmake pkg-config clang llvm ccache libbpf-dev libelf-dev zlib1g-dev bpftool
	linux-libc-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
	libcurl4-openssl-dev libyaml-cpp-dev libnl-3-dev libnl-route-3-dev nlohmann-json3-dev
	libcpp-httplib-dev
	# lab, tests, demo
	iproute2 ethtool nginx-light curl openssl procps iputils-ping psmisc python3 python3-yaml jq
	iptables python3-prometheus-client hping3
	# container image and deployment checks (scripts/image.sh, tests/e2e/image.sh, systemd-analyze verify)
	podman runc mmdebstrap uidmap systemd
	# benchmarks
	wrk iperf3 haproxy nginx-light libnginx-mod-stream iptables gnuplot-nox conntrack linux-perf
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts nginx/haproxy on install; the lab runs its own instances.
for s in nginx haproxy; do
	systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
done
