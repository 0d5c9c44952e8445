// SPDX-License-Identifier: Apache-2.0
// detach: undoes what the attach record lists (or, after a killed attach, what its journal
// lists), in the reverse order of attach: socket-mode links first (connect() stops being
// translated), then each NIC's hook, lo's hook and the sysctls, the VIP device, the pins. A
// piece already gone is a warning, never an error: detach must always get the node back.
#include <algorithm>
#include <cstring>
#include <ostream>
#include <string>

#include "bpf/attach.h"
#include "bpf/datapath.h"
#include "bpf/errno_code.h"
#include "bpf/hooks.h"
#include "bpf/journal.h"
#include "bpf/loader.h"
#include "bpf/netlink.h"
#include "bpf/sock_attach.h"
#include "bpf/sysctl.h"
#include "bpf/system.h"

namespace lb {
namespace {

void warn(std::ostream& log, const std::string& msg) { log << "warning: " << msg << "\n"; }

void restoreSysctl(const std::string& dev, const char* key, int8_t old, std::ostream& log) {
  if (old < 0) return;
  std::string name = ipv4ConfName(dev, key);
  int cur = 0;
  (void)readSysctl(name, &cur);
  if (auto ec = writeSysctl(name, old)) return warn(log, "restore " + name + ": " + ec.message());
  log << "sysctl " << name << " " << cur << " -> " << int(old) << "\n";
}

void detachIface(const lb_iface_rec& ir, std::ostream& log) {
  std::string name = ifName(ir.ifindex);
  if (name.empty()) return warn(log, "interface " + std::to_string(ir.ifindex) + " is gone");
  std::error_code ec = ir.mode == LB_MODE_TC
                           ? tcDetach(ir.ifindex, TcDir::kIngress, ir.flags & LB_IFACE_F_CLSACT)
                           : xdpDetach(ir.ifindex, kProgRevXdp);
  const char* prog = ir.mode == LB_MODE_TC ? kProgRevTc : kProgRevXdp;
  if (ec)
    warn(log, std::string("detach ") + prog + " from " + name + ": " + ec.message());
  else
    log << "detached " << prog << " from " << name << " (" << modeName(ir.mode) << ")\n";
  restoreSysctl(name, "rp_filter", ir.old_rp_filter, log);
}

void detachLo(const lb_attach_rec& rec, std::ostream& log) {
  if (auto ec = tcDetach(rec.lo_ifindex, TcDir::kIngress, rec.flags & LB_ATTACH_F_LO_CLSACT))
    warn(log, std::string("detach ") + kProgRevTc + " from lo: " + ec.message());
  else
    log << "detached " << kProgRevTc << " from tc ingress of lo\n";
  restoreSysctl("lo", "rp_filter", rec.old_lo_rp_filter, log);
  restoreSysctl("lo", "accept_local", rec.old_lo_accept_local, log);
  restoreSysctl("all", "rp_filter", rec.old_all_rp_filter, log);
}

void deleteVipDevice(const lb_attach_rec& rec, std::ostream& log) {
  std::string dev(rec.vip_dev, strnlen(rec.vip_dev, sizeof(rec.vip_dev)));
  if (ifName(rec.vip_dev_ifindex) != dev) return warn(log, "VIP device " + dev + " is gone");
  if (auto ec = deleteLink(rec.vip_dev_ifindex))
    return warn(log, "delete " + dev + ": " + ec.message());
  log << "deleted " << dev << " (and its route)\n";
}

}  // namespace

void detach(const std::string& pinDir, std::ostream& log) {
  std::string missing;
  if (!havePrivileges(&missing))
    throw BadInput("insufficient privileges: need root (" + missing + ")");
  if (journalExists(pinDir)) {  // an attach was killed: undo what it journaled (journal.h)
    replayJournal(pinDir, log);
    return;
  }
  if (!isAttached(pinDir)) throw BadInput("nothing attached at " + pinDir);
  lb_attach_rec rec{};
  {
    Datapath dp = Datapath::open(pinDir);
    if (auto ec = dp.attachRecord(&rec)) sysFail(ec, "read attach record");
  }
  if (rec.flags & LB_ATTACH_F_SOCKET) {  // connect() stops being translated first
    lb_sock_rec sr{};
    (void)readSockRecord(pinDir, &sr);
    detachSockLinks(pinDir, cgroupOf(sr), log);
  }
  if (!(rec.flags & LB_ATTACH_F_NO_PACKET)) {
    for (uint32_t i = 0; i < std::min<uint32_t>(rec.n_ifaces, LB_MAX_IFACES); ++i)
      detachIface(rec.ifaces[i], log);
    detachLo(rec, log);
    deleteVipDevice(rec, log);
  }
  removePinDir(pinDir);
  log << "removed pins under " << pinDir << "\n";
}

}  // namespace lb
