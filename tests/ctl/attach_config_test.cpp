// SPDX-License-Identifier: Apache-2.0
// Unit tests of attach input handling that needs no kernel: what validateStatic adds to the node
// intent's validation (pin dir, VIP device; the shared table is in tests/daemon/config_test.cpp)
// and that it refuses through validateDatapath with the one wording "<key>: '<value>': ...".
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
      {"relative pin dir", [](AttachConfig& c) { c.pinDir = "bpf/apilb"; },
       "pin_dir: 'bpf/apilb': must be an absolute path"},
      {"bpffs root", [](AttachConfig& c) { c.pinDir = "/sys/fs/bpf/"; }, "dedicated directory"},
      {"iface vip dev", [](AttachConfig& c) { c.ifaces = {"apilb0"}; },
       "iface: 'apilb0': is the VIP device"},
      // The rest is the intent's validator (one table in config_test.cpp); one case each way.
      {"no vip", [](AttachConfig& c) { c.vip = {}; }, "vip: a VIP is required"},
      {"duplicate", [](AttachConfig& c) { c.backends.push_back(c.backends[0]); },
       "backend: '10.0.0.11:6443': listed twice"},
      {"table not prime", [](AttachConfig& c) { c.tableSize = 16380; }, "table_size: '16380'"},
      {"iface lo", [](AttachConfig& c) { c.ifaces = {"lo"}; },
       "iface: 'lo': lo is attached automatically"},
  };
  for (const auto& tc : cases) {
    AttachConfig c = good();
    tc.mutate(c);
    std::string msg = validateStatic(c);
    EXPECT_NE(msg.find(tc.expect), std::string::npos) << tc.name << ": got '" << msg << "'";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << tc.name << ": one line";
  }
}

// ingress: auto unless the intent names xdp or tc; auto is what both the CLI and `apilb run`
// get when nothing is said (decided per NIC at attach time: tests/ctl/attach_lab.sh).
TEST(AttachConfigOf, IngressAutoByDefault) {
  DaemonConfig intent;
  EXPECT_EQ(intent.ingress, "auto");
  EXPECT_EQ(attachConfigOf(intent, "/sys/fs/bpf/apilb").ingress, IngressMode::kAuto);
  EXPECT_EQ(AttachConfig().ingress, IngressMode::kAuto);
  intent.ingress = "xdp";
  EXPECT_EQ(attachConfigOf(intent, "/sys/fs/bpf/apilb").ingress, IngressMode::kXdp);
  intent.ingress = "tc";
  EXPECT_EQ(attachConfigOf(intent, "/sys/fs/bpf/apilb").ingress, IngressMode::kTc);
  for (const char* v : {"auto", "xdp", "tc", "XDP", "afxdp"}) {
    DaemonConfig c;
    std::vector<std::string> errs;
    applySettings({{"ingress", {v}}}, &c, &errs);
    bool valid = std::string(v) == "auto" || std::string(v) == "xdp" || std::string(v) == "tc";
    EXPECT_EQ(errs.empty(), valid) << v;
    if (!valid) {
      EXPECT_EQ(errs.at(0), std::string("ingress: '") + v + "': must be auto, xdp or tc");
    }
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
