// SPDX-License-Identifier: Apache-2.0
// apilb_netns_bench (root): what socket mode with --pods pays to look for a dead backend's sockets
// in the node's other network namespaces (destroyCookieSocketsIn, bpf/sock_destroy.h): a search
// for a cookie no namespace holds, so every namespace is entered and dumped. Namespaces: N
// helper threads, each parked in a fresh netns (tests/lib/netns.h).
//   sudo build/tests/bench/apilb_netns_bench
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bpf/sock_destroy.h"
#include "netns.h"

namespace {

void BM_SearchOtherNamespaces(benchmark::State& state) {
  std::vector<std::unique_ptr<lb::test::ParkedNetns>> parked;
  std::vector<std::string> paths;
  for (int64_t i = 0; i < state.range(0); ++i) {
    parked.push_back(std::make_unique<lb::test::ParkedNetns>());
    if (!parked.back()->ok()) {
      state.SkipWithError("unshare(CLONE_NEWNET) failed: run as root");
      return;
    }
    paths.push_back(parked.back()->path());
  }
  size_t searched = 0;
  double us = 0;
  for (auto _ : state) {
    std::error_code ec;
    auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(lb::destroyCookieSocketsIn(paths, {~0ull}, &ec, &searched));
    us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  state.counters["namespaces"] = static_cast<double>(searched);
  state.counters["us_per_namespace"] =
      us / static_cast<double>(state.iterations()) / static_cast<double>(searched ? searched : 1);
}
BENCHMARK(BM_SearchOtherNamespaces)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
