// SPDX-License-Identifier: Apache-2.0
// Minimal leveled logger of the daemon: one line per event on stderr, "<RFC3339 UTC> <LEVEL>
// <message>", so that `kubectl logs` and journald show when each transition happened.
#pragma once

#include <string>
#include <string_view>

namespace lb::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug" | "info" | "warn" | "error". Returns false for anything else.
bool parseLevel(std::string_view text, Level* out);
void setLevel(Level level);
Level level();

void write(Level level, std::string_view msg);
inline void debug(std::string_view m) { write(Level::kDebug, m); }
inline void info(std::string_view m) { write(Level::kInfo, m); }
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }

}  // namespace lb::log
