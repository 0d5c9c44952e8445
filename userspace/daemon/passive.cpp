// SPDX-License-Identifier: Apache-2.0
// Passive failure detection rules (see passive.h).
#include "daemon/passive.h"

namespace lb {
namespace {

// SignalKind of each datapath counter (enum lb_signal order); LB_SIG_HANDSHAKE is no signal.
constexpr SignalKind kFromDatapath[] = {SignalKind::kRstSyn, SignalKind::kIcmpUnreach,
                                        SignalKind::kSynRetx, SignalKind::kRstEst};
static_assert(LB_SIG_RST_SYN == 0 && LB_SIG_ICMP_UNREACH == 1 && LB_SIG_SYN_RETX == 2 &&
                  LB_SIG_RST_EST == 3 && LB_SIG_HANDSHAKE == 4 && LB_SIG__MAX == 5,
              "kFromDatapath follows enum lb_signal");

}  // namespace

const char* signalKindName(SignalKind k) {
  switch (k) {
    case SignalKind::kRstSyn:
      return "rst_syn";
    case SignalKind::kIcmpUnreach:
      return "icmp_unreach";
    case SignalKind::kSynRetx:
      return "syn_retx";
    case SignalKind::kRstEst:
      return "rst_est";
    case SignalKind::kSynUnanswered:
      return "syn_unanswered";
  }
  return "?";
}

bool PassiveDetector::Observation::any() const {
  for (uint64_t n : signals)
    if (n) return true;
  return false;
}

void PassiveDetector::reset(size_t n) { backends_.assign(n, Backend{}); }

PassiveDetector::Observation PassiveDetector::observe(size_t i, const BackendSignals& c,
                                                      Clock::time_point now, bool watch) {
  Observation o;
  if (i >= backends_.size()) return o;
  Backend& b = backends_[i];
  bool wentDown = c.newFlows < b.last.newFlows;
  for (size_t k = 0; k < LB_SIG__MAX; k++) wentDown = wentDown || c.n[k] < b.last.n[k];
  if (!b.baseline || wentDown) {
    b = Backend{};
    b.baseline = true;
    b.last = c;
    return o;
  }
  for (size_t k = 0; k < std::size(kFromDatapath); k++)
    o.signals[static_cast<size_t>(kFromDatapath[k])] = c.n[k] - b.last.n[k];
  // A refusal or an ICMP error is an answer too: the host is there (and said so as a signal).
  uint64_t answers = (c.n[LB_SIG_HANDSHAKE] - b.last.n[LB_SIG_HANDSHAKE]) +
                     (c.n[LB_SIG_RST_SYN] - b.last.n[LB_SIG_RST_SYN]) +
                     (c.n[LB_SIG_ICMP_UNREACH] - b.last.n[LB_SIG_ICMP_UNREACH]);
  synClock(&b, c.newFlows - b.last.newFlows, answers, now, &o);
  b.last = c;
  if (!watch) {
    b.pendingSince.reset();
  } else if (o.any() && !b.pendingSince) {
    b.pendingSince = now;
    for (size_t k = 0; k < kSignalKinds; k++)
      if (o.signals[k]) {
        b.trigger = static_cast<SignalKind>(k);
        break;
      }
  }
  return o;
}

// Per-poll deltas only (cumulative SYN and SYN-ACK counts drift apart: clients give up,
// stale handshakes are re-picked): the clock starts when a poll sees more SYNs than answers and
// stops at the next poll with an answer; kSynSilence on the clock is one syn_unanswered.
void PassiveDetector::synClock(Backend* b, uint64_t newSyns, uint64_t answers,
                               Clock::time_point now, Observation* o) {
  if (answers > 0) {
    b->synWaitSince.reset();
    if (newSyns > answers) b->synWaitSince = now;
    return;
  }
  if (newSyns > 0 && !b->synWaitSince) b->synWaitSince = now;
  if (b->synWaitSince && now - *b->synWaitSince >= kSynSilence) {
    o->signals[static_cast<size_t>(SignalKind::kSynUnanswered)] = 1;
    b->synWaitSince.reset();  // re-armed by the next SYN
  }
}

bool PassiveDetector::takeProbeRequest(size_t i, Clock::time_point now) {
  if (i >= backends_.size()) return false;
  Backend& b = backends_[i];
  if (!b.pendingSince || (b.lastRequest && now - *b.lastRequest < recheck_)) return false;
  b.lastRequest = now;
  return true;
}

PassiveDetector::Answer PassiveDetector::onProbe(size_t i, Clock::time_point started) {
  Answer a;
  if (i >= backends_.size()) return a;
  Backend& b = backends_[i];
  if (!b.pendingSince || started < *b.pendingSince) return a;
  a.answers = true;
  a.trigger = b.trigger;
  b.pendingSince.reset();
  return a;
}

bool PassiveDetector::suspect(size_t i) const {
  return i < backends_.size() && backends_[i].pendingSince.has_value();
}

}  // namespace lb
