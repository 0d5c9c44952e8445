// SPDX-License-Identifier: Apache-2.0
// Upgrade in place (see upgrade.h): ABI check, load on the pinned maps, compare program tags,
// swap hook by hook, put the swapped hooks back if a later swap fails.
#include "bpf/upgrade.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <vector>

#include "apilb_maps.h"
#include "bpf/attach.h"
#include "bpf/hooks.h"
#include "bpf/loader.h"
#include "bpf/netlink.h"
#include "bpf/unique_fd.h"

namespace lb {
namespace {

// One place where apilb attached a program, as the attach record lists it.
struct Hook {
  std::string where;  // "tc egress of apilb0", for the log
  uint32_t ifindex = 0;
  bool xdp = false;
  bool generic = false;  // XDP in generic (skb) mode
  TcDir dir = TcDir::kIngress;
  const char* prog = "";  // the program's name
  int newFd = -1;         // this build's program (owned by the LbProgram)
  uint32_t oldId = 0;     // attached now (0: hook empty)
  UniqueFd oldFd;         // held while swapping, to put it back
  bool toTcx = false;     // a classic tc filter on a kernel with tcx: moves to tcx
};

std::vector<Hook> hooksOf(const lb_attach_rec& rec, const LbProgram& p) {
  std::vector<Hook> out;
  for (const TcHook& t : tcHooksOf(rec)) {
    Hook h;
    h.where = tcHookWhere(t.ifindex, t.dir);
    h.ifindex = t.ifindex;
    h.dir = t.dir;
    h.prog = t.prog;
    h.newFd = t.dir == TcDir::kEgress ? p.fwdProg() : p.revTcProg();
    out.push_back(std::move(h));
  }
  for (uint32_t i = 0; i < std::min<uint32_t>(rec.n_ifaces, LB_MAX_IFACES); ++i) {
    const lb_iface_rec& ir = rec.ifaces[i];
    if (ir.mode == LB_MODE_TC) continue;  // a tc hook, above
    Hook h;
    h.where = "XDP of " + ifName(ir.ifindex);
    h.ifindex = ir.ifindex;
    h.xdp = true;
    h.generic = ir.mode == LB_MODE_XDP_GENERIC;
    h.prog = kProgRevXdp;
    h.newFd = p.revXdpProg();
    out.push_back(std::move(h));
  }
  return out;
}

uint32_t attachedId(const Hook& h) {
  return h.xdp ? xdpProgId(h.ifindex, nullptr) : tcProgId(h.ifindex, h.dir);
}

bool progInfo(int fd, bpf_prog_info* info) {
  uint32_t len = sizeof(*info);
  *info = {};
  return bpf_obj_get_info_by_fd(fd, info, &len) == 0;
}

// Whether the program attached at h is this build's: same tag (a hash of the instructions
// before map fds are resolved, so one build's programs have one tag in every load).
bool current(const Hook& h) {
  bpf_prog_info a, b;
  return progInfo(h.oldFd.get(), &a) && progInfo(h.newFd, &b) &&
         std::memcmp(a.tag, b.tag, sizeof(a.tag)) == 0;
}

std::error_code swap(const Hook& h, int from, int to) {
  return h.xdp ? xdpReplace(h.ifindex, from, to, h.generic) : tcReplace(h.ifindex, h.dir, to);
}

uint32_t idOf(int fd) {
  bpf_prog_info info;
  return progInfo(fd, &info) ? info.id : 0;
}

// Puts this build's program on h. A hook moving to tcx gets it first in the tcx chain, next to
// the old classic filter, which goes once every hook is done (dropOldFilters): until then both
// run, and the old one sees packets the new one has translated, which match no flow.
std::error_code install(const Hook& h) {
  if (!h.toTcx) return swap(h, h.oldFd.get(), h.newFd);
  // A move that crashed halfway left a tcx program of ours next to the filter: it goes first
  // (the filter still serves), so that the chain holds one apilb program.
  for (int left = 8; left > 0; --left) {
    uint32_t stale = tcxProgId(h.ifindex, h.dir);
    if (!stale) break;
    if (auto ec = tcxDetach(h.ifindex, h.dir, stale)) return ec;
  }
  return tcxAttach(h.ifindex, h.dir, h.newFd);
}

// Undoes install(h): best effort, like attach's undo.
void uninstall(const Hook& h) {
  (void)(h.toTcx ? tcxDetach(h.ifindex, h.dir, idOf(h.newFd)) : swap(h, h.newFd, h.oldFd.get()));
}

void dropOldFilters(const std::vector<Hook*>& installed, std::ostream& log) {
  for (const Hook* h : installed)
    if (h->toTcx)
      if (auto ec = clsDetach(h->ifindex, h->dir))
        log << "warning: " << h->where << ": the old tc filter stays next to tcx (" << ec.message()
            << "); harmless, `apilb detach` removes both\n";
}

// Finds what is attached at each hook. A hook that is empty or holds a program that is not
// apilb's is left alone, with a warning.
void findAttached(std::vector<Hook>* hooks, std::ostream& log) {
  for (Hook& h : *hooks) {
    h.oldId = attachedId(h);
    std::string name = h.oldId ? progName(h.oldId) : "";
    if (h.oldId && name == h.prog) h.oldFd.reset(bpf_prog_get_fd_by_id(h.oldId));
    h.toTcx = h.oldFd.valid() && !h.xdp && tcxEnabled() && !tcProg(h.ifindex, h.dir).tcx;
    if (h.oldFd.valid()) continue;
    log << "warning: " << h.where << ": "
        << (h.oldId ? "holds " + name + ", not " + h.prog : std::string("no program"))
        << "; left as it is\n";
    h.oldId = 0;
  }
}

}  // namespace

uint32_t pinnedAbi(const std::string& pinDir) {
  UniqueFd fd(bpf_obj_get((pinDir + "/" LB_MAP_ATTACH).c_str()));
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (!fd.valid() || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0 || info.value_size < 8)
    return 0;
  std::vector<uint8_t> value(info.value_size);  // the record of any ABI, whatever its size
  uint32_t key = 0, magic = 0, version = 0;
  if (bpf_map_lookup_elem(fd.get(), &key, value.data()) != 0) return 0;
  std::memcpy(&magic, value.data(), 4);
  std::memcpy(&version, value.data() + 4, 4);
  return magic == LB_ATTACH_MAGIC ? version : 0;
}

bool adoptPrograms(const std::string& pinDir, std::ostream& log) {
  uint32_t abi = pinnedAbi(pinDir);
  if (abi != LB_ABI_VERSION)
    throw BadInput("the datapath at " + pinDir + " has map ABI " + std::to_string(abi) +
                   ", this apilb has map ABI " + std::to_string(LB_ABI_VERSION) +
                   ": not adopting it (nothing changed); run the apilb version that attached "
                   "it, or detach with that version and attach with this one");
  lb_attach_rec rec{};
  if (!readAttachRecord(pinDir, &rec))
    throw std::system_error(errno, std::generic_category(), "read " LB_MAP_ATTACH);
  std::optional<LbProgram> prog;
  try {
    prog.emplace(LbProgram::loadOnPins(pinDir, rec.lo_ifindex));
  } catch (const MapMismatch& e) {
    throw BadInput(std::string(e.what()) + " (map ABI " + std::to_string(abi) +
                   " on both sides: a map changed without a new ABI version); not adopting it "
                   "(nothing changed)");
  }
  std::vector<Hook> hooks = hooksOf(rec, *prog);
  findAttached(&hooks, log);
  std::vector<Hook*> swapped;
  for (Hook& h : hooks) {
    if (!h.oldId || (current(h) && !h.toTcx)) continue;
    if (auto ec = install(h)) {
      for (auto it = swapped.rbegin(); it != swapped.rend(); ++it) uninstall(**it);
      throw std::system_error(ec, std::string("replace ") + h.prog + " on " + h.where);
    }
    swapped.push_back(&h);
    log << (h.toTcx ? "moved " : "replaced ") << h.prog << " on " << h.where
        << (h.toTcx ? " from a tc filter to tcx, first in the chain" : "") << " (program id "
        << h.oldId << " -> " << idOf(h.newFd) << ")\n";
  }
  dropOldFilters(swapped, log);
  if (swapped.empty()) {
    log << "the attached programs are this build's (map ABI " << abi << "): nothing to replace\n";
    return false;
  }
  try {  // only the pin of this build's .rodata (for inspection): the swap itself is done
    prog->repinInternalMaps(pinDir);
  } catch (const std::exception& e) {
    log << "warning: " << e.what() << "\n";
  }
  log << "upgraded in place: maps and flows kept (map ABI " << abi << ")\n";
  return true;
}

}  // namespace lb
