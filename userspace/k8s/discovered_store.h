// SPDX-License-Identifier: Apache-2.0
// The last discovered backend set on disk, so the next start (after a reboot, before any watch
// succeeds) has more than the bootstrap list. The file is a starting point only: the daemon
// probes every entry, and a missing, corrupted or foreign-version file is ignored with a reason,
// never an error that blocks startup.
// Format (kDiscoveredVersion): {"version":1,"saved":"<RFC 3339 UTC>","saved_unix":<s>,
//   "server":"<apiserver URL it came from>","backends":["10.0.0.1:6443","[fd00::1]:6443"]}
// Reentrant; concurrent writers to one path leave one complete file (temp + rename).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "lb/endpoint.h"

namespace lb::k8s {

inline constexpr int kDiscoveredVersion = 1;
inline constexpr const char* kDefaultDataDir = "/var/lib/apilb";
inline constexpr const char* kDiscoveredFile = "discovered.json";

struct DiscoveredSet {
  std::vector<Endpoint> backends;
  std::chrono::system_clock::time_point saved{};
  std::string server;
};

// Writes <dataDir>/discovered.json atomically (temp file in dataDir, fsync, rename, fsync dir),
// creating dataDir (0755) if needed. Returns "" or a one-line reason naming the path.
[[nodiscard]] std::string saveDiscovered(const std::string& dataDir, const DiscoveredSet& set);

// Reads <dataDir>/discovered.json. Returns "" and fills *out, or a one-line reason why the file
// is ignored ("... does not exist", "... not JSON: ...", "... version 7, expected 1",
// "... backends[2]: missing port"). *out is untouched when a reason is returned.
[[nodiscard]] std::string loadDiscovered(const std::string& dataDir, DiscoveredSet* out);

// The file's text for `set` (exposed for tests).
std::string renderDiscovered(const DiscoveredSet& set);

}  // namespace lb::k8s
