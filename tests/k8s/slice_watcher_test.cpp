// SPDX-License-Identifier: Apache-2.0
// SliceWatcher against fake_apiserver.py over real TLS on 127.0.0.1: LIST, WATCH events,
// bookmarks, 410 (status and ERROR event), 401, dropped streams, connect errors, kubeconfig
// -data credentials with a client certificate.
#include "k8s/slice_watcher.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "fake_apiserver.h"

namespace lb::k8s {
namespace {

using nlohmann::json;
using namespace test;
using Kind = DiscoveryEvent::Kind;
using Problem = DiscoveryEvent::Problem;

std::vector<std::string> strs(const std::vector<Endpoint>& eps) {
  std::vector<std::string> out;
  for (const auto& e : eps) out.push_back(e.str());
  return out;
}

WatchOptions options(const std::string& server) {
  WatchOptions o;
  o.creds.server = server;
  o.creds.caFile = TestPki::get().caCrt;
  o.creds.token = "test-token";
  o.watchTimeout = std::chrono::seconds(5);
  o.backoffInitial = std::chrono::milliseconds(20);
  o.backoffCap = std::chrono::milliseconds(100);
  return o;
}

// Polls the watcher's eventfd the way the daemon loop would, until `done` holds for the events
// seen so far, or 10 s.
std::vector<DiscoveryEvent> waitFor(SliceWatcher& w,
                                    const std::function<bool(const std::vector<DiscoveryEvent>&)>& done) {
  std::vector<DiscoveryEvent> all;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done(all) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{w.fd(), POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      for (auto& e : w.take()) all.push_back(std::move(e));
    }
  }
  return all;
}

auto countKind(Kind k) {
  return [k](const std::vector<DiscoveryEvent>& evs, size_t n) {
    return static_cast<size_t>(
               std::count_if(evs.begin(), evs.end(), [&](const auto& e) { return e.kind == k; })) >= n;
  };
}

// Waits until the server has logged at least n requests.
std::vector<json> waitRequests(const FakeApiserver& s, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (s.requests().size() < n && std::chrono::steady_clock::now() < deadline)
    usleep(20000);
  return s.requests();
}

const json kTwoApiservers = sliceList(
    "100", {endpointSlice("kubernetes", "99", "IPv4",
                          {readyEndpoint("10.0.0.1"), readyEndpoint("10.0.0.2"),
                           readyEndpoint("10.0.0.3", false)})});

TEST(SliceWatcher, ListThenWatchEventsChangeTheSet) {
  json added = endpointSlice("kubernetes-v6", "101", "IPv6", {readyEndpoint("fd00::1")});
  json modified = endpointSlice("kubernetes", "102", "IPv4",
                                {readyEndpoint("10.0.0.1", false), readyEndpoint("10.0.0.2"),
                                 readyEndpoint("10.0.0.3")});
  FakeApiserver server(json::array(
      {{{"expect", "list"}, {"json", kTwoApiservers}},
       {{"expect", "watch"},
        {"events", {watchEvent("ADDED", added), watchEvent("MODIFIED", modified),
                    watchEvent("DELETED", added)}},
        {"end", "hold"}}}));
  SliceWatcher w(options(server.url()));
  w.start();
  auto evs = waitFor(w, [](const auto& e) { return e.size() >= 4; });
  w.stop();
  ASSERT_EQ(evs.size(), 4u);
  EXPECT_EQ(evs[0].kind, Kind::kListOk);
  EXPECT_EQ(evs[0].resourceVersion, "100");
  EXPECT_EQ(strs(evs[0].backends), (std::vector<std::string>{"10.0.0.1:6443", "10.0.0.2:6443"}));
  EXPECT_EQ(evs[1].kind, Kind::kSetChanged);
  EXPECT_EQ(strs(evs[1].backends),
            (std::vector<std::string>{"10.0.0.1:6443", "10.0.0.2:6443", "[fd00::1]:6443"}));
  EXPECT_EQ(evs[2].resourceVersion, "102");
  EXPECT_EQ(strs(evs[2].backends),
            (std::vector<std::string>{"10.0.0.2:6443", "10.0.0.3:6443", "[fd00::1]:6443"}));
  EXPECT_EQ(strs(evs[3].backends), (std::vector<std::string>{"10.0.0.2:6443", "10.0.0.3:6443"}));

  auto reqs = server.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["path"], "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices");
  EXPECT_EQ(reqs[0]["query"], json({{"labelSelector", "kubernetes.io/service-name=kubernetes"}}));
  EXPECT_EQ(reqs[0]["authorization"], "Bearer test-token");
  EXPECT_EQ(reqs[1]["query"], json({{"labelSelector", "kubernetes.io/service-name=kubernetes"},
                                    {"watch", "1"},
                                    {"allowWatchBookmarks", "true"},
                                    {"resourceVersion", "100"},
                                    {"timeoutSeconds", "5"}}));
}

