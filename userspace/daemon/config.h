// SPDX-License-Identifier: Apache-2.0
// Configuration of `apilb run`: the settings, their defaults, the YAML file (yaml-cpp) and the
// flag overrides, and validation. YAML keys are the flag names in snake_case (`--probe-ca` ->
// `probe_ca`); flags win over the file; a repeatable flag (--backend, --iface) replaces the
// file's list. Every error names the field and the bad value: "probe_interval: '5x': ...".
// Pure functions (no kernel access) so the whole configuration is checked before the daemon
// touches anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lb/endpoint.h"

namespace lb {

enum class ProbeType { kHttps, kTcp };

struct BackendConfig {
  Endpoint ep;          // apiserver address
  uint16_t weight = 1;  // Maglev weight ("ip:port@weight")
  bool operator==(const BackendConfig&) const = default;
};

struct ProbeConfig {
  ProbeType type = ProbeType::kHttps;
  std::string path = "/readyz";
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{1000};
  uint32_t rise = 2;  // consecutive successes to become healthy
  uint32_t fall = 2;  // consecutive failures to become draining / dead
  // Consecutive timeouts drain; they mean dead only after this long (from the first one).
  std::chrono::milliseconds timeoutDeadAfter{10000};
  std::string ca = "/etc/kubernetes/pki/ca.crt";
  std::string cert;
  std::string key;
  std::string tokenFile;
  std::string serverName;  // TLS SNI + certificate name; "" = the backend's IP
  bool insecureSkipVerify = false;
  bool operator==(const ProbeConfig&) const = default;
};

struct DaemonConfig {
  Endpoint vip;  // default 169.254.64.43:6443
  std::vector<BackendConfig> backends;
  std::vector<std::string> ifaces;  // NICs for reverse NAT (needed only to attach)
  std::string ingress = "xdp";      // xdp | tc
  uint32_t tableSize = LB_DEFAULT_TABLE;
  ProbeConfig probe;
  std::string stateDir = "/run/apilb";
  bool cleanupOnExit = false;
  std::string logLevel = "info";
  DaemonConfig();
  bool operator==(const DaemonConfig&) const = default;
};

// Raw settings: snake_case key -> values as text, from YAML or from flags. Lists (backend,
// iface) may hold several values; every other key exactly one.
using RawSettings = std::map<std::string, std::vector<std::string>>;

// Every key accepted in the file, in the order of the default config.
const std::vector<std::string>& configKeys();

// Parses YAML text into raw settings. Unknown keys, non-mapping documents and lists for scalar
// keys are errors (appended to *errs as "<key>: ..."). Returns errs->empty().
bool parseConfigYaml(const std::string& text, RawSettings* out, std::vector<std::string>* errs);
// Reads and parses a file; an unreadable file is an error naming the path.
bool loadConfigFile(const std::string& path, RawSettings* out, std::vector<std::string>* errs);

// Applies raw settings over *cfg (key by key, so flags applied after the file win). Each bad
// value appends "<key>: '<value>': <reason>" to *errs.
void applySettings(const RawSettings& raw, DaemonConfig* cfg, std::vector<std::string>* errs);

// Cross-field and file checks of a complete config (VIP and backends present and of one
// family, no duplicates, readable CA/cert/key/token files, cert and key together, ...).
// `needIfaces`: whether at least one interface is required (the datapath must be attached).
void validateConfig(const DaemonConfig& cfg, bool needIfaces, std::vector<std::string>* errs);

// "500ms", "1s", "1.5s", "2m", "1h" -> milliseconds. Rejects a missing unit, negatives and junk.
bool parseDuration(std::string_view text, std::chrono::milliseconds* out, std::string* err);
std::string formatDuration(std::chrono::milliseconds d);

// A complete, commented YAML config holding the defaults (what --print-default-config prints).
std::string defaultConfigYaml();

}  // namespace lb
