// SPDX-License-Identifier: Apache-2.0
// Upkeep of an attached datapath by `apilb run` (see upkeep.h).
#include "bpf/upkeep.h"

#include <optional>
#include <system_error>

#include "apilb_maps.h"
#include "bpf/attach.h"
#include "bpf/device.h"
#include "bpf/errno_code.h"
#include "bpf/hooks.h"
#include "bpf/loader.h"
#include "bpf/netlink.h"

namespace lb {

std::string followNicMtu(const std::string& pinDir) {
  lb_attach_rec rec{};
  if (!readAttachRecord(pinDir, &rec)) return "";
  VipMtu m = vipMtuOf(rec);
  if (m.vip == 0 || m.nic == 0 || m.vip == m.nic) return "";
  std::string dev = ifName(rec.vip_dev_ifindex);
  if (int rc = ifMtu(dev, m.nic); rc < 0)
    return "cannot set the MTU of " + dev + " to " + std::to_string(m.nic) + ": " +
           errnoCodeOf(rc).message();
  return "mtu " + dev + " " + std::to_string(m.vip) + " -> " + std::to_string(m.nic) +
         " (smallest of the attached interfaces changed)";
}

namespace {

// A classic filter hook: apilb's filter back in front (clsKeepFirst); a line in *r if anything
// happened.
void keepClsFirst(uint32_t ifindex, TcDir dir, TcOrderReport* r) {
  bool moved = false;
  std::string before;
  std::error_code ec = clsKeepFirst(ifindex, dir, &moved, &before);
  std::string where = tcHookWhere(ifindex, dir);
  if (moved)
    r->moves.push_back(where + ": the filter " + before + " had been put before apilb's; " +
                       "apilb's moved back to the front" +
                       (ec ? " (removing its old copy: " + ec.message() + ")" : ""));
  else if (ec)
    r->failures.push_back(where +
                          ": cannot check or restore the order of the tc filters: " + ec.message());
}

// A tcx hook: another load of apilb's programs on the pins (*fresh, made at the first hook that
// needs it) goes first in the chain (tcxKeepFirst); a line in *r if anything happened.
void keepTcxFirst(const std::string& pinDir, const lb_attach_rec& rec, uint32_t ifindex, TcDir dir,
                  std::optional<LbProgram>* fresh, TcOrderReport* r) {
  std::string ahead = tcxAhead(ifindex, dir);
  if (ahead.empty()) return;
  std::string where = tcHookWhere(ifindex, dir) + ": the tcx program(s) " + ahead;
  try {
    if (!*fresh) fresh->emplace(LbProgram::loadOnPins(pinDir, rec.lo_ifindex));
  } catch (const std::exception& e) {
    r->failures.push_back(where + " run before apilb's; loading apilb's programs to move it " +
                          "back failed: " + e.what());
    return;
  }
  bool moved = false;
  int fd = dir == TcDir::kEgress ? (*fresh)->fwdProg() : (*fresh)->revTcProg();
  std::error_code ec = tcxKeepFirst(ifindex, dir, fd, &moved);
  if (!moved)
    r->failures.push_back(where + " run before apilb's; moving it back failed: " + ec.message());
  else
    r->moves.push_back(where + " had been put before apilb's; apilb's moved back to the front" +
                       (ec ? " (detaching its old copy: " + ec.message() + ")" : ""));
}

}  // namespace

TcOrderReport keepTcProgsFirst(const std::string& pinDir) {
  TcOrderReport r;
  lb_attach_rec rec{};
  if (!readAttachRecord(pinDir, &rec) || (rec.flags & LB_ATTACH_F_NO_PACKET)) return r;
  std::optional<LbProgram> fresh;
  for (const TcHook& h : tcHooksOf(rec)) {
    if (tcProg(h.ifindex, h.dir).tcx)
      keepTcxFirst(pinDir, rec, h.ifindex, h.dir, &fresh, &r);
    else
      keepClsFirst(h.ifindex, h.dir, &r);
  }
  return r;
}

}  // namespace lb
