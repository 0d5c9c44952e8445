// SPDX-License-Identifier: Apache-2.0
// discovered.json: render, atomic save, tolerant load (see discovered_store.h).
#include "k8s/discovered_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lb::k8s {
namespace {

namespace fs = std::filesystem;

std::string rfc3339(std::chrono::system_clock::time_point t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string sysErr(const std::string& what) { return what + ": " + std::strerror(errno); }

bool writeAll(int fd, const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string renderDiscovered(const DiscoveredSet& set) {
  nlohmann::json doc;
  doc["version"] = kDiscoveredVersion;
  doc["saved"] = rfc3339(set.saved);
  doc["saved_unix"] =
      std::chrono::duration_cast<std::chrono::seconds>(set.saved.time_since_epoch()).count();
  doc["server"] = set.server;
  doc["backends"] = nlohmann::json::array();
  for (const auto& b : set.backends) doc["backends"].push_back(b.str());
  return doc.dump(1) + "\n";
}

std::string saveDiscovered(const std::string& dataDir, const DiscoveredSet& set) {
  std::error_code ec;
  fs::create_directories(dataDir, ec);
  if (ec) return "data dir " + dataDir + ": " + ec.message();
  const std::string path = (fs::path(dataDir) / kDiscoveredFile).string();
  std::string tmp = path + ".XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) return sysErr(tmp);
  std::string err;
  if (fchmod(fd, 0644) != 0 || !writeAll(fd, renderDiscovered(set)) || fsync(fd) != 0)
    err = sysErr(tmp);
  if (close(fd) != 0 && err.empty()) err = sysErr(tmp);
  if (err.empty() && rename(tmp.c_str(), path.c_str()) != 0) err = sysErr(path);
  if (!err.empty()) {
    unlink(tmp.c_str());
    return err;
  }
  int dfd = open(dataDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // make the rename itself durable across a power cut
    fsync(dfd);
    close(dfd);
  }
  return "";
}

std::string loadDiscovered(const std::string& dataDir, DiscoveredSet* out) {
  const std::string path = (fs::path(dataDir) / kDiscoveredFile).string();
  std::ifstream in(path);
  if (!in) return path + ": " + std::strerror(errno);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return path + ": not JSON";
  auto v = doc.find("version");
  if (v == doc.end() || !v->is_number_integer()) return path + ": version: missing";
  if (v->get<int64_t>() != kDiscoveredVersion)
    return path + ": version " + std::to_string(v->get<int64_t>()) + ", expected " +
           std::to_string(kDiscoveredVersion);
  auto backends = doc.find("backends");
  if (backends == doc.end() || !backends->is_array()) return path + ": backends: missing";
  DiscoveredSet set;
  for (size_t i = 0; i < backends->size(); i++) {
    const auto& b = (*backends)[i];
    Endpoint ep;
    std::string perr;
    if (!b.is_string() || !parseEndpoint(b.get<std::string>(), &ep, &perr))
      return path + ": backends[" + std::to_string(i) + "]: " +
             (b.is_string() ? perr : "not a string");
    set.backends.push_back(ep);
  }
  auto unix = doc.find("saved_unix");
  if (unix != doc.end() && unix->is_number_integer())
    set.saved = std::chrono::system_clock::time_point(std::chrono::seconds(unix->get<int64_t>()));
  auto server = doc.find("server");
  if (server != doc.end() && server->is_string()) set.server = server->get<std::string>();
  *out = std::move(set);
  return "";
}

}  // namespace lb::k8s
