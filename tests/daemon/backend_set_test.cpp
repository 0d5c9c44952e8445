// SPDX-License-Identifier: Apache-2.0
// BackendSet (daemon/backend_set.h): bootstrap ∪ persisted until the first LIST, then exactly
// the discovered set; leavers drain; bad addresses and empty sets never take the backends away.
// And discoveryCredentials(): the config error wording of a bad kubeconfig / service account.
#include "daemon/backend_set.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "daemon/discovery.h"

namespace lb {
namespace {

using Clock = BackendSet::Clock;

Endpoint ep(const char* s) {
  Endpoint e;
  std::string err;
  EXPECT_TRUE(parseEndpoint(s, &e, &err)) << s << ": " << err;
  return e;
}

BackendConfig bc(const char* s, uint16_t w = 1) { return {ep(s), w}; }

std::vector<std::string> names(const std::vector<BackendConfig>& v) {
  std::vector<std::string> out;
  for (const auto& b : v) out.push_back(b.ep.str() + "@" + std::to_string(b.weight));
  return out;
}

using Names = std::vector<std::string>;
const Endpoint kVip = ep("169.254.64.43:6443");

TEST(BackendSet, StartsWithBootstrapUnionPersisted) {
  std::vector<std::string> notes;
  BackendSet s(kVip, {bc("10.0.0.1:6443", 3), bc("10.0.0.2:6443")},
               {ep("10.0.0.2:6443"), ep("10.0.0.3:6443")}, &notes);
  EXPECT_EQ(names(s.managed()), (Names{"10.0.0.1:6443@3", "10.0.0.2:6443@1", "10.0.0.3:6443@1"}));
  EXPECT_FALSE(s.discovered());
  EXPECT_TRUE(notes.empty());
  EXPECT_TRUE(s.lastDiscovered().empty());  // nothing to persist before a LIST
}

TEST(BackendSet, FirstListReplacesTheBootstrapAndLeaversDrain) {
  std::vector<std::string> notes;
  BackendSet s(kVip, {bc("10.0.0.1:6443", 3)}, {ep("10.0.0.9:6443")}, &notes);
  auto t0 = Clock::now();
  ASSERT_TRUE(s.applyDiscovered({ep("10.0.0.1:6443"), ep("10.0.0.2:6443")}, t0, &notes));
  EXPECT_TRUE(s.discovered());
  EXPECT_EQ(names(s.wanted()), (Names{"10.0.0.1:6443@3", "10.0.0.2:6443@1"}));  // weight kept
  // The stale persisted entry is not dropped at once: it drains like any leaver.
  EXPECT_EQ(names(s.managed()), (Names{"10.0.0.1:6443@3", "10.0.0.2:6443@1", "10.0.0.9:6443@1"}));
  EXPECT_TRUE(s.isLeaving(ep("10.0.0.9:6443")));
  EXPECT_FALSE(s.isLeaving(ep("10.0.0.1:6443")));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("10.0.0.9:6443: no longer listed"), std::string::npos) << notes[0];
  EXPECT_EQ(s.lastDiscovered(), (std::vector<Endpoint>{ep("10.0.0.1:6443"), ep("10.0.0.2:6443")}));
  // Not expired before the grace; expired after it; finishing removes it.
  EXPECT_TRUE(s.leavingExpired(t0 + BackendSet::kLeaveGrace - std::chrono::seconds(1)).empty());
  EXPECT_EQ(s.leavingExpired(t0 + BackendSet::kLeaveGrace),
            (std::vector<Endpoint>{ep("10.0.0.9:6443")}));
  EXPECT_TRUE(s.finishLeaving(ep("10.0.0.9:6443")));
  EXPECT_FALSE(s.finishLeaving(ep("10.0.0.9:6443")));
  EXPECT_EQ(names(s.managed()), (Names{"10.0.0.1:6443@3", "10.0.0.2:6443@1"}));
}

TEST(BackendSet, WatchRemovalDrainsAndReturnCancelsIt) {
  std::vector<std::string> notes;
  BackendSet s(kVip, {bc("10.0.0.1:6443")}, {}, &notes);
  auto t = Clock::now();
  ASSERT_TRUE(s.applyDiscovered({ep("10.0.0.1:6443"), ep("10.0.0.2:6443"), ep("10.0.0.3:6443")}, t,
                                &notes));
  EXPECT_FALSE(s.applyDiscovered({ep("10.0.0.1:6443"), ep("10.0.0.2:6443"), ep("10.0.0.3:6443")}, t,
                                 &notes));  // same set: no change
  ASSERT_TRUE(s.applyDiscovered({ep("10.0.0.1:6443"), ep("10.0.0.2:6443")}, t, &notes));
  EXPECT_TRUE(s.isLeaving(ep("10.0.0.3:6443")));
  EXPECT_EQ(s.managed().size(), 3u);  // still managed while it drains
  ASSERT_TRUE(s.applyDiscovered({ep("10.0.0.1:6443"), ep("10.0.0.2:6443"), ep("10.0.0.3:6443")}, t,
                                &notes));  // listed again before it was removed
  EXPECT_FALSE(s.isLeaving(ep("10.0.0.3:6443")));
  EXPECT_EQ(names(s.managed()), (Names{"10.0.0.1:6443@1", "10.0.0.2:6443@1", "10.0.0.3:6443@1"}));
}

TEST(BackendSet, EmptyOrUnusableSetNeverTakesTheBackendsAway) {
  std::vector<std::string> notes;
  BackendSet s(kVip, {bc("10.0.0.1:6443")}, {}, &notes);
  EXPECT_FALSE(s.applyDiscovered({}, Clock::now(), &notes));
  EXPECT_FALSE(s.discovered());
  EXPECT_EQ(names(s.managed()), (Names{"10.0.0.1:6443@1"}));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("no usable apiserver"), std::string::npos);
  notes.clear();
  // Only an IPv6 address and the VIP itself: nothing usable for an IPv4 VIP.
  EXPECT_FALSE(
      s.applyDiscovered({ep("[fd00::1]:6443"), ep("169.254.64.43:6443")}, Clock::now(), &notes));
  EXPECT_EQ(names(s.managed()), (Names{"10.0.0.1:6443@1"}));
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_NE(notes[0].find("[fd00::1]:6443: address family differs"), std::string::npos);
  EXPECT_NE(notes[1].find("169.254.64.43:6443: is the VIP itself"), std::string::npos);
}

