// SPDX-License-Identifier: Apache-2.0
// Loading the embedded BPF object (apilb.skel.h) for `apilb attach`: sets the Maglev inner map
// size (bpf/maglev_map.h) and the rodata tunables (skel->rodata), loads, and pins every map under
// a pin dir. Programs are reached through the typed skeleton (skel->progs.lb_fwd, ...), so a
// renamed program or tunable fails the build. Errors: std::system_error (startup).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <memory>
#include <string>

namespace lb {

class LbProgram {
 public:
  // Opens and loads the skeleton with the Maglev inner map sized tableSize,
  // lb_lo_ifindex = loIfindex and lb_sock_netns = sockNetns (socket mode: the netns cookie whose
  // connects are translated; 0 = every netns, --pods). The socket-mode programs are loaded only
  // with withSock, so packet mode never depends on the cgroup hooks' kernel support.
  static LbProgram load(uint32_t tableSize, uint32_t loIfindex, uint64_t sockNetns = 0,
                        bool withSock = false);

  LbProgram(LbProgram&&) noexcept;
  LbProgram& operator=(LbProgram&&) noexcept;
  ~LbProgram();

  // fds of the loaded programs (owned by this LbProgram): lb_fwd (TC egress of the VIP device),
  // lb_rev_xdp (XDP on the NICs), lb_rev_tc (TC ingress of the NICs and lo).
  int fwdProg() const;
  int revXdpProg() const;
  int revTcProg() const;
  // Socket mode's cgroup programs (bpf/sock.bpf.h), for bpf_program__attach_cgroup.
  struct SockProgs {
    bpf_program* connect4;
    bpf_program* connect6;
    bpf_program* getpeername4;
    bpf_program* getpeername6;
    bpf_program* release;
  };
  SockProgs sockProgs() const;
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
