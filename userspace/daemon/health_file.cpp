// SPDX-License-Identifier: Apache-2.0
// health.json rendering (the document is lb::HealthDoc, lb/health_doc.h) and atomic write.
#include "daemon/health_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "bpf/errno_code.h"
#include "bpf/unique_fd.h"
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

std::error_code writeFileAtomic(const std::string& dir, const std::string& name,
                                const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ec;
  std::string tmp = dir + "/." + name + ".tmp";
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errnoCode();
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0) {
      ec = errnoCode();
      unlink(tmp.c_str());
      return ec;
    }
    off += static_cast<size_t>(n);
  }
  fd.reset();
  if (rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) {
    ec = errnoCode();
    unlink(tmp.c_str());
    return ec;
  }
  return {};
}

}  // namespace lb
