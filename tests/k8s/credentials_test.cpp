// SPDX-License-Identifier: Apache-2.0
// Kubeconfig parsing (files, -data, tokens, errors naming the field) and in-cluster credentials.
#include "k8s/credentials.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "fake_apiserver.h"

namespace lb::k8s {
namespace {

using test::readText;
using test::writeText;

std::string b64(const std::string& s) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    unsigned v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int j = 18; j >= 0; j -= 6) out += k[(v >> j) & 63];
  }
  if (i + 1 == s.size()) {
    unsigned v = uint8_t(s[i]) << 16;
    out += std::string{k[(v >> 18) & 63], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == s.size()) {
    unsigned v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += std::string{k[(v >> 18) & 63], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

class Kubeconfig : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::makeTempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    std::string p = dir_ + "/kubeconfig";
    writeText(p, text);
    return p;
  }
  std::string err(const std::string& text) {
    try {
      (void)loadKubeconfig(write(text));
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "(no error)";
  }
  std::string dir_;
};

const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: node
clusters:
- name: other
  cluster: {server: "https://10.9.9.9:6443"}
- name: local
  cluster:
    server: https://169.254.64.43:6443/
    certificate-authority: pki/ca.crt
    tls-server-name: kubernetes
contexts:
- name: admin
  context: {cluster: other, user: admin}
- name: node
  context: {cluster: local, user: kubelet}
users:
- name: admin
  user: {token: nope}
- name: kubelet
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
)";

TEST_F(Kubeconfig, CurrentContextPicksClusterAndUserAndResolvesRelativePaths) {
  std::filesystem::create_directories(dir_ + "/pki");
  writeText(dir_ + "/pki/ca.crt", "x");
  std::string text = kTwoContexts;
  // Absolute cert paths that exist on this machine: use the test's own files.
  std::string pem = dir_ + "/pki/client.pem";
  writeText(pem, "x");
  text.replace(text.find("/var/lib/kubelet/pki/kubelet-client-current.pem"), 47, pem);
  text.replace(text.find("/var/lib/kubelet/pki/kubelet-client-current.pem"), 47, pem);
  ApiCredentials c = loadKubeconfig(write(text));
  EXPECT_EQ(c.server, "https://169.254.64.43:6443");
  EXPECT_EQ(c.tlsServerName, "kubernetes");
  EXPECT_EQ(c.caFile, dir_ + "/pki/ca.crt");
  EXPECT_EQ(c.certFile, pem);
  EXPECT_EQ(c.keyFile, pem);
  EXPECT_TRUE(c.token.empty());
  EXPECT_FALSE(c.insecureSkipTlsVerify);
}

TEST_F(Kubeconfig, DataFieldsAreDecodedAndTokensRead) {
  std::string ca = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
  std::string cert = "-----BEGIN CERTIFICATE-----\nME\n-----END CERTIFICATE-----\n";
  std::string key = "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n";
  ApiCredentials c = loadKubeconfig(write(
      "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://[fd00::1]:6443\n"
      "    certificate-authority-data: " + b64(ca) + "\n    insecure-skip-tls-verify: false\n"
      "contexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user:\n"
      "    client-certificate-data: " + b64(cert) + "\n    client-key-data: " + b64(key) +
      "\n    token: abc.def\n    tokenFile: tok\n"));
  EXPECT_EQ(c.server, "https://[fd00::1]:6443");
  EXPECT_EQ(c.caData, ca);
  EXPECT_EQ(c.certData, cert);
  EXPECT_EQ(c.keyData, key);
  EXPECT_TRUE(c.caFile.empty());
  EXPECT_EQ(c.token, "abc.def");
  EXPECT_EQ(c.tokenFile, dir_ + "/tok");
}

TEST_F(Kubeconfig, ErrorsNameTheField) {
  EXPECT_EQ(err("clusters: []\n"), "kubeconfig " + dir_ + "/kubeconfig: current-context: missing");
  const std::string head = "kubeconfig " + dir_ + "/kubeconfig: ";
  EXPECT_EQ(err("current-context: x\ncontexts:\n- name: y\n  context: {cluster: k}\n"),
            head + "contexts: no entry named 'x'");
  EXPECT_EQ(err("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n"
                "clusters:\n- name: k\n  cluster: {server: 'http://1.2.3.4'}\n"),
            head + "clusters[0].cluster.server: 'http://1.2.3.4' is not https://host[:port]");
  EXPECT_EQ(err("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n"
                "clusters:\n- name: k\n  cluster: {server: 'https://a:1',"
                " certificate-authority-data: '!!notb64'}\n"),
            head + "clusters[0].cluster.certificate-authority-data: not valid base64");
  EXPECT_EQ(err("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
                "clusters:\n- name: k\n  cluster: {server: 'https://a:1'}\n"
                "users:\n- name: u\n  user: {client-certificate-data: 'QUJD'}\n"),
            head + "users[0].user.client-key: missing (client-certificate and client-key go "
                   "together)");
  EXPECT_EQ(err("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n"
                "clusters:\n- name: k\n  cluster: {server: 'https://a:1',"
                " certificate-authority: nothere.crt}\n"),
            head + "clusters[0].cluster.certificate-authority: " + dir_ +
                "/nothere.crt does not exist");
  EXPECT_EQ(err("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n"
                "clusters:\n- name: k\n  cluster: {server: 'https://a:1',"
                " insecure-skip-tls-verify: maybe}\n"),
            head + "clusters[0].cluster.insecure-skip-tls-verify: 'maybe' is not a bool");
  EXPECT_EQ(err("[unclosed\n").rfind(head + "not YAML", 0), 0u);
  std::string missing = dir_ + "/absent";
  try {
    (void)loadKubeconfig(missing);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "kubeconfig " + missing + ": cannot read: No such file or directory");
  }
}

