// SPDX-License-Identifier: Apache-2.0
// PacketBuilder implementation: layers are kept as header bytes with zero length/checksum
// fields; build() concatenates them, then fills lengths (outer to inner) and checksums (L4
// first, then IPv4 headers), all computed from scratch.
#include "packet.h"

#include <arpa/inet.h>

#include <stdexcept>

#include "checksum.h"

namespace lb::test {
namespace {

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = v >> 8;
  b[off + 1] = v & 0xff;
}

void put32(Bytes& b, size_t off, uint32_t v) {
  put16(b, off, v >> 16);
  put16(b, off + 2, v & 0xffff);
}

void append(Bytes& b, const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }

}  // namespace

uint16_t be16At(const Bytes& b, size_t off) { return uint16_t(b.at(off) << 8 | b.at(off + 1)); }
uint32_t be32At(const Bytes& b, size_t off) {
  return uint32_t(be16At(b, off)) << 16 | be16At(b, off + 2);
}

IpAddr IpAddr::parse(const std::string& text) {
  IpAddr a;
  if (inet_pton(AF_INET, text.c_str(), a.b.data()) == 1) {
    a.family = 4;
  } else if (inet_pton(AF_INET6, text.c_str(), a.b.data()) == 1) {
    a.family = 6;
  } else {
    throw std::invalid_argument("not an IP address: " + text);
  }
  return a;
}

PacketBuilder& PacketBuilder::eth(const Mac& src, const Mac& dst, std::optional<uint16_t> type) {
  Bytes h(14, 0);
  std::copy(dst.begin(), dst.end(), h.begin());
  std::copy(src.begin(), src.end(), h.begin() + 6);
  layers_.push_back({Kind::kEth, h, type});
  return *this;
}

