// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the BPF datapath: every input is one Ethernet frame, run through
// lb_fwd, lb_rev_xdp and lb_rev_tc of one fresh skeleton (loaded once per process) with
// BPF_PROG_TEST_RUN. The maps hold two VIPs (v4, v6), four backends, their Maglev tables and
// backend ports, and a few tracked flows (ESTABLISHED and SYN_SENT, v4 and v6) created by real
// packets at start. Invariants, checked before and after each run:
//   - the return code is in the program's set (lb_fwd: OK/SHOT/REDIRECT; lb_rev_xdp: PASS/DROP;
//     lb_rev_tc: OK/SHOT);
//   - a frame the program may not touch comes back byte-identical with the pass verdict. Whether
//     it may is decided from the frame's own tuple before the run, the way bpf/lib/parse.h reads
//     it: lb_fwd may touch only TCP whose (dst, dport) is in apilb_vips (and drop TCP too short
//     to hold the ports); the reverse programs
//     only TCP whose tuple is in apilb_rev_v2, or an ICMP/ICMPv6 error whose quoted TCP packet's
//     reply tuple is in apilb_rev_v2.
// A broken invariant aborts (libFuzzer keeps the input). Kernel warnings are checked by
// tests/fuzz/run.sh (dmesg). Needs root. APILB_FUZZ_WRITE_SEEDS=DIR writes the fixture frames
// as seed files (how tests/fuzz/corpus/datapath was made) and exits.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "apilb.skel.h"
#include "bpf/loader.h"
#include "bpf_maps.h"
#include "packet.h"
#include "privileges.h"

