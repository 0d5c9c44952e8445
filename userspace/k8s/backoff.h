// SPDX-License-Identifier: Apache-2.0
// Backoff: capped exponential delay with jitter for retrying the apiserver. The n-th consecutive
// failure waits a uniformly random time in [d/2, d] where d = min(initial * 2^n, cap), so many
// nodes restarting together do not retry in lockstep, and a wait never exceeds `cap`.
// Not thread-safe: one owner.
#pragma once

#include <chrono>
#include <random>

namespace lb::k8s {

class Backoff {
 public:
  using Ms = std::chrono::milliseconds;
  Backoff(Ms initial, Ms cap, uint32_t seed = std::random_device{}());
  // The delay before the next attempt; each call doubles the base up to the cap.
  Ms next();
  // Back to `initial` (after a success).
  void reset() { failures_ = 0; }
  unsigned failures() const { return failures_; }

 private:
  Ms initial_, cap_;
  unsigned failures_ = 0;
  std::mt19937 rng_;
};

}  // namespace lb::k8s
