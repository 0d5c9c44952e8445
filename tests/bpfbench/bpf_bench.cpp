// SPDX-License-Identifier: Apache-2.0
// apilb_bpfbench: nanoseconds per packet of the apilb BPF programs (lb_fwd, lb_rev_xdp,
// lb_rev_tc) through BPF_PROG_TEST_RUN, for a forward hit, a reverse hit and misses, with a
// method that takes the measured path on every iteration.
//
// The trap: with repeat=N the kernel runs the program N times over ONE packet buffer, so a NAT
// program rewrites it on the first run and takes a different path (a miss) on the other N-1.
// Two methods, reported side by side:
//   * "loop": repeat=N over a packet whose rewrite is idempotent: the flow's backend is the VIP
//     itself (same address, same port), so the DNAT / reverse NAT writes the very bytes that
//     are already there, checksum helpers included, and the next run finds the same flow. The
//     per-iteration cost of the kernel's test loop, measured with a no-op program of the same
//     type, is subtracted.
//   * "fresh": repeat=1, one syscall per packet, a fresh copy of a real flow's packet (backend
//     198.18.0.11, so the rewrite changes bytes) every time; the kernel's per-run duration of a
//     no-op program (timer reads, context set-up) is subtracted.
// After each case the per-reason counters (apilb_stats) must have grown by exactly the number of
// runs under the expected reason, and the return code must match, else the program fails: a
// number is printed only for the path it claims to measure.
//
// With --fill PCT the flow maps (apilb_fwd_v2, apilb_rev_v2) first get PCT % of LB_MAX_FLOWS
// established flows (written from userspace, spread over every CPU's LRU list as traffic from
// every CPU would be), so the hits look up a table that full; the "new flow" case then opens K
// (--fresh) flows with distinct tuples through lb_fwd (a SYN each: two LRU inserts), which at
// 90 % runs into LRU eviction: the cost of a node with many flows.
//
// Usage (root): apilb_bpfbench [--loops N] [--batches B] [--fresh K] [--fill PCT]
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "apilb.skel.h"
#include "bpf/datapath.h"
#include "bpf/loader.h"
#include "bpf/maglev_map.h"
#include "bpf/unique_fd.h"
#include "apilb_maps.h"

