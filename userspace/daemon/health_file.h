// SPDX-License-Identifier: Apache-2.0
// health.json: the daemon's view of every backend, read by `apilb status`. Written atomically
// (temp file + rename) on every change and every few seconds. Contract:
// {"vip":"169.254.64.43:6443","pid":123,"updated":"<RFC3339>","fail_open":false,
//  "table":["1.2.3.4:6443",...],
//  "backends":[{"address":"1.2.3.4:6443","id":0,"state":"healthy|draining|dead|unknown",
//    "since":"<RFC3339>","last_probe":"<RFC3339>"|"","result":"200|503|refused|timeout|tls: ...",
//    "latency_ms":1.2,"error":"","successes":3,"failures":0,"in_table":true}]}
#pragma once

#include <string>
#include <system_error>
#include <vector>

#include "daemon/health.h"
#include "lb/timefmt.h"

namespace lb {

struct HealthEntry {
  std::string address;
  uint32_t id;
  BackendHealth health;
  bool inTable;
};


// Renders the document (pure).
std::string renderHealthJson(const std::string& vip, int pid, bool failOpen,
                             const std::vector<std::string>& table,
                             const std::vector<HealthEntry>& backends, WallTime now);

// Writes `text` to dir/health.json atomically (mkdir -p dir first).
[[nodiscard]] std::error_code writeFileAtomic(const std::string& dir, const std::string& name,
                                              const std::string& text);

}  // namespace lb
