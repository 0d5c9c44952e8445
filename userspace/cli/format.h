// SPDX-License-Identifier: Apache-2.0
// Pure helpers behind the CLI's output (no libbpf, no syscalls beyond file reads): aligned text
// tables, durations, backend flag names, Maglev slot counts. (health.json is lb::HealthDoc in
// lb/health_doc.h.) Unit-tested in tests/ctl. Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <map>
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

}  // namespace lb
