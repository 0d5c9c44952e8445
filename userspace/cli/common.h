// SPDX-License-Identifier: Apache-2.0
// Shared by the CLI subcommands that work on an attached datapath (backend, status, flows).
#pragma once

#include <string>

#include "bpf/datapath.h"
#include "bpf/pin_lock.h"
#include "cli/global_options.h"

namespace lb {

// Enters --netns, checks privileges and that something is attached at --pin-dir (BadInput
// otherwise: "nothing attached at <dir>"), then opens the pinned maps.
Datapath openAttached(const GlobalOptions& g);

// The pin dir's writer lock (pin_lock.h) for one CLI write. Waits while another CLI write holds
// it; refuses (BadInput) while `apilb run` owns the pin dir, with `instead` saying what to do.
PinLock lockForWrite(const GlobalOptions& g, const std::string& instead);

// The VIP with vip_id 0 (the one `apilb attach` creates). BadInput if the maps hold none.
VipInfo primaryVip(const Datapath& dp);

}  // namespace lb
