// SPDX-License-Identifier: Apache-2.0
// Loading the embedded BPF object (apilb.skel.h) for `apilb attach`: sets the Maglev inner map
// size (bpf/maglev_map.h) and the rodata tunables (skel->rodata), loads (lb_rev_xdp as xdp.frags
// where the kernel takes it, else as plain xdp), and pins every map under a pin dir; or, for an
// upgrade in place (bpf/upgrade.h), loads it on the maps already pinned.
// Programs are reached through the typed skeleton (skel->progs.lb_fwd, ...), so a renamed
// program or tunable fails the build. Errors: std::system_error (startup).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

struct apilb;  // the skeleton (apilb.skel.h)

namespace lb {

// The names of the datapath's programs (bpf/apilb.bpf.c), as the kernel and bpftool show them:
// how detach and the journal recognise apilb's own attachment.
inline constexpr const char* kProgFwd = "lb_fwd";
inline constexpr const char* kProgRevXdp = "lb_rev_xdp";
inline constexpr const char* kProgRevTc = "lb_rev_tc";

// A pinned map this build cannot use: missing, or another type, key/value size, max_entries or
// flags than the object declares. The message names the pin and the difference.
class MapMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LbProgram {
 public:
  // Opens and loads the skeleton with the Maglev inner map sized tableSize,
  // lb_lo_ifindex = loIfindex and lb_sock_netns = sockNetns (socket mode: the netns cookie whose
  // connects are translated; 0 = every netns, --pods). The socket-mode programs are loaded only
  // with withSock, so packet mode never depends on the cgroup hooks' kernel support.
  static LbProgram load(uint32_t tableSize, uint32_t loIfindex, uint64_t sockNetns = 0,
                        bool withSock = false);
  // Opens the skeleton on the maps pinned under pinDir instead of new ones (every map except the
  // per-load .rodata, which keeps this build's tunables), after checking each pin against the
  // map this build declares (MapMismatch), and loads the programs: they use the pinned maps, so
  // the flows and tables stay. Changes nothing under pinDir. Other errors: std::system_error.
  static LbProgram loadOnPins(const std::string& pinDir, uint32_t loIfindex);

  LbProgram(LbProgram&&) noexcept;
  LbProgram& operator=(LbProgram&&) noexcept;
  ~LbProgram();

  // fds of the loaded programs (owned by this LbProgram): lb_fwd (TC egress of the VIP device),
  // lb_rev_xdp (XDP on the NICs), lb_rev_tc (TC ingress of the NICs and lo).
  int fwdProg() const;
  int revXdpProg() const;
  int revTcProg() const;
  // lb_rev_xdp was loaded multi-buffer aware (SEC("xdp.frags"), BPF_F_XDP_HAS_FRAGS); false: as
  // plain xdp, because the kernel refused the flag (< 5.18) or APILB_XDP_FRAGS=0 was set.
  bool xdpFrags() const;
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
  // Pins the per-load maps (.rodata) of a loadOnPins() program over the old ones: each is pinned
  // under a temporary name and renamed, so the pin is never missing.
  void repinInternalMaps(const std::string& pinDir) const;

 private:
  struct Impl;
  explicit LbProgram(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Declares lb_rev_xdp of an opened, not yet loaded skeleton multi-buffer aware (xdp.frags, its
// section) or, when the kernel refuses BPF_F_XDP_HAS_FRAGS (< 5.18) or APILB_XDP_FRAGS=0, plain
// xdp, and sets the rodata lb_xdp_frags to match. Returns true for xdp.frags. LbProgram::load
// calls it; so do the tests that load the skeleton themselves (tests/bpf, tests/fuzz).
bool chooseXdpFrags(apilb* skel);

// Removes apilb's pins (entries named apilb*) from pinDir; if nothing else is left, removes pinDir
// too (unmounting it first if it is a bpffs mount of its own; never /sys/fs/bpf). Missing files
// are fine.
void removePinDir(const std::string& pinDir);

}  // namespace lb
