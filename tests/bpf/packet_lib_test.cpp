// SPDX-License-Identifier: Apache-2.0
// Known-answer tests for the test helpers themselves (PacketBuilder, checksum verifier), so
// the BPF fixtures do not compare against a builder that is wrong in the same way.
#include <gtest/gtest.h>

#include "checksum.h"
#include "packet.h"

namespace lb::test {
namespace {

const Mac kA{2, 0, 0, 0, 0, 0xa}, kB{2, 0, 0, 0, 0, 0xb};

TEST(PacketLib, Ipv4HeaderChecksumKnownAnswer) {
  // RFC 1071-style textbook header: 4500 0073 0000 4000 4011 ---- c0a8 0001 c0a8 00c7 -> b861
  Bytes h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
             0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(uint16_t(~csumFold(csumPartial(h.data(), h.size()))), 0xb861);
}

TEST(PacketLib, BuilderLayoutAndChecksums) {
  Bytes f = PacketBuilder()
                .eth(kA, kB)
                .ipv4("10.0.0.1", "10.0.0.2", 64, 0, 0x4000)
                .tcp(1234, 80, kTcpSyn, 1, 0)
                .build();
  ASSERT_EQ(f.size(), 54u);
  EXPECT_EQ(be16At(f, 12), 0x0800);
  EXPECT_EQ(be16At(f, 14 + 2), 40);  // total length
  EXPECT_EQ(f[14 + 9], 6);
  EXPECT_EQ(be16At(f, 34), 1234);
  EXPECT_EQ(f[34 + 13], kTcpSyn);
  EXPECT_EQ(verifyChecksums(f), "");
  Bytes bad = f;
  bad[34 + 4] ^= 1;  // flip a sequence bit: TCP checksum no longer matches
  EXPECT_NE(verifyChecksums(bad), "");
  bad = f;
  bad[14 + 8] ^= 1;  // TTL: IPv4 header checksum
  EXPECT_NE(verifyChecksums(bad), "");
}

TEST(PacketLib, Ipv6AndIcmpErrorChecksums) {
  Bytes inner = PacketBuilder().ipv6("fd00::1", "fd00::2").tcp(1, 2, kTcpAck).build();
  Bytes f = PacketBuilder()
                .eth(kA, kB)
                .ipv6("fd00::3", "fd00::1")
                .icmp6(2, 0, 1280)
                .payload(inner)
                .build();
  EXPECT_EQ(be16At(f, 12), 0x86dd);
  EXPECT_EQ(f[14 + 6], 58);
  EXPECT_EQ(verifyChecksums(f), "");
  f[f.size() - 5] ^= 0x10;  // quoted TCP byte: quoted TCP and ICMPv6 checksums break
  std::string err = verifyChecksums(f);
  EXPECT_NE(err.find("ICMPv6"), std::string::npos) << err;
  EXPECT_NE(err.find("quoted TCP"), std::string::npos) << err;
}

TEST(PacketLib, HexDiffMarksDifferingLines) {
  Bytes a(20, 0), b(20, 0);
  b[17] = 1;
  std::string d = hexDiff(a, b);
  EXPECT_NE(d.find(" 0000"), std::string::npos);
  EXPECT_NE(d.find("!0010"), std::string::npos);
}

}  // namespace
}  // namespace lb::test