TEST(Base64, DecodesPaddedUnpaddedAndRejectsGarbage) {
  EXPECT_EQ(base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64Decode("aGVs\nbG8"), "hello");
  EXPECT_EQ(base64Decode("aGVsbA=="), "hell");
  EXPECT_EQ(base64Decode("aGV$"), std::nullopt);
  EXPECT_EQ(base64Decode("aGVsb"), std::nullopt);
  EXPECT_EQ(base64Decode("aG=Vs"), std::nullopt);
}

TEST(InCluster, ServiceAccountFilesAndServerFromEnvOrOverride) {
  std::string sa = test::makeTempDir();
  writeText(sa + "/token", "t0k\n");
  writeText(sa + "/ca.crt", "x");
  auto env = [](const char* n) -> const char* {
    std::string s(n);
    if (s == "KUBERNETES_SERVICE_HOST") return "fd00:10::1";
    if (s == "KUBERNETES_SERVICE_PORT") return "443";
    return nullptr;
  };
  ApiCredentials c = inClusterCredentials(std::nullopt, sa, env);
  EXPECT_EQ(c.server, "https://[fd00:10::1]:443");
  EXPECT_EQ(c.tokenFile, sa + "/token");
  EXPECT_EQ(c.caFile, sa + "/ca.crt");
  c = inClusterCredentials(std::string("https://169.254.64.43:6443/"), sa, env);
  EXPECT_EQ(c.server, "https://169.254.64.43:6443");
  auto noEnv = [](const char*) -> const char* { return nullptr; };
  try {
    (void)inClusterCredentials(std::nullopt, sa, noEnv);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "in-cluster: KUBERNETES_SERVICE_HOST is not set");
  }
  std::filesystem::remove(sa + "/token");
  try {
    (void)inClusterCredentials(std::string("https://1.2.3.4"), sa, env);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "in-cluster: " + sa + "/token does not exist (no service account mounted)");
  }
  std::filesystem::remove_all(sa);
}

}  // namespace
}  // namespace lb::k8s
