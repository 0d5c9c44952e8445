// SPDX-License-Identifier: Apache-2.0
// Passive failure detection in the datapath (apilb_signals, bpf/lib/signal.h): every signal kind
// is counted for the flow's backend, exactly once, for the packet that matches the flow's state
// -- and never for one that does not (a forged RST or ICMP error, a client's RST, a SYN-ACK that
// is not ours). Packets run through lb_fwd / lb_rev_xdp / lb_rev_tc with BPF_PROG_TEST_RUN on a
// fresh skeleton; each run also checks the verdict and the reason counter, so a signal never
// changes what happens to the packet (datapath_test.cpp checks the bytes of these paths).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <string>

#include "apilb.skel.h"
#include "bpf/maglev_map.h"
#include "bpf/unique_fd.h"
#include "bpf_maps.h"
#include "packet.h"
#include "privileges.h"

namespace lb::test {
namespace {

constexpr uint32_t kTable = 13;
const Mac kNodeMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const Mac kGwMac{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};

const char* const kNode4 = "10.0.0.1";
const char* const kVip4 = "169.254.64.43";
const char* const kBe0 = "10.0.0.11";  // slot 0
const char* const kBe1 = "10.0.0.12";  // slot 1
const char* const kRouter4 = "10.0.0.254";
const char* const kNode6 = "fd00::1";
const char* const kVip6 = "fd00:43::1";
const char* const kBe6 = "fd00::11";  // slot 2
constexpr uint16_t kVipPort = 6443, kBePort = 16443;
constexpr uint32_t kIsn = 1000, kSrvIsn = 5000;

enum class Prog { kFwd, kRevXdp, kRevTc };
using Signals = std::array<uint64_t, LB_SIG__MAX>;

bool isV6(const std::string& a) { return a.find(':') != std::string::npos; }

PacketBuilder& ip(PacketBuilder& b, const std::string& src, const std::string& dst) {
  return isV6(src) ? b.ipv6(src, dst) : b.ipv4(src, dst);
}

// Client -> VIP (fwd) or backend -> client (rev) TCP segment.
Bytes tcp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
          uint8_t flags, uint32_t seq, uint32_t ack = 0, bool reply = false) {
  PacketBuilder b;
  b.eth(reply ? kGwMac : kNodeMac, reply ? kNodeMac : kGwMac);
  ip(b, src, dst).tcp(sport, dport, flags, seq, ack);
  return b.build();
}

// The client's segment to the backend as an ICMP error quotes it (IP header + TCP header);
// headerBytes < 20 cuts the TCP header (RFC 792 only promises 8 bytes).
Bytes quote(const std::string& client, uint16_t sport, const std::string& be, uint8_t flags,
            uint32_t seq, uint32_t ack, size_t headerBytes = 20) {
  PacketBuilder b;
  Bytes q = ip(b, client, be).tcp(sport, kBePort, flags, seq, ack).build();
  q.erase(q.end() - static_cast<std::ptrdiff_t>(20 - headerBytes), q.end());
  return q;
}

// An ICMP (v4: type/code; v6: icmp6 type/code) error from `from` to the client quoting `q`.
Bytes icmpError(const std::string& from, const std::string& client, uint8_t type, uint8_t code,
                const Bytes& q) {
  PacketBuilder b;
  b.eth(kGwMac, kNodeMac);
  ip(b, from, client);
  if (isV6(from))
    b.icmp6(type, code, 0);
  else
    b.icmp4(type, code, 0);
  return b.payload(q).build();
}

Signals only(unsigned kind, uint64_t n = 1) {
  Signals s{};
  s[kind] = n;
  return s;
}

class SignalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LB_SKIP_WITHOUT_BPF();
    skel_ = apilb::open();
    ASSERT_NE(skel_, nullptr) << "apilb::open: " << strerror(errno);
    lb::UniqueFd tmpl = lb::sizeMaglevInner(skel_->maps.apilb_maglev, kTable);
    skel_->rodata->lb_require_local = 0;  // test runs have no socket
    ASSERT_EQ(apilb::load(skel_), 0) << "apilb::load failed (verifier log above)";
    int vips = fd(skel_->maps.apilb_vips), bes = fd(skel_->maps.apilb_backends_v2);
    ASSERT_EQ(putVip(vips, kVip4, kVipPort, 0, kTable), 0);
    ASSERT_EQ(putVip(vips, kVip6, kVipPort, 1, kTable), 0);
    ASSERT_EQ(putBackend(bes, 0, kBe0, kBePort, 0, LB_BE_F_IN_USE), 0);
    ASSERT_EQ(putBackend(bes, 1, kBe1, kBePort, 0, LB_BE_F_IN_USE), 0);
    ASSERT_EQ(putBackend(bes, 2, kBe6, kBePort, 1, LB_BE_F_IN_USE), 0);
    ASSERT_EQ(putBackendPort(fd(skel_->maps.apilb_bports), kBePort), 0);
    setTable(0, 0);
    setTable(1, 2);
  }
  void TearDown() override {
    if (skel_) apilb::destroy(skel_);
  }

  static int fd(bpf_map* m) { return bpf_map__fd(m); }
  void setTable(uint32_t vipId, uint32_t id) {
    ASSERT_EQ(putTable(fd(skel_->maps.apilb_maglev), vipId, std::vector<uint32_t>(kTable, id)), 0);
  }
  Signals signals(uint32_t id) { return readSignals(fd(skel_->maps.apilb_signals), id); }

  // Runs `in` through `p`; checks the verdict and that exactly `reason` was counted.
  void expect(Prog p, const Bytes& in, int action, uint32_t reason) {
    bpf_program* prog = p == Prog::kFwd      ? skel_->progs.lb_fwd
                        : p == Prog::kRevXdp ? skel_->progs.lb_rev_xdp
                                             : skel_->progs.lb_rev_tc;
    Bytes out(in.size() + 256);
    auto before = readStats(fd(skel_->maps.apilb_stats));
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
                .data_size_in = uint32_t(in.size()), .data_size_out = uint32_t(out.size()),
                .repeat = 1);
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
    auto after = readStats(fd(skel_->maps.apilb_stats));
    EXPECT_EQ(int(opts.retval), action);
    for (uint32_t i = 0; i < LB_R__MAX; i++)
      EXPECT_EQ(after[i].packets - before[i].packets, i == reason ? 1u : 0u)
          << "reason " << i << " (want " << reason << ")";
  }
  static int pass(Prog rev) { return rev == Prog::kRevXdp ? XDP_PASS : TC_ACT_UNSPEC; }

  void syn(const std::string& client, uint16_t sport, const std::string& vip, uint32_t why) {
    expect(Prog::kFwd, tcp(client, sport, vip, kVipPort, kTcpSyn, kIsn), TC_ACT_REDIRECT, why);
  }
  // SYN, SYN-ACK through `rev`, ACK: the flow is ESTABLISHED with cli_ack = kSrvIsn + 1.
  void establish(const std::string& client, uint16_t sport, const std::string& vip,
                 const std::string& be, Prog rev = Prog::kRevXdp) {
    syn(client, sport, vip, LB_R_FWD_NEW);
    expect(rev, tcp(be, kBePort, client, sport, kTcpSyn | kTcpAck, kSrvIsn, kIsn + 1, true),
           pass(rev), LB_R_REV_HIT);
    expect(Prog::kFwd, tcp(client, sport, vip, kVipPort, kTcpAck, kIsn + 1, kSrvIsn + 1),
           TC_ACT_REDIRECT, LB_R_FWD_HIT);
  }

  apilb* skel_ = nullptr;
};

