#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates deploy/* from `apilb manifest` with the example values below (the ctest
# ctl_manifest fails when a file differs from the command's output, so they cannot drift).
# Usage: scripts/gen-deploy.sh [path/to/apilb]   (default build/userspace/cli/apilb)
set -euo pipefail
cd "$(dirname "$0")/.."
APILB=${1:-build/userspace/cli/apilb}
# Example control plane: edit the generated files or rerun `apilb manifest` with your values.
ARGS=(--vip 169.254.64.43:6443 --backend 10.0.0.11:6443 --backend 10.0.0.12:6443
	--backend 10.0.0.13:6443)
declare -A FILES=([static-pod]=static-pod.yaml [daemonset]=daemonset.yaml
	[systemd]=apilb.service [config]=config.yaml [rbac]=rbac.yaml)
out=${DEPLOY_OUT:-deploy}
for kind in "${!FILES[@]}"; do
	"$APILB" manifest "$kind" "${ARGS[@]}" >"$out/${FILES[$kind]}"
done