TEST(SliceWatcher, BookmarkMovesResourceVersionWithoutChangingTheSet) {
  FakeApiserver server(json::array(
      {{{"expect", "list"}, {"json", kTwoApiservers}},
       {{"expect", "watch"}, {"events", {bookmark("250")}}, {"end", "close"}},
       {{"expect", "watch"}, {"events", json::array()}, {"end", "hold"}}}));
  SliceWatcher w(options(server.url()));
  w.start();
  auto reqs = waitRequests(server, 3);
  auto evs = waitFor(w, [](const auto& e) { return !e.empty(); });
  usleep(200000);
  for (auto& e : w.take()) evs.push_back(std::move(e));
  w.stop();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2]["kind"], "watch");
  EXPECT_EQ(reqs[2]["query"]["resourceVersion"], "250") << "restart after timeoutSeconds";
  ASSERT_EQ(evs.size(), 1u) << "a bookmark and a clean watch end are not events";
  EXPECT_EQ(evs[0].kind, Kind::kListOk);
}

TEST(SliceWatcher, Gone410ErrorEventRelists) {
  json newer = sliceList("500", {endpointSlice("kubernetes", "499", "IPv4",
                                                {readyEndpoint("10.0.0.7")})});
  FakeApiserver server(json::array(
      {{{"expect", "list"}, {"json", kTwoApiservers}},
       {{"expect", "watch"},
        {"events", {watchEvent("ERROR", status(410, "Expired",
                                               "too old resource version: 100 (400)"))}},
        {"end", "hold"}},
       {{"expect", "list"}, {"json", newer}}}));
  SliceWatcher w(options(server.url()));
  w.start();
  auto evs = waitFor(w, [](const auto& e) { return countKind(Kind::kListOk)(e, 2); });
  auto reqs = waitRequests(server, 4);
  w.stop();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[1].kind, Kind::kWatchError);
  EXPECT_EQ(evs[1].problem, Problem::kGone);
  EXPECT_EQ(evs[1].reason, "410 relist");
  EXPECT_EQ(strs(evs[2].backends), std::vector<std::string>{"10.0.0.7:6443"});
  ASSERT_GE(reqs.size(), 4u);
  EXPECT_EQ(reqs[2]["kind"], "list");
  EXPECT_FALSE(reqs[2]["query"].contains("resourceVersion"));
  EXPECT_EQ(reqs[3]["query"]["resourceVersion"], "500");
  for (const auto& r : reqs) EXPECT_FALSE(r.contains("expect_mismatch")) << r.dump();
}

TEST(SliceWatcher, Gone410StatusRelists) {
  FakeApiserver server(json::array(
      {{{"expect", "list"}, {"json", kTwoApiservers}},
       {{"expect", "watch"}, {"status", 410}, {"json", status(410, "Expired", "gone")}},
       {{"expect", "list"}, {"json", kTwoApiservers}}}));
  SliceWatcher w(options(server.url()));
  w.start();
  auto evs = waitFor(w, [](const auto& e) { return countKind(Kind::kListOk)(e, 2); });
  auto reqs = waitRequests(server, 3);
  w.stop();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[1].problem, Problem::kGone);
  EXPECT_EQ(evs[1].reason, "410 relist");
  EXPECT_EQ(reqs[2]["kind"], "list");
  for (const auto& r : reqs) EXPECT_FALSE(r.contains("expect_mismatch")) << r.dump();
}

TEST(SliceWatcher, Unauthorized401IsACredentialsProblemAndIsRetried) {
  json unauthorized = {{"expect", "list"}, {"status", 401},
                       {"json", status(401, "Unauthorized", "Unauthorized")}};
  FakeApiserver server(json::array({unauthorized, unauthorized,
                                    {{"expect", "list"}, {"json", kTwoApiservers}}}));
  SliceWatcher w(options(server.url()));
  w.start();
  auto evs = waitFor(w, [](const auto& e) {
    return countKind(Kind::kListOk)(e, 1);
  });
  w.stop();
  ASSERT_EQ(evs.size(), 3u);
  for (int i : {0, 1}) {
    EXPECT_EQ(evs[i].kind, Kind::kWatchError);
    EXPECT_EQ(evs[i].problem, Problem::kCredentials);
    EXPECT_EQ(evs[i].reason, "401 credentials: Unauthorized");
  }
  EXPECT_EQ(evs[2].kind, Kind::kListOk);
}

