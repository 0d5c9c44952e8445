#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Reference re-implementation of lb::maglevHash and lb::buildMaglevTable (userspace/lb/maglev.h),
# written from the documented algorithm, slow and obvious. It prints the golden values pinned in
# tests/unit/maglev_test.cpp (GoldenChecksums); a mismatch means one side changed.
# Usage: python3 tests/unit/maglev_reference.py
import math

MASK = (1 << 64) - 1
FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
SEED_OFFSET = int.from_bytes(b"apilb_of", "big")
SEED_SKIP = int.from_bytes(b"apilb_sk", "big")
NO_BACKEND = 0xFFFFFFFF


def fmix64(k):
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & MASK
    return k ^ (k >> 33)


def maglev_hash(data, seed):
    h = FNV_OFFSET
    for b in seed.to_bytes(8, "little") + data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return fmix64(h)


def build(backends, m):
    """backends: list of (id, key, weight)."""
    live = sorted((b for b in backends if b[2] > 0), key=lambda b: (b[1], b[0]))
    table = [NO_BACKEND] * m
    if not live:
        return table
    g = 0
    for b in live:
        g = math.gcd(g, b[2])
    perms = []
    for bid, key, w in live:
        k = key.encode()
        perms.append([maglev_hash(k, SEED_OFFSET) % m, maglev_hash(k, SEED_SKIP) % (m - 1) + 1,
                      w // g, bid])
    filled = 0
    while True:
        for p in perms:
            for _ in range(p[2]):
                while table[p[0]] != NO_BACKEND:
                    p[0] = (p[0] + p[1]) % m
                table[p[0]] = p[3]
                p[0] = (p[0] + p[1]) % m
                filled += 1
                if filled == m:
                    return table


def checksum(table):
    h = FNV_OFFSET
    for v in table:
        for b in v.to_bytes(4, "little"):
            h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def make_set(n):
    return [(i, "10.%d.%d.%d:6443" % (i // 65536, (i // 256) % 256, i % 256), 1) for i in range(n)]


if __name__ == "__main__":
    print("maglevHash('10.0.0.1:6443', 0) =", maglev_hash(b"10.0.0.1:6443", 0))
    print("maglevHash('', 1) =", maglev_hash(b"", 1))
    t = build(make_set(3), 16381)
    print("3 backends, M=16381: first slots", t[:8], "checksum", checksum(t))
    print("10 backends, M=65537: checksum", checksum(build(make_set(10), 65537)))
