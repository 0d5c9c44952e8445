// SPDX-License-Identifier: Apache-2.0
// socketsOfFlows() (bpf/sock_destroy.h): which dumped sockets a flow list selects for
// SOCK_DESTROY. Pure, no root; sock_destroy_real_test.cpp runs SockDiag on real sockets.
#include "bpf/sock_destroy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <gtest/gtest.h>


namespace lb {
namespace {

lb_flow_key key4(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  lb_flow_key k{};
  inet_pton(AF_INET, src, &k.src.w[0]);
  inet_pton(AF_INET, dst, &k.dst.w[0]);
  k.sport = htons(sport);
  k.dport = htons(dport);
  k.proto = IPPROTO_TCP;
  k.family = LB_AF_INET;
  return k;
}

DiagSocket sock(const lb_flow_key& tuple, uint8_t state) {
  DiagSocket s;
  s.tuple = tuple;
  s.sockFamily = AF_INET;
  s.state = state;
  return s;
}

TEST(SockDestroyMatch, SelectsOnlyConnectionsWithAFlowsTuple) {
  auto flow = key4("10.0.0.1", 40001, "169.254.64.43", 6443);
  auto other = key4("10.0.0.1", 40002, "169.254.64.43", 6443);
  std::vector<DiagSocket> dump = {sock(flow, TCP_ESTABLISHED), sock(other, TCP_ESTABLISHED)};
  auto got = socketsOfFlows({flow}, dump);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(ntohs(got[0].tuple.sport), 40001);
  dump[0].state = TCP_SYN_SENT;
  EXPECT_EQ(socketsOfFlows({flow}, dump).size(), 1u) << "a connect in progress is destroyed too";
}

TEST(SockDestroyMatch, NeverSelectsAListenerOrAClosingSocket) {
  auto flow = key4("10.0.0.1", 40005, "169.254.64.43", 6443);
  for (uint8_t st : {uint8_t(TCP_LISTEN), uint8_t(TCP_TIME_WAIT), uint8_t(TCP_CLOSE_WAIT)})
    EXPECT_TRUE(socketsOfFlows({flow}, {sock(flow, st)}).empty()) << "state " << int(st);
  // A listener's dump entry has no peer: it never equals a flow's tuple either.
  auto listener = key4("0.0.0.0", 40005, "0.0.0.0", 0);
  EXPECT_TRUE(socketsOfFlows({flow}, {sock(listener, TCP_ESTABLISHED)}).empty());
}

TEST(SockDestroyMatch, FamilyAndAddressesMustMatch) {
  auto flow = key4("10.0.0.1", 40001, "169.254.64.43", 6443);
  auto wrongDst = key4("10.0.0.1", 40001, "169.254.64.44", 6443);
  auto v6 = flow;
  v6.family = LB_AF_INET6;
  EXPECT_TRUE(socketsOfFlows({flow}, {sock(wrongDst, TCP_ESTABLISHED)}).empty());
  EXPECT_TRUE(socketsOfFlows({flow}, {sock(v6, TCP_ESTABLISHED)}).empty());
}

}  // namespace
}  // namespace lb
