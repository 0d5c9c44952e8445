#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `apilb manifest`: the output parses and carries the fields a node-critical agent needs
# (hostNetwork, privileged, bpffs/state/data mounts, system-node-critical, tolerate all, a
# liveness probe without a shell); the systemd unit (generated, and deploy/apilb.service as
# shipped) passes `systemd-analyze verify`; bad input exits 2 with one line naming the flag;
# deploy/* are exactly the command's output.
# No root needed. Env: APILB (binary), APILB_REPO (source tree).
set -euo pipefail
: "${APILB:?}" "${APILB_REPO:?}"
APILB=$(realpath "$APILB")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ARGS=(--vip 169.254.64.43:6443 --backend 10.0.0.11:6443 --backend 10.0.0.12:6443@2)

# deploy/* cannot drift from the generator.
mkdir "$tmp/deploy"
DEPLOY_OUT="$tmp/deploy" "$APILB_REPO/scripts/gen-deploy.sh" "$APILB"
for f in "$tmp"/deploy/*; do
	diff -u "$APILB_REPO/deploy/${f##*/}" "$f" || fail "deploy/${f##*/} differs from apilb manifest (run scripts/gen-deploy.sh)"
done
# Every deployment file is generated; the Containerfile (the image recipe) is the one hand-written file.
[ "$(ls "$APILB_REPO/deploy" | grep -cv '^Containerfile$')" -eq "$(ls "$tmp/deploy" | wc -l)" ] ||
	fail "deploy/ has files gen-deploy.sh does not make"

"$APILB" manifest static-pod "${ARGS[@]}" --image reg.example/apilb:9 >"$tmp/pod.yaml"
"$APILB" manifest daemonset "${ARGS[@]}" >"$tmp/ds.yaml"
"$APILB" manifest config "${ARGS[@]}" --iface ens3 >"$tmp/config.yaml"
python3 - "$tmp" <<'PY'
import sys, yaml
d = sys.argv[1]
def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
def pod_checks(spec, name, image):
    check(spec["hostNetwork"] is True, name + ": hostNetwork")
    check(spec["priorityClassName"] == "system-node-critical", name + ": priorityClassName")
    check({"operator": "Exists"} in spec["tolerations"], name + ": tolerate every taint")
    c = spec["containers"][0]
    check(c["image"] == image, name + ": image " + c["image"])
    check(c["securityContext"]["privileged"] is True, name + ": privileged")
    check(c["command"][:2] == ["/usr/bin/apilb", "run"], name + ": command")
    probe = c["livenessProbe"]["exec"]["command"]
    check(probe[0] == "/usr/bin/apilb" and "sh" not in " ".join(probe).split(), name + ": liveness without a shell")
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in spec["volumes"]}
    for path in ("/sys/fs/bpf", "/run/apilb", "/var/lib/apilb"):
        check(path in mounts, name + ": mount " + path)
        check(vols[mounts[path]["name"]]["hostPath"]["path"] == path, name + ": hostPath " + path)
    check(mounts["/sys/fs/bpf"].get("mountPropagation") == "Bidirectional", name + ": bpffs propagation")
    cfg = c["command"][c["command"].index("--config") + 1]
    check(any(cfg.startswith(p + "/") for p in mounts), name + ": config " + cfg + " mounted")
    return mounts, vols, cfg

pod = yaml.safe_load(open(d + "/pod.yaml"))
check(pod["kind"] == "Pod" and pod["metadata"]["namespace"] == "kube-system", "pod kind")
m, v, _ = pod_checks(pod["spec"], "static-pod", "reg.example/apilb:9")
for path in ("/etc/kubernetes/pki", "/var/lib/kubelet/pki", "/etc/apilb", "/etc/kubernetes"):
    check(m[path].get("readOnly") is True and v[m[path]["name"]]["hostPath"]["path"] == path, "static-pod: host file dir " + path)

