// SPDX-License-Identifier: Apache-2.0
// Config parsing and validation for `apilb run`. One table of keys drives the YAML reader, the
// flag overrides and the default config, so a setting cannot exist in one and not the others.
#include "config/config.h"

#include <net/if.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace lb {
namespace {

using Errs = std::vector<std::string>;

constexpr uint32_t kMinTable = kMinTableSize;
constexpr unsigned kBoth = kUseAttach | kUseRun;
constexpr const char* kVipDevice = "apilb0";  // AttachConfig::vipDev's default
constexpr std::chrono::milliseconds kDefaultProbeTimeout{1000};

std::string bad(std::string_view key, std::string_view value, std::string_view why) {
  return std::string(key) + ": '" + std::string(value) + "': " + std::string(why);
}

bool parseBool(std::string_view v, bool* out) {
  if (v == "true")
    *out = true;
  else if (v == "false")
    *out = false;
  else
    return false;
  return true;
}

bool parseU32(std::string_view v, uint32_t lo, uint32_t hi, uint32_t* out) {
  if (v.empty() || v.size() > 10) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n < lo || n > hi) return false;
  *out = static_cast<uint32_t>(n);
  return true;
}

// Local primality check (trial division; n <= LB_MAX_TABLE) so config validation does not need
// the Maglev code.
bool isPrimeSize(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; d * d <= n; d++)
    if (n % d == 0) return false;
  return true;
}

std::string tableSizeRule() {
  return "must be a prime between " + std::to_string(kMinTable) + " and " +
         std::to_string(LB_MAX_TABLE);
}

