// SPDX-License-Identifier: Apache-2.0
// The record constructors the `apilb doctor` checks share (doctor.cpp, doctor_node.cpp).
#pragma once

#include <string>
#include <utility>

#include "cli/doctor.h"

namespace lb {

inline Check ok(std::string name, std::string detail) {
  return {CheckStatus::kOk, std::move(name), std::move(detail), ""};
}
inline Check warn(std::string name, std::string detail, std::string fix) {
  return {CheckStatus::kWarn, std::move(name), std::move(detail), std::move(fix)};
}
inline Check fail(std::string name, std::string detail, std::string fix) {
  return {CheckStatus::kFail, std::move(name), std::move(detail), std::move(fix)};
}

}  // namespace lb
