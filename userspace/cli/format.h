// SPDX-License-Identifier: Apache-2.0
// Pure helpers behind the CLI's output (no libbpf, no syscalls beyond file reads): aligned text
// tables, durations, backend flag names, Maglev slot counts, and the daemon's health file
// (<state-dir>/health.json). Unit-tested in tests/ctl. Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lb {

// Renders rows as columns separated by two spaces, each column as wide as its widest cell; the
// first row is the header. Trailing spaces are trimmed. Every line ends with '\n'.
std::string renderTable(const std::vector<std::vector<std::string>>& rows,
                        const std::string& indent = "");

// "850ms", "12s", "3m04s", "2h05m", "3d04h".
std::string formatDuration(uint64_t ns);

// "local,drain" from LB_BE_F_* (IN_USE omitted); "-" when none.
std::string backendFlagsStr(uint32_t flags);
// The same as a list of names.
std::vector<std::string> backendFlagNames(uint32_t flags);

// Number of Maglev slots per backend id in a published table (LB_NO_BACKEND slots skipped).
std::map<uint32_t, uint32_t> slotCounts(const std::vector<uint32_t>& table);

// One backend's entry in health.json (the daemon's contract).
struct HealthEntry {
  std::string address;  // "1.2.3.4:6443"
  std::string state;    // healthy | draining | dead
  std::string since;
  std::string lastProbe;
  double latencyMs = 0;
  std::string error;
  uint32_t successes = 0;
  uint32_t failures = 0;
};

struct HealthFile {
  std::vector<HealthEntry> backends;
  bool failOpen = false;
};

// Parses health.json text; nullopt + *err on malformed JSON or a wrong shape.
std::optional<HealthFile> parseHealth(const std::string& text, std::string* err);
// Reads and parses a file; nullopt with *err empty when the file does not exist.
std::optional<HealthFile> readHealthFile(const std::string& path, std::string* err);

}  // namespace lb
