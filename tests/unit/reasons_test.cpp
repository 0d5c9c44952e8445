// SPDX-License-Identifier: Apache-2.0
// Reason and TCP-state names: complete, unique, snake_case, stable for the documented ones.
#include "lb/reasons.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

extern "C" {
#include "apilb_maps.h"
}

namespace lb {
namespace {

TEST(Reasons, EveryReasonHasAUniqueSnakeCaseName) {
  std::set<std::string> seen;
  for (uint32_t r = 0; r < LB_R__MAX; ++r) {
    std::string n = reasonName(r);
    ASSERT_FALSE(n.empty()) << r;
    EXPECT_NE(n, "unknown") << r;
    for (char c : n) EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) || c == '_') << n;
    EXPECT_TRUE(seen.insert(n).second) << "duplicate " << n;
    EXPECT_EQ(reasonFromName(n), r) << n;
    EXPECT_STRNE(reasonHelp(r), "unknown reason") << n;
  }
}

TEST(Reasons, NamesFollowTheEnum) {
  EXPECT_STREQ(reasonName(LB_R_PASS_NOT_IP), "pass_not_ip");
  EXPECT_STREQ(reasonName(LB_R_PASS_NOT_VIP), "pass_not_vip");
  EXPECT_STREQ(reasonName(LB_R_FWD_NEW), "fwd_new");
  EXPECT_STREQ(reasonName(LB_R_REV_HIT), "rev_hit");
  EXPECT_STREQ(reasonName(LB_R_DROP_NO_BACKEND), "drop_no_backend");
  EXPECT_STREQ(reasonName(LB_R_ERR_REDIRECT), "err_redirect");
}

TEST(Reasons, OutOfRange) {
  EXPECT_STREQ(reasonName(LB_R__MAX), "unknown");
  EXPECT_STREQ(reasonName(0xffffffffu), "unknown");
  EXPECT_STREQ(reasonHelp(LB_R__MAX), "unknown reason");
  EXPECT_FALSE(reasonFromName("nope").has_value());
  EXPECT_FALSE(reasonFromName("").has_value());
}

TEST(TcpState, Names) {
  EXPECT_STREQ(tcpStateName(0), "none");
  EXPECT_STREQ(tcpStateName(LB_TCP_SYN_SENT), "syn_sent");
  EXPECT_STREQ(tcpStateName(LB_TCP_ESTABLISHED), "established");
  EXPECT_STREQ(tcpStateName(LB_TCP_FIN_WAIT), "fin_wait");
  EXPECT_STREQ(tcpStateName(LB_TCP_CLOSING), "closing");
  EXPECT_STREQ(tcpStateName(5), "unknown");
  EXPECT_STREQ(tcpStateName(255), "unknown");
}

}  // namespace
}  // namespace lb