TEST(SliceWatcher, DroppedStreamResumesFromTheLastResourceVersion) {
  json added = endpointSlice("extra", "123", "IPv4", {readyEndpoint("10.0.0.9")});
  FakeApiserver server(json::array(
      {{{"expect", "list"}, {"json", kTwoApiservers}},
       {{"expect", "watch"}, {"events", {watchEvent("ADDED", added)}}, {"end", "drop"}},
       {{"expect", "watch"}, {"events", json::array()}, {"end", "hold"}}}));
  SliceWatcher w(options(server.url()));
  w.start();
  auto reqs = waitRequests(server, 3);
  auto evs = waitFor(w, [](const auto& e) { return e.size() >= 3; });
  w.stop();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[1].kind, Kind::kSetChanged);
  EXPECT_EQ(evs[2].kind, Kind::kWatchError);
  EXPECT_EQ(evs[2].problem, Problem::kNetwork);
  EXPECT_EQ(evs[2].reason.rfind("watch dropped: ", 0), 0u) << evs[2].reason;
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2]["kind"], "watch") << "no re-list after a drop";
  EXPECT_EQ(reqs[2]["query"]["resourceVersion"], "123");
}

TEST(SliceWatcher, ConnectionRefusedIsANetworkProblem) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(s);  // nothing listens on this port now
  SliceWatcher w(options("https://127.0.0.1:" + std::to_string(ntohs(a.sin_port))));
  w.start();
  auto evs = waitFor(w, [](const auto& e) { return e.size() >= 3; });
  w.stop();
  ASSERT_GE(evs.size(), 3u) << "retries keep coming (backoff capped at 100 ms)";
  EXPECT_EQ(evs[0].problem, Problem::kNetwork);
  EXPECT_EQ(evs[0].reason.rfind("connect: ", 0), 0u) << evs[0].reason;
}

TEST(SliceWatcher, UntrustedServerCertificateIsATlsProblem) {
  FakeApiserver server(json::array({{{"expect", "list"}, {"json", kTwoApiservers}}}));
  WatchOptions o = options(server.url());
  o.creds.caFile = TestPki::get().otherCaCrt;
  SliceWatcher w(o);
  w.start();
  auto evs = waitFor(w, [](const auto& e) { return !e.empty(); });
  w.stop();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs[0].problem, Problem::kNetwork);
  EXPECT_EQ(evs[0].reason.rfind("tls: ", 0), 0u) << evs[0].reason;
}

TEST(SliceWatcher, KubeconfigDataCredentialsWithClientCertAndTlsServerName) {
  FakeApiserver server(json::array({{{"expect", "list"}, {"json", kTwoApiservers}}}),
                       /*requireClientCert=*/true);
  const TestPki& pki = TestPki::get();
  std::string dir = makeTempDir();
  auto b64file = [&](const std::string& path) {
    std::string out = dir + "/b64";
    std::string cmd = "base64 -w0 " + path + " > " + out;
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return readText(out);
  };
  writeText(dir + "/kubeconfig",
            "apiVersion: v1\nkind: Config\ncurrent-context: kubelet\nclusters:\n- name: local\n"
            "  cluster:\n    server: " + server.url() + "\n    tls-server-name: kube.test\n"
            "    certificate-authority-data: " + b64file(pki.caCrt) + "\ncontexts:\n"
            "- name: kubelet\n  context: {cluster: local, user: node}\nusers:\n- name: node\n"
            "  user:\n    client-certificate-data: " + b64file(pki.clientCrt) + "\n"
            "    client-key-data: " + b64file(pki.clientKey) + "\n");
  WatchOptions o = options("");
  o.creds = loadKubeconfig(dir + "/kubeconfig");
  std::filesystem::remove_all(dir);  // the -data fields must not need files
  SliceWatcher w(o);
  w.start();
  auto evs = waitFor(w, [](const auto& e) { return !e.empty(); });
  w.stop();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs[0].kind, Kind::kListOk) << evs[0].reason;
  auto reqs = server.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs[0]["client_cn"], "system:node:test");
  EXPECT_EQ(reqs[0]["host"], "kube.test:" + std::to_string(server.port()));
  EXPECT_EQ(reqs[0]["authorization"], "");
}

TEST(SliceWatcher, StopReturnsPromptlyDuringAHeldWatch) {
  FakeApiserver server(json::array({{{"expect", "list"}, {"json", kTwoApiservers}}}));
  SliceWatcher w(options(server.url()));
  w.start();
  waitRequests(server, 2);  // the watch is now held open by the server
  auto t0 = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2500));
}

}  // namespace
}  // namespace lb::k8s
