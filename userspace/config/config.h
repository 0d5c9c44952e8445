// SPDX-License-Identifier: Apache-2.0
// The node's intent: one model of what `apilb attach` and `apilb run` are asked to do (VIP,
// backends with weights, interfaces, ingress hook, table size, probe settings, state dir, ...),
// with ONE table of keys (name, list or scalar, default, help, which commands take it) that
// drives the YAML reader, the flags of both commands (userspace/cli/key_flags.cpp),
// --print-default-config and the key tables in docs/cli.md and docs/daemon.md (a unit test
// compares them). One parser (applySettings), one validator (validateIntent), one error
// wording: "<key>: '<value>': <reason>". YAML keys are the flag names in snake_case
// (`--probe-ca` -> `probe_ca`); flags win over the file; a repeatable flag (--backend, --iface)
// replaces the file's list. Pure functions (file readability aside, no kernel access), below
// both users: depends on lb/ only. A later key (discovery, metrics_addr, mode) is one row of
// keyDefs() in config.cpp plus its field here. Errors: bool + std::string* or a list of
// messages, never exceptions (docs/architecture.md, "Errors").
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lb/duration.h"  // parseDuration, formatDuration (config values)
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
  // Unset (timeoutSet false): follows the interval, min(1s, interval). Only a timeout the user
  // set is checked against the interval, so a default never rejects a valid interval.
  std::chrono::milliseconds timeout{1000};
  bool timeoutSet = false;
  // Timeouts alone drain; dead once they have lasted this long (refused/reset/TLS: dead at fall).
  std::chrono::milliseconds timeoutDeadAfter{10000};
  uint32_t rise = 2;  // consecutive successes to become healthy
  uint32_t fall = 2;  // consecutive failures to become draining / dead
  std::string ca = "/etc/kubernetes/pki/ca.crt";
  bool caSet = false;  // with insecure_skip_verify only a CA the user named must be readable
  std::string cert;
  std::string key;
  std::string tokenFile;
  std::string serverName;  // TLS SNI + certificate name; "" = the backend's IP
  bool insecureSkipVerify = false;
  bool operator==(const ProbeConfig&) const = default;
};

// The node's intent (historically the daemon's config; `apilb attach` uses its datapath part).
struct DaemonConfig {
  Endpoint vip;  // default 169.254.64.43:6443
  std::vector<BackendConfig> backends;
  std::vector<std::string> ifaces;  // NICs for reverse NAT (needed only to attach)
  std::string ingress = "auto";     // auto | xdp | tc
  std::string mode = "packet";      // packet | socket | both (docs/architecture.md, "Modes")
  std::string cgroup;               // socket mode's cgroup v2 dir; "" = the cgroup v2 root
  bool pods = false;                // socket mode: every netns under the cgroup
  uint32_t tableSize = LB_DEFAULT_TABLE;
  ProbeConfig probe;
  std::string stateDir = "/run/apilb";
  bool cleanupOnExit = false;
  std::string logLevel = "info";
  std::string logFormat = "text";              // text (key=value) | json
  std::string metricsAddr = "127.0.0.1:9810";  // GET /metrics and /healthz; "off" disables
  // Probe a backend at once when the datapath reports failure signals on its flows
  // (userspace/daemon/passive.h); the probe still decides.
  bool passiveDetection = true;
  // Discovery of the apiservers from the `kubernetes` EndpointSlice (daemon/discovery.h): on
  // when a kubeconfig is named or inCluster is set (never both).
  std::string kubeconfig;
  bool inCluster = false;
  std::string dataDir = "/var/lib/apilb";  // discovered.json: the last discovered set
  bool discovery() const { return !kubeconfig.empty() || inCluster; }
  DaemonConfig();
  bool operator==(const DaemonConfig&) const = default;
};

using NodeIntent = DaemonConfig;

// Smallest Maglev table: a prime above LB_MAX_BACKENDS, so every backend gets a slot.
inline constexpr uint32_t kMinTableSize = 257;
// The default VIP (link-local, node-only).
inline constexpr const char* kDefaultVip = "169.254.64.43:6443";

// Which commands take a key (bit mask).
enum KeyUse : unsigned { kUseAttach = 1, kUseRun = 2 };

// One row of the key table, as the flags, the default config and the docs see it.
struct KeyInfo {
  const char* name;         // snake_case YAML key; the flag is --name-with-dashes
  bool list;                // repeatable flag / YAML list
  bool boolean;             // a flag without value (--insecure-skip-verify)
  const char* def;          // default as YAML text
  bool derivedDefault;      // default follows other keys: shown commented out
  const char* help;         // one line
  unsigned use;             // KeyUse bits
  unsigned requiredBy = 0;  // KeyUse bits of the commands that need it set explicitly
};
const std::vector<KeyInfo>& keyTable();
// "--probe-ca" for "probe_ca".
std::string flagName(std::string_view key);
// The key table of one command as a Markdown table (docs/cli.md, docs/daemon.md).
std::string keysMarkdown(KeyUse use);

// Raw settings: snake_case key -> values as text, from YAML or from flags. Lists (backend,
// iface) may hold several values; every other key exactly one.
using RawSettings = std::map<std::string, std::vector<std::string>>;

// Every key accepted in the file, in the order of the default config.
const std::vector<std::string>& configKeys();

// Parses YAML text into raw settings. Unknown keys, non-mapping documents and lists for scalar
// keys are errors (appended to *errs as "<key>: ..."). Returns errs->empty().
bool parseConfigYaml(const std::string& text, RawSettings* out, std::vector<std::string>* errs);
// Appends "<key>: required (--flag)" for every key `use` requires that `raw` does not set.
void checkRequired(const RawSettings& raw, KeyUse use, std::vector<std::string>* errs);
// Reads and parses a file; an unreadable file is an error naming the path.
bool loadConfigFile(const std::string& path, RawSettings* out, std::vector<std::string>* errs);

// Applies raw settings over *cfg (key by key, so flags applied after the file win). Each bad
// value appends "<key>: '<value>': <reason>" to *errs.
void applySettings(const RawSettings& raw, DaemonConfig* cfg, std::vector<std::string>* errs);

// Parses "ip:port" or "ip:port@weight" ("[v6]:port@weight"). False + *err (the reason) on bad
// input; used for --backend, backend: and `apilb backend add|del`.
[[nodiscard]] bool parseBackend(std::string_view text, BackendConfig* out, std::string* err);

// Cross-field checks of the datapath part (VIP and backends present, of one family, no
// duplicates, counts, table size, interface names): what `apilb attach` needs.
void validateDatapath(const DaemonConfig& cfg, std::vector<std::string>* errs);
// validateDatapath plus the probe checks (readable CA/cert/key/token files, cert and key
// together, timeout within the interval) and the discovery keys (kubeconfig readable, not
// together with in_cluster): what `apilb run` needs. `needIfaces`: whether at least one
// interface is required. Parsing the kubeconfig itself is daemon/discovery.h's job.
void validateConfig(const DaemonConfig& cfg, bool needIfaces, std::vector<std::string>* errs);

// A complete, commented YAML config holding the defaults (what --print-default-config prints),
// generated from the key table.
std::string defaultConfigYaml();

}  // namespace lb