bool isSafeHostName(std::string_view v) {
  if (v.empty() || v.size() > 253) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

using Setter =
    std::function<void(const std::string& key, const std::string& v, DaemonConfig*, Errs*)>;

struct KeyDef {
  KeyInfo info;
  Setter set;
};

void setProbeString(std::string ProbeConfig::*field, const std::string&, const std::string& v,
                    DaemonConfig* c, Errs*) {
  c->probe.*field = v;
}

void setProbeDuration(std::chrono::milliseconds ProbeConfig::*field, const std::string& k,
                      const std::string& v, DaemonConfig* c, Errs* e) {
  std::string err;
  if (!parseDuration(v, &(c->probe.*field), &err)) e->push_back(bad(k, v, err));
}

void setProbeCount(uint32_t ProbeConfig::*field, const std::string& k, const std::string& v,
                   DaemonConfig* c, Errs* e) {
  if (!parseU32(v, 1, 100, &(c->probe.*field)))
    e->push_back(bad(k, v, "must be an integer 1..100"));
}

void setBool(bool* field, const std::string& k, const std::string& v, Errs* e) {
  if (!parseBool(v, field)) e->push_back(bad(k, v, "must be true or false"));
}

const std::vector<KeyDef>& keyDefs() {
  using namespace std::placeholders;
  static const std::vector<KeyDef> kDefs = {
      {{"vip", false, false, "169.254.64.43:6443", false,
        "node-local VIP `ip:port` (IPv6: `[fd00::1]:6443`); not an address of this node", kBoth,
        kUseAttach},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         std::string err;
         if (!parseEndpoint(v, &c->vip, &err)) e->push_back(bad(k, v, err));
       }},
      {{"backend", true, false, "[]", false,
        "an apiserver `ip:port[@weight]` (weight 1..65535, default 1), same family as the VIP, no "
        "duplicates; repeat for each (at most 256)",
        kBoth, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         BackendConfig b;
         std::string err;
         if (!parseBackend(v, &b, &err))
           e->push_back(bad(k, v, err));
         else
           c->backends.push_back(b);
       }},
      {{"iface", true, false, "[]", false,
        "a NIC whose ingress reverse-translates replies (at most 8; not `lo`, which is always "
        "attached); default: the egress interfaces of the routes to the backends",
        kBoth, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v.empty() || v.size() >= IFNAMSIZ || v.find('/') != std::string::npos)
           e->push_back(bad(k, v, "not a valid interface name"));
         else if (v == "lo")
           e->push_back(bad(k, v, "lo is attached automatically (hairpin)"));
         else if (v == kVipDevice || v == std::string(kVipDevice) + "p")
           e->push_back(bad(k, v, "is the VIP device"));
         else
           c->ifaces.push_back(v);
       }},
      {{"ingress", false, false, "auto", false,
        "reverse NAT hook on the NICs: `auto` (per NIC: TC on a veth, next to another XDP "
        "program, or where the driver has no native XDP; native XDP elsewhere), `xdp` (native, "
        "generic XDP as fallback) or `tc` (clsact ingress)",
        kBoth, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v != "auto" && v != "xdp" && v != "tc")
           e->push_back(bad(k, v, "must be auto, xdp or tc"));
         else
           c->ingress = v;
       }},
      {{"mode", false, false, "packet", false,
        "`packet` (VIP device, tc/XDP NAT), `socket` (cgroup connect() hooks, no per-packet "
        "work) or `both` (sockets under `cgroup` at connect(), all else per packet)",
        kBoth, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v != "packet" && v != "socket" && v != "both")
           e->push_back(bad(k, v, "must be packet, socket or both"));
         else
           c->mode = v;
       }},
      {{"cgroup", false, false, R"("")", true,
        "socket mode: the cgroup v2 directory whose processes (and descendants) are translated at "
        "connect(); default: the cgroup v2 root found in /proc/mounts",
        kBoth, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v.empty() || v[0] != '/')
           e->push_back(bad(k, v, "must be an absolute path"));
         else
           c->cgroup = v;
       }},
      {{"pods", false, true, "false", false,
        "socket mode: also translate connect() from other network namespaces under the cgroup "
        "(pods); default: only the node's own namespace",
        kBoth, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setBool(&c->pods, k, v, e);
       }},
      {{"table_size", false, false, "16381", false, "Maglev table size, a prime in 257..65537",
        kBoth, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         uint32_t n = 0;
         if (!parseU32(v, kMinTable, LB_MAX_TABLE, &n) || !isPrimeSize(n))
           e->push_back(bad(k, v, tableSizeRule()));
         else
           c->tableSize = n;
       }},
      {{"probe_type", false, false, "https", false,
        "`https`: GET `probe_path`, 200 is up; `tcp`: connect only", kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v == "https")
           c->probe.type = ProbeType::kHttps;
         else if (v == "tcp")
           c->probe.type = ProbeType::kTcp;
         else
           e->push_back(bad(k, v, "must be https or tcp"));
       }},
      {{"probe_path", false, false, "/readyz", false, "HTTP path probed (starts with `/`)", kUseRun,
        0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         bool ok = !v.empty() && v[0] == '/' &&
                   std::none_of(v.begin(), v.end(), [](char ch) { return ch <= ' ' || ch == 127; });
         if (!ok)
           e->push_back(bad(k, v, "must start with '/' and contain no spaces"));
         else
           c->probe.path = v;
       }},
      {{"probe_interval", false, false, "1s", false,
        "time between probes of one backend (±10 % jitter), at least 100ms; durations: 500ms, 1s, "
        "1.5s, 2m, at most 24h",
        kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setProbeDuration(&ProbeConfig::interval, k, v, c, e);
         if (!c->probe.timeoutSet)
           c->probe.timeout = std::min(c->probe.interval, kDefaultProbeTimeout);
       }},
      {{"probe_timeout", false, false, "1s", true,
        "whole probe (connect + TLS + answer), at least 10ms; unset: min(1s, probe_interval); set: "
        "at most probe_interval",
        kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setProbeDuration(&ProbeConfig::timeout, k, v, c, e);
         c->probe.timeoutSet = true;
       }},
      {{"probe_timeout_dead_after", false, false, "10s", false,
        "a probe timeout alone only drains; dead once timeouts have lasted this long (0s: at "
        "`probe_fall` timeouts, like refused)",
        kUseRun, 0},
       std::bind(setProbeDuration, &ProbeConfig::timeoutDeadAfter, _1, _2, _3, _4)},
      {{"probe_rise", false, false, "2", false, "consecutive successes to become healthy (1..100)",
        kUseRun, 0},
       std::bind(setProbeCount, &ProbeConfig::rise, _1, _2, _3, _4)},
      {{"probe_fall", false, false, "2", false,
        "consecutive failures to become draining/dead (1..100)", kUseRun, 0},
       std::bind(setProbeCount, &ProbeConfig::fall, _1, _2, _3, _4)},
      {{"probe_ca", false, false, "/etc/kubernetes/pki/ca.crt", true,
        "CA file verifying apiserver certificates, default `/etc/kubernetes/pki/ca.crt` (required "
        "unless insecure; with insecure_skip_verify read only if set)",
        kUseRun, 0},
       [](const std::string&, const std::string& v, DaemonConfig* c, Errs*) {
         c->probe.ca = v;
         c->probe.caSet = true;
       }},
      {{"probe_cert", false, false, R"("")", false,
        "client certificate file, with `probe_key` (anonymous auth off: k3s, RKE2, CIS)", kUseRun,
        0},
       std::bind(setProbeString, &ProbeConfig::cert, _1, _2, _3, _4)},
      {{"probe_key", false, false, R"("")", false, "client key file, with `probe_cert`", kUseRun,
        0},
       std::bind(setProbeString, &ProbeConfig::key, _1, _2, _3, _4)},
      {{"probe_token_file", false, false, R"("")", false,
        "bearer token file, re-read whenever its mtime changes", kUseRun, 0},
       std::bind(setProbeString, &ProbeConfig::tokenFile, _1, _2, _3, _4)},
      {{"probe_server_name", false, false, R"("")", false,
        "name the certificate must carry, also sent as SNI; empty: the backend IP", kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (!v.empty() && !isSafeHostName(v))
           e->push_back(bad(k, v, "not a valid DNS name"));
         else
           c->probe.serverName = v;
       }},
      {{"insecure_skip_verify", false, true, "false", false,
        "no certificate verification; logged as a warning at start (never in production)", kUseRun,
        0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setBool(&c->probe.insecureSkipVerify, k, v, e);
       }},
      {{"state_dir", false, false, "/run/apilb", false,
        "where `health.json` (read by `apilb status`) is written; an absolute path", kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v.empty() || v[0] != '/')
           e->push_back(bad(k, v, "must be an absolute path"));
         else
           c->stateDir = v;
       }},
      {{"cleanup_on_exit", false, true, "false", false,
        "detach the datapath on SIGTERM/SIGINT (false: leave it forwarding)", kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setBool(&c->cleanupOnExit, k, v, e);
       }},
      {{"log_level", false, false, "info", false,
        "`debug` (every probe), `info`, `warn` or `error`", kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error")
           e->push_back(bad(k, v, "must be debug, info, warn or error"));
         else
           c->logLevel = v;
       }},
      {{"log_format", false, false, "text", false,
        "log lines as `key=value` pairs (`text`) or JSON objects (`json`)", kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v != "text" && v != "json")
           e->push_back(bad(k, v, "must be text or json"));
         else
           c->logFormat = v;
       }},
      {{"passive_detection", false, false, "true", false,
        "probe a backend at once when its flows show failure (refused SYN, ICMP unreachable, "
        "unanswered or retransmitted SYN, reset); a failed probe then decides without waiting "
        "for `probe_fall`; `false`: probes only",
        kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setBool(&c->passiveDetection, k, v, e);
       }},
      {{"metrics_addr", false, false, "127.0.0.1:9810", false,
        "serve GET /metrics (Prometheus) and GET /healthz on `ip:port`; `off` disables them; "
        "loopback unless you expose it",
        kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         Endpoint ep;
         std::string why;
         if (v != "off" && !parseEndpoint(v, &ep, &why))
           e->push_back(bad(k, v, why + " (want ip:port or off)"));
         else
           c->metricsAddr = v;
       }},
      {{"kubeconfig", false, false, R"("")", false,
        "turns discovery on: follow the `kubernetes` EndpointSlice with this kubeconfig's "
        "current context (server normally the VIP; e.g. the kubelet's "
        "`/etc/kubernetes/kubelet.conf`)",
        kUseRun, 0},
       [](const std::string&, const std::string& v, DaemonConfig* c, Errs*) { c->kubeconfig = v; }},
      {{"in_cluster", false, true, "false", false,
        "turns discovery on with the pod's service account (token and CA under "
        "/var/run/secrets/kubernetes.io/serviceaccount), through the VIP; not with `kubeconfig`",
        kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setBool(&c->inCluster, k, v, e);
       }},
      {{"data_dir", false, false, "/var/lib/apilb", false,
        "where discovery keeps `discovered.json` (the last discovered apiservers, used at the next "
        "start); must survive reboots; an absolute path",
        kUseRun, 0},
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v.empty() || v[0] != '/')
           e->push_back(bad(k, v, "must be an absolute path"));
         else
           c->dataDir = v;
       }},
  };
  return kDefs;
}