namespace lb {
namespace {

constexpr uint32_t kTable = LB_DEFAULT_TABLE;
constexpr uint16_t kVipPort = 6443;
constexpr uint16_t kClientPort = 40000;
constexpr uint32_t kIsn = 1000;
constexpr uint32_t kServerIsn = 5000;
constexpr uint8_t kSyn = 0x02, kPsh = 0x08, kAck = 0x10;  // TCP flags

uint32_t ip4(const char* s) {
  in_addr a{};
  if (inet_pton(AF_INET, s, &a) != 1) throw std::runtime_error(std::string("bad address ") + s);
  return a.s_addr;
}

// ---- packets -----------------------------------------------------------------------------
uint16_t foldCsum(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint64_t sumBytes(const uint8_t* p, size_t n, uint64_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint64_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint64_t>(p[n - 1] << 8);
  return sum;
}

struct Tcp4 {
  uint32_t src, dst;  // network order
  uint16_t sport, dport;  // host order
  uint8_t flags;
  uint32_t seq = 0, ack = 0;
  size_t payload = 0;
};

// Ethernet + IPv4 (no options) + TCP (no options) + payload, correct checksums.
std::vector<uint8_t> buildPacket(const Tcp4& t) {
  const size_t ipLen = 20 + 20 + t.payload;
  std::vector<uint8_t> pkt(ETH_HLEN + ipLen, 0);
  uint8_t* eth = pkt.data();
  const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x01}, smac[6] = {0x02, 0, 0, 0, 0, 0x02};
  memcpy(eth, dmac, 6);
  memcpy(eth + 6, smac, 6);
  eth[12] = 0x08;  // ETH_P_IP
  uint8_t* ip = eth + ETH_HLEN;
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ipLen >> 8);
  ip[3] = static_cast<uint8_t>(ipLen);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = IPPROTO_TCP;
  memcpy(ip + 12, &t.src, 4);
  memcpy(ip + 16, &t.dst, 4);
  uint16_t c = htons(foldCsum(sumBytes(ip, 20)));
  memcpy(ip + 10, &c, 2);
  uint8_t* tcp = ip + 20;
  uint16_t sp = htons(t.sport), dp = htons(t.dport), win = htons(64240);
  uint32_t seq = htonl(t.seq), ack = htonl(t.ack);
  memcpy(tcp, &sp, 2);
  memcpy(tcp + 2, &dp, 2);
  memcpy(tcp + 4, &seq, 4);
  memcpy(tcp + 8, &ack, 4);
  tcp[12] = 5 << 4;
  tcp[13] = t.flags;
  memcpy(tcp + 14, &win, 2);
  for (size_t i = 0; i < t.payload; i++) tcp[20 + i] = static_cast<uint8_t>('a' + i % 26);
  const size_t l4 = 20 + t.payload;
  uint64_t pseudo = sumBytes(ip + 12, 8) + IPPROTO_TCP + l4;
  c = htons(foldCsum(sumBytes(tcp, l4, pseudo)));
  memcpy(tcp + 16, &c, 2);
  return pkt;
}

// ---- the loaded object -------------------------------------------------------------------
struct SkelDeleter {
  void operator()(apilb* s) const noexcept { apilb__destroy(s); }
};

lb_addr addr4(uint32_t a) {
  lb_addr x{};
  x.w[0] = a;
  return x;
}

class Bench {
 public:
  Bench() {
    libbpf_set_print(nullptr);
    skel_.reset(apilb__open());
    if (!skel_) throw std::runtime_error("apilb__open failed (run as root?)");
    lb::UniqueFd tmpl = lb::sizeMaglevInner(skel_->maps.apilb_maglev, kTable);  // as attach does
    skel_->rodata->lb_lo_ifindex = 1;
    (void)lb::chooseXdpFrags(skel_.get());  // as LbProgram::load
    if (int err = apilb__load(skel_.get()))
      throw std::runtime_error("apilb__load failed: " + std::string(strerror(-err)));
    noopXdp_ = loadNoop(BPF_PROG_TYPE_XDP, XDP_PASS);
    noopTc_ = loadNoop(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
  }
  ~Bench() {
    if (noopXdp_ >= 0) close(noopXdp_);
    if (noopTc_ >= 0) close(noopTc_);
  }

  int fwd() const { return bpf_program__fd(skel_->progs.lb_fwd); }
  int revXdp() const { return bpf_program__fd(skel_->progs.lb_rev_xdp); }
  int revTc() const { return bpf_program__fd(skel_->progs.lb_rev_tc); }
  int noopXdp() const { return noopXdp_; }
  int noopTc() const { return noopTc_; }
  int fwdMap() const { return bpf_map__fd(skel_->maps.apilb_fwd_v2); }
  int revMap() const { return bpf_map__fd(skel_->maps.apilb_rev_v2); }

  // VIP vipId at vip:kVipPort whose whole Maglev table points at backend slot beId (be:bePort).
  void addService(uint32_t vipId, uint32_t vip, uint32_t beId, uint32_t be, uint16_t bePort) {
    lb_vip_key k{};
    k.addr = addr4(vip);
    k.port = htons(kVipPort);
    k.proto = IPPROTO_TCP;
    k.family = LB_AF_INET;
    lb_vip v{};
    v.vip_id = vipId;
    v.table_size = kTable;
    update(skel_->maps.apilb_vips, &k, &v);
    lb_backend b{};
    b.addr = addr4(be);
    b.port = htons(bePort);
    b.family = LB_AF_INET;
    b.flags = LB_BE_F_IN_USE;
    b.vip_id = vipId;
    b.ifindex = 1;
    b.gen = 1;
    b.weight = 1;
    update(skel_->maps.apilb_backends_v2, &beId, &b);
    uint32_t port = bePort, on = 1;
    update(skel_->maps.apilb_bports, &port, &on);
    if (lb::installMaglevTable(bpf_map__fd(skel_->maps.apilb_maglev), vipId,
                               std::vector<uint32_t>(kTable, beId)))
      throw std::runtime_error("installing the Maglev table failed");
  }

  // Per-reason packet counters summed over CPUs.
  std::array<uint64_t, LB_R__MAX> counters() const {
    std::array<uint64_t, LB_R__MAX> out{};
    const int ncpu = libbpf_num_possible_cpus();
    std::vector<lb_stat> v(static_cast<size_t>(ncpu));
    for (uint32_t r = 0; r < LB_R__MAX; r++) {
      if (bpf_map__lookup_elem(skel_->maps.apilb_stats, &r, sizeof(r), v.data(),
                               v.size() * sizeof(lb_stat), 0))
        throw std::runtime_error("reading apilb_stats failed");
      for (const auto& s : v) out[r] += s.packets;
    }
    return out;
  }

 private:
  template <class K, class V>
  static void update(bpf_map* m, const K* k, const V* v) {
    if (bpf_map__update_elem(m, k, sizeof(K), v, sizeof(V), BPF_ANY))
      throw std::runtime_error(std::string("update of ") + bpf_map__name(m) + " failed");
  }

  static int loadNoop(bpf_prog_type type, int ret) {
    bpf_insn insns[2] = {};
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = ret
    insns[0].dst_reg = BPF_REG_0;
    insns[0].imm = ret;
    insns[1].code = BPF_JMP | BPF_EXIT;
    int fd = bpf_prog_load(type, "apilbb_noop", "Dual BSD/GPL", insns, 2, nullptr);
    if (fd < 0) throw std::runtime_error("loading the no-op program failed");
    return fd;
  }

  std::unique_ptr<apilb, SkelDeleter> skel_;
  int noopXdp_ = -1, noopTc_ = -1;
};

// ---- running -----------------------------------------------------------------------------
struct RunResult {
  uint32_t retval;
  uint32_t duration;  // ns per iteration, as measured by the kernel
  std::vector<uint8_t> out;
};

RunResult runOnce(int fd, const std::vector<uint8_t>& pkt, uint32_t repeat) {
  RunResult r{};
  r.out.resize(pkt.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt.data(),
              .data_out = r.out.data(), .data_size_in = static_cast<uint32_t>(pkt.size()),
              .data_size_out = static_cast<uint32_t>(r.out.size()), .repeat = static_cast<int>(repeat));
  if (int err = bpf_prog_test_run_opts(fd, &o))
    throw std::runtime_error("BPF_PROG_TEST_RUN failed: " + std::string(strerror(-err)));
  r.out.resize(o.data_size_out);
  r.retval = o.retval;
  r.duration = o.duration;
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Stats {
  double median, min;
};

struct Options {
  uint32_t loops = 200000;  // repeat per batch ("loop" method)
  int batches = 15;         // batches per case
  int fresh = 20000;        // syscalls per case ("fresh" method)
  int fill = 0;             // % of LB_MAX_FLOWS pre-filled in the flow maps
};

// "loop": batches of repeat=N over one (idempotent) packet.
Stats timeLoop(int fd, const std::vector<uint8_t>& pkt, const Options& o) {
  std::vector<double> ns;
  for (int b = 0; b < o.batches; b++) ns.push_back(runOnce(fd, pkt, o.loops).duration);
  return {median(ns), *std::min_element(ns.begin(), ns.end())};
}

// "fresh": repeat=1 per syscall, the kernel copies the packet anew every time.
Stats timeFresh(int fd, const std::vector<uint8_t>& pkt, const Options& o) {
  std::vector<double> ns;
  ns.reserve(static_cast<size_t>(o.fresh));
  for (int i = 0; i < o.fresh; i++) ns.push_back(runOnce(fd, pkt, 1).duration);
  return {median(ns), *std::min_element(ns.begin(), ns.end())};
}

// Runs `fd` once on `pkt` and requires retval and exactly one count under reason `why`.
RunResult expectOne(const Bench& b, int fd, const std::vector<uint8_t>& pkt, uint32_t retval,
                    uint32_t why, const char* what) {
  auto before = b.counters();
  RunResult r = runOnce(fd, pkt, 1);
  auto after = b.counters();
  for (uint32_t i = 0; i < LB_R__MAX; i++) {
    uint64_t d = after[i] - before[i];
    if (d != (i == why ? 1u : 0u) || r.retval != retval) {
      char msg[200];
      snprintf(msg, sizeof(msg), "%s: retval %u (want %u), reason %u counted %llu times", what,
               r.retval, retval, i, static_cast<unsigned long long>(d));
      throw std::runtime_error(msg);
    }
  }
  return r;
}

struct Case {
  const char* name;
  int fd, noop;
  std::vector<uint8_t> loopPkt;   // idempotent packet (empty: no loop measurement)
  std::vector<uint8_t> freshPkt;  // real flow's packet
  uint32_t retval, why;
};

struct Row {
  std::string name;
  Stats loop{}, loopNoop{}, fresh{}, freshNoop{};
  bool hasLoop = false;
};

// Measures one case and proves every run took the claimed path: the reason counter must have
// grown by exactly the number of runs.
Row measure(const Bench& b, const Case& c, const Options& o) {
  Row row{c.name};
  auto before = b.counters();
  uint64_t runs = 0;
  if (!c.loopPkt.empty()) {
    // The idempotent rewrite must leave the packet byte for byte as it was.
    if (expectOne(b, c.fd, c.loopPkt, c.retval, c.why, c.name).out != c.loopPkt)
      throw std::runtime_error(std::string(c.name) + ": the rewrite is not idempotent");
    before = b.counters();
    row.loop = timeLoop(c.fd, c.loopPkt, o);
    row.loopNoop = timeLoop(c.noop, c.loopPkt, o);
    row.hasLoop = true;
    runs += static_cast<uint64_t>(o.loops) * static_cast<uint64_t>(o.batches);
  }
  row.fresh = timeFresh(c.fd, c.freshPkt, o);
  row.freshNoop = timeFresh(c.noop, c.freshPkt, o);
  runs += static_cast<uint64_t>(o.fresh);
  auto after = b.counters();
  for (uint32_t i = 0; i < LB_R__MAX; i++) {
    uint64_t want = i == c.why ? runs : 0, got = after[i] - before[i];
    if (got != want) {
      char msg[200];
      snprintf(msg, sizeof(msg), "%s: reason %u counted %llu times, want %llu", c.name, i,
               static_cast<unsigned long long>(got), static_cast<unsigned long long>(want));
      throw std::runtime_error(msg);
    }
  }
  return row;
}

// Opens a flow client:port -> vip through the real programs (SYN via lb_fwd, SYN-ACK from
// `be` via lb_rev_xdp) so that it is ESTABLISHED exactly as on the wire.
void establish(const Bench& b, uint32_t client, uint16_t port, uint32_t vip, uint32_t be) {
  auto syn = buildPacket({client, vip, port, kVipPort, kSyn, kIsn, 0, 0});
  expectOne(b, b.fwd(), syn, TC_ACT_REDIRECT, LB_R_FWD_NEW, "SYN");
  auto synAck = buildPacket({be, client, kVipPort, port, kSyn | kAck, kServerIsn, kIsn + 1, 0});
  expectOne(b, b.revXdp(), synAck, XDP_PASS, LB_R_REV_HIT, "SYN-ACK");
}

// Runs thread on `cpu` (the flow maps' LRU lists are per CPU: an entry written by userspace goes
// to the list of the CPU the writer runs on).
void pinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set))
    throw std::runtime_error("sched_setaffinity failed: " + std::string(strerror(errno)));
}

