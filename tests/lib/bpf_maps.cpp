// SPDX-License-Identifier: Apache-2.0
// Raw libbpf seeding/reading of the apilb maps for BPF fixtures.
#include "bpf_maps.h"

#include "bpf/maglev_map.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace lb::test {

lb_addr makeAddr(const std::string& text, uint8_t* family) {
  lb_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a.w[0]) == 1) {
    if (family) *family = LB_AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), &a) == 1) {
    if (family) *family = LB_AF_INET6;
  } else {
    throw std::invalid_argument("not an IP address: " + text);
  }
  return a;
}

int putVip(int fd, const std::string& addr, uint16_t port, uint32_t vipId, uint32_t tableSize,
           uint32_t flags) {
  lb_vip_key k{};
  k.addr = makeAddr(addr, &k.family);
  k.port = htons(port);
  k.proto = IPPROTO_TCP;
  lb_vip v{vipId, tableSize, flags, 0};
  return bpf_map_update_elem(fd, &k, &v, BPF_ANY);
}

int putBackend(int fd, uint32_t id, const std::string& addr, uint16_t port, uint32_t vipId,
               uint32_t flags, uint32_t ifindex, uint32_t gen) {
  lb_backend be{};
  be.addr = makeAddr(addr, &be.family);
  be.port = htons(port);
  be.flags = flags;
  be.vip_id = vipId;
  be.ifindex = ifindex;
  be.gen = gen;
  be.weight = 1;
  return bpf_map_update_elem(fd, &id, &be, BPF_ANY);
}

int putBackendPort(int bportsFd, uint16_t port, bool on) {
  uint32_t key = port, val = on ? 1 : 0;
  return bpf_map_update_elem(bportsFd, &key, &val, BPF_ANY);
}

int putTable(int maglevFd, uint32_t vipId, const std::vector<uint32_t>& slots) {
  return -installMaglevTable(maglevFd, vipId, slots).value();
}

lb_flow_key flowKey(const std::string& src, uint16_t sport, const std::string& dst,
                    uint16_t dport) {
  lb_flow_key k{};
  k.src = makeAddr(src, &k.family);
  k.dst = makeAddr(dst);
  k.sport = htons(sport);
  k.dport = htons(dport);
  k.proto = IPPROTO_TCP;
  return k;
}

std::optional<lb_fwd> lookupFwd(int fd, const lb_flow_key& k) {
  lb_fwd v{};
  if (bpf_map_lookup_elem(fd, &k, &v)) return std::nullopt;
  return v;
}

std::optional<lb_rev> lookupRev(int fd, const lb_flow_key& k) {
  lb_rev v{};
  if (bpf_map_lookup_elem(fd, &k, &v)) return std::nullopt;
  return v;
}

size_t countEntries(int fd, size_t keySize) {
  std::vector<uint8_t> cur(keySize), next(keySize);
  size_t n = 0;
  void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    n++;
    cur = next;
    prev = cur.data();
  }
  return n;
}

std::array<lb_stat, LB_R__MAX> readStats(int fd) {
  std::array<lb_stat, LB_R__MAX> out{};
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<lb_stat> per(
      static_cast<size_t>(ncpu));  // sizeof(lb_stat) is already a multiple of 8
  for (uint32_t r = 0; r < LB_R__MAX; r++) {
    if (bpf_map_lookup_elem(fd, &r, per.data())) continue;
    for (const auto& s : per) {
      out[r].packets += s.packets;
      out[r].bytes += s.bytes;
    }
  }
  return out;
}

std::array<uint64_t, LB_SIG__MAX> readSignals(int fd, uint32_t id) {
  std::array<uint64_t, LB_SIG__MAX> out{};
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<lb_signal_stat> per(static_cast<size_t>(ncpu));  // 40 bytes: a multiple of 8
  if (bpf_map_lookup_elem(fd, &id, per.data())) return out;
  for (const auto& s : per)
    for (size_t k = 0; k < LB_SIG__MAX; k++) out[k] += s.n[k];
  return out;
}

}  // namespace lb::test