const KeyDef* findKey(std::string_view key) {
  for (const auto& d : keyDefs())
    if (key == d.info.name) return &d;
  return nullptr;
}

void readScalarOrList(const std::string& key, const YAML::Node& val, const KeyDef& def,
                      RawSettings* out, Errs* errs) {
  auto& dst = (*out)[key];
  dst.clear();
  if (val.IsNull()) {
    if (!def.info.list) dst.push_back("");
    return;
  }
  if (val.IsScalar()) {
    dst.push_back(val.Scalar());
    return;
  }
  if (val.IsSequence() && def.info.list) {
    for (const auto& item : val) {
      if (!item.IsScalar()) {
        errs->push_back(key + ": list items must be plain values");
        return;
      }
      dst.push_back(item.Scalar());
    }
    return;
  }
  errs->push_back(
      key + (def.info.list ? ": must be a value or a list of values" : ": must be a single value"));
}

bool fileReadable(const std::string& path, std::string* why) {
  if (::access(path.c_str(), R_OK) == 0) return true;
  *why = std::strerror(errno);
  return false;
}

void checkFile(const char* key, const std::string& path, Errs* errs) {
  std::string why;
  if (!path.empty() && !fileReadable(path, &why)) errs->push_back(bad(key, path, why));
}

void validateBackends(const DaemonConfig& cfg, Errs* errs) {
  if (cfg.backends.empty()) errs->push_back("backend: at least one backend is required");
  if (cfg.backends.size() > LB_MAX_BACKENDS)
    errs->push_back("backend: " + std::to_string(cfg.backends.size()) + " backends, at most " +
                    std::to_string(LB_MAX_BACKENDS));
  std::set<std::string> seen;
  for (const auto& b : cfg.backends) {
    std::string s = b.ep.str();
    if (!seen.insert(s).second) errs->push_back(bad("backend", s, "listed twice"));
    if (cfg.vip.family != 0 && b.ep.family != cfg.vip.family)
      errs->push_back(bad("backend", s, "address family differs from the VIP " + cfg.vip.str()));
    if (b.ep == cfg.vip) errs->push_back(bad("backend", s, "is the VIP itself"));
  }
}