// ---- RST answering our SYN (connection refused) -------------------------------------------

TEST_F(SignalTest, RstAckingOurSynIsRstSyn) {
  struct Case {
    const char *client, *vip, *be;
    uint32_t slot;
    Prog rev;
  };
  const Case cases[] = {{kNode4, kVip4, kBe0, 0, Prog::kRevXdp},
                        {kNode4, kVip4, kBe0, 0, Prog::kRevTc},
                        {kNode6, kVip6, kBe6, 2, Prog::kRevXdp},
                        {kNode6, kVip6, kBe6, 2, Prog::kRevTc}};
  uint16_t port = 40000;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.be) + (c.rev == Prog::kRevXdp ? " xdp" : " tc"));
    Signals before = signals(c.slot);
    syn(c.client, port, c.vip, LB_R_FWD_NEW);
    expect(c.rev, tcp(c.be, kBePort, c.client, port, kTcpRst | kTcpAck, 0, kIsn + 1, true),
           pass(c.rev), LB_R_FLOW_CLOSED);
    Signals after = signals(c.slot);
    for (unsigned k = 0; k < LB_SIG__MAX; k++)
      EXPECT_EQ(after[k] - before[k], k == LB_SIG_RST_SYN ? 1u : 0u) << "kind " << k;
    port++;
  }
}

