// SPDX-License-Identifier: Apache-2.0
// EndpointSlice parsing (ready rules, port choice, address families) and SliceSet merging.
#include "k8s/slices.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_apiserver.h"

namespace lb::k8s {
namespace {

using nlohmann::json;
using test::endpointSlice;
using test::readyEndpoint;

std::vector<std::string> strs(const std::vector<Endpoint>& eps) {
  std::vector<std::string> out;
  for (const auto& e : eps) out.push_back(e.str());
  return out;
}

TEST(Slices, NotReadyEndpointsAreExcludedAndAbsentReadyMeansReady) {
  std::vector<json> eps({readyEndpoint("10.0.0.1"), readyEndpoint("10.0.0.2", false),
                          json{{"addresses", {"10.0.0.3"}}},  // no conditions
                          json{{"addresses", {"10.0.0.4"}}, {"conditions", json::object()}},
                          json{{"addresses", {"10.0.0.5"}}, {"conditions", {{"ready", nullptr}}}}});
  Slice s;
  ASSERT_EQ(parseSlice(endpointSlice("kubernetes", "7", "IPv4", eps), &s), "");
  EXPECT_EQ(s.name, "kubernetes");
  EXPECT_EQ(s.resourceVersion, "7");
  EXPECT_EQ(strs(s.ready), (std::vector<std::string>{"10.0.0.1:6443", "10.0.0.3:6443",
                                                      "10.0.0.4:6443", "10.0.0.5:6443"}));
}

TEST(Slices, PortNamedHttpsWinsOverOthersAndTheOnlyPortIsUsed) {
  json ports = json::array({{{"name", "metrics"}, {"port", 9000}, {"protocol", "TCP"}},
                            {{"name", "https"}, {"port", 16443}, {"protocol", "TCP"}}});
  Slice s;
  ASSERT_EQ(parseSlice(endpointSlice("a", "1", "IPv4", {readyEndpoint("10.0.0.1")}, ports), &s), "");
  EXPECT_EQ(strs(s.ready), std::vector<std::string>{"10.0.0.1:16443"});
  json only = json::array({{{"name", "api"}, {"port", 6444}, {"protocol", "TCP"}}});
  ASSERT_EQ(parseSlice(endpointSlice("a", "1", "IPv4", {readyEndpoint("10.0.0.1")}, only), &s), "");
  EXPECT_EQ(strs(s.ready), std::vector<std::string>{"10.0.0.1:6444"});
  json two = json::array({{{"name", "a"}, {"port", 1}}, {{"name", "b"}, {"port", 2}}});
  EXPECT_EQ(parseSlice(endpointSlice("a", "1", "IPv4", {readyEndpoint("10.0.0.1")}, two), &s),
            "slice a: ports: no port named https among 2");
  EXPECT_EQ(parseSlice(endpointSlice("a", "1", "IPv4", {readyEndpoint("10.0.0.1")}, json::array()),
                       &s),
            "slice a: ports: none");
}

TEST(Slices, Ipv6FqdnAndBadAddresses) {
  Slice s;
  ASSERT_EQ(parseSlice(endpointSlice("v6", "1", "IPv6", {readyEndpoint("fd00::1")}), &s), "");
  EXPECT_EQ(strs(s.ready), std::vector<std::string>{"[fd00::1]:6443"});
  ASSERT_EQ(parseSlice(endpointSlice("f", "1", "FQDN", {readyEndpoint("api.example")}), &s), "");
  EXPECT_TRUE(s.ready.empty());
  EXPECT_EQ(parseSlice(endpointSlice("x", "1", "IPv4", {readyEndpoint("fd00::1")}), &s),
            "slice x: endpoints[].addresses: 'fd00::1' is not an IPv4 address");
  EXPECT_EQ(parseSlice(endpointSlice("x", "1", "IPv5", {readyEndpoint("1.2.3.4")}), &s),
            "slice x: addressType: 'IPv5' unknown");
  EXPECT_EQ(parseSlice(json{{"kind", "EndpointSlice"}}, &s), "EndpointSlice: metadata.name: missing");
}

TEST(Slices, SetMergesSlicesSortsDedupsAndReportsChanges) {
  SliceSet set;
  Slice a, b;
  ASSERT_EQ(parseSlice(endpointSlice("a", "1", "IPv4",
                                     {readyEndpoint("10.0.0.2"), readyEndpoint("10.0.0.1")}),
                       &a), "");
  ASSERT_EQ(parseSlice(endpointSlice("b", "2", "IPv6",
                                     {readyEndpoint("fd00::1"), readyEndpoint("10.0.0.9", false)}),
                       &b), "");
  EXPECT_TRUE(set.upsert(a));
  EXPECT_TRUE(set.upsert(b));
  EXPECT_FALSE(set.upsert(a));  // same content
  EXPECT_EQ(strs(set.backends()),
            (std::vector<std::string>{"10.0.0.1:6443", "10.0.0.2:6443", "[fd00::1]:6443"}));
  Slice dup;
  ASSERT_EQ(parseSlice(endpointSlice("c", "3", "IPv4", {readyEndpoint("10.0.0.1")}), &dup), "");
  EXPECT_FALSE(set.upsert(dup));  // an address in two slices counts once
  EXPECT_TRUE(set.erase("a"));
  EXPECT_EQ(strs(set.backends()), (std::vector<std::string>{"10.0.0.1:6443", "[fd00::1]:6443"}));
  EXPECT_FALSE(set.erase("nope"));
  EXPECT_TRUE(set.replaceAll({b}));
  EXPECT_EQ(strs(set.backends()), std::vector<std::string>{"[fd00::1]:6443"});
}

}  // namespace
}  // namespace lb::k8s