void validateDiscoveryKeys(const DaemonConfig& cfg, Errs* errs) {
  if (!cfg.kubeconfig.empty() && cfg.inCluster)
    errs->push_back(bad("in_cluster", "true", "kubeconfig is set too; use one of them"));
  checkFile("kubeconfig", cfg.kubeconfig, errs);
}

void validateProbe(const ProbeConfig& p, Errs* errs) {
  using std::chrono::milliseconds;
  if (p.interval < milliseconds(100))
    errs->push_back(bad("probe_interval", formatDuration(p.interval), "must be at least 100ms"));
  if (p.timeout < milliseconds(10))
    errs->push_back(bad("probe_timeout", formatDuration(p.timeout), "must be at least 10ms"));
  if (p.timeoutSet && p.timeout > p.interval)
    errs->push_back(bad("probe_timeout", formatDuration(p.timeout),
                        "must not exceed probe_interval (" + formatDuration(p.interval) + ")"));
  if (p.type != ProbeType::kHttps) return;
  if (!p.insecureSkipVerify) {
    std::string why;
    if (p.ca.empty())
      errs->push_back("probe_ca: '': a CA file is required unless insecure_skip_verify: true");
    else if (!fileReadable(p.ca, &why))
      errs->push_back(
          bad("probe_ca", p.ca, why + " (set probe_ca, or insecure_skip_verify: true)"));
  } else if (p.caSet) {
    checkFile("probe_ca", p.ca, errs);
  }
  if (p.cert.empty() != p.key.empty())
    errs->push_back(p.cert.empty()
                        ? bad("probe_cert", "", "probe_key is set, probe_cert is missing")
                        : bad("probe_key", "", "probe_cert is set, probe_key is missing"));
  checkFile("probe_cert", p.cert, errs);
  checkFile("probe_key", p.key, errs);
  checkFile("probe_token_file", p.tokenFile, errs);
}

}  // namespace

DaemonConfig::DaemonConfig() {
  std::string err;
  bool ok = parseEndpoint(kDefaultVip, &vip, &err);
  (void)ok;
}

const std::vector<std::string>& configKeys() {
  static const std::vector<std::string> kKeys = [] {
    std::vector<std::string> v;
    for (const auto& d : keyDefs()) v.push_back(d.info.name);
    return v;
  }();
  return kKeys;
}

