// SPDX-License-Identifier: Apache-2.0
// Printable names for the datapath's vocabulary: the counter reasons of enum lb_reason
// (apilb_stats index) and the LB_TCP_* flow states of apilb_fwd_v2/apilb_rev_v2. `apilb status`,
// `apilb flows` and the daemon's metrics print these names, so they are part of the CLI output.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lb {

// Short snake_case name of a reason ("pass_not_vip", "fwd_new", ...), in enum lb_reason order.
// Returns "unknown" for values >= LB_R__MAX. Thread-safe (static table).
const char* reasonName(uint32_t reason);

// One-line human description of a reason ("IP packet not for a VIP: untouched").
// Returns "unknown reason" for values >= LB_R__MAX. Thread-safe.
const char* reasonHelp(uint32_t reason);

// Inverse of reasonName(): the enum value for a name, or nullopt. Thread-safe.
std::optional<uint32_t> reasonFromName(std::string_view name);

// Name of an LB_TCP_* state: "syn_sent", "established", "fin_wait", "closing"; "none" for 0
// and "unknown" for anything else. Thread-safe.
const char* tcpStateName(uint8_t state);

}  // namespace lb