// Number of keys in a hash map.
size_t countKeys(int fd) {
  lb_flow_key k{}, next{};
  size_t n = 0;
  for (const void* prev = nullptr; bpf_map_get_next_key(fd, prev, &next) == 0; prev = &k, n++)
    k = next;
  return n;
}

// Fills the flow maps to pct % of LB_MAX_FLOWS with ESTABLISHED flows of clients 10.64.0.0/10
// to `vip` (backend `be`), as many from each online CPU. Returns the number of flows written.
size_t fillFlows(const Bench& b, int pct, uint32_t vip, uint32_t be) {
  const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  const size_t n = static_cast<size_t>(LB_MAX_FLOWS) * static_cast<size_t>(pct) / 100;
  for (size_t i = 0; i < n; i++) {
    if (i % (n / static_cast<size_t>(ncpu) + 1) == 0)
      pinTo(static_cast<int>(i / (n / static_cast<size_t>(ncpu) + 1)));
    const uint32_t client = htonl(0x0a400000u + static_cast<uint32_t>(i / 50000));
    const uint16_t port = htons(static_cast<uint16_t>(10000 + i % 50000));
    lb::FlowInfo flow{};
    lb_flow_key& fk = flow.key;
    fk.src = addr4(client);
    fk.dst = addr4(vip);
    fk.sport = port;
    fk.dport = htons(kVipPort);
    fk.proto = IPPROTO_TCP;
    fk.family = LB_AF_INET;
    lb_fwd& f = flow.fwd;
    f.backend = addr4(be);
    f.backend_port = htons(kVipPort);
    f.state = LB_TCP_ESTABLISHED;
    f.backend_id = 1;
    f.backend_gen = 1;
    const lb_flow_key rk = flow.revKey();
    lb_rev r{};
    r.vip = addr4(vip);
    r.vip_port = htons(kVipPort);
    r.state = LB_TCP_ESTABLISHED;
    if (bpf_map_update_elem(b.fwdMap(), &fk, &f, BPF_ANY) ||
        bpf_map_update_elem(b.revMap(), &rk, &r, BPF_ANY))
      throw std::runtime_error("filling the flow maps failed: " + std::string(strerror(errno)));
  }
  pinTo(0);
  return n;
}

