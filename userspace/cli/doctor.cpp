// SPDX-License-Identifier: Apache-2.0
// `apilb doctor` checks (see doctor.h).
#include "cli/doctor.h"
#include "cli/doctor_check.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bpf/attach.h"
#include "bpf/datapath.h"
#include "bpf/unique_fd.h"
#include "daemon/datapath_port.h"
#include "daemon/prober.h"
#include "k8s/discovered_store.h"
#include "k8s/slice_watcher.h"
#include "lb/health_doc.h"

namespace lb {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}

}  // namespace

const char* checkStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "FAIL";
  }
  return "?";
}

std::string kubeconfigServer(const std::string& text, std::string* err) {
  try {
    YAML::Node doc = YAML::Load(text);
    std::string cluster;
    std::string ctx = doc["current-context"] ? doc["current-context"].as<std::string>() : "";
    if (doc["contexts"] && doc["contexts"].IsSequence())
      for (const auto& c : doc["contexts"])
        if (c["name"] && c["name"].as<std::string>() == ctx && c["context"]["cluster"])
          cluster = c["context"]["cluster"].as<std::string>();
    if (!doc["clusters"] || !doc["clusters"].IsSequence() || doc["clusters"].size() == 0) {
      *err = "no clusters";
      return "";
    }
    for (const auto& c : doc["clusters"])
      if ((cluster.empty() && doc["clusters"].size() == 1) ||
          (c["name"] && c["name"].as<std::string>() == cluster))
        if (c["cluster"]["server"]) return c["cluster"]["server"].as<std::string>();
    *err = cluster.empty() ? "no current-context and more than one cluster"
                           : "cluster '" + cluster + "' of the current context has no server";
  } catch (const YAML::Exception& e) {
    *err = std::string("not YAML: ") + e.what();
  }
  return "";
}

std::vector<Check> checkCertificates(const DoctorInput& in) {
  std::vector<Check> out;
  if (in.probe.type != ProbeType::kHttps) return out;
  for (const auto& b : in.backends) {
    std::string name = "cert " + b.str(), err;
    Sans s;
    if (!fetchSans(in.probe, b, &s, &err)) {
      out.push_back(fail(name, "no certificate: " + err,
                         "make sure an apiserver serves TLS at " + b.str() + " (see readyz)"));
      continue;
    }
    std::string have = "SANs: IP " + join(s.ips) + "; DNS " + join(s.dns);
    bool byIp = sansCoverIp(s, in.vip);
    bool byName = !in.probe.serverName.empty() && sansCoverName(s, in.probe.serverName);
    if (byIp || byName) {
      out.push_back(ok(name, "covers " + (byIp ? in.vip.addrStr() : in.probe.serverName) +
                                 " (" + have + ")"));
      continue;
    }
    out.push_back(fail(name,
                       "does not cover the VIP " + in.vip.addrStr() +
                           (in.probe.serverName.empty() ? "" : " nor " + in.probe.serverName) +
                           " (" + have + ")",
                       "add " + in.vip.addrStr() +
                           " to the apiserver certificate: kubeadm apiServer.certSANs, "
                           "k3s/RKE2 --tls-san; clients of the VIP fail TLS until then"));
  }
  return out;
}

std::vector<Check> checkReadyz(const DoctorInput& in) {
  std::vector<Check> out;
  if (in.backends.empty()) {
    out.push_back(warn("backends", "no backend configured or attached", "pass --backend or --config"));
    return out;
  }
  std::vector<ProbeResult> results(in.backends.size());
  std::vector<bool> done(in.backends.size(), false);
  try {
    Prober prober(in.probe, in.backends);
    auto deadline = std::chrono::steady_clock::now() + in.probe.timeout * 2 + std::chrono::seconds(1);
    size_t left = in.backends.size();
    while (left > 0 && std::chrono::steady_clock::now() < deadline) {
      prober.drive([&](size_t i, const ProbeResult& r) {
        if (i < done.size() && !done[i]) {
          done[i] = true;
          results[i] = r;
          left--;
        }
        return false;
      });
      bool unused = false;
      prober.wait(50, -1, &unused);
    }
  } catch (const std::exception& e) {
    out.push_back(fail("readyz", e.what(), "check the probe settings"));
    return out;
  }
  std::string what = in.probe.type == ProbeType::kTcp ? "tcp" : in.probe.path;
  for (size_t i = 0; i < in.backends.size(); i++) {
    std::string name = "readyz " + in.backends[i].str();
    const ProbeResult& r = results[i];
    if (!done[i]) {
      out.push_back(fail(name, "no answer", "check that the address is reachable"));
    } else if (r.outcome == ProbeOutcome::kOk) {
      out.push_back(ok(name, what + " answered " + r.result));
    } else if (r.result == kProbeCredentials) {  // 401/403; r.error starts "HTTP 401"
      bool hasCred = !in.probe.cert.empty() || !in.probe.tokenFile.empty();
      std::string status = r.error.substr(5, 3);
      out.push_back(fail(name, what + " answered " + status + " (credentials)" + (hasCred ? " with the configured credentials" : " to an anonymous request"),
                         hasCred ? "the credential is not accepted: any authenticated identity may read /readyz (system:public-info-viewer); check the certificate's CA / the token"
                                 : "anonymous auth is off (k3s, RKE2, CIS): set probe_cert/probe_key to the kubelet's client certificate, or probe_token_file to a service-account token"));
    } else if (r.result == "refused") {
      out.push_back(fail(name, "connection refused: nobody listens at " + in.backends[i].str(),
                         "check the apiserver's --advertise-address/--secure-port against this address"));
    } else {
      out.push_back(fail(name, what + ": " + r.result + (r.error.empty() ? "" : " (" + r.error + ")"),
                         "check the apiserver and the network path to it"));
    }
  }
  return out;
}