docs = {x["kind"]: x for x in yaml.safe_load_all(open(d + "/ds.yaml"))}
check(sorted(docs) == ["ConfigMap", "DaemonSet", "Role", "RoleBinding", "ServiceAccount"], "daemonset: kinds " + str(sorted(docs)))
cm, ds = docs["ConfigMap"], docs["DaemonSet"]
check(ds["spec"]["template"]["spec"]["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"], "daemonset: its service account")
role, rb = docs["Role"], docs["RoleBinding"]
check(role["metadata"]["namespace"] == "default" and role["rules"] == [{"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]}], "rbac: read-only EndpointSlices in default")
check({"kind": "ServiceAccount", "name": "apilb", "namespace": "kube-system"} in rb["subjects"] and any(s.get("name") == "system:nodes" for s in rb["subjects"]), "rbac: the DaemonSet's account and the kubelets")
m, v, cfgpath = pod_checks(ds["spec"]["template"]["spec"], "daemonset", "localhost/apilb:0.1.0")
check(v[m["/etc/apilb"]["name"]]["configMap"]["name"] == cm["metadata"]["name"], "daemonset: config from the ConfigMap")
cfg = yaml.safe_load(cm["data"]["config.yaml"])
check(cfg["vip"] == "169.254.64.43:6443" and cfg["backend"] == ["10.0.0.11:6443", "10.0.0.12:6443@2"], "daemonset: vip/backend")
check("iface" not in cfg, "daemonset: no NIC name in the cluster-wide ConfigMap")
check(cfg["in_cluster"] is True and "kubeconfig" not in cfg and cfg["data_dir"] == "/var/lib/apilb", "daemonset: discovery with the service account")
check(not any("/etc/kubernetes" in str(x) for x in cfg.values()), "daemonset: no kubeadm-only path")
check(cfg["probe_token_file"].startswith("/var/run/secrets/kubernetes.io/serviceaccount/"), "daemonset: SA token")

host = yaml.safe_load(open(d + "/config.yaml"))
check(host["iface"] == ["ens3"] and host["probe_cert"] and host["cleanup_on_exit"] is False, "config: fields")
check(host["kubeconfig"] == "/etc/kubernetes/kubelet.conf" and "in_cluster" not in host, "config: discovery with the kubelet's kubeconfig")
PY

# systemd: verified, ordered before kubelet, restarted.
"$APILB" manifest systemd "${ARGS[@]}" --binary "$APILB" --config-path /etc/apilb/config.yaml >"$tmp/apilb.service"
systemd-analyze verify "$tmp/apilb.service" 2>"$tmp/verify.err" || { cat "$tmp/verify.err"; fail "systemd-analyze verify"; }
grep -v 'kubelet.service' "$tmp/verify.err" | grep . && fail "systemd-analyze verify warnings"
for line in Before=kubelet.service After=network-online.target Restart=always "ExecStart=$APILB run --config /etc/apilb/config.yaml"; do
	grep -qxF "$line" "$tmp/apilb.service" || fail "unit lacks $line"
done
# The shipped deploy/apilb.service itself, with its binary path pointed at the binary under test
# (systemd-analyze requires ExecStart's binary to exist).
mkdir "$tmp/shipped"
sed "s|/usr/local/bin/apilb|$APILB|g" "$APILB_REPO/deploy/apilb.service" >"$tmp/shipped/apilb.service"
grep -q "^ExecStart=$APILB run " "$tmp/shipped/apilb.service" || fail "deploy/apilb.service: ExecStart is not /usr/local/bin/apilb run"
systemd-analyze verify "$tmp/shipped/apilb.service" 2>"$tmp/verify.err" || { cat "$tmp/verify.err"; fail "systemd-analyze verify deploy/apilb.service"; }
grep -v 'kubelet.service' "$tmp/verify.err" | grep . && fail "systemd-analyze verify deploy/apilb.service: warnings"

# Bad input: exit 2, one line, naming the flag; nothing on stdout.
bad() {
	local flag=$1; shift
	set +e; "$APILB" manifest "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?; set -e
	[ "$rc" -eq 2 ] || fail "manifest $*: exit $rc, want 2"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "manifest $*: stderr not one line: $(cat "$tmp/err")"
	grep -q -- "$flag" "$tmp/err" || fail "manifest $*: '$(cat "$tmp/err")' does not name $flag"
	[ ! -s "$tmp/out" ] || fail "manifest $*: printed something"
}
bad --vip static-pod --vip 169.254.64.43 --backend 10.0.0.11:6443
bad --vip daemonset --backend 10.0.0.11:6443
bad --backend static-pod --vip 169.254.64.43:6443 --backend 10.0.0.300:6443
bad --backend static-pod --vip 169.254.64.43:6443 --backend 10.0.0.1:6443 --backend 10.0.0.1:6443
bad --backend static-pod --vip 169.254.64.43:6443 --backend 10.0.0.1:6443@0
bad --iface config "${ARGS[@]}" --iface 'a b'
bad --config-path systemd "${ARGS[@]}" --config-path etc/apilb.yaml
bad --image daemonset "${ARGS[@]}" --image ''
bad kind helm "${ARGS[@]}"
echo "manifest: ok"
