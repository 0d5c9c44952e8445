// SPDX-License-Identifier: Apache-2.0
// Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights. Pure C++, no libbpf.
// The same backend set (keys + weights) and table size give the same table on every node.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lb {

struct MaglevBackend {
  uint32_t id;      // value written into table slots (apilb_backends index)
  std::string key;  // identity hashed for the permutation, e.g. Endpoint::str()
  uint32_t weight;  // >= 1; a backend gets slots in proportion to its weight
};

// Returns `tableSize` slots, each holding a backend id (LB_NO_BACKEND (0xffffffff) when
// `backends` is empty). tableSize must be prime (see isPrime). Thread-safe (pure).
std::vector<uint32_t> buildMaglevTable(std::span<const MaglevBackend> backends, uint32_t tableSize);

bool isPrime(uint32_t n);

}  // namespace lb