std::vector<Check> checkDaemon(const DoctorInput& in) {
  std::vector<Check> out;
  std::string path = in.stateDir + "/health.json";
  std::ifstream f(path);
  auto missing = [&](std::string detail) {
    if (in.expectDaemon)
      out.push_back(fail("daemon", detail, "start `apilb run` (static pod or systemd unit: docs/kubernetes.md)"));
    else
      out.push_back(warn("daemon", detail, "without `apilb run` nothing health-checks the backends"));
  };
  if (!f) {
    missing("no " + path + ": the daemon is not running");
    return out;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) {
    missing(path + " is not a health document");
    return out;
  }
  int pid = j["pid"].get<int>();
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
    missing(path + " was written by pid " + std::to_string(pid) + ", which is gone: stale");
    return out;
  }
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  if (name != "apilb") {
    missing("pid " + std::to_string(pid) + " of " + path + " is '" + name + "', not apilb: stale");
    return out;
  }
  out.push_back(ok("daemon", "apilb run is alive (pid " + std::to_string(pid) + ", " + path + ")"));
  return out;
}

std::vector<Check> checkKubeconfig(const DoctorInput& in) {
  std::vector<Check> out;
  if (in.kubeletKubeconfig.empty()) return out;
  std::string name = "kubelet kubeconfig";
  std::ifstream f(in.kubeletKubeconfig);
  if (!f) {
    out.push_back(warn(name, in.kubeletKubeconfig + " not found",
                       "pass --kubelet-kubeconfig PATH (k3s/RKE2 keep it under their data dir)"));
    return out;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string err, server = kubeconfigServer(ss.str(), &err);
  if (server.empty()) {
    out.push_back(fail(name, in.kubeletKubeconfig + ": " + err, "fix the kubeconfig"));
    return out;
  }
  std::string want = "https://" + (in.vip.family == LB_AF_INET6 ? "[" + in.vip.addrStr() + "]" : in.vip.addrStr()) +
                     ":" + std::to_string(in.vip.port);
  if (server == want || server == want + "/")
    out.push_back(ok(name, in.kubeletKubeconfig + " points at the VIP " + want));
  else
    out.push_back(fail(name, in.kubeletKubeconfig + " points at " + server + ", not the VIP " + want,
                       "set the cluster's server to " + want + " and restart the kubelet"));
  return out;
}

SetDiff diffBackends(const std::vector<Endpoint>& slice, const std::vector<Endpoint>& other) {
  auto has = [](const std::vector<Endpoint>& v, const Endpoint& e) {
    return std::find(v.begin(), v.end(), e) != v.end();
  };
  SetDiff d;
  for (const auto& e : slice)
    if (!has(other, e) && !has(d.onlyInSlice, e)) d.onlyInSlice.push_back(e);
  for (const auto& e : other)
    if (!has(slice, e) && !has(d.onlyInOther, e)) d.onlyInOther.push_back(e);
  return d;
}

namespace {

std::string endpointList(const std::vector<Endpoint>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ", ") + e.str();
  return s.empty() ? "none" : s;
}

// One LIST through a SliceWatcher (its first event), within `timeout`.
bool listSlice(const k8s::ApiCredentials& creds, std::chrono::milliseconds timeout,
               k8s::DiscoveryEvent* out) {
  k8s::WatchOptions o;
  o.creds = creds;
  o.connectTimeout = std::min(timeout, o.connectTimeout);
  o.listTimeout = timeout;
  k8s::SliceWatcher w(std::move(o));
  w.start();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{w.fd(), POLLIN, 0};
    poll(&p, 1, 100);
    for (auto& ev : w.take()) {
      if (ev.kind == k8s::DiscoveryEvent::Kind::kWatchError &&
          ev.problem == k8s::DiscoveryEvent::Problem::kProtocol)
        continue;  // one bad slice: the LIST result follows
      *out = std::move(ev);
      return true;
    }
  }
  return false;
}

