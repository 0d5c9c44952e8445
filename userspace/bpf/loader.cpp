// SPDX-License-Identifier: Apache-2.0
// Skeleton loading through the typed skeleton (skel->rodata->x, skel->progs.y): renaming a
// program or a tunable in bpf/apilb.bpf.c breaks this file's build, not a node at run time.
#include "bpf/loader.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

#include "apilb.skel.h"
#include "apilb_maps.h"
#include "bpf/errno_code.h"
#include "bpf/maglev_map.h"
#include "bpf/system.h"
#include "bpf/unique_fd.h"

namespace lb {
namespace {

// Does the kernel take BPF_F_XDP_HAS_FRAGS (5.18+)? Loads a two-instruction XDP program
// (r0 = XDP_PASS; exit) with the flag. Older kernels refuse the unknown flag with EINVAL.
bool kernelTakesXdpFrags() {
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0,
       .imm = XDP_PASS},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = BPF_F_XDP_HAS_FRAGS);
  UniqueFd fd(bpf_prog_load(BPF_PROG_TYPE_XDP, "apilb_frags", "Dual BSD/GPL", insns,
                            sizeof(insns) / sizeof(insns[0]), &opts));
  return fd.valid();
}

// lb_rev_xdp is SEC("xdp.frags"); load it as plain xdp when the kernel refuses frags or
// APILB_XDP_FRAGS=0 asks for it (tests of the fallback, docs/datapath.md).
bool wantXdpFrags() {
  const char* env = std::getenv("APILB_XDP_FRAGS");
  if (env && std::strcmp(env, "0") == 0) return false;
  return kernelTakesXdpFrags();
}

// The pin name of a map: its name with '.' as '_' ("apilb.rodata" -> "apilb_rodata").
std::string pinName(const bpf_map* m) {
  std::string name = bpf_map__name(m);
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

// Why the pinned map fd cannot stand for m ("" if it can).
std::string mismatch(const bpf_map* m, int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return std::strerror(errno);
  auto differs = [](const char* what, uint32_t pinned, uint32_t want) {
    return what + std::string(" ") + std::to_string(pinned) + ", this build's is " +
           std::to_string(want);
  };
  if (info.type != bpf_map__type(m)) return differs("map type", info.type, bpf_map__type(m));
  if (info.key_size != bpf_map__key_size(m))
    return differs("key size", info.key_size, bpf_map__key_size(m));
  if (info.value_size != bpf_map__value_size(m))
    return differs("value size", info.value_size, bpf_map__value_size(m));
  if (info.max_entries != bpf_map__max_entries(m))
    return differs("max_entries", info.max_entries, bpf_map__max_entries(m));
  if (info.map_flags != bpf_map__map_flags(m))
    return differs("flags", info.map_flags, bpf_map__map_flags(m));
  return "";
}

// Socket mode's cgroup programs load only when asked, so packet mode never depends on the
// kernel's support for them.
void setSockAutoload(apilb* skel, bool on) {
  const auto& p = skel->progs;
  for (bpf_program* sp :
       {p.lb_sock_connect4, p.lb_sock_connect6, p.lb_sock_peer4, p.lb_sock_peer6, p.lb_sock_release})
    bpf_program__set_autoload(sp, on);
}

struct SkelDeleter {
  void operator()(apilb* s) const noexcept { apilb__destroy(s); }
};

}  // namespace

struct LbProgram::Impl {
  std::unique_ptr<apilb, SkelDeleter> skel;
  bool xdpFrags = false;
};

LbProgram::LbProgram(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LbProgram::LbProgram(LbProgram&&) noexcept = default;
LbProgram& LbProgram::operator=(LbProgram&&) noexcept = default;
LbProgram::~LbProgram() = default;

LbProgram LbProgram::load(uint32_t tableSize, uint32_t loIfindex, uint64_t sockNetns,
                          bool withSock) {
  auto impl = std::make_unique<Impl>();
  impl->skel.reset(apilb__open());
  if (!impl->skel) sysFail(errnoCode(), "apilb__open");
  UniqueFd tmpl = sizeMaglevInner(impl->skel->maps.apilb_maglev, tableSize);
  impl->skel->rodata->lb_lo_ifindex = loIfindex;
  impl->skel->rodata->lb_require_local = 1;  // forwarded packets never create flow state
  impl->skel->rodata->lb_sock_netns = sockNetns;
  setSockAutoload(impl->skel.get(), withSock);
  impl->xdpFrags = chooseXdpFrags(impl->skel.get());
  if (int rc = apilb__load(impl->skel.get()); rc < 0) sysFail(errnoCodeOf(rc), "apilb__load");
  return LbProgram(std::move(impl));
}

bool chooseXdpFrags(apilb* skel) {
  bpf_program* xdp = skel->progs.lb_rev_xdp;
  bool frags = wantXdpFrags();
  // The flag is set here, not by an "xdp.frags" section: libbpf would add it for such a section
  // at load time even after set_flags() cleared it, and kernels < 5.18 refuse it (bpf/apilb.bpf.c).
  if (frags) bpf_program__set_flags(xdp, bpf_program__flags(xdp) | BPF_F_XDP_HAS_FRAGS);
  skel->rodata->lb_xdp_frags = frags ? 1 : 0;
  return frags;
}

LbProgram LbProgram::loadOnPins(const std::string& pinDir, uint32_t loIfindex) {
  auto impl = std::make_unique<Impl>();
  impl->skel.reset(apilb__open());
  if (!impl->skel) sysFail(errnoCodeOf(errno), "apilb__open");
  bpf_map* m;
  bpf_object__for_each_map(m, impl->skel->obj) {
    if (bpf_map__is_internal(m)) continue;
    std::string path = pinDir + "/" + pinName(m);
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd.valid()) throw MapMismatch("pinned map " + path + ": " + std::strerror(errno));
    if (std::string why = mismatch(m, fd.get()); !why.empty())
      throw MapMismatch("pinned map " + path + ": " + why);
    if (int rc = bpf_map__reuse_fd(m, fd.get()); rc < 0) sysFail(errnoCodeOf(rc), "reuse " + path);
  }
  impl->skel->rodata->lb_lo_ifindex = loIfindex;
  impl->skel->rodata->lb_require_local = 1;  // as load()
  setSockAutoload(impl->skel.get(), false);  // cgroup links are not replaced (architecture.md)
  impl->xdpFrags = chooseXdpFrags(impl->skel.get());
  if (int rc = apilb__load(impl->skel.get()); rc < 0) sysFail(errnoCodeOf(rc), "apilb__load");
  return LbProgram(std::move(impl));
}

