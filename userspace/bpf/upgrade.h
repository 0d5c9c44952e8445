// SPDX-License-Identifier: Apache-2.0
// Upgrade in place: a new apilb adopting a datapath that an older (or newer) build attached.
// The pinned maps carry the state (tables, flows, counters) and are kept; only the programs are
// this build's concern. Rules (docs/architecture.md, "Map ABI and upgrades"):
//   - the attach record's version field is the map ABI (LB_ABI_VERSION) of the build that
//     attached; the record's first 8 bytes (magic, version) keep their layout in every ABI;
//   - another ABI: refused (BadInput, exit 2), nothing changed;
//   - the same ABI: every pinned map must also match what this build declares (type, key/value
//     size, max_entries, flags), else refused the same way; then each attached program whose
//     tag (hash of its instructions) differs from this build's is swapped for this build's in
//     one atomic kernel operation per hook (bpf/hooks.h tcReplace/xdpReplace). Old and new
//     programs share the maps, so a node between two swaps (or after a crash between them)
//     forwards correctly; the next adoption swaps the rest;
//   - a classic tc filter (attached by an apilb before tcx support, or with APILB_TCX=0) on a
//     kernel with tcx moves to tcx, tag or not: this build's program goes first in the tcx
//     chain, then, once every hook is done, the old filter is removed. Between the two both run
//     (the old one after the new one, on packets that match no flow any more: no change); a
//     crash there leaves both, which the next adoption or detach cleans up.
// Not thread-safe; the caller holds the pin dir's writer lock (bpf/pin_lock.h).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace lb {

// The map ABI of the datapath attached at pinDir (its attach record's version), 0 if nothing is
// attached there or the record cannot be read.
uint32_t pinnedAbi(const std::string& pinDir);

// Makes the attached programs this build's, as described above, printing one line per swapped
// hook (or one saying nothing was to do) to `log`. Returns true if any program was replaced.
// BadInput: another ABI or a mismatching map (nothing changed). std::system_error: a swap failed;
// the hooks already swapped are put back to their old programs before it leaves.
bool adoptPrograms(const std::string& pinDir, std::ostream& log);

}  // namespace lb