TEST(BackendSet, PersistedEntriesOfAnotherFamilyAreLeftOut) {
  std::vector<std::string> notes;
  BackendSet s(kVip, {bc("10.0.0.1:6443")}, {ep("[fd00::2]:6443"), ep("10.0.0.1:6443")}, &notes);
  EXPECT_EQ(names(s.managed()), (Names{"10.0.0.1:6443@1"}));  // de-duplicated, v6 left out
  EXPECT_EQ(notes.size(), 1u);
}

TEST(BackendSet, AtMostMaxBackends) {
  std::vector<Endpoint> many;
  for (int i = 0; i < LB_MAX_BACKENDS + 2; i++) {
    std::string a = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":6443";
    many.push_back(ep(a.c_str()));
  }
  std::vector<std::string> notes;
  BackendSet s(kVip, {bc("10.0.0.1:6443")}, {}, &notes);
  ASSERT_TRUE(s.applyDiscovered(many, Clock::now(), &notes));
  EXPECT_EQ(s.wanted().size(), static_cast<size_t>(LB_MAX_BACKENDS));
}

TEST(BackendSet, SighupBootstrapBeforeAndAfterDiscovery) {
  std::vector<std::string> notes;
  auto t = Clock::now();
  BackendSet s(kVip, {bc("10.0.0.1:6443")}, {ep("10.0.0.5:6443")}, &notes);
  ASSERT_TRUE(s.setBootstrap({bc("10.0.0.2:6443")}, t, &notes));  // before: the new bootstrap
  EXPECT_EQ(names(s.wanted()), (Names{"10.0.0.2:6443@1", "10.0.0.5:6443@1"}));
  EXPECT_TRUE(s.isLeaving(ep("10.0.0.1:6443")));
  ASSERT_TRUE(s.applyDiscovered({ep("10.0.0.7:6443")}, t, &notes));
  s.setBootstrap({bc("10.0.0.7:6443", 9), bc("10.0.0.8:6443")}, t, &notes);  // after: weights only
  EXPECT_EQ(names(s.wanted()), (Names{"10.0.0.7:6443@9"}));
}

// A kubeconfig that does not parse is a config error naming the key, the path and the field;
// a missing service account too. (The readable-file check is validateConfig's.)
TEST(DiscoveryCredentials, ErrorsUseTheConfigWording) {
  char tmpl[] = "/tmp/apilb-kubeconfig-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << "apiVersion: v1\nkind: Config\ncurrent-context: nope\n";
  DaemonConfig cfg;
  cfg.kubeconfig = tmpl;
  k8s::ApiCredentials creds;
  std::string err = discoveryCredentials(cfg, &creds);
  EXPECT_EQ(err.rfind("kubeconfig: '" + std::string(tmpl) + "': ", 0), 0u) << err;
  EXPECT_NE(err.find("contexts"), std::string::npos) << err;  // the field at fault
  unlink(tmpl);

  DaemonConfig ic;
  ic.inCluster = true;
  err = discoveryCredentials(ic, &creds, "/nonexistent/sa");
  EXPECT_EQ(err,
            "in_cluster: 'true': /nonexistent/sa/token does not exist (no service account "
            "mounted)");
}

TEST(DiscoveryCredentials, InClusterGoesThroughTheVip) {
  char tmpl[] = "/tmp/apilb-sa-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/token") << "t0k3n\n";
  std::ofstream(dir + "/ca.crt") << "-----BEGIN CERTIFICATE-----\n";
  DaemonConfig ic;
  ic.inCluster = true;
  k8s::ApiCredentials creds;
  ASSERT_EQ(discoveryCredentials(ic, &creds, dir), "");
  EXPECT_EQ(creds.server, "https://169.254.64.43:6443");  // not the ClusterIP: kube-proxy may
  EXPECT_EQ(creds.tokenFile, dir + "/token");             // itself depend on the VIP
  EXPECT_EQ(creds.caFile, dir + "/ca.crt");
  unlink((dir + "/token").c_str());
  unlink((dir + "/ca.crt").c_str());
  rmdir(tmpl);
}

}  // namespace
}  // namespace lb
