// SPDX-License-Identifier: Apache-2.0
// Checksum verifier and packet diff for BPF fixtures: recomputes every checksum of a frame
// from scratch (IPv4 header, TCP/UDP/ICMP/ICMPv6 incl. pseudo-headers, and the packet quoted
// in an ICMP error) and renders a hexdump diff of two frames.
#pragma once

#include <cstdint>
#include <string>

#include "packet.h"

namespace lb::test {

// One's complement sum of data (16-bit big-endian words), not folded.
uint32_t csumPartial(const uint8_t* data, size_t len, uint32_t sum = 0);
uint16_t csumFold(uint32_t sum);

// Empty when every checksum in the frame is right, else one line per problem.
// Parses Ethernet (no VLAN) -> IPv4/IPv6 -> TCP/UDP/ICMP/ICMPv6; inside ICMP errors checks the
// quoted IPv4 header and, when fully quoted, the quoted TCP segment.
std::string verifyChecksums(const Bytes& frame);

// Side-by-side hexdump of two frames, 16 bytes a line, differing lines marked with '!'.
std::string hexDiff(const Bytes& got, const Bytes& want);

}  // namespace lb::test
