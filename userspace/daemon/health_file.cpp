// SPDX-License-Identifier: Apache-2.0
// health.json rendering (the document is lb::HealthDoc, lb/health_doc.h).
#include "daemon/health_file.h"

#include <cmath>

#include "lb/timefmt.h"

namespace lb {

std::string renderHealthJson(const std::string& vip, int pid, bool failOpen,
                             const std::vector<std::string>& table,
                             const std::vector<HealthEntry>& backends, WallTime now) {
  HealthDoc doc;
  doc.vip = vip;
  doc.pid = pid;
  doc.pidStart = processStartTime(pid);
  doc.updated = rfc3339(now);
  doc.updatedMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  doc.failOpen = failOpen;
  doc.table = table;
  for (const auto& b : backends) {
    const BackendHealth& h = b.health;
    doc.backends.push_back({b.address, b.id, healthStateName(h.state), rfc3339(h.since),
                            h.lastProbe ? rfc3339(*h.lastProbe) : "", h.result,
                            std::round(h.latencyMs * 1000.0) / 1000.0, h.error, h.successes,
                            h.failures, b.inTable});
  }
  return renderHealthDoc(doc);
}

}  // namespace lb
