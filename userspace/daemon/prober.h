// SPDX-License-Identifier: Apache-2.0
// Prober: probes every backend concurrently from one event loop with libcurl's multi interface.
// One easy handle per backend is kept for the daemon's life so the keep-alive connection (and
// its TLS session) is reused between probes. HTTPS GET <path> with CA verification, SNI/cert
// name via CURLOPT_CONNECT_TO, client cert/key, bearer token file (re-read when it changes);
// or a TCP connect (CURLOPT_CONNECT_ONLY). Each probe is scheduled interval +-10% after the
// previous one started; a backend whose state is in flux is re-checked after interval/5, and one
// the datapath reported signals for is probed at once (probeNow).
// Not thread-safe: one owner drives pollOnce().
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/health.h"

namespace lb {

class Prober {
 public:
  // Called for each finished probe with the target's index; return true to re-check soon
  // (the backend's state is changing), false for the normal interval.
  using Callback = std::function<bool(size_t index, const ProbeResult& result)>;

  // Throws std::runtime_error if libcurl cannot be initialised.
  Prober(const ProbeConfig& cfg, const std::vector<Endpoint>& targets);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Starts the probes that are due, drives transfers, reports finished ones through `cb`.
  void drive(const Callback& cb);
  // Makes target `index` due now (started by the next drive()); if a probe of it is running,
  // the next one starts as soon as that one finishes. Passive detection asks for this.
  void probeNow(size_t index);
  // Waits up to maxWaitMs (less if a probe is due sooner) for network activity or for `extraFd`
  // (if >= 0) to become readable; *extraReady tells whether it did.
  void wait(int maxWaitMs, int extraFd, bool* extraReady);

  // Classifies a finished transfer (exposed for tests).
  static ProbeResult classify(ProbeType type, CURLcode code, long httpStatus, long osErrno,
                              const char* errbuf, double latencyMs);

 private:
  struct Target;
  // Owners of libcurl handles: nothing leaks when the constructor throws half-way.
  struct MultiCleanup {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
  };
  struct SlistFree {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  void setup(Target* t);
  void start(Target* t);
  void refreshToken();
  void finish(CURL* easy, CURLcode code, const Callback& cb);
  int msUntilNextDue() const;

  ProbeConfig cfg_;
  // Declaration order = reverse destruction order: easy handles, then the header list they
  // point to, then the multi handle.
  std::unique_ptr<CURLM, MultiCleanup> multi_;
  std::unique_ptr<curl_slist, SlistFree> headers_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::mt19937 rng_;
  std::string token_;
  struct timespec tokenMtime_ {};
};

}  // namespace lb