TEST_F(SignalTest, RstNotAckingOurSynIsNoSignal) {
  syn(kNode4, 40010, kVip4, LB_R_FWD_NEW);
  // Forged: acks something else, or carries no ACK at all (RFC 793: not acceptable in SYN_SENT).
  expect(Prog::kRevXdp, tcp(kBe0, kBePort, kNode4, 40010, kTcpRst | kTcpAck, 0, 4242, true),
         XDP_PASS, LB_R_PASS_RST_INVALID);
  expect(Prog::kRevTc, tcp(kBe0, kBePort, kNode4, 40010, kTcpRst, 0, 0, true), TC_ACT_UNSPEC,
         LB_R_PASS_RST_INVALID);
  // From the right address but to a client port with no flow.
  expect(Prog::kRevXdp, tcp(kBe0, kBePort, kNode4, 40011, kTcpRst | kTcpAck, 0, kIsn + 1, true),
         XDP_PASS, LB_R_PASS_NOT_TRACKED);
  EXPECT_EQ(signals(0), Signals{});
}

// ---- SYN retransmission of a flow still in SYN_SENT ----------------------------------------

TEST_F(SignalTest, RetransmittedSynIsSynRetx) {
  syn(kNode4, 40020, kVip4, LB_R_FWD_NEW);
  syn(kNode4, 40020, kVip4, LB_R_FWD_HIT);
  syn(kNode4, 40020, kVip4, LB_R_FWD_HIT);
  EXPECT_EQ(signals(0), only(LB_SIG_SYN_RETX, 2));
}

TEST_F(SignalTest, SynsThatAreNotRetransmitsAreNoSignal) {
  // Another ISN on a SYN_SENT tuple: a new connection reusing the port.
  syn(kNode4, 40021, kVip4, LB_R_FWD_NEW);
  expect(Prog::kFwd, tcp(kNode4, 40021, kVip4, kVipPort, kTcpSyn, kIsn + 7), TC_ACT_REDIRECT,
         LB_R_FWD_NEW);
  // The same ISN after the SYN-ACK came: the flow is established, so it is a new connection.
  establish(kNode4, 40022, kVip4, kBe0);
  syn(kNode4, 40022, kVip4, LB_R_FWD_NEW);
  Signals s = signals(0);
  EXPECT_EQ(s[LB_SIG_SYN_RETX], 0u);
  EXPECT_EQ(s[LB_SIG_HANDSHAKE], 1u);
}

// ---- SYN-ACKs: the answers the daemon's silence clock counts ------------------------------

TEST_F(SignalTest, OnlyASynAckAnsweringOurSynIsAHandshake) {
  establish(kNode4, 40030, kVip4, kBe0, Prog::kRevTc);
  EXPECT_EQ(signals(0), only(LB_SIG_HANDSHAKE));
  // Its retransmission (established): translated, not a second handshake.
  expect(Prog::kRevXdp,
         tcp(kBe0, kBePort, kNode4, 40030, kTcpSyn | kTcpAck, kSrvIsn, kIsn + 1, true), XDP_PASS,
         LB_R_REV_HIT);
  // Not acking our SYN, on a SYN_SENT flow.
  syn(kNode4, 40031, kVip4, LB_R_FWD_NEW);
  expect(Prog::kRevXdp, tcp(kBe0, kBePort, kNode4, 40031, kTcpSyn | kTcpAck, 9, 77, true), XDP_PASS,
         LB_R_PASS_SYNACK_MISMATCH);
  EXPECT_EQ(signals(0), only(LB_SIG_HANDSHAKE));
}

// ---- RST on an established flow ------------------------------------------------------------

TEST_F(SignalTest, ExactRstOnEstablishedFlowIsRstEst) {
  for (Prog rev : {Prog::kRevXdp, Prog::kRevTc}) {
    SCOPED_TRACE(rev == Prog::kRevXdp ? "xdp" : "tc");
    Signals before = signals(2);
    uint16_t port = rev == Prog::kRevXdp ? 40040 : 40041;
    establish(kNode6, port, kVip6, kBe6, rev);
    expect(rev, tcp(kBe6, kBePort, kNode6, port, kTcpRst, kSrvIsn + 1, 0, true), pass(rev),
           LB_R_FLOW_CLOSED);
    Signals after = signals(2);
    EXPECT_EQ(after[LB_SIG_RST_EST] - before[LB_SIG_RST_EST], 1u);
    EXPECT_EQ(after[LB_SIG_RST_SYN] - before[LB_SIG_RST_SYN], 0u);
  }
}

