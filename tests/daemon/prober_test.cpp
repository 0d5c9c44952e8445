// SPDX-License-Identifier: Apache-2.0
// Prober tests without root: result classification, and real probes over loopback -- a TCP
// probe of a listening socket (connected) and of a closed port (refused), an HTTPS probe of a
// plain TCP server that closes at once (a failure, never "200"), all from one event loop.
#include "daemon/prober.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "daemon/health_file.h"

namespace lb {
namespace {

using namespace std::chrono_literals;

TEST(Classify, Outcomes) {
  auto ok = Prober::classify(ProbeType::kHttps, CURLE_OK, 200, 0, "", 1.5);
  EXPECT_EQ(ok.outcome, ProbeOutcome::kOk);
  EXPECT_EQ(ok.result, "200");
  EXPECT_DOUBLE_EQ(ok.latencyMs, 1.5);
  auto nr = Prober::classify(ProbeType::kHttps, CURLE_OK, 503, 0, "", 1);
  EXPECT_EQ(nr.outcome, ProbeOutcome::kNotReady);
  EXPECT_EQ(nr.result, "503");
  auto unauth = Prober::classify(ProbeType::kHttps, CURLE_OK, 401, 0, "", 1);
  EXPECT_EQ(unauth.outcome, ProbeOutcome::kNotReady);  // answers: draining at worst, never dead
  EXPECT_EQ(unauth.result, "credentials");
  EXPECT_EQ(unauth.error.rfind("HTTP 401 credentials: ", 0), 0u) << unauth.error;
  EXPECT_NE(unauth.error.find("probe_cert"), std::string::npos);
  auto forbidden = Prober::classify(ProbeType::kHttps, CURLE_OK, 403, 0, "", 1);
  EXPECT_EQ(forbidden.result, "credentials");
  EXPECT_EQ(forbidden.error.rfind("HTTP 403 credentials: ", 0), 0u) << forbidden.error;
  auto ref = Prober::classify(ProbeType::kHttps, CURLE_COULDNT_CONNECT, 0, ECONNREFUSED,
                              "Failed to connect", 0.1);
  EXPECT_EQ(ref.outcome, ProbeOutcome::kFailed);
  EXPECT_EQ(ref.result, "refused");
  auto unr = Prober::classify(ProbeType::kHttps, CURLE_COULDNT_CONNECT, 0, EHOSTUNREACH, "x", 1);
  EXPECT_EQ(unr.result, "unreachable");
  auto to = Prober::classify(ProbeType::kHttps, CURLE_OPERATION_TIMEDOUT, 0, 0, "timed out", 1000);
  EXPECT_EQ(to.result, "timeout");
  EXPECT_EQ(to.outcome, ProbeOutcome::kTimedOut);
  auto tls = Prober::classify(ProbeType::kHttps, CURLE_PEER_FAILED_VERIFICATION, 0, 0,
                              "SSL certificate problem: unable to get local issuer", 3);
  EXPECT_EQ(tls.outcome, ProbeOutcome::kFailed);
  EXPECT_EQ(tls.result.rfind("tls: SSL certificate problem", 0), 0u);
  auto tcp = Prober::classify(ProbeType::kTcp, CURLE_OK, 0, 0, "", 0.2);
  EXPECT_EQ(tcp.outcome, ProbeOutcome::kOk);
  EXPECT_EQ(tcp.result, "connected");
}

// A loopback listener on an ephemeral port; closes accepted connections when `closeAccepted`.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(fd, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

Endpoint loop(uint16_t port) {
  Endpoint e;
  std::string err;
  EXPECT_TRUE(parseEndpoint("127.0.0.1:" + std::to_string(port), &e, &err));
  return e;
}

// Runs the prober until each target reported `n` results (or 5 s).
std::map<size_t, std::vector<ProbeResult>> probe(Prober& p, size_t targets, size_t n) {
  std::map<size_t, std::vector<ProbeResult>> got;
  auto end = std::chrono::steady_clock::now() + 5s;
  auto cb = [&](size_t i, const ProbeResult& r) {
    got[i].push_back(r);
    return true;  // "in flux": re-check soon, keeps the test short
  };
  auto done = [&] {
    for (size_t i = 0; i < targets; i++)
      if (got[i].size() < n) return false;
    return true;
  };
  while (!done() && std::chrono::steady_clock::now() < end) {
    p.drive(cb);
    bool extra = false;
    p.wait(50, -1, &extra);
  }
  return got;
}

TEST(Prober, TcpConnectedAndRefusedConcurrently) {
  Listener up;
  uint16_t closedPort;
  {
    Listener gone;  // bound then closed: nothing listens there any more
    closedPort = gone.port;
  }
  ProbeConfig cfg;
  cfg.type = ProbeType::kTcp;
  cfg.interval = 100ms;
  cfg.timeout = 100ms;
  Prober p(cfg, {loop(up.port), loop(closedPort)});
  auto got = probe(p, 2, 2);
  ASSERT_GE(got[0].size(), 2u);
  ASSERT_GE(got[1].size(), 2u);
  EXPECT_EQ(got[0][0].result, "connected");
  EXPECT_EQ(got[0][1].outcome, ProbeOutcome::kOk);
  EXPECT_EQ(got[1][0].result, "refused");
  EXPECT_EQ(got[1][1].outcome, ProbeOutcome::kFailed);
}

TEST(Prober, HttpsAgainstNonTlsServerFails) {
  Listener l;  // accepts (kernel backlog) but never speaks TLS: the probe must time out
  ProbeConfig cfg;
  cfg.interval = 300ms;
  cfg.timeout = 200ms;
  cfg.insecureSkipVerify = true;
  Prober p(cfg, {loop(l.port)});
  auto got = probe(p, 1, 1);
  ASSERT_EQ(got[0].size(), 1u);
  EXPECT_EQ(got[0][0].outcome, ProbeOutcome::kTimedOut);
  EXPECT_EQ(got[0][0].result, "timeout");
  EXPECT_GE(got[0][0].latencyMs, 150);
}

TEST(HealthFile, RendersTheContract) {
  BackendHealth h;
  h.state = HealthState::kDraining;
  h.since = WallTime(std::chrono::seconds(1795718009));
  h.lastProbe = WallTime(std::chrono::milliseconds(1795718010500));
  h.result = "503";
  h.error = "HTTP 503";
  h.latencyMs = 1.23456;
  h.failures = 2;
  std::string s =
      renderHealthJson("169.254.64.43:6443", 42, false, {}, {{"10.0.0.1:6443", 3, h, false}},
                       WallTime(std::chrono::seconds(1795718011)));
  for (const char* want :
       {"\"address\": \"10.0.0.1:6443\"", "\"state\": \"draining\"",
        "\"since\": \"2026-11-26T18:33:29.000Z\"", "\"last_probe\": \"2026-11-26T18:33:30.500Z\"",
        "\"result\": \"503\"", "\"latency_ms\": 1.235", "\"error\": \"HTTP 503\"",
        "\"successes\": 0", "\"failures\": 2", "\"fail_open\": false", "\"pid\": 42"})
    EXPECT_NE(s.find(want), std::string::npos) << want << " in " << s;
}

}  // namespace
}  // namespace lb
