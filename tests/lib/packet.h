// SPDX-License-Identifier: Apache-2.0
// PacketBuilder: builds test frames layer by layer -- Ethernet, 802.1Q, ARP, IPv4 (with options
// and fragment bits), IPv6, TCP, UDP, ICMP, ICMPv6 (errors quoting an inner packet) and raw
// payload -- and serializes them with correct lengths and checksums, so BPF test fixtures can
// state their input and their expected output as packets rather than hex.
//
// Thread-safety: none (value type).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lb::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

// An IPv4 or IPv6 address in network order (v4 in the first 4 bytes).
struct IpAddr {
  std::array<uint8_t, 16> b{};
  int family = 0;  // 4 or 6
  // Parses "10.0.0.1" or "fd00::1"; throws std::invalid_argument on anything else.
  static IpAddr parse(const std::string& text);
};

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;

class PacketBuilder {
 public:
  // Ethernet header; the ethertype follows the next layer unless given.
  PacketBuilder& eth(const Mac& src, const Mac& dst, std::optional<uint16_t> type = {});
  // 802.1Q tag after the Ethernet header.
  PacketBuilder& vlan(uint16_t tci);
  // ARP request "who has target, tell sender" (IPv4 over Ethernet).
  PacketBuilder& arp(const Mac& sender, const std::string& senderIp, const std::string& targetIp);
  // IPv4 header; options are appended (padded to 4 bytes), fragOff is the host-order
  // flags+offset field (e.g. 0x2000 = MF).
  PacketBuilder& ipv4(const std::string& src, const std::string& dst, uint8_t ttl = 64,
                      uint16_t id = 0x1234, uint16_t fragOff = 0x4000, Bytes options = {});
  PacketBuilder& ipv6(const std::string& src, const std::string& dst, uint8_t hopLimit = 64);
  // IPv6 fragment extension header (next layer follows it).
  PacketBuilder& ipv6Frag(uint16_t offsetFlags, uint32_t id);
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq = 1000,
                     uint32_t ack = 0, uint16_t window = 64240);
  PacketBuilder& udp(uint16_t sport, uint16_t dport);
  // ICMP / ICMPv6 header; `rest` is the 4 bytes after the checksum (e.g. next-hop MTU in the
  // low 16 bits for frag-needed, the MTU for packet-too-big).
  PacketBuilder& icmp4(uint8_t type, uint8_t code, uint32_t rest);
  PacketBuilder& icmp6(uint8_t type, uint8_t code, uint32_t rest);
  PacketBuilder& payload(Bytes data);

  // Serialized frame with every length and checksum filled in.
  Bytes build() const;

 private:
  enum class Kind { kEth, kVlan, kArp, kIpv4, kIpv6, kIpv6Frag, kTcp, kUdp, kIcmp4, kIcmp6, kRaw };
  struct Layer {
    Kind kind;
    Bytes hdr;                     // header bytes, length/checksum fields zero
    std::optional<uint16_t> type;  // eth/vlan: explicit ethertype
  };
  std::vector<Layer> layers_;
};

// Network-order helpers for tests.
uint16_t be16At(const Bytes& b, size_t off);
uint32_t be32At(const Bytes& b, size_t off);

}  // namespace lb::test