PacketBuilder& PacketBuilder::vlan(uint16_t tci) {
  Bytes h(4, 0);
  put16(h, 0, tci);
  layers_.push_back({Kind::kVlan, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::arp(const Mac& sender, const std::string& senderIp,
                                  const std::string& targetIp) {
  Bytes h(28, 0);
  put16(h, 0, 1);       // Ethernet
  put16(h, 2, 0x0800);  // IPv4
  h[4] = 6;
  h[5] = 4;
  put16(h, 6, 1);  // request
  std::copy(sender.begin(), sender.end(), h.begin() + 8);
  auto s = IpAddr::parse(senderIp), t = IpAddr::parse(targetIp);
  std::copy(s.b.begin(), s.b.begin() + 4, h.begin() + 14);
  std::copy(t.b.begin(), t.b.begin() + 4, h.begin() + 24);
  layers_.push_back({Kind::kArp, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::ipv4(const std::string& src, const std::string& dst, uint8_t ttl,
                                   uint16_t id, uint16_t fragOff, Bytes options) {
  while (options.size() % 4) options.push_back(0);  // EOL padding
  Bytes h(20, 0);
  h[0] = 0x40 | uint8_t((20 + options.size()) / 4);
  put16(h, 4, id);
  put16(h, 6, fragOff);
  h[8] = ttl;
  auto s = IpAddr::parse(src), d = IpAddr::parse(dst);
  if (s.family != 4 || d.family != 4) throw std::invalid_argument("ipv4() needs IPv4 addresses");
  std::copy(s.b.begin(), s.b.begin() + 4, h.begin() + 12);
  std::copy(d.b.begin(), d.b.begin() + 4, h.begin() + 16);
  h.insert(h.end(), options.begin(), options.end());
  layers_.push_back({Kind::kIpv4, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::ipv6(const std::string& src, const std::string& dst,
                                   uint8_t hopLimit) {
  Bytes h(40, 0);
  h[0] = 0x60;
  h[7] = hopLimit;
  auto s = IpAddr::parse(src), d = IpAddr::parse(dst);
  if (s.family != 6 || d.family != 6) throw std::invalid_argument("ipv6() needs IPv6 addresses");
  std::copy(s.b.begin(), s.b.end(), h.begin() + 8);
  std::copy(d.b.begin(), d.b.end(), h.begin() + 24);
  layers_.push_back({Kind::kIpv6, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::ipv6Frag(uint16_t offsetFlags, uint32_t id) {
  Bytes h(8, 0);
  put16(h, 2, offsetFlags);
  put32(h, 4, id);
  layers_.push_back({Kind::kIpv6Frag, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                                  uint32_t ack, uint16_t window) {
  Bytes h(20, 0);
  put16(h, 0, sport);
  put16(h, 2, dport);
  put32(h, 4, seq);
  put32(h, 8, ack);
  h[12] = 5 << 4;
  h[13] = flags;
  put16(h, 14, window);
  layers_.push_back({Kind::kTcp, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::udp(uint16_t sport, uint16_t dport) {
  Bytes h(8, 0);
  put16(h, 0, sport);
  put16(h, 2, dport);
  layers_.push_back({Kind::kUdp, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::icmp4(uint8_t type, uint8_t code, uint32_t rest) {
  Bytes h(8, 0);
  h[0] = type;
  h[1] = code;
  put32(h, 4, rest);
  layers_.push_back({Kind::kIcmp4, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::icmp6(uint8_t type, uint8_t code, uint32_t rest) {
  Bytes h(8, 0);
  h[0] = type;
  h[1] = code;
  put32(h, 4, rest);
  layers_.push_back({Kind::kIcmp6, h, {}});
  return *this;
}

PacketBuilder& PacketBuilder::payload(Bytes data) {
  layers_.push_back({Kind::kRaw, std::move(data), {}});
  return *this;
}

Bytes PacketBuilder::build() const {
  Bytes out;
  std::vector<size_t> off;
  for (const auto& l : layers_) {
    off.push_back(out.size());
    append(out, l.hdr.data(), l.hdr.size());
  }
  auto nextKind = [&](size_t i) {
    return i + 1 < layers_.size() ? layers_[i + 1].kind : Kind::kRaw;
  };
  auto etherType = [&](size_t i) -> uint16_t {
    switch (nextKind(i)) {
      case Kind::kIpv4:
        return 0x0800;
      case Kind::kIpv6:
        return 0x86dd;
      case Kind::kArp:
        return 0x0806;
      case Kind::kVlan:
        return 0x8100;
      default:
        return 0x88b5;  // local experimental
    }
  };
  auto ipProto = [&](size_t i) -> uint8_t {
    switch (nextKind(i)) {
      case Kind::kTcp:
        return 6;
      case Kind::kUdp:
        return 17;
      case Kind::kIcmp4:
        return 1;
      case Kind::kIcmp6:
        return 58;
      case Kind::kIpv6Frag:
        return 44;
      default:
        return 253;  // experimental
    }
  };
  // Lengths and next-protocol fields.
  for (size_t i = 0; i < layers_.size(); i++) {
    size_t o = off[i];
    switch (layers_[i].kind) {
      case Kind::kEth:
        put16(out, o + 12, layers_[i].type.value_or(etherType(i)));
        break;
      case Kind::kVlan:
        put16(out, o + 2, layers_[i].type.value_or(etherType(i)));
        break;
      case Kind::kIpv4:
        put16(out, o + 2, uint16_t(out.size() - o));
        out[o + 9] = ipProto(i);
        break;
      case Kind::kIpv6:
        put16(out, o + 4, uint16_t(out.size() - o - 40));
        out[o + 6] = ipProto(i);
        break;
      case Kind::kIpv6Frag:
        out[o] = ipProto(i);
        break;
      case Kind::kUdp:
        put16(out, o + 4, uint16_t(out.size() - o));
        break;
      default:
        break;
    }
  }
  // L4 checksums, each over its layer to the end plus the enclosing IP pseudo-header.
  int ipIdx = -1;
  for (size_t i = 0; i < layers_.size(); i++) {
    Kind k = layers_[i].kind;
    if (k == Kind::kIpv4 || k == Kind::kIpv6) ipIdx = int(i);
    size_t csumAt;
    if (k == Kind::kTcp)
      csumAt = 16;
    else if (k == Kind::kUdp)
      csumAt = 6;
    else if (k == Kind::kIcmp4 || k == Kind::kIcmp6)
      csumAt = 2;
    else
      continue;
    size_t o = off[i], len = out.size() - o;
    uint32_t sum = 0;
    if (k != Kind::kIcmp4 && ipIdx >= 0) {
      size_t ipo = off[ipIdx];
      bool v4 = layers_[ipIdx].kind == Kind::kIpv4;
      sum = csumPartial(&out[ipo + (v4 ? 12 : 8)], v4 ? 8 : 32);
      sum += k == Kind::kTcp ? 6 : k == Kind::kUdp ? 17 : 58;
      sum += uint32_t(len);
    }
    sum = csumPartial(&out[o], len, sum);
    uint16_t c = uint16_t(~csumFold(sum));
    if (k == Kind::kUdp && c == 0) c = 0xffff;
    put16(out, o + csumAt, c);
  }
  for (size_t i = 0; i < layers_.size(); i++) {
    if (layers_[i].kind != Kind::kIpv4) continue;
    size_t o = off[i], hl = (out[o] & 0xf) * 4;
    put16(out, o + 10, uint16_t(~csumFold(csumPartial(&out[o], hl))));
  }
  return out;
}

}  // namespace lb::test
