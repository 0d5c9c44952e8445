// SPDX-License-Identifier: Apache-2.0
// Endpoint parsing/printing: a table of good and bad inputs, the lb_addr byte layout the maps
// expect (network order, IPv4 in w[0]) and round trips through str().
#include "lb/endpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

namespace lb {
namespace {

struct Good {
  const char* in;
  const char* str;  // canonical Endpoint::str()
  uint8_t family;
  uint16_t port;
};

const Good kGood[] = {
    {"1.2.3.4:6443", "1.2.3.4:6443", LB_AF_INET, 6443},
    {"169.254.64.43:6443", "169.254.64.43:6443", LB_AF_INET, 6443},
    {"0.0.0.0:1", "0.0.0.0:1", LB_AF_INET, 1},
    {"255.255.255.255:65535", "255.255.255.255:65535", LB_AF_INET, 65535},
    {"10.0.0.1:0443", "10.0.0.1:443", LB_AF_INET, 443},
    {"[fd00::1]:6443", "[fd00::1]:6443", LB_AF_INET6, 6443},
    {"[FD00:0:0:0:0:0:0:1]:80", "[fd00::1]:80", LB_AF_INET6, 80},
    {"[::1]:6443", "[::1]:6443", LB_AF_INET6, 6443},
    {"[::]:1", "[::]:1", LB_AF_INET6, 1},
    {"[::ffff:1.2.3.4]:443", "[::ffff:1.2.3.4]:443", LB_AF_INET6, 443},
};

TEST(Endpoint, ParsesGoodInputs) {
  for (const Good& g : kGood) {
    Endpoint ep;
    std::string err;
    ASSERT_TRUE(parseEndpoint(g.in, &ep, &err)) << g.in << ": " << err;
    EXPECT_EQ(ep.str(), g.str) << g.in;
    EXPECT_EQ(ep.family, g.family) << g.in;
    EXPECT_EQ(ep.port, g.port) << g.in;
    Endpoint again;
    ASSERT_TRUE(parseEndpoint(ep.str(), &again, &err)) << ep.str();
    EXPECT_EQ(again, ep) << "round trip of " << g.in;
  }
}

struct Bad {
  const char* in;
  const char* errPart;  // substring the error must contain
};

const Bad kBad[] = {
    {"", "empty endpoint"},
    {"1.2.3.4", "missing port"},
    {"1.2.3.4:", "missing port"},
    {"[fd00::1]", "missing port"},
    {"[fd00::1]:", "missing port"},
    {"fd00::1", "missing port (expected [fd00::1]:port)"},
    {"1.2.3.4:0", "port 0 is not allowed"},
    {"[fd00::1]:0", "port 0 is not allowed"},
    {"1.2.3.4:65536", "out of range 1..65535"},
    {"1.2.3.4:99999999999999999999999", "out of range 1..65535"},
    {"1.2.3.4:-1", "'-1' is not a port number"},
    {"1.2.3.4:+80", "is not a port number"},
    {"1.2.3.4:80a", "'80a' is not a port number"},
    {"1.2.3.4: 80", "is not a port number"},
    {"garbage", "'garbage' is not an IPv4 or IPv6 address"},
    {"apiserver.local:6443", "'apiserver.local' is not an IPv4 or IPv6 address"},
    {"1.2.3:80", "'1.2.3' is not an IPv4 or IPv6 address"},
    {"256.1.1.1:80", "is not an IPv4 or IPv6 address"},
    {" 1.2.3.4:80", "is not an IPv4 or IPv6 address"},
    {":80", "missing address"},
    {"fd00::1:6443", "IPv6 address needs brackets: [fd00::1]:6443"},
    {"[fd00::1:6443", "missing ']'"},
    {"[1.2.3.4]:80", "brackets are only for IPv6"},
    {"[]:80", "empty address"},
    {"[fd00::zz]:80", "'fd00::zz' is not an IPv6 address"},
    {"[fd00::1]6443", "unexpected '6443' after ']'"},
    {"[fe80::1%eth0]:80", "is not an IPv6 address"},
    {"a:b:c", "is not ip:port or [ip6]:port"},
};

TEST(Endpoint, RejectsBadInputsWithClearErrors) {
  for (const Bad& b : kBad) {
    Endpoint ep;
    ep.port = 7;
    std::string err;
    EXPECT_FALSE(parseEndpoint(b.in, &ep, &err)) << "'" << b.in << "' accepted as " << ep.str();
    EXPECT_NE(err.find(b.errPart), std::string::npos)
        << "'" << b.in << "': error '" << err << "' lacks '" << b.errPart << "'";
    EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
    EXPECT_EQ(ep.port, 7) << "output untouched on error: " << b.in;
  }
}

TEST(Endpoint, NullErrIsAllowed) {
  Endpoint ep;
  EXPECT_FALSE(parseEndpoint("nope", &ep, nullptr));
  EXPECT_TRUE(parseEndpoint("1.2.3.4:5", &ep, nullptr));
}

TEST(Endpoint, ParsesStringViewSlicesWithoutNul) {
  std::string buf = "1.2.3.4:80xyz[fd00::1]:443";
  std::string_view all(buf);
  Endpoint a, b;
  std::string err;
  ASSERT_TRUE(parseEndpoint(all.substr(0, 10), &a, &err)) << err;
  EXPECT_EQ(a.str(), "1.2.3.4:80");
  ASSERT_TRUE(parseEndpoint(all.substr(13), &b, &err)) << err;
  EXPECT_EQ(b.str(), "[fd00::1]:443");
  ASSERT_TRUE(parseAddr(all.substr(0, 7), &a, &err)) << err;
  EXPECT_EQ(a.addrStr(), "1.2.3.4");
}

TEST(Endpoint, V4LayoutIsNetworkOrderInWordZero) {
  Endpoint ep;
  std::string err;
  ASSERT_TRUE(parseEndpoint("1.2.3.4:6443", &ep, &err)) << err;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&ep.addr);
  const unsigned char want[16] = {1, 2, 3, 4};
  EXPECT_EQ(std::memcmp(bytes, want, 16), 0);
  EXPECT_EQ(ep.port, 6443);  // host order
}

TEST(Endpoint, V6LayoutIsNetworkOrder) {
  Endpoint ep;
  std::string err;
  ASSERT_TRUE(parseEndpoint("[fd00::102:304]:1", &ep, &err)) << err;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&ep.addr);
  const unsigned char want[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  EXPECT_EQ(std::memcmp(bytes, want, 16), 0);
}

TEST(Endpoint, ParseAddr) {
  Endpoint ep;
  std::string err;
  ASSERT_TRUE(parseAddr("10.1.2.3", &ep, &err)) << err;
  EXPECT_EQ(ep.family, LB_AF_INET);
  EXPECT_EQ(ep.port, 0);
  EXPECT_EQ(ep.addrStr(), "10.1.2.3");
  ASSERT_TRUE(parseAddr("fd00::5", &ep, &err)) << err;
  EXPECT_EQ(ep.family, LB_AF_INET6);
  EXPECT_EQ(ep.addrStr(), "fd00::5");
  EXPECT_FALSE(parseAddr("10.1.2.3:80", &ep, &err));
  EXPECT_NE(err.find("is not an IPv4 or IPv6 address"), std::string::npos) << err;
  EXPECT_FALSE(parseAddr("[fd00::5]", &ep, &err));
  EXPECT_NE(err.find("no brackets"), std::string::npos) << err;
  EXPECT_FALSE(parseAddr("", &ep, &err));
  EXPECT_FALSE(parseAddr("x", &ep, &err));
}

TEST(Endpoint, Equality) {
  Endpoint a, b, c, d;
  ASSERT_TRUE(parseEndpoint("1.2.3.4:80", &a, nullptr));
  ASSERT_TRUE(parseEndpoint("1.2.3.4:80", &b, nullptr));
  ASSERT_TRUE(parseEndpoint("1.2.3.4:81", &c, nullptr));
  ASSERT_TRUE(parseEndpoint("[::102:304]:80", &d, nullptr));
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d) << "same bytes in another word / family";
}

TEST(Endpoint, AddrToStringUnknownFamily) {
  lb_addr a{};
  EXPECT_EQ(addrToString(a, 0), "<family 0>");
  EXPECT_EQ(addrToString(a, LB_AF_INET), "0.0.0.0");
  EXPECT_EQ(addrToString(a, LB_AF_INET6), "::");
}

}  // namespace
}  // namespace lb
