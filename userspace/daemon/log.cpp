// SPDX-License-Identifier: Apache-2.0
// Logger implementation (see log.h): key=value or JSON lines, one write(2) each.
#include "daemon/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include "lb/timefmt.h"

namespace lb::log {
namespace {

std::atomic<Level> gLevel{Level::kInfo};
std::atomic<Format> gFormat{Format::kText};

const char* levelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

// A logfmt value: bare if it is a plain token, else double-quoted with \ " and newlines escaped.
std::string logfmtValue(std::string_view v) {
  bool plain = !v.empty();
  for (char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) plain = false;
  if (plain) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\')
      out += {'\\', c};
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "\"";
}

}  // namespace

bool parseLevel(std::string_view text, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError})
    if (text == levelName(l)) {
      *out = l;
      return true;
    }
  return false;
}

bool parseFormat(std::string_view text, Format* out) {
  if (text == "text")
    *out = Format::kText;
  else if (text == "json")
    *out = Format::kJson;
  else
    return false;
  return true;
}

void setLevel(Level level) { gLevel = level; }
Level level() { return gLevel; }
void setFormat(Format format) { gFormat = format; }

std::string render(Format format, std::string_view ts, Level level, std::string_view msg,
                   const Fields& fields) {
  if (format == Format::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = ts;
    j["level"] = levelName(level);
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[k] = v;
    // Invalid UTF-8 (e.g. from a peer's TLS error text) is replaced, never thrown on.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string line = "ts=" + std::string(ts) + " level=" + levelName(level) +
                     " msg=" + logfmtValue(msg);
  for (const auto& [k, v] : fields) line += " " + k + "=" + logfmtValue(v);
  return line + "\n";
}

void write(Level l, std::string_view msg, const Fields& fields) {
  if (l < gLevel.load()) return;
  std::string line = render(gFormat.load(), rfc3339(std::chrono::system_clock::now()), l, msg, fields);
  ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
  (void)rc;
}

}  // namespace lb::log
