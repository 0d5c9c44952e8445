// SPDX-License-Identifier: Apache-2.0
// health.json, defined once: the document `apilb run` writes to <state-dir>/health.json
// (userspace/daemon/daemon.cpp, Daemon::writeHealth) and `apilb status` reads
// (userspace/cli/status_cmd.cpp), with its JSON mapping (nlohmann-json) and the checks that tell
// a current document from a stale one. Shape (version 1):
// {"version":1,"vip":"169.254.64.43:6443","pid":123,"pid_start":456789,
//  "updated":"<RFC3339>","updated_ms":1795718011000,"write_period_ms":2000,"fail_open":false,
//  "table":["1.2.3.4:6443",...],
//  "backends":[{"address":"1.2.3.4:6443","id":0,"state":"healthy|draining|dead|unknown",
//    "since":"<RFC3339>","last_probe":"<RFC3339>"|"","result":"200|503|refused|timeout|tls: ...",
//    "latency_ms":1.2,"error":"","successes":3,"failures":0,"in_table":true}]}
// Pure functions except processStartTime (reads /proc) and readHealthDoc (reads a file).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lb {

inline constexpr int kHealthDocVersion = 1;
// The daemon rewrites the document on every change and at least this often.
inline constexpr uint32_t kHealthWritePeriodMs = 2000;
// A document older than this many write periods is stale.
inline constexpr uint32_t kHealthStalePeriods = 3;

struct HealthDocBackend {
  std::string address;
  uint32_t id = 0;
  std::string state;  // healthy | draining | dead | unknown
  std::string since;
  std::string lastProbe;  // "" before the first probe
  std::string result;
  double latencyMs = 0;
  std::string error;
  uint32_t successes = 0;
  uint32_t failures = 0;
  bool inTable = false;
  bool operator==(const HealthDocBackend&) const = default;
};

struct HealthDoc {
  int version = kHealthDocVersion;
  std::string vip;
  int pid = 0;            // the writer
  uint64_t pidStart = 0;  // its start time (/proc/<pid>/stat field 22): a recycled pid differs
  std::string updated;    // RFC 3339, for people
  int64_t updatedMs = 0;  // the same, ms since the epoch, for the staleness check
  uint32_t writePeriodMs = kHealthWritePeriodMs;
  bool failOpen = false;
  std::vector<std::string> table;
  std::vector<HealthDocBackend> backends;
  bool operator==(const HealthDoc&) const = default;
};

std::string renderHealthDoc(const HealthDoc& doc);
// nullopt + *err on malformed JSON, a wrong shape or a newer version.
std::optional<HealthDoc> parseHealthDoc(const std::string& text, std::string* err);
// nullopt with *err empty when the file does not exist.
std::optional<HealthDoc> readHealthDoc(const std::string& path, std::string* err);

// Start time of process `pid` in clock ticks since boot (/proc/<pid>/stat field 22); 0 if there
// is no such process.
uint64_t processStartTime(int pid);

enum class HealthDocState {
  kCurrent,     // writer alive and the document recent
  kStale,       // writer alive but the document older than kHealthStalePeriods periods
  kWriterGone,  // no process with that pid and start time: the daemon is not running
};
// `writerAlive`: processStartTime(doc.pid) == doc.pidStart (and non-zero).
HealthDocState healthDocState(const HealthDoc& doc, int64_t nowMs, bool writerAlive);
const char* healthDocStateName(HealthDocState s);

}  // namespace lb
