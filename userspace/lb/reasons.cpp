// SPDX-License-Identifier: Apache-2.0
// The reason and TCP-state name tables. The reason table is checked at compile time against
// enum lb_reason in maps/apilb_maps.h: one entry per value, in enum order.
#include "lb/reasons.h"

#include <array>
#include <cstddef>

extern "C" {
#include "apilb_maps.h"
}

namespace lb {
namespace {

struct ReasonInfo {
  lb_reason reason;
  const char* name;
  const char* help;
};

constexpr ReasonInfo kReasons[] = {
    {LB_R_PASS_NOT_IP, "pass_not_ip", "not IPv4/IPv6 (ARP, VLAN, ...): untouched"},
    {LB_R_PASS_NOT_VIP, "pass_not_vip", "IP packet not for a VIP: untouched"},
    {LB_R_PASS_NOT_TRACKED, "pass_not_tracked", "not a reply of a tracked flow: untouched"},
    {LB_R_PASS_FRAGMENT, "pass_fragment", "IP fragment: untouched"},
    {LB_R_PASS_UNSUPPORTED, "pass_unsupported",
     "other L4 protocol or IPv6 extension headers: untouched"},
    {LB_R_PASS_SYNACK_MISMATCH, "pass_synack_mismatch",
     "SYN-ACK not acking our SYN (a direct flow): untouched"},
    {LB_R_FWD_NEW, "fwd_new", "new flow, backend chosen by Maglev"},
    {LB_R_FWD_HIT, "fwd_hit", "tracked flow, translated"},
    {LB_R_FWD_ADOPT, "fwd_adopt", "non-SYN without flow entry, backend from Maglev"},
    {LB_R_FWD_REPICK, "fwd_repick", "flow's backend gone, re-picked by Maglev"},
    {LB_R_FWD_HAIRPIN, "fwd_hairpin", "backend is local, redirected to lo ingress"},
    {LB_R_REV_HIT, "rev_hit", "reply translated back to the VIP"},
    {LB_R_ICMP_XLATE, "icmp_xlate", "ICMP error about a tracked flow translated"},
    {LB_R_FLOW_CLOSED, "flow_closed", "flow closed (RST / last ACK), entries removed"},
    {LB_R_DROP_NO_BACKEND, "drop_no_backend", "VIP has no usable backend: dropped"},
    {LB_R_DROP_MALFORMED, "drop_malformed", "truncated/malformed packet to the VIP: dropped"},
    {LB_R_ERR_REWRITE, "err_rewrite", "a store/csum helper failed: dropped"},
    {LB_R_ERR_FLOW_TABLE, "err_flow_table", "flow entry could not be created: forwarded untracked"},
    {LB_R_ERR_REDIRECT, "err_redirect", "bpf_redirect_neigh/bpf_redirect failed"},
    {LB_R_PASS_SYNACK_LIVE, "pass_synack_live",
     "SYN-ACK not matching a live flow (spoofed or a direct flow): untouched, flow kept"},
    {LB_R_PASS_RST_INVALID, "pass_rst_invalid",
     "backend RST outside the flow's sequence window: untouched, flow kept"},
    {LB_R_REV_RST_IN_WINDOW, "rev_rst_in_window",
     "backend RST in window but not exact: translated (the socket decides), flow kept"},
    {LB_R_DROP_NOT_LOCAL, "drop_not_local",
     "forwarded packet to the VIP (not from a local socket): dropped, no flow state"},
};

constexpr bool reasonsInEnumOrder() {
  for (size_t i = 0; i < std::size(kReasons); ++i) {
    if (static_cast<size_t>(kReasons[i].reason) != i) return false;
  }
  return true;
}

static_assert(std::size(kReasons) == LB_R__MAX, "one name per enum lb_reason value");
static_assert(reasonsInEnumOrder(), "kReasons must follow enum lb_reason order");

}  // namespace

const char* reasonName(uint32_t reason) {
  return reason < LB_R__MAX ? kReasons[reason].name : "unknown";
}

const char* reasonHelp(uint32_t reason) {
  return reason < LB_R__MAX ? kReasons[reason].help : "unknown reason";
}

std::optional<uint32_t> reasonFromName(std::string_view name) {
  for (const ReasonInfo& r : kReasons) {
    if (name == r.name) return static_cast<uint32_t>(r.reason);
  }
  return std::nullopt;
}

const char* tcpStateName(uint8_t state) {
  switch (state) {
    case 0:
      return "none";
    case LB_TCP_SYN_SENT:
      return "syn_sent";
    case LB_TCP_ESTABLISHED:
      return "established";
    case LB_TCP_FIN_WAIT:
      return "fin_wait";
    case LB_TCP_CLOSING:
      return "closing";
    default:
      return "unknown";
  }
}

}  // namespace lb
