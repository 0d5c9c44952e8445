// SPDX-License-Identifier: Apache-2.0
// Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights. Pure C++, no libbpf.
// The same backend set (keys + weights) and table size give the same table on every node.
//
// Per backend: offset = H(key, seed1) % M, skip = H(key, seed2) % (M - 1) + 1, so its preference
// list offset, offset+skip, ... visits every slot of the prime-sized table once. Backends are
// taken in (key, id) order -- the input order does not matter -- and in each round a backend of
// weight w claims its next w free preferred slots. Weights are divided by their GCD first, so
// with equal weights every backend gets floor(M/N) or ceil(M/N) slots. See docs/maglev.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lb {

struct MaglevBackend {
  uint32_t id;      // value written into table slots (apilb_backends_v2 index)
  std::string key;  // identity hashed for the permutation, e.g. Endpoint::str()
  uint32_t weight;  // >= 1; a backend gets slots in proportion to its weight
};

// Returns `tableSize` slots, each holding a backend id (LB_NO_BACKEND (0xffffffff) when
// `backends` is empty). tableSize must be prime (see isPrime). Thread-safe (pure).
// Backends with weight 0 get no slots (all weights 0 = empty set).
// Throws std::invalid_argument if tableSize is not prime or an id equals LB_NO_BACKEND.
// Cost: about M * ln(M) slot probes (1000 backends, M = 65537: a few ms; docs/maglev.md).
std::vector<uint32_t> buildMaglevTable(std::span<const MaglevBackend> backends, uint32_t tableSize);

// True if n is prime (deterministic trial division; n < 2 is not prime). Thread-safe.
bool isPrime(uint32_t n);

// Number of slots whose value differs between a and b; if the sizes differ, every slot beyond
// the shorter table counts as changed. Thread-safe.
size_t tableDiff(std::span<const uint32_t> a, std::span<const uint32_t> b);

// The 64-bit hash behind the permutations: FNV-1a over the 8 seed bytes (little-endian) and
// then `data`, finished with the murmur3 fmix64 mixer. Same value on every machine and compiler;
// changing it changes every node's table (tests/unit pins golden values). Thread-safe.
uint64_t maglevHash(std::string_view data, uint64_t seed);

}  // namespace lb
