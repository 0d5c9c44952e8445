// SPDX-License-Identifier: Apache-2.0
// Putting the datapath on a node and taking it off again: validation of an attach request,
// the VIP device and route, loading the BPF skeleton, pinning its maps, filling them, attaching
// the programs (tc egress on the VIP device, XDP or tc ingress on each NIC, tc ingress on lo),
// the sysctls, and the attach record `apilb detach` and `apilb status` read back.
//
// attach.cpp puts it on, detach.cpp takes it off. attach() is all-or-nothing: each step
// registers its undo, and any failure runs the undo stack before the exception leaves. Errors: BadInput (the CLI exits 2; nothing touched) or
// std::system_error (runtime failure, exit 1; everything undone). Each change is journaled
// before it is made (bpf/journal.h), so a killed attach is undone by detach(). Not thread-safe.
// Errors of this layer (std::error_code from bpf/errno_code.h, sysFail, BadInput, UniqueFd):
// docs/architecture.md, "Errors".
#pragma once

#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/hooks.h"
#include "config/config.h"
#include "lb/endpoint.h"

namespace lb {

// Invalid user input: a one-line message, exit code 2, nothing changed on the host.
class BadInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The reverse-NAT hook on the NICs. kAuto (the default) decides per NIC: TC on a veth (native
// XDP there puts all of the device's traffic on NAPI and copies every cloned packet:
// docs/bench.md, "direct-xdp"), on a NIC that already has someone's XDP program, and where the
// driver refuses native XDP (generic XDP costs more than TC); native XDP everywhere else. kXdp
// insists on XDP (generic when the driver refuses native), kTc on TC.
enum class IngressMode { kAuto, kXdp, kTc };
// packet: VIP device + tc/XDP NAT; socket: cgroup connect() hooks only; both: sockets under the
// cgroup are translated at connect(), everything else by the packet path (docs/architecture.md).
enum class AttachMode { kPacket, kSocket, kBoth };
inline bool hasPacket(AttachMode m) { return m != AttachMode::kSocket; }
inline bool hasSocket(AttachMode m) { return m != AttachMode::kPacket; }
// "packet" / "socket" / "both" from an attach record's flags.
const char* attachModeName(uint32_t recFlags);

// What attach puts on the node: the datapath part of the node's intent (config/config.h, where
// backends are parsed and validated) plus where to pin and the VIP device's name.
struct AttachConfig {
  std::string pinDir = "/sys/fs/bpf/apilb";
  Endpoint vip;
  std::vector<BackendConfig> backends;
  std::vector<std::string> ifaces;  // empty: the egress interfaces of the backend routes
  IngressMode ingress = IngressMode::kAuto;
  uint32_t tableSize = LB_DEFAULT_TABLE;
  std::string vipDev = "apilb0";  // peer is vipDev + "p"
  AttachMode mode = AttachMode::kPacket;
  std::string cgroup;  // socket mode: cgroup v2 dir; "" = the cgroup v2 root (/proc/mounts)
  bool pods = false;   // socket mode: translate every netns under the cgroup, not only ours
};

// The datapath part of a validated intent, pinned at pinDir.
AttachConfig attachConfigOf(const DaemonConfig& intent, const std::string& pinDir);
// Checks that need no kernel: the pin dir and VIP device name, then validateDatapath() of the
// intent (families, duplicates, counts, table size, interface names). Returns "" when fine,
// else the first one-line reason.
std::string validateStatic(const AttachConfig& cfg);
// True if pinDir holds an apilb_attach map whose record carries LB_ATTACH_MAGIC.
bool isAttached(const std::string& pinDir);
// MTU of the VIP device and the smallest MTU of the attached interfaces (0: unknown). The VIP
// device should have the latter (bpf_redirect_neigh does no MTU check): `apilb status` warns
// when it is higher.
struct VipMtu {
  int vip = 0;
  int nic = 0;
};
VipMtu vipMtuOf(const lb_attach_rec& rec);
// The attach record pinned at pinDir (false: none, or not apilb's).
bool readAttachRecord(const std::string& pinDir, lb_attach_rec* rec);
// apilb's tc hooks in an attach record: apilb0's egress (lb_fwd), lo's and each TC interface's
// ingress (lb_rev_tc).
struct TcHook {
  uint32_t ifindex;
  TcDir dir;
  const char* prog;
};
std::vector<TcHook> tcHooksOf(const lb_attach_rec& rec);
// "native XDP" / "generic XDP" / "TC" for an LB_MODE_*.
const char* modeName(uint8_t mode);
// The one-line warning `attach` and `status` print for an interface in generic XDP mode.
std::string genericXdpWarning(const std::string& ifname);

// Attaches as described above, printing one line per change to `log`.
void attach(const AttachConfig& cfg, std::ostream& log);
// Undoes what the attach record at pinDir lists; after an interrupted attach (a journal is
// left, bpf/journal.h) replays the journal in reverse instead. Missing pieces (interface deleted,
// filter already gone) are warnings on `log`, not errors. BadInput if nothing is attached there.
void detach(const std::string& pinDir, std::ostream& log);

}  // namespace lb
