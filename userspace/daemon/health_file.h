// SPDX-License-Identifier: Apache-2.0
// Writing health.json (the document and its JSON mapping are lb::HealthDoc in lb/health_doc.h,
// shared with the reader `apilb status`). Written atomically (temp file + rename) on every
// change and every kHealthWritePeriodMs.
#pragma once

#include <string>
#include <system_error>
#include <vector>

#include "daemon/health.h"
#include "lb/timefmt.h"
#include "lb/health_doc.h"

namespace lb {

// The daemon's view of one backend, rendered into a HealthDocBackend.
struct HealthEntry {
  std::string address;
  uint32_t id;
  BackendHealth health;
  bool inTable;
};


// Renders the document (pure but for reading the writer's start time from /proc).
std::string renderHealthJson(const std::string& vip, int pid, bool failOpen,
                             const std::vector<std::string>& table,
                             const std::vector<HealthEntry>& backends, WallTime now);

// Writes `text` to dir/health.json atomically (mkdir -p dir first).
[[nodiscard]] std::error_code writeFileAtomic(const std::string& dir, const std::string& name,
                                              const std::string& text);

}  // namespace lb
