// SPDX-License-Identifier: Apache-2.0
// Endpoint: an IPv4/IPv6 address plus port, parsed from and printed as "1.2.3.4:6443" or
// "[fd00::1]:6443", convertible to the map ABI (struct lb_addr, network order).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

extern "C" {
#include "apilb_maps.h"
}

namespace lb {

struct Endpoint {
  lb_addr addr{};      // network order, v4 in w[0]
  uint16_t port = 0;   // host order
  uint8_t family = 0;  // LB_AF_INET or LB_AF_INET6

  bool operator==(const Endpoint&) const;
  // "1.2.3.4:6443" or "[fd00::1]:6443".
  std::string str() const;
  // "1.2.3.4" or "fd00::1".
  std::string addrStr() const;
};

// Parses "ip:port" / "[ip6]:port". Returns false and sets *err to a one-line reason
// ("missing port", "port 0 is not allowed", "'x' is not an IPv4 or IPv6 address", ...).
[[nodiscard]] bool parseEndpoint(std::string_view text, Endpoint* out, std::string* err);
// Parses a bare address ("1.2.3.4" / "fd00::1"); port stays 0.
[[nodiscard]] bool parseAddr(std::string_view text, Endpoint* out, std::string* err);
// Formats an lb_addr of the given family.
std::string addrToString(const lb_addr& a, uint8_t family);

}  // namespace lb
