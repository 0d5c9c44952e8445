// SPDX-License-Identifier: Apache-2.0
// discovered.json: render, atomic save, tolerant load (see discovered_store.h).
#include "k8s/discovered_store.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lb/atomic_file.h"

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
  if (auto ec = writeFileAtomic(dataDir, kDiscoveredFile, renderDiscovered(set)))
    return "data dir " + dataDir + ": " + ec.message();
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
