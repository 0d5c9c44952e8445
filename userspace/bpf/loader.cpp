// SPDX-License-Identifier: Apache-2.0
// Skeleton loading through the typed skeleton (skel->rodata->x, skel->progs.y): renaming a
// program or a tunable in bpf/apilb.bpf.c breaks this file's build, not a node at run time.
#include "bpf/loader.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "apilb.skel.h"
#include "apilb_maps.h"
#include "bpf/maglev_map.h"
#include "bpf/system.h"
#include "bpf/unique_fd.h"

namespace lb {
namespace {

[[noreturn]] void raise(int err, const std::string& what) {
  throw std::system_error(err < 0 ? -err : err, std::generic_category(), what);
}

struct SkelDeleter {
  void operator()(apilb* s) const noexcept { apilb__destroy(s); }
};

}  // namespace

struct LbProgram::Impl {
  std::unique_ptr<apilb, SkelDeleter> skel;
};

LbProgram::LbProgram(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LbProgram::LbProgram(LbProgram&&) noexcept = default;
LbProgram& LbProgram::operator=(LbProgram&&) noexcept = default;
LbProgram::~LbProgram() = default;

LbProgram LbProgram::load(uint32_t tableSize, uint32_t loIfindex, uint64_t sockNetns,
                          bool withSock) {
  auto impl = std::make_unique<Impl>();
  impl->skel.reset(apilb__open());
  if (!impl->skel) raise(errno, "apilb__open");
  UniqueFd tmpl = sizeMaglevInner(impl->skel->maps.apilb_maglev, tableSize);
  impl->skel->rodata->lb_lo_ifindex = loIfindex;
  impl->skel->rodata->lb_require_local = 1;  // forwarded packets never create flow state
  impl->skel->rodata->lb_sock_netns = sockNetns;
  const auto& p = impl->skel->progs;
  for (bpf_program* sp :
       {p.lb_sock_connect4, p.lb_sock_connect6, p.lb_sock_peer4, p.lb_sock_peer6, p.lb_sock_release})
    bpf_program__set_autoload(sp, withSock);
  if (int rc = apilb__load(impl->skel.get()); rc < 0) raise(rc, "apilb__load");
  return LbProgram(std::move(impl));
}

int LbProgram::fwdProg() const { return bpf_program__fd(impl_->skel->progs.lb_fwd); }
int LbProgram::revXdpProg() const { return bpf_program__fd(impl_->skel->progs.lb_rev_xdp); }
int LbProgram::revTcProg() const { return bpf_program__fd(impl_->skel->progs.lb_rev_tc); }

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
    std::string name = bpf_map__name(m);
    std::replace(name.begin(), name.end(), '.', '_');
    std::string path = pinDir + "/" + name;
    if (int rc = bpf_map__pin(m, path.c_str()); rc < 0) raise(rc, "bpf_map__pin(" + path + ")");
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
