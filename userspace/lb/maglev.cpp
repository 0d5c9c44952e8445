// SPDX-License-Identifier: Apache-2.0
// Maglev table construction. The populate loop keeps, per backend, the current position in its
// preference list (pos += skip mod M) instead of recomputing (offset + j * skip) % M, so a probe
// costs one add and one compare. The table itself marks free slots with LB_NO_BACKEND, which is
// why that value is rejected as a backend id.
#include "lb/maglev.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

extern "C" {
#include "apilb_maps.h"
}

namespace lb {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;
// Two fixed, unrelated seeds: the offset and the skip of a backend must not be correlated.
constexpr uint64_t kSeedOffset = 0x6170696c625f6f66ull;  // "apilb_of"
constexpr uint64_t kSeedSkip = 0x6170696c625f736bull;    // "apilb_sk"

uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

struct Cursor {
  uint32_t pos;    // next preferred slot
  uint32_t skip;   // 1..M-1
  uint32_t turns;  // slots claimed per round (weight / gcd)
  uint32_t id;
};

// Backends with weight > 0 in (key, id) order, weights divided by their GCD.
std::vector<Cursor> makeCursors(std::span<const MaglevBackend> backends, uint32_t m) {
  std::vector<const MaglevBackend*> order;
  uint32_t g = 0;
  for (const MaglevBackend& b : backends) {
    if (b.id == LB_NO_BACKEND) throw std::invalid_argument("maglev: backend id 0xffffffff");
    if (b.weight == 0) continue;
    order.push_back(&b);
    g = std::gcd(g, b.weight);
  }
  std::sort(order.begin(), order.end(), [](const MaglevBackend* x, const MaglevBackend* y) {
    return x->key != y->key ? x->key < y->key : x->id < y->id;
  });
  std::vector<Cursor> cur;
  cur.reserve(order.size());
  for (const MaglevBackend* b : order) {
    uint32_t offset = static_cast<uint32_t>(maglevHash(b->key, kSeedOffset) % m);
    uint32_t skip = m == 1 ? 1 : static_cast<uint32_t>(maglevHash(b->key, kSeedSkip) % (m - 1)) + 1;
    cur.push_back({offset, skip, b->weight / g, b->id});
  }
  return cur;
}

// Claims the backend's next free preferred slot.
inline void claim(Cursor& c, std::vector<uint32_t>& table, uint32_t m) {
  while (table[c.pos] != LB_NO_BACKEND) {
    c.pos += c.skip;
    if (c.pos >= m) c.pos -= m;
  }
  table[c.pos] = c.id;
  c.pos += c.skip;
  if (c.pos >= m) c.pos -= m;
}

}  // namespace

uint64_t maglevHash(std::string_view data, uint64_t seed) {
  uint64_t h = kFnvOffset;
  for (int i = 0; i < 8; ++i) {
    h = (h ^ ((seed >> (8 * i)) & 0xff)) * kFnvPrime;
  }
  for (char c : data) {
    h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  }
  return fmix64(h);
}

bool isPrime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint32_t d = 3; static_cast<uint64_t>(d) * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

std::vector<uint32_t> buildMaglevTable(std::span<const MaglevBackend> backends,
                                       uint32_t tableSize) {
  if (!isPrime(tableSize)) {
    throw std::invalid_argument("maglev: table size " + std::to_string(tableSize) +
                                " is not prime");
  }
  std::vector<uint32_t> table(tableSize, LB_NO_BACKEND);
  std::vector<Cursor> cursors = makeCursors(backends, tableSize);
  if (cursors.empty()) return table;
  uint32_t filled = 0;
  for (;;) {
    for (Cursor& c : cursors) {
      for (uint32_t t = 0; t < c.turns; ++t) {
        claim(c, table, tableSize);
        if (++filled == tableSize) return table;
      }
    }
  }
}

size_t tableDiff(std::span<const uint32_t> a, std::span<const uint32_t> b) {
  size_t common = std::min(a.size(), b.size());
  size_t changed = std::max(a.size(), b.size()) - common;
  for (size_t i = 0; i < common; ++i) changed += a[i] != b[i];
  return changed;
}

}  // namespace lb
