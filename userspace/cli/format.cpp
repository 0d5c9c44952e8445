// SPDX-License-Identifier: Apache-2.0
// Output helpers for `apilb status`, `backend list` and `flows`.
#include "cli/format.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

extern "C" {
#include "apilb_maps.h"
}

namespace lb {

std::string renderTable(const std::vector<std::vector<std::string>>& rows,
                        const std::string& indent) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line = indent;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string formatDuration(uint64_t ns) {
  uint64_t ms = ns / 1000000, s = ns / 1000000000ull;
  char buf[32];
  if (s < 1)
    std::snprintf(buf, sizeof(buf), "%llums", static_cast<unsigned long long>(ms));
  else if (s < 60)
    std::snprintf(buf, sizeof(buf), "%llus", static_cast<unsigned long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof(buf), "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  else if (s < 86400)
    std::snprintf(buf, sizeof(buf), "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s % 3600 / 60));
  else
    std::snprintf(buf, sizeof(buf), "%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>(s % 86400 / 3600));
  return buf;
}

std::vector<std::string> backendFlagNames(uint32_t flags) {
  std::vector<std::string> out;
  if (flags & LB_BE_F_LOCAL) out.push_back("local");
  if (flags & LB_BE_F_DRAIN) out.push_back("drain");
  if (flags & LB_BE_F_DOWN) out.push_back("down");
  return out;
}

std::string backendFlagsStr(uint32_t flags) {
  std::string s;
  for (const auto& n : backendFlagNames(flags)) s += (s.empty() ? "" : ",") + n;
  return s.empty() ? "-" : s;
}

std::map<uint32_t, uint32_t> slotCounts(const std::vector<uint32_t>& table) {
  std::map<uint32_t, uint32_t> out;
  for (uint32_t id : table)
    if (id != LB_NO_BACKEND) ++out[id];
  return out;
}

}  // namespace lb