bool parseConfigYaml(const std::string& text, RawSettings* out, std::vector<std::string>* errs) {
  size_t before = errs->size();
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    errs->push_back(std::string("config: YAML syntax error: ") + e.what());
    return false;
  }
  if (root.IsNull()) return true;  // empty file: all defaults
  if (!root.IsMap()) {
    errs->push_back("config: the top level must be a mapping of settings");
    return false;
  }
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>("");
    const KeyDef* def = findKey(key);
    if (def == nullptr) {
      errs->push_back(bad("config", key, "unknown key"));
      continue;
    }
    readScalarOrList(key, kv.second, *def, out, errs);
  }
  return errs->size() == before;
}

bool loadConfigFile(const std::string& path, RawSettings* out, std::vector<std::string>* errs) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    errs->push_back(bad("config", path, "is a directory"));
    return false;
  }
  std::ifstream in(path);
  if (!in) {
    errs->push_back(bad("config", path, std::strerror(errno)));
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  size_t before = errs->size();
  parseConfigYaml(ss.str(), out, errs);
  for (size_t i = before; i < errs->size(); i++) (*errs)[i] = path + ": " + (*errs)[i];
  return errs->size() == before;
}

void applySettings(const RawSettings& raw, DaemonConfig* cfg, std::vector<std::string>* errs) {
  for (const auto& d : keyDefs()) {  // table order: deterministic error order
    auto it = raw.find(d.info.name);
    if (it == raw.end()) continue;
    if (d.info.list) {
      if (std::string_view(d.info.name) == "backend")
        cfg->backends.clear();
      else
        cfg->ifaces.clear();
    } else if (it->second.size() != 1) {
      errs->push_back(std::string(d.info.name) + ": expects exactly one value");
      continue;
    }
    for (const auto& v : it->second) d.set(d.info.name, v, cfg, errs);
  }
  for (const auto& [k, v] : raw)
    if (findKey(k) == nullptr) errs->push_back(bad("config", k, "unknown key"));
}

void validateDatapath(const DaemonConfig& cfg, std::vector<std::string>* errs) {
  if (cfg.vip.family == 0) errs->push_back("vip: a VIP is required");
  validateBackends(cfg, errs);
  if (cfg.ifaces.size() > LB_MAX_IFACES)
    errs->push_back("iface: " + std::to_string(cfg.ifaces.size()) + " interfaces, at most " +
                    std::to_string(LB_MAX_IFACES));
  std::set<std::string> seen;
  for (const auto& i : cfg.ifaces)
    if (!seen.insert(i).second) errs->push_back(bad("iface", i, "listed twice"));
  if (cfg.tableSize < kMinTable || cfg.tableSize > LB_MAX_TABLE || !isPrimeSize(cfg.tableSize))
    errs->push_back(bad("table_size", std::to_string(cfg.tableSize), tableSizeRule()));
  if (cfg.mode == "packet" && !cfg.cgroup.empty())
    errs->push_back(bad("cgroup", cfg.cgroup, "only with mode socket or both"));
  if (cfg.mode == "packet" && cfg.pods)
    errs->push_back(bad("pods", "true", "only with mode socket or both"));
}

void validateConfig(const DaemonConfig& cfg, bool needIfaces, std::vector<std::string>* errs) {
  validateDatapath(cfg, errs);
  if (needIfaces && cfg.ifaces.empty())
    errs->push_back("iface: at least one interface is required to attach the datapath");
  validateProbe(cfg.probe, errs);
  validateDiscoveryKeys(cfg, errs);
}

bool parseBackend(std::string_view v, BackendConfig* out, std::string* err) {
  BackendConfig b;
  std::string_view ep = v;
  auto at = v.rfind('@');
  if (at != std::string_view::npos) {
    uint32_t w = 0;
    if (!parseU32(v.substr(at + 1), 1, 65535, &w)) {
      *err = "weight must be an integer 1..65535";
      return false;
    }
    b.weight = static_cast<uint16_t>(w);
    ep = v.substr(0, at);
  }
  if (!parseEndpoint(ep, &b.ep, err)) return false;
  *out = b;
  return true;
}

const std::vector<KeyInfo>& keyTable() {
  static const std::vector<KeyInfo> kInfos = [] {
    std::vector<KeyInfo> v;
    for (const auto& d : keyDefs()) v.push_back(d.info);
    return v;
  }();
  return kInfos;
}

std::string flagName(std::string_view key) {
  std::string f = "--" + std::string(key);
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

void checkRequired(const RawSettings& raw, KeyUse use, std::vector<std::string>* errs) {
  for (const auto& k : keyTable())
    if ((k.requiredBy & use) && raw.count(k.name) == 0)
      errs->push_back(std::string(k.name) + ": required (" + flagName(k.name) + ")");
}
}  // namespace lb