// "new flow": K SYNs with distinct tuples (client 10.128.0.0/16) through lb_fwd, repeat=1 each;
// every one must count as FWD_NEW.
Row measureNewFlows(const Bench& b, const Options& o, uint32_t vip) {
  Row row{"new flow, SYN (tc lb_fwd)"};
  std::vector<std::vector<uint8_t>> pkts;
  for (int i = 0; i < o.fresh; i++)
    pkts.push_back(buildPacket({htonl(0x0a800000u + static_cast<uint32_t>(i / 50000)), vip,
                                static_cast<uint16_t>(10000 + i % 50000), kVipPort, kSyn, kIsn, 0,
                                0}));
  auto before = b.counters();
  std::vector<double> ns;
  for (const auto& p : pkts) {
    RunResult r = runOnce(b.fwd(), p, 1);
    if (r.retval != TC_ACT_REDIRECT) throw std::runtime_error("new flow: not redirected");
    ns.push_back(r.duration);
  }
  auto after = b.counters();
  if (after[LB_R_FWD_NEW] - before[LB_R_FWD_NEW] != pkts.size())
    throw std::runtime_error("new flow: not every SYN counted as FWD_NEW");
  row.fresh = {median(ns), *std::min_element(ns.begin(), ns.end())};
  row.freshNoop = timeFresh(b.noopTc(), pkts[0], o);
  return row;
}

