// SPDX-License-Identifier: Apache-2.0
// The text form of durations (see duration.h).
#include "lb/duration.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace lb {

bool parseDuration(std::string_view text, std::chrono::milliseconds* out, std::string* err) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    i++;
  std::string_view num = text.substr(0, i);
  std::string_view unit = text.substr(i);
  double mult = 0;
  if (unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = 1000;
  else if (unit == "m")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  if (num.empty() || std::count(num.begin(), num.end(), '.') > 1 || num == "." || mult == 0) {
    *err = "not a duration (use e.g. 500ms, 1s, 1.5s, 2m)";
    return false;
  }
  // std::from_chars never throws: a number too large for a double is result_out_of_range.
  double n = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
  bool tooLong = ec == std::errc::result_out_of_range &&
                 num.find_first_of("123456789") < std::min(num.find('.'), num.size());
  if (tooLong || (ec == std::errc() && n * mult > 24.0 * 3'600'000)) {
    *err = "too long (at most 24h)";
    return false;
  }
  if (ec != std::errc() && ec != std::errc::result_out_of_range) {
    *err = "not a duration (use e.g. 500ms, 1s, 1.5s, 2m)";
    return false;
  }
  if (ec == std::errc::result_out_of_range) n = 0;  // underflow: 0.000...01 rounds to 0
  if (end != num.data() + num.size()) {
    *err = "not a duration (use e.g. 500ms, 1s, 1.5s, 2m)";
    return false;
  }
  *out = std::chrono::milliseconds(static_cast<int64_t>(std::llround(n * mult)));
  return true;
}

std::string formatDuration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace lb
