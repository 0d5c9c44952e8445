// SPDX-License-Identifier: Apache-2.0
// Test helpers for apilb_k8s: TestPki (a CA, a server certificate for 127.0.0.1 and kube.test,
// and a client certificate "system:node:test", made with openssl at test time) and FakeApiserver,
// which runs tests/k8s/fake_apiserver.py with a script of responses and reads its request log.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lb::k8s::test {

std::string readText(const std::string& path);
void writeText(const std::string& path, const std::string& text);
// A fresh directory under $TMPDIR (removed by the caller or left for inspection on failure).
std::string makeTempDir();

struct TestPki {
  std::string dir, caCrt, caKey, serverCrt, serverKey, clientCrt, clientKey, otherCaCrt;
  // Generates everything once per process (openssl, EC P-256); throws on failure.
  static const TestPki& get();
};

class FakeApiserver {
 public:
  // Starts the server with `script` (the list of steps documented in fake_apiserver.py);
  // requireClientCert makes TLS demand a certificate signed by the test CA.
  explicit FakeApiserver(const nlohmann::json& script, bool requireClientCert = false);
  ~FakeApiserver();
  FakeApiserver(const FakeApiserver&) = delete;
  FakeApiserver& operator=(const FakeApiserver&) = delete;

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // The requests served so far, oldest first.
  std::vector<nlohmann::json> requests() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// EndpointSlice / list / event builders with the API's real field names.
nlohmann::json endpointSlice(const std::string& name, const std::string& rv,
                             const std::string& addressType,
                             const std::vector<nlohmann::json>& endpoints,
                             const nlohmann::json& ports = nlohmann::json::array(
                                 {{{"name", "https"}, {"port", 6443}, {"protocol", "TCP"}}}));
nlohmann::json readyEndpoint(const std::string& addr, bool ready = true);
nlohmann::json sliceList(const std::string& rv, const std::vector<nlohmann::json>& items);
nlohmann::json watchEvent(const std::string& type, const nlohmann::json& object);
nlohmann::json bookmark(const std::string& rv);
nlohmann::json status(int code, const std::string& reason, const std::string& message);

}  // namespace lb::k8s::test