// The backends the daemon uses now: health.json's, else the attached datapath's.
std::vector<Endpoint> backendsInUse(const DoctorInput& in, std::string* source) {
  std::vector<Endpoint> v;
  std::string err;
  auto doc = readHealthDoc(in.stateDir + "/health.json", &err);
  if (doc && processStartTime(doc->pid) == doc->pidStart && doc->pidStart != 0) {
    for (const auto& b : doc->backends) {
      Endpoint e;
      std::string why;
      if (b.id != LB_NO_BACKEND && parseEndpoint(b.address, &e, &why)) v.push_back(e);
    }
    *source = "in use by apilb run (health.json)";
    return v;
  }
  if (isAttached(in.pinDir)) {
    Datapath dp = Datapath::open(in.pinDir);
    for (const auto& b : dp.backends()) v.push_back(b.endpoint());
    *source = "in the attached datapath";
  }
  return v;
}

}  // namespace

std::vector<Check> checkDiscovery(const DoctorInput& in) {
  std::vector<Check> out;
  if (!in.discovery) return out;
  const std::string name = "discovery";
  k8s::DiscoveryEvent ev;
  if (!listSlice(in.discoveryCreds, std::chrono::seconds(10), &ev)) {
    out.push_back(fail(name, "no answer from " + in.discoveryCreds.server + " within 10 s",
                       "the kubeconfig's server must be reachable from this node (normally the "
                       "VIP, served by the bootstrap `backend` list)"));
    return out;
  }
  if (ev.kind == k8s::DiscoveryEvent::Kind::kWatchError) {
    bool creds = ev.problem == k8s::DiscoveryEvent::Problem::kCredentials;
    out.push_back(fail(name,
                       std::string("LIST of the kubernetes EndpointSlice at ") +
                           in.discoveryCreds.server + " failed: " + k8s::problemName(ev.problem) +
                           ": " + ev.reason,
                       creds ? "let this identity read EndpointSlices in namespace default: "
                               "`apilb manifest rbac ... | kubectl apply -f -`"
                             : "check the kubeconfig's server and CA"));
    return out;
  }
  std::vector<Endpoint> slice;  // the VIP's family only, as `apilb run` uses it
  for (const auto& e : ev.backends)
    if (e.family == in.vip.family && !(e == in.vip)) slice.push_back(e);
  out.push_back(ok(name, "the kubernetes EndpointSlice lists " + std::to_string(slice.size()) +
                             " ready apiservers: " + endpointList(slice)));
  if (slice.empty())
    out.push_back(warn(name, "no ready apiserver of the VIP's family in the EndpointSlice",
                       "apilb keeps the backends it has; check `kubectl get endpointslices -n "
                       "default -l kubernetes.io/service-name=kubernetes`"));
  std::string source;
  std::vector<Endpoint> used = backendsInUse(in, &source);
  if (!source.empty()) {
    SetDiff d = diffBackends(slice, used);
    if (d.onlyInSlice.empty() && d.onlyInOther.empty())
      out.push_back(ok(name + " in use", "the backends " + source + " match the EndpointSlice"));
    if (!d.onlyInSlice.empty())
      out.push_back(
          warn(name + " in use",
               "in the EndpointSlice but not " + source + ": " + endpointList(d.onlyInSlice),
               "is `apilb run` running with kubeconfig/in_cluster? It adds them "
               "(after probe_rise successes) within seconds"));
    if (!d.onlyInOther.empty())
      out.push_back(warn(name + " in use",
                         source + " but not in the EndpointSlice: " + endpointList(d.onlyInOther),
                         "with discovery on, `apilb run` drains and removes them; a dead one "
                         "there means the slice lists an address that does not serve"));
  }
  SetDiff cfg = diffBackends(slice, in.backends);
  if (!cfg.onlyInOther.empty())
    out.push_back(warn(
        name + " bootstrap",
        "configured `backend` entries not in the EndpointSlice: " + endpointList(cfg.onlyInOther),
        "the static list only bootstraps discovery; keep it to addresses that "
        "serve (an outdated one only costs a dead probe until the first LIST)"));
  k8s::DiscoveredSet saved;
  std::string why = k8s::loadDiscovered(in.dataDir, &saved);
  if (!why.empty()) {
    out.push_back(warn(name + " persisted", why,
                       "written by `apilb run` after its first LIST; data_dir must be writable "
                       "and survive reboots"));
  } else {
    SetDiff p = diffBackends(slice, saved.backends);
    if (p.onlyInSlice.empty() && p.onlyInOther.empty())
      out.push_back(ok(name + " persisted", in.dataDir + "/discovered.json matches the slice"));
    else
      out.push_back(warn(name + " persisted",
                         in.dataDir + "/discovered.json differs: not saved " +
                             endpointList(p.onlyInSlice) + "; saved but gone " +
                             endpointList(p.onlyInOther),
                         "`apilb run` rewrites it on the next change it sees; a daemon without "
                         "discovery never does"));
  }
  return out;
}

std::vector<Check> runDoctor(const DoctorInput& in) {
  std::vector<Check> all = checkKernel();
  for (auto* fn : {checkDatapath, checkDaemon, checkReadyz, checkCertificates, checkKubeconfig,
                   checkDiscovery}) {
    auto v = fn(in);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

}  // namespace lb
