// SPDX-License-Identifier: Apache-2.0
// `apilb manifest static-pod|daemonset|systemd|config|rbac`: prints complete, filled-in deployment
// files on stdout (deploy/*.yaml and deploy/apilb.service are this command's output; a test
// keeps them identical). The pods run privileged: Bidirectional mount propagation of bpffs
// (pins outlive the pod) is only allowed for privileged containers, and CAP_SYS_ADMIN (bpffs
// mount, setns) is needed anyway. Liveness is an exec of `apilb status`, which exits non-zero
// when the datapath is not attached: the image has no shell.
#include <CLI/CLI.hpp>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bpf/attach.h"
#include "cli/commands.h"
#include "lb/endpoint.h"

namespace lb {
namespace {

constexpr const char* kBinaryInImage = "/usr/bin/apilb";
constexpr const char* kSaDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct ManifestOptions {
  std::string kind;
  std::string vip;
  std::vector<std::string> backends;
  std::vector<std::string> ifaces;
  std::string image = std::string("localhost/apilb:") + APILB_VERSION;
  std::string configPath = "/etc/apilb/config.yaml";
  std::string binary = "/usr/local/bin/apilb";
  std::string probeCa = "/etc/kubernetes/pki/ca.crt";
  std::string probeCert = "/var/lib/kubelet/pki/kubelet-client-current.pem";
  std::string probeKey = "/var/lib/kubelet/pki/kubelet-client-current.pem";
  // Discovery on the host forms: the kubelet's own kubeconfig (its client certificate exists on
  // every node; `apilb manifest rbac` lets the group system:nodes read the EndpointSlice).
  std::string kubeconfig = "/etc/kubernetes/kubelet.conf";
};

// Probe and discovery credentials written into the config: host files (probe cert/key, the
// kubelet's kubeconfig) for static pod/systemd, the pod's service account (CA, token,
// in_cluster) for the DaemonSet (present on every distribution).
struct Credentials {
  std::string ca, cert, key, tokenFile, kubeconfig;
  bool inCluster = false;
};

void requireAbsolute(const std::string& flag, const std::string& path) {
  if (path.empty() || path[0] != '/' || path.find_first_of(" \t\n\"'") != std::string::npos)
    throw BadInput(flag + ": '" + path + "': must be an absolute path without spaces or quotes");
}

void requireEndpoint(const std::string& flag, const std::string& text) {
  std::string addr = text, err;
  if (auto at = text.find('@'); at != std::string::npos && flag == "--backend") {
    addr = text.substr(0, at);
    std::string w = text.substr(at + 1);
    if (w.empty() || w.size() > 5 || w.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(w) == 0)
      throw BadInput(flag + ": '" + text + "': weight must be a positive integer");
  }
  Endpoint ep;
  if (!parseEndpoint(addr, &ep, &err)) throw BadInput(flag + ": '" + text + "': " + err);
}

void validate(const ManifestOptions& o) {
  requireEndpoint("--vip", o.vip);
  std::set<std::string> seen;
  for (const auto& b : o.backends) {
    requireEndpoint("--backend", b);
    if (!seen.insert(b).second) throw BadInput("--backend: '" + b + "': listed twice");
  }
  for (const auto& i : o.ifaces)
    if (i.empty() || i.size() > 15 || i.find_first_of(" /\t\n\"'") != std::string::npos)
      throw BadInput("--iface: '" + i + "': not an interface name");
  if (o.image.empty() || o.image.find_first_of(" \t\n\"'") != std::string::npos)
    throw BadInput("--image: '" + o.image + "': not an image reference");
  requireAbsolute("--config-path", o.configPath);
  requireAbsolute("--binary", o.binary);
  requireAbsolute("--probe-ca", o.probeCa);
  requireAbsolute("--probe-cert", o.probeCert);
  requireAbsolute("--probe-key", o.probeKey);
  requireAbsolute("--kubeconfig", o.kubeconfig);
}

std::string dirOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The `apilb run` config file; `indent` prefixes every line (ConfigMap embedding).
std::string configYaml(const ManifestOptions& o, const Credentials& c, const std::string& indent) {
  std::ostringstream s;
  s << indent << "vip: " << o.vip << "\n" << indent << "backend:\n";
  for (const auto& b : o.backends) s << indent << "  - " << b << "\n";
  if (!o.ifaces.empty()) {
    s << indent << "iface:\n";
    for (const auto& i : o.ifaces) s << indent << "  - " << i << "\n";
  }
  s << indent << "probe_type: https\n"
    << indent << "probe_path: /readyz\n"
    << indent << "probe_ca: " << c.ca << "\n";
  if (!c.cert.empty())
    s << indent << "probe_cert: " << c.cert << "\n" << indent << "probe_key: " << c.key << "\n";
  if (!c.tokenFile.empty()) s << indent << "probe_token_file: " << c.tokenFile << "\n";
  s << indent << "probe_server_name: kubernetes.default.svc\n"
    << indent << "state_dir: /run/apilb\n"
    << indent << "cleanup_on_exit: false\n";
  // Discovery: the `backend` list above is the bootstrap; the EndpointSlice replaces it.
  if (!c.kubeconfig.empty()) s << indent << "kubeconfig: " << c.kubeconfig << "\n";
  if (c.inCluster) s << indent << "in_cluster: true\n";
  s << indent << "data_dir: /var/lib/apilb\n";
  return s.str();
}

Credentials hostCredentials(const ManifestOptions& o) {
  return {o.probeCa, o.probeCert, o.probeKey, "", o.kubeconfig, false};
}

Credentials serviceAccountCredentials() {
  return {std::string(kSaDir) + "/ca.crt", "", "", std::string(kSaDir) + "/token", "", true};
}

// Who may follow the `kubernetes` EndpointSlice: the DaemonSet's service account and the
// kubelets (group system:nodes; the Node authorizer does not cover EndpointSlices), read-only,
// in namespace default only.
std::string discoveryRbac() {
  return "apiVersion: rbac.authorization.k8s.io/v1\n"
         "kind: Role\n"
         "metadata:\n"
         "  name: apilb-discovery\n"
         "  namespace: default\n"
         "  labels:\n"
         "    app.kubernetes.io/name: apilb\n"
         "rules:\n"
         "  - apiGroups: [discovery.k8s.io]\n"
         "    resources: [endpointslices]\n"
         "    verbs: [get, list, watch]\n"
         "---\n"
         "apiVersion: rbac.authorization.k8s.io/v1\n"
         "kind: RoleBinding\n"
         "metadata:\n"
         "  name: apilb-discovery\n"
         "  namespace: default\n"
         "  labels:\n"
         "    app.kubernetes.io/name: apilb\n"
         "roleRef:\n"
         "  apiGroup: rbac.authorization.k8s.io\n"
         "  kind: Role\n"
         "  name: apilb-discovery\n"
         "subjects:\n"
         "  - {kind: Group, apiGroup: rbac.authorization.k8s.io, name: \"system:nodes\"}\n"
         "  - {kind: ServiceAccount, name: apilb, namespace: kube-system}\n";
}

std::string rbacManifest() {
  return "# SPDX-License-Identifier: Apache-2.0\n"
         "# Lets apilb follow the `kubernetes` EndpointSlice (discovery): read-only, namespace\n"
         "# default, for the kubelets' identities (static pod / systemd with `kubeconfig:` the\n"
         "# kubelet's) and the DaemonSet's service account. Apply once per cluster:\n"
         "#   apilb manifest rbac --vip ... --backend ... | kubectl apply -f -\n"
         "# Generated by `apilb manifest rbac`.\n" +
         discoveryRbac();
}

std::string commandLine(const ManifestOptions& o) {
  std::string s = "apilb manifest config --vip " + o.vip;
  for (const auto& b : o.backends) s += " --backend " + b;
  for (const auto& i : o.ifaces) s += " --iface " + i;
  return s;
}

struct HostVolume {
  std::string name, path, type;
  bool readOnly;
  std::string propagation = {};  // mountPropagation, if not the default (None)
  std::string mountPath = {};    // in the container, if not the host's path
};

// The container and volumes shared by the static pod and the DaemonSet; `in` is the indent of
// the pod spec's keys.
std::string podSpec(const ManifestOptions& o, const std::string& configDir,
                    const std::vector<HostVolume>& extra, bool configMap, const std::string& in) {
  // cgroup: the host's cgroup hierarchy for socket mode (the container's own /sys/fs/cgroup is
  // its cgroup namespace's view: attaching there would serve only this container), mounted at
  // /host/sys/fs/cgroup so the runtime's mount stays as it is (HostVolume::mountPath).
  // netns: the runtimes' pins of pods' network namespaces, where socket mode with `pods: true`
  // looks for the sockets of a dead backend (bpf/netns.h); HostToContainer so that pods started
  // after the daemon appear.
  std::vector<HostVolume> vols = {
      {"bpffs", "/sys/fs/bpf", "DirectoryOrCreate", false, "Bidirectional"},
      {"state", "/run/apilb", "DirectoryOrCreate", false},
      {"data", "/var/lib/apilb", "DirectoryOrCreate", false},
      {"netns", "/run/netns", "DirectoryOrCreate", true, "HostToContainer"},
      {"cgroup", "/sys/fs/cgroup", "Directory", true, "", "/host/sys/fs/cgroup"}};
  vols.insert(vols.end(), extra.begin(), extra.end());
  std::ostringstream s;
  s << in << "hostNetwork: true\n"
    << in << "dnsPolicy: ClusterFirstWithHostNet\n"
    << in << "priorityClassName: system-node-critical\n"
    << in << "tolerations:\n"
    << in << "  - operator: Exists\n"
    << in << "terminationGracePeriodSeconds: 10\n"
    << in << "containers:\n"
    << in << "  - name: apilb\n"
    << in << "    image: " << o.image << "\n"
    << in << "    command: [\"" << kBinaryInImage << "\", \"run\", \"--config\", \""
    << configDir << "/config.yaml\"]\n"
    << in << "    securityContext:\n"
    << in << "      privileged: true\n"
    << in << "    resources:\n"
    << in << "      requests: {cpu: 10m, memory: 16Mi}\n"
    << in << "      limits: {memory: 64Mi}\n"
    << in << "    livenessProbe:\n"
    << in << "      exec:\n"
    << in << "        command: [\"" << kBinaryInImage << "\", \"status\"]\n"
    << in << "      initialDelaySeconds: 15\n"
    << in << "      periodSeconds: 10\n"
    << in << "      failureThreshold: 3\n"
    << in << "    volumeMounts:\n";
  for (const auto& v : vols) {
    s << in << "      - {name: " << v.name
      << ", mountPath: " << (v.mountPath.empty() ? v.path : v.mountPath);
    if (!v.propagation.empty()) s << ", mountPropagation: " << v.propagation;
    if (v.readOnly) s << ", readOnly: true";
    s << "}\n";
  }
  if (configMap)
    s << in << "      - {name: config, mountPath: " << configDir << ", readOnly: true}\n";
  s << in << "volumes:\n";
  for (const auto& v : vols)
    s << in << "  - {name: " << v.name << ", hostPath: {path: " << v.path << ", type: " << v.type
      << "}}\n";
  if (configMap) s << in << "  - {name: config, configMap: {name: apilb-config}}\n";
  return s.str();
}

std::string staticPod(const ManifestOptions& o) {
  std::string configDir = dirOf(o.configPath);
  std::vector<HostVolume> extra = {{"config", configDir, "Directory", true}};
  std::set<std::string> dirs = {configDir};
  for (const auto& f : {o.probeCa, o.probeCert, o.probeKey, o.kubeconfig})
    if (dirs.insert(dirOf(f)).second)
      extra.push_back({"pki" + std::to_string(dirs.size() - 1), dirOf(f), "Directory", true});
  std::ostringstream s;
  s << "# SPDX-License-Identifier: Apache-2.0\n"
    << "# apilb as a static pod, for nodes whose kubelet uses the VIP: the kubelet starts it\n"
    << "# without any apiserver. Copy to /etc/kubernetes/manifests/apilb.yaml; the image must\n"
    << "# already be on the node. Config (a host file): " << commandLine(o) << " > "
    << o.configPath << "\n"
    << "# Generated by `apilb manifest static-pod`.\n"
    << "apiVersion: v1\n"
    << "kind: Pod\n"
    << "metadata:\n"
    << "  name: apilb\n"
    << "  namespace: kube-system\n"
    << "  labels:\n"
    << "    app.kubernetes.io/name: apilb\n"
    << "spec:\n"
    << podSpec(o, configDir, extra, false, "  ");
  return s.str();
}

std::string daemonSet(const ManifestOptions& o) {
  std::ostringstream s;
  s << "# SPDX-License-Identifier: Apache-2.0\n"
    << "# apilb as a DaemonSet, ONLY for nodes whose kubelet does not use the VIP (a pod of a\n"
    << "# DaemonSet cannot be scheduled without the apiserver it would make reachable; after a\n"
    << "# reboot such a node deadlocks). For those nodes use `apilb manifest static-pod` or\n"
    << "# `apilb manifest systemd`. Probes and discovery (in_cluster) authenticate with the pod's\n"
    << "# service-account token.\n"
    << "# Generated by `apilb manifest daemonset`.\n"
    << "apiVersion: v1\n"
    << "kind: ServiceAccount\n"
    << "metadata:\n"
    << "  name: apilb\n"
    << "  namespace: kube-system\n"
    << "  labels:\n"
    << "    app.kubernetes.io/name: apilb\n"
    << "---\n"
    << discoveryRbac() << "---\n"
    << "apiVersion: v1\n"
    << "kind: ConfigMap\n"
    << "metadata:\n"
    << "  name: apilb-config\n"
    << "  namespace: kube-system\n"
    << "  labels:\n"
    << "    app.kubernetes.io/name: apilb\n"
    << "data:\n"
    << "  config.yaml: |\n"
    << configYaml(o, serviceAccountCredentials(), "    ") << "---\n"
    << "apiVersion: apps/v1\n"
    << "kind: DaemonSet\n"
    << "metadata:\n"
    << "  name: apilb\n"
    << "  namespace: kube-system\n"
    << "  labels:\n"
    << "    app.kubernetes.io/name: apilb\n"
    << "spec:\n"
    << "  selector:\n"
    << "    matchLabels:\n"
    << "      app.kubernetes.io/name: apilb\n"
    << "  updateStrategy:\n"
    << "    type: RollingUpdate\n"
    << "    rollingUpdate:\n"
    << "      maxUnavailable: 10%\n"
    << "  template:\n"
    << "    metadata:\n"
    << "      labels:\n"
    << "        app.kubernetes.io/name: apilb\n"
    << "    spec:\n"
    << "      serviceAccountName: apilb\n"
    << podSpec(o, "/etc/apilb", {}, true, "      ");
  return s.str();
}

// Runs the host binary. Hardening leaves what BPF needs: /proc/sys writable (sysctls), the
// capabilities of attach/run, /sys/fs/bpf, /run/apilb and /var/lib/apilb writable.
std::string systemdUnit(const ManifestOptions& o) {
  std::ostringstream s;
  s << "# SPDX-License-Identifier: Apache-2.0\n"
    << "# apilb as a systemd service, for nodes whose kubelet uses the VIP: started before the\n"
    << "# kubelet at every boot, no apiserver or image needed. Install the binary at " << o.binary
    << "\n# and the config: " << commandLine(o) << " > " << o.configPath << "\n"
    << "# `apilb run` mounts bpffs at /sys/fs/bpf itself if it is missing.\n"
    << "# Generated by `apilb manifest systemd`.\n"
    << "[Unit]\n"
    << "Description=apilb node-local load balancer for the Kubernetes apiserver\n"
    << "Wants=network-online.target\n"
    << "After=network-online.target\n"
    << "Before=kubelet.service\n"
    << "\n"
    << "[Service]\n"
    << "Type=simple\n"
    << "ExecStart=" << o.binary << " run --config " << o.configPath << "\n"
    << "ExecReload=/bin/kill -HUP $MAINPID\n"
    << "Restart=always\n"
    << "RestartSec=2\n"
    << "StateDirectory=apilb\n"
    << "RuntimeDirectory=apilb\n"
    << "RuntimeDirectoryPreserve=yes\n"
    << "CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN "
       "CAP_SYS_RESOURCE\n"
    << "NoNewPrivileges=yes\n"
    << "ProtectSystem=full\n"
    << "ProtectHome=yes\n"
    << "PrivateTmp=yes\n"
    << "LockPersonality=yes\n"
    << "RestrictRealtime=yes\n"
    << "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n"
    << "\n"
    << "[Install]\n"
    << "WantedBy=multi-user.target\n"
    << "RequiredBy=kubelet.service\n";
  return s.str();
}

std::string render(const ManifestOptions& o) {
  if (o.kind == "static-pod") return staticPod(o);
  if (o.kind == "daemonset") return daemonSet(o);
  if (o.kind == "systemd") return systemdUnit(o);
  if (o.kind == "rbac") return rbacManifest();
  return "# apilb run configuration. Generated by `" + commandLine(o) + "`.\n" +
         configYaml(o, hostCredentials(o), "");
}

}  // namespace

void addManifestCommand(CLI::App& app) {
  auto o = std::make_shared<ManifestOptions>();
  auto* sub = app.add_subcommand(
      "manifest", "Print a filled-in static pod, DaemonSet, systemd unit, config file or RBAC");
  sub->add_option("kind", o->kind, "static-pod, daemonset, systemd, config or rbac")
      ->required()
      ->check(CLI::IsMember({"static-pod", "daemonset", "systemd", "config", "rbac"}));
  sub->add_option("--vip", o->vip, "the node-local VIP, ip:port (e.g. 169.254.64.43:6443)")
      ->required();
  sub->add_option("--backend", o->backends, "an apiserver, ip:port[@weight] (repeat)")
      ->required();
  sub->add_option("--iface", o->ifaces, "NIC for the reverse-NAT program (repeat)");
  sub->add_option("--image", o->image, "container image")->capture_default_str();
  sub->add_option("--config-path", o->configPath, "host path of the config file")
      ->capture_default_str();
  sub->add_option("--binary", o->binary, "host path of apilb (systemd)")->capture_default_str();
  sub->add_option("--probe-ca", o->probeCa, "host CA file for probes")->capture_default_str();
  sub->add_option("--probe-cert", o->probeCert, "host client certificate for probes")
      ->capture_default_str();
  sub->add_option("--probe-key", o->probeKey, "host client key for probes")
      ->capture_default_str();
  sub->add_option("--kubeconfig", o->kubeconfig,
                  "host kubeconfig for discovery (static pod, systemd, config)")
      ->capture_default_str();
  sub->callback([o] {
    validate(*o);
    std::cout << render(*o);
  });
}

}  // namespace lb