int LbProgram::fwdProg() const { return bpf_program__fd(impl_->skel->progs.lb_fwd); }
int LbProgram::revXdpProg() const { return bpf_program__fd(impl_->skel->progs.lb_rev_xdp); }
int LbProgram::revTcProg() const { return bpf_program__fd(impl_->skel->progs.lb_rev_tc); }
bool LbProgram::xdpFrags() const { return impl_->xdpFrags; }

LbProgram::SockProgs LbProgram::sockProgs() const {
  const auto& p = impl_->skel->progs;
  return {p.lb_sock_connect4, p.lb_sock_connect6, p.lb_sock_peer4, p.lb_sock_peer6,
          p.lb_sock_release};
}

void LbProgram::pinMaps(const std::string& pinDir) const {
  // Not bpf_object__pin_maps(): libbpf 1.1 replaces every '.' in the whole path with '_', so a
  // pin dir such as /tmp/x.1/pins fails with ENOENT. Only the map name is sanitised here
  // ("apilb.rodata" -> "apilb_rodata", the names bpf_object__pin_maps would use).
  bpf_map* m;
  bpf_object__for_each_map(m, impl_->skel->obj) {
    std::string path = pinDir + "/" + pinName(m);
    if (int rc = bpf_map__pin(m, path.c_str()); rc < 0)
      sysFail(errnoCodeOf(rc), "bpf_map__pin(" + path + ")");
  }
}

void LbProgram::repinInternalMaps(const std::string& pinDir) const {
  bpf_map* m;
  bpf_object__for_each_map(m, impl_->skel->obj) {
    if (!bpf_map__is_internal(m)) continue;
    std::string path = pinDir + "/" + pinName(m);
    // bpffs refuses '.' in names; apilb*: removePinDir() cleans it up if we die here.
    std::string tmp = path + "_new";
    ::unlink(tmp.c_str());
    if (int rc = bpf_map__pin(m, tmp.c_str()); rc < 0) sysFail(errnoCodeOf(rc), "bpf_map__pin(" + tmp + ")");
    if (::rename(tmp.c_str(), path.c_str()) != 0) sysFail(errnoCodeOf(errno), "rename " + tmp + " " + path);
  }
}

namespace {

// Entries the kernel's bpf_preload puts at a bpffs root; they cannot be removed.
bool kernelEntry(const char* n) {
  return !std::strcmp(n, "maps.debug") || !std::strcmp(n, "progs.debug");
}

}  // namespace

void removePinDir(const std::string& pinDir) {
  bool empty = true;
  if (DIR* d = ::opendir(pinDir.c_str())) {
    // Only our pins: every map of the object is named apilb_* or apilb.<section> ("apilb_rodata"
    // once libbpf sanitises it), so a shared or mistyped pin dir never loses foreign pins.
    while (dirent* e = ::readdir(d)) {
      if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..") || kernelEntry(e->d_name))
        continue;
      if (std::strncmp(e->d_name, "apilb", 5) != 0 || ::unlink((pinDir + "/" + e->d_name).c_str()))
        empty = false;
    }
    ::closedir(d);
  }
  if (!empty || pinDir == "/sys/fs/bpf") return;
  // A bpffs that attach mounted on the pin dir itself (a --pin-dir outside /sys/fs/bpf).
  std::string parent = pinDir.substr(0, std::max<size_t>(1, pinDir.rfind('/')));
  if (isBpffs(pinDir) && !isBpffs(parent)) ::umount2(pinDir.c_str(), MNT_DETACH);
  ::rmdir(pinDir.c_str());
}

}  // namespace lb
