// SPDX-License-Identifier: Apache-2.0
// `apilb doctor`: checks of the classic apiserver-HA pitfalls, one line each with a fix.
// Each check is a small function returning Check records; runDoctor() runs them all in order.
// Checks talk to the backends (TLS, /readyz through the daemon's own Prober), the kernel
// (BPF feature probes, SOCK_DESTROY on a loopback socket pair, sysctls, MTUs) and the files the
// node uses (health.json, the kubelet's kubeconfig). They never change anything. Errors inside a
// check become a FAIL/warn record; nothing throws out of runDoctor(). Not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "cli/cert_sans.h"
#include "config/config.h"
#include "k8s/credentials.h"
#include "lb/endpoint.h"

namespace lb {

enum class CheckStatus { kOk, kWarn, kFail };
const char* checkStatusName(CheckStatus s);  // "ok" | "warn" | "FAIL"

struct Check {
  CheckStatus status;
  std::string name;    // e.g. "cert 10.0.0.11:6443"
  std::string detail;  // what was found
  std::string fix;     // one sentence ("" when ok)
};

struct DoctorInput {
  Endpoint vip;
  std::vector<Endpoint> backends;     // empty: checks that need backends are skipped with a warn
  ProbeConfig probe;                  // credentials and TLS settings, as `apilb run` uses them
  std::string pinDir;                 // attached datapath to inspect
  std::string stateDir;               // where the daemon writes health.json
  std::string kubeletKubeconfig;      // "" = do not check
  bool expectDaemon = true;           // a daemon should be running (FAIL if not) vs warn
  bool discovery = false;             // kubeconfig / in_cluster configured
  k8s::ApiCredentials discoveryCreds;  // what `apilb run` would LIST with
  std::string dataDir;                 // where discovered.json is
};

// Runs every check in order; the caller prints them.
std::vector<Check> runDoctor(const DoctorInput& in);

// Individual checks (exposed for tests).
// The certificate of each backend covers the VIP's IP (or probe.serverName): lists its SANs.
std::vector<Check> checkCertificates(const DoctorInput& in);
// /readyz (or TCP) of every backend answers 200 with the configured credentials.
std::vector<Check> checkReadyz(const DoctorInput& in);
// Kernel features: XDP and TC program types, bpf_redirect_neigh, SOCK_DESTROY (a loopback
// socket pair is destroyed for real).
std::vector<Check> checkKernel();
// Datapath attached at pinDir: attach mode per NIC, rp_filter, accept_local, VIP-device MTU vs
// NICs, counters.
std::vector<Check> checkDatapath(const DoctorInput& in);
// health.json fresh and its writer alive.
std::vector<Check> checkDaemon(const DoctorInput& in);
// The kubelet kubeconfig's server is the VIP.
std::vector<Check> checkKubeconfig(const DoctorInput& in);
// With discovery configured: one LIST of the `kubernetes` EndpointSlice with the configured
// credentials, compared with the backends in use (health.json, else the datapath), the
// configured bootstrap list and discovered.json; each difference is a warn with its fix.
std::vector<Check> checkDiscovery(const DoctorInput& in);

// Pure: what differs between the EndpointSlice's set and another set ("in use", "configured").
struct SetDiff {
  std::vector<Endpoint> onlyInSlice, onlyInOther;
};
SetDiff diffBackends(const std::vector<Endpoint>& slice, const std::vector<Endpoint>& other);

// The server URL of a kubeconfig's current context (or its only cluster); "" + *err if none.
std::string kubeconfigServer(const std::string& yamlText, std::string* err);

}  // namespace lb
