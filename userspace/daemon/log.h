// SPDX-License-Identifier: Apache-2.0
// The daemon's leveled, structured logger: one line per event on stderr, in one of two formats:
//   text (default): ts=2026-11-26T18:14:33.490Z level=warn msg="backend 10.0.0.12:6443: healthy
//                   -> dead (...)" event=state backend=10.0.0.12:6443 from=healthy to=dead
//   json:           {"ts":"...","level":"warn","msg":"...","event":"state","backend":"..."}
// Values with spaces, quotes or '=' are quoted (text) or JSON-escaped. Each line is written with
// one write(2), so lines never interleave. Thread-safe (level and format are atomics).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lb::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

// Key/value pairs of an event, in order (e.g. {"event","state"}, {"backend","1.2.3.4:6443"}).
using Fields = std::vector<std::pair<std::string, std::string>>;

// Parses "debug" | "info" | "warn" | "error". Returns false for anything else.
bool parseLevel(std::string_view text, Level* out);
// Parses "text" | "json". Returns false for anything else.
bool parseFormat(std::string_view text, Format* out);
void setLevel(Level level);
Level level();
void setFormat(Format format);

// Renders one line (with the trailing newline) without writing it; exposed for tests.
std::string render(Format format, std::string_view ts, Level level, std::string_view msg,
                   const Fields& fields);

void write(Level level, std::string_view msg, const Fields& fields = {});
inline void debug(std::string_view m, const Fields& f = {}) { write(Level::kDebug, m, f); }
inline void info(std::string_view m, const Fields& f = {}) { write(Level::kInfo, m, f); }
inline void warn(std::string_view m, const Fields& f = {}) { write(Level::kWarn, m, f); }
inline void error(std::string_view m, const Fields& f = {}) { write(Level::kError, m, f); }

}  // namespace lb::log