namespace lb::test {
namespace {

constexpr uint32_t kTable = 13;
constexpr uint16_t kVipPort = 6443, kBe0Port = 16443, kBe6Port = 7443;
constexpr size_t kMaxFrame = 1514;
const Mac kNodeMac{0x02, 0, 0, 0, 0, 0x01};
const Mac kGwMac{0x02, 0, 0, 0, 0, 0xfe};
const char* const kNode4 = "10.0.0.1";
const char* const kVip4 = "169.254.64.43";
const char* const kBe0 = "10.0.0.11";
const char* const kNode6 = "fd00::1";
const char* const kVip6 = "fd00:43::1";
const char* const kBe6 = "fd00::11";

enum Prog { kFwd, kRevXdp, kRevTc };
const char* const kProgName[] = {"lb_fwd", "lb_rev_xdp", "lb_rev_tc"};

[[noreturn]] void fail(const char* what, Prog p, int detail) {
  fprintf(stderr, "datapath_fuzz: %s: %s (%d)\n", kProgName[p], what, detail);
  abort();
}

apilb* g_skel = nullptr;
std::vector<Bytes> g_seeds;

int mapFd(bpf_map* m) { return bpf_map__fd(m); }

struct RunResult {
  int err;
  int retval;
  Bytes out;
};

RunResult run(Prog p, const uint8_t* data, size_t size) {
  bpf_program* prog = p == kFwd      ? g_skel->progs.lb_fwd
                      : p == kRevXdp ? g_skel->progs.lb_rev_xdp
                                     : g_skel->progs.lb_rev_tc;
  RunResult r{0, -1, Bytes(size + 256)};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_out = r.out.data(),
              .data_size_in = uint32_t(size), .data_size_out = uint32_t(r.out.size()), .repeat = 1);
  r.err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
  r.retval = int(opts.retval);
  r.out.resize(r.err ? 0 : opts.data_size_out);
  return r;
}

// The frame's tuple as bpf/lib/parse.h reads it. Offsets are relative to `ip`.
struct Tuple {
  uint8_t family = 0;  // LB_AF_INET / LB_AF_INET6, 0 = not IP (or a fragment, or cut)
  const uint8_t* src = nullptr;
  const uint8_t* dst = nullptr;
  uint8_t proto = 0;
  size_t l4 = 0;  // offset of the L4 header in the frame
};

Tuple parseFrame(const uint8_t* d, size_t n) {
  Tuple t;
  if (n < 14) return t;
  uint16_t type = uint16_t(d[12] << 8 | d[13]);
  const uint8_t* ip = d + 14;
  if (type == 0x0800) {
    if (n < 14 + 20) return t;
    size_t hl = (ip[0] & 0x0f) * 4u;
    if (hl < 20 || 14 + hl > n) return t;
    if (((ip[6] << 8 | ip[7]) & 0x3fff) != 0) return t;  // MF or offset
    t = {LB_AF_INET, ip + 12, ip + 16, ip[9], 14 + hl};
  } else if (type == 0x86dd) {
    if (n < 14 + 40 || ip[6] == 44) return t;  // cut, or a fragment header
    t = {LB_AF_INET6, ip + 8, ip + 24, ip[6], 14 + 40};
  }
  return t;
}

void copyAddr(lb_addr* a, const uint8_t* p, uint8_t family) {
  *a = lb_addr{};
  memcpy(a, p, family == LB_AF_INET ? 4 : 16);
}

bool inVips(const Tuple& t, const uint8_t* l4, size_t l4len) {
  if (t.proto != 6 || l4len < 4) return false;
  lb_vip_key k{};
  copyAddr(&k.addr, t.dst, t.family);
  memcpy(&k.port, l4 + 2, 2);
  k.proto = 6;
  k.family = t.family;
  lb_vip v;
  return bpf_map_lookup_elem(mapFd(g_skel->maps.apilb_vips), &k, &v) == 0;
}

bool inRev(uint8_t family, const uint8_t* src, const uint8_t* dst, const uint8_t* ports,
           bool swapped) {
  lb_flow_key k{};
  copyAddr(&k.src, swapped ? dst : src, family);
  copyAddr(&k.dst, swapped ? src : dst, family);
  memcpy(&k.sport, ports + (swapped ? 2 : 0), 2);
  memcpy(&k.dport, ports + (swapped ? 0 : 2), 2);
  k.proto = 6;
  k.family = family;
  lb_rev r;
  return bpf_map_lookup_elem(mapFd(g_skel->maps.apilb_rev_v2), &k, &r) == 0;
}

// An ICMP/ICMPv6 error quoting TCP whose reply tuple is tracked (as bpf/lib/icmp.h reads it).
bool quoteTracked(const Tuple& t, const uint8_t* l4, size_t l4len) {
  const uint8_t* q = l4 + 8;
  if (l4len < 8) return false;
  size_t qlen = l4len - 8;
  if (t.family == LB_AF_INET && t.proto == 1) {
    if (qlen < 20 || (q[0] & 0x0f) < 5 || q[9] != 6) return false;
    size_t hl = (q[0] & 0x0f) * 4u;
    return qlen >= hl + 4 && inRev(LB_AF_INET, q + 12, q + 16, q + hl, true);
  }
  if (t.family == LB_AF_INET6 && t.proto == 58) {
    if (qlen < 40 + 4 || q[6] != 6) return false;
    return inRev(LB_AF_INET6, q + 8, q + 24, q + 40, true);
  }
  return false;
}

// Whether program p may change or drop this frame, decided before the run.
bool mayTouch(Prog p, const uint8_t* d, size_t n) {
  Tuple t = parseFrame(d, n);
  if (t.family == 0) return false;
  const uint8_t* l4 = d + t.l4;
  size_t l4len = n - t.l4;
  // lb_fwd drops TCP too short to hold the ports, whatever its address (fail-closed by design:
  // only VIP-routed traffic reaches apilb0; see lb_fwd_tcp in bpf/apilb.bpf.c).
  if (p == kFwd) return (t.proto == 6 && l4len < 4) || inVips(t, l4, l4len);
  if (t.proto == 6) return l4len >= 4 && inRev(t.family, t.src, t.dst, l4, false);
  return quoteTracked(t, l4, l4len);
}

void check(Prog p, const uint8_t* d, size_t n) {
  bool may = mayTouch(p, d, n);
  RunResult r = run(p, d, n);
  if (r.err) {
    // The kernel refuses skb input without a complete Ethernet + IP header, and any frame
    // shorter than Ethernet; everything else must run.
    if (r.err == -EINVAL && (p != kRevXdp || n < 14)) return;
    fail("BPF_PROG_TEST_RUN failed", p, r.err);
  }
  const int pass = p == kRevXdp ? XDP_PASS : p == kFwd ? TC_ACT_OK : TC_ACT_UNSPEC;
  bool allowed =
      p == kFwd ? (r.retval == TC_ACT_OK || r.retval == TC_ACT_SHOT || r.retval == TC_ACT_REDIRECT)
      : p == kRevXdp ? (r.retval == XDP_PASS || r.retval == XDP_DROP)
                     : (r.retval == TC_ACT_UNSPEC || r.retval == TC_ACT_SHOT);
  if (!allowed) fail("return code outside the allowed set", p, r.retval);
  if (may) return;
  if (r.retval != pass) fail("frame it may not touch was not passed", p, r.retval);
  if (r.out.size() != n || memcmp(r.out.data(), d, n) != 0)
    fail("frame it may not touch changed", p, int(r.out.size()));
}

Bytes tcpFrame(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t flags,
               uint32_t seq, uint32_t ack, bool reply) {
  PacketBuilder b;
  b.eth(reply ? kGwMac : kNodeMac, reply ? kNodeMac : kGwMac);
  if (strchr(src, ':'))
    b.ipv6(src, dst);
  else
    b.ipv4(src, dst);
  return b.tcp(sport, dport, flags, seq, ack).build();
}

// Runs a fixture packet that must take the translated path, and keeps it as a seed.
void drive(Prog p, const Bytes& f, int want) {
  g_seeds.push_back(f);
  RunResult r = run(p, f.data(), f.size());
  if (r.err || r.retval != want) fail("fixture packet not translated", p, r.err ? r.err : r.retval);
}

// SYN (and SYN-ACK, ACK when `established`) of a flow client:sport -> vip via be:bePort.
void flow(const char* client, uint16_t sport, const char* vip, const char* be, uint16_t bePort,
          bool established) {
  drive(kFwd, tcpFrame(client, sport, vip, kVipPort, kTcpSyn, 1000, 0, false), TC_ACT_REDIRECT);
  Bytes synAck = tcpFrame(be, bePort, client, sport, kTcpSyn | kTcpAck, 5000, 1001, true);
  g_seeds.push_back(tcpFrame(be, bePort, client, sport, kTcpAck, 5001, 1001, true));
  if (!established) {
    g_seeds.push_back(synAck);
    return;
  }
  drive(kRevXdp, synAck, XDP_PASS);
  drive(kFwd, tcpFrame(client, sport, vip, kVipPort, kTcpAck, 1001, 5001, false), TC_ACT_REDIRECT);
}

void addIcmpSeeds() {
  Bytes q4 = PacketBuilder().ipv4(kNode4, kBe0).tcp(40000, kBe0Port, kTcpAck, 1001, 5001).build();
  g_seeds.push_back(PacketBuilder()
                        .eth(kGwMac, kNodeMac)
                        .ipv4(kBe0, kNode4)
                        .icmp4(3, 4, 1400)
                        .payload(q4)
                        .build());
  Bytes q6 = PacketBuilder().ipv6(kNode6, kBe6).tcp(40001, kBe6Port, kTcpAck, 1001, 5001).build();
  g_seeds.push_back(PacketBuilder()
                        .eth(kGwMac, kNodeMac)
                        .ipv6(kBe6, kNode6)
                        .icmp6(2, 0, 1280)
                        .payload(q6)
                        .build());
  g_seeds.push_back(PacketBuilder()
                        .eth(kNodeMac, kGwMac)
                        .ipv4(kNode4, kVip4, 64, 7, 0x2000)
                        .tcp(40000, kVipPort, kTcpAck)
                        .build());
  g_seeds.push_back(PacketBuilder()
                        .eth(kNodeMac, kGwMac)
                        .vlan(100)
                        .ipv4(kNode4, kVip4)
                        .tcp(1, kVipPort, 2)
                        .build());
  g_seeds.push_back(PacketBuilder().eth(kNodeMac, kGwMac).ipv6(kNode6, kVip6).udp(1, 2).build());
}

void setUp() {
  if (auto why = missingBpfPrivileges()) {
    fprintf(stderr, "datapath_fuzz: needs root / CAP_BPF+CAP_NET_ADMIN: %s\n", why->c_str());
    exit(77);
  }
  g_skel = apilb::open();
  if (g_skel == nullptr) fail("apilb::open", kFwd, errno);
  int tmpl = bpf_map_create(BPF_MAP_TYPE_ARRAY, "apilb_mgl_tmpl", 4, 4, kTable, nullptr);
  if (tmpl < 0 || bpf_map__set_inner_map_fd(g_skel->maps.apilb_maglev, tmpl) != 0)
    fail("Maglev inner map template", kFwd, errno);
  g_skel->rodata->lb_lo_ifindex = 1;
  (void)lb::chooseXdpFrags(g_skel);  // as LbProgram::load: xdp.frags where the kernel takes it
  if (apilb::load(g_skel) != 0) fail("apilb::load", kFwd, errno);
  close(tmpl);
  int vips = mapFd(g_skel->maps.apilb_vips), bes = mapFd(g_skel->maps.apilb_backends_v2);
  int ok = putVip(vips, kVip4, kVipPort, 0, kTable) | putVip(vips, kVip6, kVipPort, 1, kTable) |
           putBackend(bes, 0, kBe0, kBe0Port, 0, LB_BE_F_IN_USE) |
           putBackend(bes, 1, "10.0.0.12", kVipPort, 0, LB_BE_F_IN_USE | LB_BE_F_DRAIN) |
           putBackend(bes, 2, kBe6, kBe6Port, 1, LB_BE_F_IN_USE) |
           putBackend(bes, 3, "fd00::12", kVipPort, 1, LB_BE_F_IN_USE | LB_BE_F_DOWN);
  for (uint16_t port : {kBe0Port, kVipPort, kBe6Port})
    ok |= putBackendPort(mapFd(g_skel->maps.apilb_bports), port);
  ok |= putTable(mapFd(g_skel->maps.apilb_maglev), 0, std::vector<uint32_t>(kTable, 0));
  ok |= putTable(mapFd(g_skel->maps.apilb_maglev), 1, std::vector<uint32_t>(kTable, 2));
  if (ok != 0) fail("seeding the maps", kFwd, ok);
  flow(kNode4, 40000, kVip4, kBe0, kBe0Port, true);
  flow(kNode6, 40001, kVip6, kBe6, kBe6Port, true);
  flow(kNode4, 40002, kVip4, kBe0, kBe0Port, false);
  flow(kNode6, 40003, kVip6, kBe6, kBe6Port, false);
  addIcmpSeeds();
}

void writeSeeds(const char* dir) {
  for (size_t i = 0; i < g_seeds.size(); i++) {
    std::ofstream f(std::string(dir) + "/seed-" + std::to_string(i), std::ios::binary);
    f.write(reinterpret_cast<const char*>(g_seeds[i].data()), std::streamsize(g_seeds[i].size()));
  }
  fprintf(stderr, "datapath_fuzz: wrote %zu seeds to %s\n", g_seeds.size(), dir);
}

}  // namespace
}  // namespace lb::test

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  lb::test::setUp();
  if (const char* dir = getenv("APILB_FUZZ_WRITE_SEEDS")) {
    lb::test::writeSeeds(dir);
    exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lb::test;
  if (size > kMaxFrame) size = kMaxFrame;
  for (Prog p : {kFwd, kRevXdp, kRevTc}) check(p, data, size);
  return 0;
}
