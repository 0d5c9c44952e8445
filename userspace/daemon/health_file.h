// SPDX-License-Identifier: Apache-2.0
// Writing health.json (the document and its JSON mapping are lb::HealthDoc in lb/health_doc.h,
// shared with the reader `apilb status`). Written atomically (temp file + rename) on every
// change and every kHealthWritePeriodMs with lb::writeFileAtomic (lb/atomic_file.h).
#pragma once

#include <string>
#include <system_error>
#include <vector>

#include "daemon/health.h"
#include "lb/atomic_file.h"  // writeFileAtomic: how health.json is written
#include "lb/health_doc.h"
#include "lb/timefmt.h"

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

}  // namespace lb
