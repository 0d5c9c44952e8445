// SPDX-License-Identifier: Apache-2.0
// Loading the embedded BPF object (apilb.skel.h) for `apilb attach`: sets the Maglev inner map
// size and the rodata tunables, loads, and pins every map under a pin dir. Programs and maps are
// looked up by their fixed names (lb_fwd, lb_rev_xdp, lb_rev_tc, apilb_*), so a missing one is
// a clear runtime error rather than a compile error. Errors: std::system_error (startup).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <memory>
#include <string>

namespace lb {

class LbProgram {
 public:
  // Opens and loads the skeleton with the Maglev inner map sized tableSize and
  // lb_lo_ifindex = loIfindex.
  static LbProgram load(uint32_t tableSize, uint32_t loIfindex);

  LbProgram(LbProgram&&) noexcept;
  LbProgram& operator=(LbProgram&&) noexcept;
  ~LbProgram();

  // fd of the named program; throws std::system_error(ENOENT) if the object lacks it.
  int progFd(const char* name) const;
  // Pins every map as pinDir/<map name> ('.' in a name becomes '_'), like bpf_object__pin_maps
  // but without its rewriting of '.' in the directory part.
  void pinMaps(const std::string& pinDir) const;

 private:
  struct Impl;
  explicit LbProgram(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Removes apilb's pins (entries named apilb*) from pinDir; if nothing else is left, removes pinDir
// too (unmounting it first if it is a bpffs mount of its own; never /sys/fs/bpf). Missing files
// are fine.
void removePinDir(const std::string& pinDir);

}  // namespace lb
