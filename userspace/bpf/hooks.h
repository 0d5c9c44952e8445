// SPDX-License-Identifier: Apache-2.0
// Attaching and detaching apilb's programs at their hooks: tc, and XDP (native, or generic on
// request) that never replaces a program someone else attached. Errors: std::error_code with the
// libbpf/kernel errno.
//
// tc has two kinds of hook. Where the kernel has tcx (6.6+), apilb's program goes first in the
// device's tcx chain (BPF_F_BEFORE), attached with BPF_PROG_ATTACH, not a link, so that it
// outlives `apilb attach` like a tc filter; detach finds it by name (lb_fwd, lb_rev_tc). tcx
// programs run before every classic tc filter, and one returning anything but TCX_NEXT ends the
// hook: a CNI that attaches with tcx (Cilium 1.16+) would otherwise hide every reply from a
// classic filter of apilb's. Elsewhere, a cls_bpf filter under clsact (libbpf's bpf_tc_*) at a
// fixed handle/priority, so detach removes exactly our filter. APILB_TCX=0 in the environment
// forces the classic filter (tests, and kernels whose tcx misbehaves). Detach, replace and the
// queries handle either kind, whichever is there.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace lb {

inline constexpr uint32_t kTcHandle = 0xa11b;     // our filter's handle on every hook,
inline constexpr uint32_t kTcHandleAlt = 0xa11c;  // or this one once clsKeepFirst moved it
inline constexpr uint32_t kTcPriority = 1;        // its priority (runs before later prios)

enum class TcDir { kIngress, kEgress };

// Whether attach uses tcx: the kernel has it and APILB_TCX is not "0". Probed once per process.
bool tcxEnabled();

// apilb's program at a tc hook: our cls_bpf slot, else a tcx program named like one of apilb's.
struct TcProg {
  uint32_t id = 0;  // 0: none
  bool tcx = false;
};
TcProg tcProg(uint32_t ifindex, TcDir dir);
// "tc ingress of eth0": a tc hook, for messages.
std::string tcHookWhere(uint32_t ifindex, TcDir dir);
// "tcx" or "tc" (the hook kind of p, for messages and status).
const char* tcHookName(const TcProg& p);
// Names of the programs in ifindex's tcx chain for dir, in the order they run (none without tcx).
std::vector<std::string> tcxProgNames(uint32_t ifindex, TcDir dir);

// Attaches progFd in direction dir: with tcx first in the device's chain (*created = false),
// else at (kTcHandle, kTcPriority) under clsact, which it creates if missing (*created says
// whether it did). EEXIST if apilb's program is already at that hook, either kind.
[[nodiscard]] std::error_code tcAttach(uint32_t ifindex, TcDir dir, int progFd, bool* created);
// Removes our program (either kind); then, if removeQdiscIfEmpty and clsact holds no filter in
// either direction, deletes the clsact qdisc (also when our program was already gone). ENOENT if
// our program was not there.
[[nodiscard]] std::error_code tcDetach(uint32_t ifindex, TcDir dir, bool removeQdiscIfEmpty);
// Deletes ifindex's clsact qdisc if it holds no filter in either direction; nothing if it holds
// one (someone else's) or there is none. *removed (optional) says whether it deleted one.
[[nodiscard]] std::error_code clsactRemoveIfEmpty(uint32_t ifindex, bool* removed = nullptr);
// Program id of apilb's program at that tc hook (0 if none): tcProg(...).id.
uint32_t tcProgId(uint32_t ifindex, TcDir dir);

// The two kinds one at a time, for an upgrade that moves a hook from a classic filter to tcx
// (bpf/upgrade.h): progFd goes first in the tcx chain, whatever else is there; the tcx program
// progId, or our classic filter, is removed.
uint32_t tcxProgId(uint32_t ifindex, TcDir dir);  // the first apilb program in the tcx chain
[[nodiscard]] std::error_code tcxAttach(uint32_t ifindex, TcDir dir, int progFd);
[[nodiscard]] std::error_code tcxDetach(uint32_t ifindex, TcDir dir, uint32_t progId);
[[nodiscard]] std::error_code clsDetach(uint32_t ifindex, TcDir dir);

// Classic filters run in priority order and, within one priority, the most recently added
// first: a filter someone adds at priority 1 after apilb (a CNI in tc mode: Cilium without tcx)
// runs before lb_rev_tc, and one that returns TC_ACT_OK hides every reply from it. When
// apilb's classic filter is not the first of the hook, this attaches its program again at the
// other of apilb's two handles, which puts it first, and then removes it at the old one (both
// run in between: the second sees packets the first translated, which match no flow).
// *moved says whether it did, *before what had been first ("pref 1 handle 0x1 bpf"). A tcx
// program is left where it is (tcxKeepFirst).
[[nodiscard]] std::error_code clsKeepFirst(uint32_t ifindex, TcDir dir, bool* moved,
                                           std::string* before);
// With tcx, someone may attach a program before apilb's (BPF_F_BEFORE), and one that returns
// TCX_PASS hides every packet from it. tcxAhead names the programs that run before apilb's
// ("their_tc, other"), "" when apilb's is first or not in the chain. tcxKeepFirst puts freshFd,
// another load of apilb's program for this hook (a program cannot be in one chain twice), first
// in the chain and then detaches the apilb program that was there: no gap, both run in between
// (the second sees translated packets, which match no flow). *moved: freshFd is first.
std::string tcxAhead(uint32_t ifindex, TcDir dir);
[[nodiscard]] std::error_code tcxKeepFirst(uint32_t ifindex, TcDir dir, int freshFd, bool* moved);
// The filter that runs before apilb's classic filter ("pref 1 handle 0x1 bpf"), "" if apilb's is
// first or is no classic filter.
[[nodiscard]] std::error_code clsAhead(uint32_t ifindex, TcDir dir, std::string* ahead);

// Program id of any XDP program on ifindex (0 if none), and its name in *name.
uint32_t xdpProgId(uint32_t ifindex, std::string* name);
// Attaches progFd in native mode, or, when the driver refuses and allowGeneric, in generic mode;
// *generic tells which. Fails with EBUSY if any XDP program is already attached, and with the
// driver's refusal (EOPNOTSUPP, EINVAL, ...) when native mode fails and !allowGeneric.
[[nodiscard]] std::error_code xdpAttach(uint32_t ifindex, int progFd, bool allowGeneric,
                                        bool* generic);
// Detaches the XDP program from ifindex only if it is named `expectName`; ENOENT if none,
// EPERM if it is someone else's.
[[nodiscard]] std::error_code xdpDetach(uint32_t ifindex, const std::string& expectName);

// Upgrade in place (bpf/upgrade.h): one program swapped for another, atomically for packets
// (each packet runs the old or the new one, never none).
// tc: a filter replace at our handle/priority (NLM_F_REPLACE), or a tcx BPF_F_REPLACE at our
// program's place in the chain (the kernel checks it is still there); ENOENT if neither is.
[[nodiscard]] std::error_code tcReplace(uint32_t ifindex, TcDir dir, int progFd);
// XDP: XDP_FLAGS_REPLACE in the same mode with the expected old program, which the kernel checks
// (EEXIST if oldFd's program is no longer the one attached).
[[nodiscard]] std::error_code xdpReplace(uint32_t ifindex, int oldFd, int progFd, bool generic);

// Name of the program with id (empty if it does not exist).
std::string progName(uint32_t id);

}  // namespace lb
