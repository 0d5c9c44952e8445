// SPDX-License-Identifier: Apache-2.0
// The one timestamp format of apilb's output (logs, health.json, `apilb status`): RFC 3339 in
// UTC with milliseconds, "2026-11-26T18:14:33.490Z". Pure; thread-safe.
#pragma once

#include <chrono>
#include <string>

namespace lb {

// "" for the zero time_point (never set).
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace lb
