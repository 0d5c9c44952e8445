// SPDX-License-Identifier: Apache-2.0
// Config parsing and validation for `apilb run`. One table of keys drives the YAML reader, the
// flag overrides and the default config, so a setting cannot exist in one and not the others.
#include "daemon/config.h"

#include <net/if.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "daemon/log.h"

namespace lb {
namespace {

using Errs = std::vector<std::string>;

// Smallest table `apilb attach` accepts (a prime above LB_MAX_BACKENDS, see bpf/attach.h).
constexpr uint32_t kMinTable = 257;

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

// Local primality check (trial division; n <= LB_MAX_TABLE) so config validation does not need
// the Maglev code.
bool isPrimeSize(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; d * d <= n; d++)
    if (n % d == 0) return false;
  return true;
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
  const char* key;
  bool list;
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
      {"vip", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         std::string err;
         if (!parseEndpoint(v, &c->vip, &err)) e->push_back(bad(k, v, err));
       }},
      {"backend", true,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         BackendConfig b;
         std::string err;
         if (!parseBackend(v, &b, &err))
           e->push_back(bad(k, v, err));
         else
           c->backends.push_back(b);
       }},
      {"iface", true,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v.empty() || v.size() >= IFNAMSIZ || v.find('/') != std::string::npos)
           e->push_back(bad(k, v, "not a valid interface name"));
         else
           c->ifaces.push_back(v);
       }},
      {"ingress", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v != "xdp" && v != "tc")
           e->push_back(bad(k, v, "must be xdp or tc"));
         else
           c->ingress = v;
       }},
      {"table_size", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         uint32_t n = 0;
         if (!parseU32(v, kMinTable, LB_MAX_TABLE, &n) || !isPrimeSize(n))
           e->push_back(bad(k, v,
                            "must be a prime between " + std::to_string(kMinTable) + " and " +
                                std::to_string(LB_MAX_TABLE)));
         else
           c->tableSize = n;
       }},
      {"probe_type", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v == "https")
           c->probe.type = ProbeType::kHttps;
         else if (v == "tcp")
           c->probe.type = ProbeType::kTcp;
         else
           e->push_back(bad(k, v, "must be https or tcp"));
       }},
      {"probe_path", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         bool ok = !v.empty() && v[0] == '/' &&
                   std::none_of(v.begin(), v.end(), [](char ch) { return ch <= ' ' || ch == 127; });
         if (!ok)
           e->push_back(bad(k, v, "must start with '/' and contain no spaces"));
         else
           c->probe.path = v;
       }},
      {"probe_interval", false,
       std::bind(setProbeDuration, &ProbeConfig::interval, _1, _2, _3, _4)},
      {"probe_timeout", false, std::bind(setProbeDuration, &ProbeConfig::timeout, _1, _2, _3, _4)},
      {"probe_timeout_dead_after", false,
       std::bind(setProbeDuration, &ProbeConfig::timeoutDeadAfter, _1, _2, _3, _4)},
      {"probe_rise", false, std::bind(setProbeCount, &ProbeConfig::rise, _1, _2, _3, _4)},
      {"probe_fall", false, std::bind(setProbeCount, &ProbeConfig::fall, _1, _2, _3, _4)},
      {"probe_ca", false, std::bind(setProbeString, &ProbeConfig::ca, _1, _2, _3, _4)},
      {"probe_cert", false, std::bind(setProbeString, &ProbeConfig::cert, _1, _2, _3, _4)},
      {"probe_key", false, std::bind(setProbeString, &ProbeConfig::key, _1, _2, _3, _4)},
      {"probe_token_file", false,
       std::bind(setProbeString, &ProbeConfig::tokenFile, _1, _2, _3, _4)},
      {"probe_server_name", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (!v.empty() && !isSafeHostName(v))
           e->push_back(bad(k, v, "not a valid DNS name"));
         else
           c->probe.serverName = v;
       }},
      {"insecure_skip_verify", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setBool(&c->probe.insecureSkipVerify, k, v, e);
       }},
      {"state_dir", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         if (v.empty() || v[0] != '/')
           e->push_back(bad(k, v, "must be an absolute path"));
         else
           c->stateDir = v;
       }},
      {"cleanup_on_exit", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         setBool(&c->cleanupOnExit, k, v, e);
       }},
      {"log_level", false,
       [](const std::string& k, const std::string& v, DaemonConfig* c, Errs* e) {
         log::Level l;
         if (!log::parseLevel(v, &l))
           e->push_back(bad(k, v, "must be debug, info, warn or error"));
         else
           c->logLevel = v;
       }},
  };
  return kDefs;
}

