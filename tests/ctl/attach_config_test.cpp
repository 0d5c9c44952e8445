// SPDX-License-Identifier: Apache-2.0
// Unit tests of attach input handling that needs no kernel: "ip:port[@weight]" parsing and the
// static validation table (each bad config must be refused with its own reason).
#include <gtest/gtest.h>

#include "bpf/attach.h"

namespace lb {
namespace {

Endpoint ep(const char* s) {
  Endpoint e;
  std::string err;
  EXPECT_TRUE(parseEndpoint(s, &e, &err)) << s << ": " << err;
  return e;
}

TEST(BackendSpec, ParsesWeight) {
  BackendSpec b;
  std::string err;
  ASSERT_TRUE(parseBackendSpec("10.0.0.1:6443@7", &b, &err)) << err;
  EXPECT_EQ(b.ep.str(), "10.0.0.1:6443");
  EXPECT_EQ(b.weight, 7);
  ASSERT_TRUE(parseBackendSpec("[fd00::1]:6443", &b, &err)) << err;
  EXPECT_EQ(b.ep.str(), "[fd00::1]:6443");
  EXPECT_EQ(b.weight, 1);
}

TEST(BackendSpec, RejectsBadWeightsAndEndpoints) {
  BackendSpec b;
  for (const char* s :
       {"10.0.0.1:6443@0", "10.0.0.1:6443@65536", "10.0.0.1:6443@", "10.0.0.1:6443@x",
        "10.0.0.1:6443@-1", "10.0.0.1", "10.0.0.1:0", "host:6443"}) {
    std::string err;
    EXPECT_FALSE(parseBackendSpec(s, &b, &err)) << s;
    EXPECT_FALSE(err.empty()) << s;
  }
}

AttachConfig good() {
  AttachConfig c;
  c.vip = ep("169.254.64.43:6443");
  c.backends = {{ep("10.0.0.11:6443"), 1}, {ep("10.0.0.12:6443"), 2}};
  c.ifaces = {"eth0"};
  return c;
}

TEST(ValidateStatic, AcceptsAGoodConfig) { EXPECT_EQ(validateStatic(good()), ""); }

TEST(ValidateStatic, RefusesEachBadConfigWithItsReason) {
  struct Case {
    const char* name;
    void (*mutate)(AttachConfig&);
    const char* expect;  // substring of the message
  };
  const Case cases[] = {
      {"no vip", [](AttachConfig& c) { c.vip = {}; }, "--vip is required"},
      {"no backends", [](AttachConfig& c) { c.backends.clear(); }, "at least one --backend"},
      {"mixed family",
       [](AttachConfig& c) {
         c.backends.push_back({ep("[fd00::1]:6443"), 1});
       },
       "different address families"},
      {"duplicate", [](AttachConfig& c) { c.backends.push_back(c.backends[0]); },
       "duplicate backend"},
      {"table not prime", [](AttachConfig& c) { c.tableSize = 16380; }, "prime"},
      {"table too small", [](AttachConfig& c) { c.tableSize = 251; }, "prime in 257..65537"},
      {"table too big", [](AttachConfig& c) { c.tableSize = 1000003; }, "prime in 257..65537"},
      {"relative pin dir", [](AttachConfig& c) { c.pinDir = "bpf/apilb"; }, "absolute"},
      {"bpffs root", [](AttachConfig& c) { c.pinDir = "/sys/fs/bpf/"; }, "dedicated directory"},
      {"iface lo", [](AttachConfig& c) { c.ifaces = {"lo"}; }, "lo is attached automatically"},
      {"iface vip dev", [](AttachConfig& c) { c.ifaces = {"apilb0"}; }, "VIP device"},
      {"iface dup",
       [](AttachConfig& c) {
         c.ifaces = {"eth0", "eth0"};
       },
       "duplicate interface"},
      {"iface long", [](AttachConfig& c) { c.ifaces = {"abcdefghijklmnopq"}; },
       "bad interface name"},
      {"too many ifaces",
       [](AttachConfig& c) { c.ifaces = {"a", "b", "c", "d", "e", "f", "g", "h", "i"}; },
       "too many interfaces"},
  };
  for (const auto& tc : cases) {
    AttachConfig c = good();
    tc.mutate(c);
    std::string msg = validateStatic(c);
    EXPECT_NE(msg.find(tc.expect), std::string::npos) << tc.name << ": got '" << msg << "'";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << tc.name << ": one line";
  }
}

TEST(ModeName, NamesEveryMode) {
  EXPECT_STREQ(modeName(LB_MODE_XDP_NATIVE), "native XDP");
  EXPECT_STREQ(modeName(LB_MODE_XDP_GENERIC), "generic XDP");
  EXPECT_STREQ(modeName(LB_MODE_TC), "TC");
  EXPECT_STREQ(modeName(LB_MODE_NONE), "none");
}

}  // namespace
}  // namespace lb
