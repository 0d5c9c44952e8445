// SPDX-License-Identifier: Apache-2.0
// Skeleton loading. rodata is written through the BTF of the .rodata datasec (offset of the
// variable by name) rather than skel->rodata->x, so this file compiles against any version of
// bpf/apilb.bpf.c and reports a missing variable at run time.
#include "bpf/loader.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
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
#include "bpf/system.h"
#include "bpf/unique_fd.h"

namespace lb {
namespace {

[[noreturn]] void raise(int err, const std::string& what) {
  throw std::system_error(err < 0 ? -err : err, std::generic_category(), what);
}

bpf_map* rodataMap(bpf_object* obj) {
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    const char* n = bpf_map__name(m);
    size_t len = std::strlen(n);
    if (len >= 7 && std::strcmp(n + len - 7, ".rodata") == 0) return m;
  }
  return nullptr;
}

void setRodataU32(bpf_object* obj, const char* var, uint32_t value) {
  bpf_map* ro = rodataMap(obj);
  const btf* b = bpf_object__btf(obj);
  size_t size = 0;
  auto* init = ro ? static_cast<const char*>(bpf_map__initial_value(ro, &size)) : nullptr;
  int sec = b ? btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC) : -1;
  if (!init || sec < 0) raise(ENOENT, std::string("BPF object has no .rodata for ") + var);
  const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(sec));
  const btf_var_secinfo* vs = btf_var_secinfos(t);
  for (int i = 0; i < btf_vlen(t); ++i, ++vs) {
    const btf_type* v = btf__type_by_id(b, vs->type);
    if (std::strcmp(btf__name_by_offset(b, v->name_off), var) != 0) continue;
    if (vs->size != sizeof(value) || vs->offset + sizeof(value) > size)
      raise(EINVAL, std::string("rodata ") + var + " is not a u32");
    std::vector<char> data(init, init + size);  // libbpf's setter is the supported way in
    std::memcpy(data.data() + vs->offset, &value, sizeof(value));
    if (int rc = bpf_map__set_initial_value(ro, data.data(), size); rc < 0)
      raise(rc, "bpf_map__set_initial_value(.rodata)");
    return;
  }
  raise(ENOENT, std::string("BPF object has no rodata variable ") + var);
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

LbProgram LbProgram::load(uint32_t tableSize, uint32_t loIfindex) {
  auto impl = std::make_unique<Impl>();
  impl->skel.reset(apilb__open());
  if (!impl->skel) raise(errno, "apilb__open");
  bpf_object* obj = impl->skel->obj;
  bpf_map* outer = bpf_object__find_map_by_name(obj, LB_MAP_MAGLEV);
  if (!outer || !bpf_map__inner_map(outer))
    raise(ENOENT, "BPF object has no map-in-map " LB_MAP_MAGLEV);
  // libbpf 1.1's bpf_map__set_max_entries() dereferences inner_map->obj, which is NULL for an
  // inner map (segfault). Instead hand libbpf a template inner map of the right size; the kernel
  // copies its shape into the outer map at creation, so the fd can be closed after load.
  LIBBPF_OPTS(bpf_map_create_opts, copts);
  UniqueFd tmpl(bpf_map_create(BPF_MAP_TYPE_ARRAY, "apilb_mag_tmpl", sizeof(uint32_t),
                               sizeof(uint32_t), tableSize, &copts));
  if (!tmpl.valid()) raise(errno, "bpf_map_create(" LB_MAP_MAGLEV " inner template)");
  if (int rc = bpf_map__set_inner_map_fd(outer, tmpl.get()); rc < 0)
    raise(rc, "bpf_map__set_inner_map_fd(" LB_MAP_MAGLEV ")");
  setRodataU32(obj, "lb_lo_ifindex", loIfindex);
  setRodataU32(obj, "lb_require_local", 1);  // forwarded packets never create flow state
  if (int rc = apilb__load(impl->skel.get()); rc < 0) raise(rc, "apilb__load");
  return LbProgram(std::move(impl));
}

int LbProgram::progFd(const char* name) const {
  bpf_program* p = bpf_object__find_program_by_name(impl_->skel->obj, name);
  if (!p) raise(ENOENT, std::string("BPF object has no program ") + name);
  return bpf_program__fd(p);
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
