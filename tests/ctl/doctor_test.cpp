// SPDX-License-Identifier: Apache-2.0
// The pure parts of `apilb doctor`: SAN parsing and coverage, kubeconfig server lookup, the
// EndpointSlice vs in-use comparison of the discovery check.
#include "cli/doctor.h"

#include <gtest/gtest.h>

namespace lb {
namespace {

Endpoint ip(const char* text) {
  Endpoint e;
  std::string err;
  EXPECT_TRUE(parseAddr(text, &e, &err)) << err;
  return e;
}

Endpoint ep(const char* text) {
  Endpoint e;
  std::string err;
  EXPECT_TRUE(parseEndpoint(text, &e, &err)) << err;
  return e;
}

TEST(DoctorTest, DiscoveryDiffNamesBothSides) {
  std::vector<Endpoint> slice = {ep("10.0.0.1:6443"), ep("10.0.0.2:6443"), ep("10.0.0.2:6443")};
  std::vector<Endpoint> used = {ep("10.0.0.2:6443"), ep("10.0.0.3:6443"), ep("10.0.0.1:6444")};
  SetDiff d = diffBackends(slice, used);
  EXPECT_EQ(d.onlyInSlice, (std::vector<Endpoint>{ep("10.0.0.1:6443")}));  // port matters
  EXPECT_EQ(d.onlyInOther, (std::vector<Endpoint>{ep("10.0.0.3:6443"), ep("10.0.0.1:6444")}));
  SetDiff same = diffBackends(slice, {ep("10.0.0.2:6443"), ep("10.0.0.1:6443")});
  EXPECT_TRUE(same.onlyInSlice.empty() && same.onlyInOther.empty());
}

TEST(DoctorTest, ParsesOpensslSanText) {
  Sans s = parseSans(" DNS:api1, DNS:*.example.com, IP Address:198.18.0.11, "
                     "IP Address:FD00:0:0:0:0:0:0:B, IP Address:169.254.64.43");
  EXPECT_EQ(s.dns, (std::vector<std::string>{"api1", "*.example.com"}));
  ASSERT_EQ(s.ips.size(), 3u);
  EXPECT_TRUE(sansCoverIp(s, ip("169.254.64.43")));
  EXPECT_TRUE(sansCoverIp(s, ip("fd00::b")));
  EXPECT_FALSE(sansCoverIp(s, ip("169.254.64.44")));
  EXPECT_FALSE(sansCoverIp(s, ip("::ffff:169.254.64.43")));
  EXPECT_TRUE(sansCoverName(s, "api1"));
  EXPECT_TRUE(sansCoverName(s, "k8s.example.com"));
  EXPECT_FALSE(sansCoverName(s, "a.b.example.com"));
  EXPECT_FALSE(sansCoverName(s, "example.com"));
}

TEST(DoctorTest, KubeconfigServerOfCurrentContext) {
  const char* kc = R"(apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://10.0.0.1:6443"}
- name: main
  cluster: {server: "https://169.254.64.43:6443"}
contexts:
- name: kubelet@main
  context: {cluster: main, user: kubelet}
current-context: kubelet@main
)";
  std::string err;
  EXPECT_EQ(kubeconfigServer(kc, &err), "https://169.254.64.43:6443") << err;
}

TEST(DoctorTest, KubeconfigErrors) {
  std::string err;
  EXPECT_EQ(kubeconfigServer("clusters: []\n", &err), "");
  EXPECT_EQ(err, "no clusters");
  EXPECT_EQ(kubeconfigServer("{{{", &err), "");
  EXPECT_NE(err.find("not YAML"), std::string::npos);
  EXPECT_EQ(kubeconfigServer("clusters:\n- name: a\n  cluster: {server: x}\n- name: b\n  cluster: "
                             "{server: y}\n",
                             &err),
            "");
  EXPECT_NE(err.find("more than one cluster"), std::string::npos);
  EXPECT_EQ(kubeconfigServer("clusters:\n- name: a\n  cluster: {server: \"https://x:1\"}\n", &err),
            "https://x:1");
}

}  // namespace
}  // namespace lb