void print(const std::vector<Row>& rows, const Options& o) {
  printf("BPF_PROG_TEST_RUN, JIT, ns per packet (method: see tests/bpfbench/bpf_bench.cpp)\n");
  printf("loop = repeat %u x %d batches over an idempotent flow (backend == VIP), minus a no-op\n"
         "program's loop; fresh = %d syscalls with repeat=1 on a real flow, minus a no-op run\n",
         o.loops, o.batches, o.fresh);
  printf("%-34s %9s %9s %9s   %9s %9s %9s\n", "case", "loop", "(raw)", "(min)", "fresh",
         "(raw)", "(noop)");
  for (const auto& r : rows) {
    if (r.hasLoop)
      printf("%-34s %9.1f %9.1f %9.1f", r.name.c_str(), r.loop.median - r.loopNoop.median,
             r.loop.median, r.loop.min);
    else
      printf("%-34s %9s %9s %9s", r.name.c_str(), "-", "-", "-");
    printf("   %9.1f %9.1f %9.1f\n", r.fresh.median - r.freshNoop.median, r.fresh.median,
           r.freshNoop.median);
  }
}

void printTargets(const std::vector<Row>& rows) {
  auto net = [](const Row& r) {
    return r.hasLoop ? r.loop.median - r.loopNoop.median : r.fresh.median - r.freshNoop.median;
  };
  struct Goal {
    const char* prefix;
    double max;
  } goals[] = {{"reverse hit", 60}, {"miss", 30}};
  for (const auto& g : goals)
    for (const auto& r : rows)
      if (r.name.find(g.prefix) != std::string::npos)
        printf("target %-34s <= %2.0f ns: %5.1f ns %s\n", r.name.c_str(), g.max, net(r),
               net(r) <= g.max ? "met" : "MISSED");
  for (const auto& r : rows)
    if (r.name.find("forward hit") != std::string::npos)
      printf("target %-34s as low as it goes: %5.1f ns\n", r.name.c_str(), net(r));
}

