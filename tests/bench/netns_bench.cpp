// SPDX-License-Identifier: Apache-2.0
// apilb_netns_bench (root): what socket mode with --pods pays to look for a dead backend's sockets
// in the node's other network namespaces (destroyCookieSocketsIn, bpf/sock_destroy.h): a search
// for a cookie no namespace holds, so every namespace is entered and dumped. Namespaces: N
// helper threads, each parked in a fresh netns (named by /proc/self/task/<tid>/ns/net).
//   sudo build/tests/bench/apilb_netns_bench
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bpf/sock_destroy.h"

namespace {

class ParkedNamespaces {
 public:
  explicit ParkedNamespaces(size_t n) {
    for (size_t i = 0; i < n; ++i)
      threads_.emplace_back([this] {
        bool ok = unshare(CLONE_NEWNET) == 0;
        std::unique_lock<std::mutex> l(mu_);
        if (ok) paths_.push_back("/proc/self/task/" + std::to_string(gettid()) + "/ns/net");
        ready_++;
        cv_.notify_all();
        cv_.wait(l, [this] { return leave_; });
      });
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return ready_ == n; });
  }
  ~ParkedNamespaces() {
    {
      std::lock_guard<std::mutex> l(mu_);
      leave_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t ready_ = 0;
  bool leave_ = false;
  std::vector<std::string> paths_;
  std::vector<std::thread> threads_;
};

void BM_SearchOtherNamespaces(benchmark::State& state) {
  ParkedNamespaces ns(static_cast<size_t>(state.range(0)));
  if (ns.paths().size() != static_cast<size_t>(state.range(0))) {
    state.SkipWithError("unshare(CLONE_NEWNET) failed: run as root");
    return;
  }
  size_t searched = 0;
  double us = 0;
  for (auto _ : state) {
    std::error_code ec;
    auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(lb::destroyCookieSocketsIn(ns.paths(), {~0ull}, &ec, &searched));
    us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  state.counters["namespaces"] = static_cast<double>(searched);
  state.counters["us_per_namespace"] =
      us / static_cast<double>(state.iterations()) / static_cast<double>(searched ? searched : 1);
}
BENCHMARK(BM_SearchOtherNamespaces)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
