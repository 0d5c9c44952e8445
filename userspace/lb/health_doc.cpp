// SPDX-License-Identifier: Apache-2.0
// health.json's JSON mapping and staleness check (see health_doc.h).
#include "lb/health_doc.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lb {

void to_json(nlohmann::json& j, const HealthDocBackend& b) {
  j = {{"address", b.address},      {"id", b.id},
       {"state", b.state},          {"since", b.since},
       {"last_probe", b.lastProbe}, {"result", b.result},
       {"latency_ms", b.latencyMs}, {"error", b.error},
       {"successes", b.successes},  {"failures", b.failures},
       {"in_table", b.inTable}};
}

void from_json(const nlohmann::json& j, HealthDocBackend& b) {
  b.address = j.at("address").get<std::string>();
  b.id = j.value("id", 0u);
  b.state = j.value("state", "");
  b.since = j.value("since", "");
  b.lastProbe = j.value("last_probe", "");
  b.result = j.value("result", "");
  b.latencyMs = j.value("latency_ms", 0.0);
  b.error = j.value("error", "");
  b.successes = j.value("successes", 0u);
  b.failures = j.value("failures", 0u);
  b.inTable = j.value("in_table", false);
}

std::string renderHealthDoc(const HealthDoc& d) {
  nlohmann::json j = {{"version", d.version},
                      {"vip", d.vip},
                      {"pid", d.pid},
                      {"pid_start", d.pidStart},
                      {"updated", d.updated},
                      {"updated_ms", d.updatedMs},
                      {"write_period_ms", d.writePeriodMs},
                      {"fail_open", d.failOpen},
                      {"table", d.table},
                      {"backends", d.backends}};
  return j.dump(1) + "\n";
}

std::optional<HealthDoc> parseHealthDoc(const std::string& text, std::string* err) {
  try {  // nlohmann reports every malformed input as an exception: none leaves this function
    auto j = nlohmann::json::parse(text);
    HealthDoc d;
    d.version = j.value("version", 0);
    if (d.version > kHealthDocVersion) {
      *err = "version " + std::to_string(d.version) + " is newer than this apilb's (" +
             std::to_string(kHealthDocVersion) + ")";
      return std::nullopt;
    }
    d.vip = j.value("vip", "");
    d.pid = j.value("pid", 0);
    d.pidStart = j.value("pid_start", uint64_t{0});
    d.updated = j.value("updated", "");
    d.updatedMs = j.value("updated_ms", int64_t{0});
    d.writePeriodMs = j.value("write_period_ms", kHealthWritePeriodMs);
    d.failOpen = j.value("fail_open", false);
    d.table = j.value("table", std::vector<std::string>{});
    d.backends = j.at("backends").get<std::vector<HealthDocBackend>>();
    return d;
  } catch (const std::exception& e) {
    *err = e.what();
    return std::nullopt;
  }
}

std::optional<HealthDoc> readHealthDoc(const std::string& path, std::string* err) {
  err->clear();
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return parseHealthDoc(ss.str(), err);
}

uint64_t processStartTime(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  size_t paren = line.rfind(')');  // comm may contain spaces and parentheses
  if (paren == std::string::npos) return 0;
  std::istringstream rest(line.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22; i++)  // fields 3.. follow the comm
    if (!(rest >> field)) return 0;
  uint64_t v = 0;
  for (char c : field) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

HealthDocState healthDocState(const HealthDoc& doc, int64_t nowMs, bool writerAlive) {
  if (!writerAlive) return HealthDocState::kWriterGone;
  int64_t limit = int64_t{kHealthStalePeriods} * doc.writePeriodMs;
  if (doc.updatedMs <= 0 || nowMs - doc.updatedMs > limit) return HealthDocState::kStale;
  return HealthDocState::kCurrent;
}

const char* healthDocStateName(HealthDocState s) {
  switch (s) {
    case HealthDocState::kCurrent:
      return "current";
    case HealthDocState::kStale:
      return "stale";
    case HealthDocState::kWriterGone:
      return "writer not running";
  }
  return "?";
}

}  // namespace lb
