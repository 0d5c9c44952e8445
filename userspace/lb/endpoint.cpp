// SPDX-License-Identifier: Apache-2.0
// Endpoint parsing and printing. Accepted forms: "1.2.3.4:6443" and "[fd00::1]:6443" (RFC 3986
// host syntax); a bare IPv6 address with a port must use brackets, because "fd00::1:6443" is
// itself a valid IPv6 address. Ports are decimal 1..65535. Addresses go through inet_pton(), so
// only the strict dotted-quad and standard IPv6 text forms are accepted.
#include "lb/endpoint.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <initializer_list>

namespace lb {
namespace {

// Joins pieces into one string. Used instead of `"literal" + std::string(...)`: GCC 12 inlines
// that operator+ (an insert at the front) at -O3 and reports a false -Wrestrict overlap.
std::string cat(std::initializer_list<std::string_view> parts) {
  size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  std::string s;
  s.reserve(n);
  for (std::string_view p : parts) s.append(p);
  return s;
}

bool setErr(std::string* err, std::string msg) {
  if (err != nullptr) *err = std::move(msg);
  return false;
}

// Parses an address into out->addr/family. Returns false without touching *err.
bool tryAddr(std::string_view text, int af, Endpoint* out) {
  std::string s(text);  // inet_pton needs a NUL-terminated string
  lb_addr a{};
  if (inet_pton(af, s.c_str(), &a) != 1) return false;
  if (af == AF_INET) a.w[1] = a.w[2] = a.w[3] = 0;
  out->addr = a;
  out->family = af == AF_INET ? LB_AF_INET : LB_AF_INET6;
  return true;
}

bool parsePort(std::string_view text, uint16_t* port, std::string* err) {
  if (text.empty()) return setErr(err, "missing port");
  bool digits = std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return setErr(err, cat({"'", text, "' is not a port number"}));
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v > 65535) {
    return setErr(err, cat({"port ", text, " is out of range 1..65535"}));
  }
  if (v == 0) return setErr(err, "port 0 is not allowed");
  *port = static_cast<uint16_t>(v);
  return true;
}

// "[v6]:port"
bool parseBracketed(std::string_view text, Endpoint* out, std::string* err) {
  size_t close = text.find(']');
  if (close == std::string_view::npos) return setErr(err, "missing ']' after IPv6 address");
  std::string_view host = text.substr(1, close - 1);
  std::string_view rest = text.substr(close + 1);
  Endpoint ep;
  if (host.empty()) return setErr(err, "empty address in '[]'");
  if (tryAddr(host, AF_INET, &ep)) {
    return setErr(err, cat({"brackets are only for IPv6 addresses, use ", host, ":port"}));
  }
  if (!tryAddr(host, AF_INET6, &ep)) {
    return setErr(err, cat({"'", host, "' is not an IPv6 address"}));
  }
  if (rest.empty()) return setErr(err, cat({"missing port (expected [", host, "]:port)"}));
  if (rest[0] != ':') return setErr(err, cat({"unexpected '", rest, "' after ']'"}));
  if (!parsePort(rest.substr(1), &ep.port, err)) return false;
  *out = ep;
  return true;
}

// "v4:port", plus helpful errors for the usual mistakes.
bool parseUnbracketed(std::string_view text, Endpoint* out, std::string* err) {
  Endpoint ep;
  size_t colons = std::count(text.begin(), text.end(), ':');
  if (colons == 0) {
    if (tryAddr(text, AF_INET, &ep)) {
      return setErr(err, cat({"missing port (expected ", text, ":port)"}));
    }
    return setErr(err, cat({"'", text, "' is not an IPv4 or IPv6 address"}));
  }
  if (colons > 1) {
    // "fd00::1:6443" is both a valid address and "fd00::1" + port: assume the port was meant.
    size_t last = text.rfind(':');
    if (tryAddr(text.substr(0, last), AF_INET6, &ep)) {
      return setErr(err, cat({"IPv6 address needs brackets: [", text.substr(0, last), "]",
                              text.substr(last)}));
    }
    if (tryAddr(text, AF_INET6, &ep)) {
      return setErr(err, cat({"missing port (expected [", text, "]:port)"}));
    }
    return setErr(err, cat({"'", text, "' is not ip:port or [ip6]:port"}));
  }
  size_t colon = text.find(':');
  std::string_view host = text.substr(0, colon);
  if (host.empty()) return setErr(err, "missing address before ':'");
  if (!tryAddr(host, AF_INET, &ep)) {
    return setErr(err, cat({"'", host, "' is not an IPv4 or IPv6 address"}));
  }
  if (!parsePort(text.substr(colon + 1), &ep.port, err)) return false;
  *out = ep;
  return true;
}

}  // namespace

bool Endpoint::operator==(const Endpoint& o) const {
  return family == o.family && port == o.port && std::memcmp(&addr, &o.addr, sizeof(addr)) == 0;
}

std::string Endpoint::addrStr() const { return addrToString(addr, family); }

std::string Endpoint::str() const {
  std::string p = std::to_string(port);
  if (family == LB_AF_INET6) return cat({"[", addrStr(), "]:", p});
  return cat({addrStr(), ":", p});
}

bool parseEndpoint(std::string_view text, Endpoint* out, std::string* err) {
  if (text.empty()) return setErr(err, "empty endpoint (expected ip:port or [ip6]:port)");
  if (text.front() == '[') return parseBracketed(text, out, err);
  return parseUnbracketed(text, out, err);
}

bool parseAddr(std::string_view text, Endpoint* out, std::string* err) {
  if (text.empty()) return setErr(err, "empty address");
  Endpoint ep;
  if (tryAddr(text, AF_INET, &ep) || tryAddr(text, AF_INET6, &ep)) {
    *out = ep;
    return true;
  }
  if (text.front() == '[' || text.find(']') != std::string_view::npos) {
    return setErr(err, cat({"'", text, "' is not an address (no brackets here)"}));
  }
  return setErr(err, cat({"'", text, "' is not an IPv4 or IPv6 address"}));
}

std::string addrToString(const lb_addr& a, uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == LB_AF_INET) {
    if (inet_ntop(AF_INET, &a.w[0], buf, sizeof(buf)) != nullptr) return buf;
  } else if (family == LB_AF_INET6) {
    if (inet_ntop(AF_INET6, &a, buf, sizeof(buf)) != nullptr) return buf;
  }
  return cat({"<family ", std::to_string(family), ">"});
}

}  // namespace lb