TEST_F(SignalTest, InexactOrForgedRstOnEstablishedFlowIsNoSignal) {
  establish(kNode4, 40042, kVip4, kBe0);
  // In window but not exact: passed on (the socket applies RFC 5961), flow kept, no signal.
  expect(Prog::kRevXdp, tcp(kBe0, kBePort, kNode4, 40042, kTcpRst, kSrvIsn + 1 + 1460, 0, true),
         XDP_PASS, LB_R_REV_RST_IN_WINDOW);
  // Outside the window (a blind forger's guess).
  for (uint32_t seq : {0x80000000u, kSrvIsn, kSrvIsn + 1 + (1u << 20)})
    expect(Prog::kRevTc, tcp(kBe0, kBePort, kNode4, 40042, kTcpRst | kTcpAck, seq, kIsn + 1, true),
           TC_ACT_UNSPEC, LB_R_PASS_RST_INVALID);
  EXPECT_EQ(signals(0), only(LB_SIG_HANDSHAKE));
}

TEST_F(SignalTest, RstWhileClosingIsNoSignal) {
  establish(kNode4, 40043, kVip4, kBe0);
  expect(Prog::kFwd, tcp(kNode4, 40043, kVip4, kVipPort, kTcpFin | kTcpAck, kIsn + 1, kSrvIsn + 1),
         TC_ACT_REDIRECT, LB_R_FWD_HIT);
  // A server closing with RST after the client's FIN: normal, not a failure.
  expect(Prog::kRevXdp, tcp(kBe0, kBePort, kNode4, 40043, kTcpRst, kSrvIsn + 1, 0, true), XDP_PASS,
         LB_R_FLOW_CLOSED);
  EXPECT_EQ(signals(0), only(LB_SIG_HANDSHAKE));
}

// A burst of clients closing with RST (SO_LINGER 0): client RSTs close flows, no signal.
TEST_F(SignalTest, ClientRstBurstIsNoSignal) {
  for (uint16_t port = 40100; port < 40164; port++) {
    establish(kNode4, port, kVip4, kBe0);
    expect(Prog::kFwd, tcp(kNode4, port, kVip4, kVipPort, kTcpRst | kTcpAck, kIsn + 1, kSrvIsn + 1),
           TC_ACT_REDIRECT, LB_R_FLOW_CLOSED);
    // The backend's late data for the closed flow: untracked now, no signal.
    expect(Prog::kRevXdp, tcp(kBe0, kBePort, kNode4, port, kTcpRst, kSrvIsn + 1, 0, true), XDP_PASS,
           LB_R_PASS_NOT_TRACKED);
  }
  EXPECT_EQ(signals(0), only(LB_SIG_HANDSHAKE, 64));
}

// ---- ICMP destination unreachable ----------------------------------------------------------

TEST_F(SignalTest, UnreachableQuotingOurSynIsIcmpUnreach) {
  for (Prog rev : {Prog::kRevXdp, Prog::kRevTc}) {
    SCOPED_TRACE(rev == Prog::kRevXdp ? "xdp" : "tc");
    uint16_t p = rev == Prog::kRevXdp ? 40050 : 40053;
    Signals before = signals(0), before6 = signals(2);
    // Port unreachable from the backend host (a firewall's REJECT), host unreachable from a
    // router, ICMPv6 port unreachable (type 1 code 4).
    syn(kNode4, p, kVip4, LB_R_FWD_NEW);
    expect(rev, icmpError(kBe0, kNode4, 3, 3, quote(kNode4, p, kBe0, kTcpSyn, kIsn, 0)), pass(rev),
           LB_R_ICMP_XLATE);
    syn(kNode4, p + 1, kVip4, LB_R_FWD_NEW);
    expect(rev, icmpError(kRouter4, kNode4, 3, 1, quote(kNode4, p + 1, kBe0, kTcpSyn, kIsn, 0, 8)),
           pass(rev), LB_R_ICMP_XLATE);
    syn(kNode6, p + 2, kVip6, LB_R_FWD_NEW);
    expect(rev, icmpError(kBe6, kNode6, 1, 4, quote(kNode6, p + 2, kBe6, kTcpSyn, kIsn, 0)),
           pass(rev), LB_R_ICMP_XLATE);
    EXPECT_EQ(signals(0)[LB_SIG_ICMP_UNREACH] - before[LB_SIG_ICMP_UNREACH], 2u);
    EXPECT_EQ(signals(2)[LB_SIG_ICMP_UNREACH] - before6[LB_SIG_ICMP_UNREACH], 1u);
  }
  EXPECT_EQ(signals(0)[LB_SIG_RST_SYN], 0u);
}

