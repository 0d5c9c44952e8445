// SPDX-License-Identifier: Apache-2.0
// The one text form of durations in apilb's config, flags and logs: "500ms", "1s", "1.5s", "2m",
// "1h", at most 24h. Pure; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace lb {

// "500ms", "1s", "1.5s", "2m", "1h" -> milliseconds. Rejects a missing unit, negatives and junk.
bool parseDuration(std::string_view text, std::chrono::milliseconds* out, std::string* err);
// The shortest exact form: "2m", "1s", "1500ms".
std::string formatDuration(std::chrono::milliseconds d);

}  // namespace lb