int run(const Options& o) {
  Bench b;
  const uint32_t client = ip4("198.18.0.1"), vipIdem = ip4("169.254.64.43");
  const uint32_t vipReal = ip4("169.254.64.44"), backend = ip4("198.18.0.11");
  const uint32_t stranger = ip4("198.18.0.99");
  // VIP 0: its only backend is the VIP itself, so every rewrite writes identical bytes.
  b.addService(0, vipIdem, 0, vipIdem, kVipPort);
  // VIP 1: a real backend; the rewrite changes address and checksums.
  b.addService(1, vipReal, 1, backend, kVipPort);
  establish(b, client, kClientPort, vipIdem, vipIdem);
  establish(b, client, kClientPort, vipReal, backend);

  const size_t kPayload = 100;  // a small request / response segment
  auto fwdIdem = buildPacket({client, vipIdem, kClientPort, kVipPort, kAck | kPsh, kIsn + 1,
                              kServerIsn + 1, kPayload});
  auto fwdReal = buildPacket({client, vipReal, kClientPort, kVipPort, kAck | kPsh, kIsn + 1,
                              kServerIsn + 1, kPayload});
  auto revIdem = buildPacket({vipIdem, client, kVipPort, kClientPort, kAck | kPsh,
                              kServerIsn + 1, kIsn + 1, kPayload});
  auto revReal = buildPacket({backend, client, kVipPort, kClientPort, kAck | kPsh,
                              kServerIsn + 1, kIsn + 1, kPayload});
  // Misses: a reply of no tracked flow (what every unrelated packet on the NIC costs) and a
  // packet on the VIP device that is not for a VIP.
  auto revMiss = buildPacket({stranger, client, 443, 5555, kAck, 1, 1, kPayload});
  auto fwdMiss = buildPacket({client, stranger, 5555, 443, kAck, 1, 1, kPayload});

  std::vector<Case> cases = {
      {"forward hit (tc lb_fwd)", b.fwd(), b.noopTc(), fwdIdem, fwdReal, TC_ACT_REDIRECT,
       LB_R_FWD_HIT},
      {"reverse hit (xdp lb_rev_xdp)", b.revXdp(), b.noopXdp(), revIdem, revReal, XDP_PASS,
       LB_R_REV_HIT},
      {"reverse hit (tc lb_rev_tc)", b.revTc(), b.noopTc(), revIdem, revReal, uint32_t(TC_ACT_UNSPEC),
       LB_R_REV_HIT},
      {"miss, not tracked (xdp lb_rev_xdp)", b.revXdp(), b.noopXdp(), revMiss, revMiss, XDP_PASS,
       LB_R_PASS_NOT_TRACKED},
      {"miss, not tracked (tc lb_rev_tc)", b.revTc(), b.noopTc(), revMiss, revMiss, uint32_t(TC_ACT_UNSPEC),
       LB_R_PASS_NOT_TRACKED},
      {"miss, not a VIP (tc lb_fwd)", b.fwd(), b.noopTc(), fwdMiss, fwdMiss, TC_ACT_OK,
       LB_R_PASS_NOT_VIP},
  };
  pinTo(0);  // one CPU: the per-CPU counters and LRU list of the measured runs in one place
  if (o.fill > 0) {
    size_t n = fillFlows(b, o.fill, vipReal, backend);
    printf("flow maps %d %% full before the cases: %zu flows written, %zu fwd and %zu rev entries "
           "of %u\n", o.fill, n, countKeys(b.fwdMap()), countKeys(b.revMap()), LB_MAX_FLOWS);
  }
  std::vector<Row> rows;
  for (const auto& c : cases) rows.push_back(measure(b, c, o));
  rows.push_back(measureNewFlows(b, o, vipReal));
  print(rows, o);
  printf("flow maps after the new flows: %zu fwd and %zu rev entries of %u\n",
         countKeys(b.fwdMap()), countKeys(b.revMap()), LB_MAX_FLOWS);
  printTargets(rows);
  return 0;
}

}  // namespace
}  // namespace lb

int main(int argc, char** argv) {
  lb::Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto num = [&](const char* name) {
      if (i + 1 >= argc) {
        fprintf(stderr, "apilb_bpfbench: %s needs a value\n", name);
        exit(2);
      }
      long v = strtol(argv[++i], nullptr, 10);
      if (v <= 0 || v > 100000000) {
        fprintf(stderr, "apilb_bpfbench: bad %s '%s'\n", name, argv[i]);
        exit(2);
      }
      return v;
    };
    if (a == "--loops") {
      o.loops = static_cast<uint32_t>(num("--loops"));
    } else if (a == "--batches") {
      o.batches = static_cast<int>(num("--batches"));
    } else if (a == "--fresh") {
      o.fresh = static_cast<int>(num("--fresh"));
    } else if (a == "--fill") {
      o.fill = static_cast<int>(num("--fill"));
      if (o.fill > 100) {
        fprintf(stderr, "apilb_bpfbench: --fill is a percentage (1..100)\n");
        return 2;
      }
    } else {
      fprintf(stderr, "usage: apilb_bpfbench [--loops N] [--batches B] [--fresh K] [--fill PCT]\n");
      return 2;
    }
  }
  try {
    return lb::run(o);
  } catch (const std::exception& e) {
    fprintf(stderr, "apilb_bpfbench: %s\n", e.what());
    return 1;
  }
}