TEST_F(SignalTest, UnreachableOnEstablishedFlowMustQuoteTheClientsAck) {
  establish(kNode4, 40060, kVip4, kBe0);
  const uint8_t psh = kTcpAck | kTcpPsh;
  // The client's data segment acking the backend's ISN + 1 (= cli_ack): ours.
  expect(Prog::kRevXdp,
         icmpError(kRouter4, kNode4, 3, 1, quote(kNode4, 40060, kBe0, psh, kIsn + 1, kSrvIsn + 1)),
         XDP_PASS, LB_R_ICMP_XLATE);
  EXPECT_EQ(signals(0)[LB_SIG_ICMP_UNREACH], 1u);
  // An ack the client never sent, or an 8-byte quote without the ack: translated, no signal.
  expect(Prog::kRevXdp,
         icmpError(kRouter4, kNode4, 3, 1, quote(kNode4, 40060, kBe0, psh, kIsn + 1, 0x70000000)),
         XDP_PASS, LB_R_ICMP_XLATE);
  expect(
      Prog::kRevTc,
      icmpError(kRouter4, kNode4, 3, 1, quote(kNode4, 40060, kBe0, psh, kIsn + 1, kSrvIsn + 1, 8)),
      TC_ACT_UNSPEC, LB_R_ICMP_XLATE);
  EXPECT_EQ(signals(0)[LB_SIG_ICMP_UNREACH], 1u);
}

TEST_F(SignalTest, IcmpErrorsThatDoNotMatchOrAreNoFailureAreNoSignal) {
  syn(kNode4, 40070, kVip4, LB_R_FWD_NEW);
  syn(kNode6, 40071, kVip6, LB_R_FWD_NEW);
  // Quoting a SYN with another ISN (forged): translated as before, but no signal.
  expect(Prog::kRevXdp, icmpError(kBe0, kNode4, 3, 3, quote(kNode4, 40070, kBe0, kTcpSyn, 77, 0)),
         XDP_PASS, LB_R_ICMP_XLATE);
  // Path MTU (frag needed, packet too big) and time exceeded are no failure.
  expect(Prog::kRevXdp,
         icmpError(kRouter4, kNode4, 3, 4, quote(kNode4, 40070, kBe0, kTcpSyn, kIsn, 0)), XDP_PASS,
         LB_R_ICMP_XLATE);
  expect(Prog::kRevTc,
         icmpError(kRouter4, kNode4, 11, 0, quote(kNode4, 40070, kBe0, kTcpSyn, kIsn, 0)),
         TC_ACT_UNSPEC, LB_R_ICMP_XLATE);
  expect(Prog::kRevXdp, icmpError(kBe6, kNode6, 2, 0, quote(kNode6, 40071, kBe6, kTcpSyn, kIsn, 0)),
         XDP_PASS, LB_R_ICMP_XLATE);
  // About a flow nobody tracks.
  expect(Prog::kRevXdp, icmpError(kBe0, kNode4, 3, 3, quote(kNode4, 40079, kBe0, kTcpSyn, kIsn, 0)),
         XDP_PASS, LB_R_PASS_NOT_TRACKED);
  EXPECT_EQ(signals(0), Signals{});
  EXPECT_EQ(signals(2), Signals{});
}

// ---- attribution ------------------------------------------------------------------------------

TEST_F(SignalTest, SignalsLandOnTheFlowsBackend) {
  syn(kNode4, 40080, kVip4, LB_R_FWD_NEW);  // -> slot 0
  setTable(0, 1);
  syn(kNode4, 40081, kVip4, LB_R_FWD_NEW);  // -> slot 1
  expect(Prog::kRevXdp, tcp(kBe1, kBePort, kNode4, 40081, kTcpRst | kTcpAck, 0, kIsn + 1, true),
         XDP_PASS, LB_R_FLOW_CLOSED);
  syn(kNode4, 40080, kVip4, LB_R_FWD_HIT);  // retransmit: still slot 0
  EXPECT_EQ(signals(0), only(LB_SIG_SYN_RETX));
  EXPECT_EQ(signals(1), only(LB_SIG_RST_SYN));
}

}  // namespace
}  // namespace lb::test
