// SPDX-License-Identifier: Apache-2.0
// Capped exponential backoff with jitter (see backoff.h).
#include "k8s/backoff.h"

#include <algorithm>

namespace lb::k8s {

Backoff::Backoff(Ms initial, Ms cap, uint32_t seed)
    : initial_(std::max(initial, Ms(1))), cap_(std::max(cap, initial_)), rng_(seed) {}

Backoff::Ms Backoff::next() {
  int64_t base = initial_.count();
  for (unsigned i = 0; i < failures_ && base < cap_.count(); i++) base *= 2;
  base = std::min<int64_t>(base, cap_.count());
  failures_++;
  std::uniform_int_distribution<int64_t> jitter(base / 2, base);
  return Ms(jitter(rng_));
}

}  // namespace lb::k8s