const KeyDef* findKey(std::string_view key) {
  for (const auto& d : keyDefs())
    if (key == d.key) return &d;
  return nullptr;
}

void readScalarOrList(const std::string& key, const YAML::Node& val, const KeyDef& def,
                      RawSettings* out, Errs* errs) {
  auto& dst = (*out)[key];
  dst.clear();
  if (val.IsNull()) {
    if (!def.list) dst.push_back("");
    return;
  }
  if (val.IsScalar()) {
    dst.push_back(val.Scalar());
    return;
  }
  if (val.IsSequence() && def.list) {
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
      key + (def.list ? ": must be a value or a list of values" : ": must be a single value"));
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

void validateProbe(const ProbeConfig& p, Errs* errs) {
  using std::chrono::milliseconds;
  if (p.interval < milliseconds(100))
    errs->push_back(bad("probe_interval", formatDuration(p.interval), "must be at least 100ms"));
  if (p.timeout < milliseconds(10))
    errs->push_back(bad("probe_timeout", formatDuration(p.timeout), "must be at least 10ms"));
  if (p.timeout > p.interval)
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
  } else {
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
  bool ok = parseEndpoint("169.254.64.43:6443", &vip, &err);
  (void)ok;
}

const std::vector<std::string>& configKeys() {
  static const std::vector<std::string> kKeys = [] {
    std::vector<std::string> v;
    for (const auto& d : keyDefs()) v.push_back(d.key);
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
    auto it = raw.find(d.key);
    if (it == raw.end()) continue;
    if (d.list) {
      if (std::string_view(d.key) == "backend")
        cfg->backends.clear();
      else
        cfg->ifaces.clear();
    } else if (it->second.size() != 1) {
      errs->push_back(std::string(d.key) + ": expects exactly one value");
      continue;
    }
    for (const auto& v : it->second) d.set(d.key, v, cfg, errs);
  }
  for (const auto& [k, v] : raw)
    if (findKey(k) == nullptr) errs->push_back(bad("config", k, "unknown key"));
}

void validateConfig(const DaemonConfig& cfg, bool needIfaces, std::vector<std::string>* errs) {
  if (cfg.vip.family == 0) errs->push_back("vip: a VIP is required");
  validateBackends(cfg, errs);
  if (needIfaces && cfg.ifaces.empty())
    errs->push_back("iface: at least one interface is required to attach the datapath");
  if (cfg.ifaces.size() > LB_MAX_IFACES)
    errs->push_back("iface: at most " + std::to_string(LB_MAX_IFACES) + " interfaces");
  std::set<std::string> seen;
  for (const auto& i : cfg.ifaces)
    if (!seen.insert(i).second) errs->push_back(bad("iface", i, "listed twice"));
  validateProbe(cfg.probe, errs);
}

bool parseDuration(std::string_view text, std::chrono::milliseconds* out, std::string* err) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    i++;
  std::string num(text.substr(0, i));
  std::string_view unit = text.substr(i);
  double mult = 0;
  if (unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = 1000;
  else if (unit == "m")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  if (num.empty() || std::count(num.begin(), num.end(), '.') > 1 || num == "." || mult == 0) {
    *err = "not a duration (use e.g. 500ms, 1s, 1.5s, 2m)";
    return false;
  }
  double v = std::stod(num) * mult;
  if (v > 24.0 * 3'600'000) {
    *err = "too long (at most 24h)";
    return false;
  }
  *out = std::chrono::milliseconds(static_cast<int64_t>(std::llround(v)));
  return true;
}

std::string formatDuration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace lb
