// SPDX-License-Identifier: Apache-2.0
// Micro-benchmarks of the Maglev table build (the daemon rebuilds it on every backend-set
// change) and of tableDiff (used to report how many slots a change moved). Sizes: the default
// table (16381) and the largest accepted (65537), 3..1000 backends.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lb/maglev.h"

namespace {

std::vector<lb::MaglevBackend> makeSet(uint32_t n) {
  std::vector<lb::MaglevBackend> v;
  for (uint32_t i = 0; i < n; ++i) {
    v.push_back(
        {i, "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":6443", 1});
  }
  return v;
}

void BM_MaglevBuild(benchmark::State& state) {
  auto set = makeSet(static_cast<uint32_t>(state.range(0)));
  auto m = static_cast<uint32_t>(state.range(1));
  for (auto _ : state) {
    auto t = lb::buildMaglevTable(set, m);
    benchmark::DoNotOptimize(t.data());
  }
  state.SetItemsProcessed(state.iterations() * m);  // slots per second
}
BENCHMARK(BM_MaglevBuild)
    ->ArgNames({"backends", "M"})
    ->ArgsProduct({{3, 10, 100, 1000}, {16381, 65537}})
    ->Unit(benchmark::kMicrosecond);

void BM_MaglevBuildWeighted(benchmark::State& state) {
  auto set = makeSet(static_cast<uint32_t>(state.range(0)));
  for (size_t i = 0; i < set.size(); ++i) set[i].weight = 1 + static_cast<uint32_t>(i % 3);
  auto m = static_cast<uint32_t>(state.range(1));
  for (auto _ : state) {
    auto t = lb::buildMaglevTable(set, m);
    benchmark::DoNotOptimize(t.data());
  }
  state.SetItemsProcessed(state.iterations() * m);
}
BENCHMARK(BM_MaglevBuildWeighted)
    ->ArgNames({"backends", "M"})
    ->ArgsProduct({{3, 100}, {16381, 65537}})
    ->Unit(benchmark::kMicrosecond);

void BM_TableDiff(benchmark::State& state) {
  auto m = static_cast<uint32_t>(state.range(0));
  auto set = makeSet(10);
  auto a = lb::buildMaglevTable(set, m);
  set.pop_back();
  auto b = lb::buildMaglevTable(set, m);
  size_t changed = 0;
  for (auto _ : state) {
    changed = lb::tableDiff(a, b);
    benchmark::DoNotOptimize(changed);
  }
  state.counters["changed"] = static_cast<double>(changed);
  state.SetItemsProcessed(state.iterations() * m);
}
BENCHMARK(BM_TableDiff)->ArgName("M")->Arg(16381)->Arg(65537);

// Rebuild after removing one backend (what the daemon does when an apiserver fails), with the
// disruption as counters: mean over every choice of removed backend of the slots moved between
// surviving backends ("collateral", % of M), the Maglev cascade beyond the ideal 1/N.
void BM_RemoveOne(benchmark::State& state) {
  auto n = static_cast<uint32_t>(state.range(0));
  auto m = static_cast<uint32_t>(state.range(1));
  auto set = makeSet(n);
  auto before = lb::buildMaglevTable(set, m);
  double collateralSum = 0;
  double collateralMax = 0;
  for (uint32_t r = 0; r < n; ++r) {
    auto smaller = set;
    smaller.erase(smaller.begin() + r);
    auto after = lb::buildMaglevTable(smaller, m);
    size_t extra = 0;
    for (size_t i = 0; i < m; ++i) extra += before[i] != after[i] && before[i] != r;
    double pct = 100.0 * static_cast<double>(extra) / m;
    collateralSum += pct;
    collateralMax = std::max(collateralMax, pct);
  }
  set.pop_back();
  for (auto _ : state) {
    auto t = lb::buildMaglevTable(set, m);
    benchmark::DoNotOptimize(t.data());
  }
  state.counters["collateral_mean_pct"] = collateralSum / n;
  state.counters["collateral_max_pct"] = collateralMax;
}
BENCHMARK(BM_RemoveOne)
    ->ArgNames({"backends", "M"})
    ->ArgsProduct({{3, 5, 10, 100}, {16381, 65537}})
    ->Unit(benchmark::kMicrosecond);

void BM_IsPrime(benchmark::State& state) {
  uint32_t n = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(lb::isPrime(n));
}
BENCHMARK(BM_IsPrime)->Arg(65537)->Arg(4294967291u);

}  // namespace
