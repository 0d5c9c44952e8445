// SPDX-License-Identifier: Apache-2.0
// Raw libbpf helpers that seed and read the apilb maps in BPF fixtures (by map fd, so they work
// on a fresh unpinned skeleton): VIPs, backends, a Maglev table (lb::installMaglevTable, the daemon's
// own code), flow entries and per-CPU counters.
// All return 0 or -errno unless stated.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

extern "C" {
#include "apilb_maps.h"
}

namespace lb::test {

// "10.0.0.1" / "fd00::1" -> lb_addr (network order, v4 in w[0]); family out.
lb_addr makeAddr(const std::string& text, uint8_t* family = nullptr);

int putVip(int vipsFd, const std::string& addr, uint16_t port, uint32_t vipId, uint32_t tableSize,
           uint32_t flags = 0);
int putBackend(int backendsFd, uint32_t id, const std::string& addr, uint16_t port, uint32_t vipId,
               uint32_t flags, uint32_t ifindex = 2, uint32_t gen = 1);
// Marks port (host order) as a backend port in apilb_bports (on = false clears it).
int putBackendPort(int bportsFd, uint16_t port, bool on = true);
// Installs `slots` for vipId through lb::installMaglevTable (bpf/maglev_map.h), as the daemon does.
int putTable(int maglevFd, uint32_t vipId, const std::vector<uint32_t>& slots);

lb_flow_key flowKey(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport);
std::optional<lb_fwd> lookupFwd(int fwdFd, const lb_flow_key& k);
std::optional<lb_rev> lookupRev(int revFd, const lb_flow_key& k);
size_t countEntries(int fd, size_t keySize);

// Per-reason counters summed over all possible CPUs.
std::array<lb_stat, LB_R__MAX> readStats(int statsFd);
// Backend slot id's apilb_signals counters (by enum lb_signal) summed over all possible CPUs.
std::array<uint64_t, LB_SIG__MAX> readSignals(int signalsFd, uint32_t id);

}  // namespace lb::test
