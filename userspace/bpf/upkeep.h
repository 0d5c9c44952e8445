// SPDX-License-Identifier: Apache-2.0
// Upkeep of an attached datapath: what `apilb run` keeps true after `attach` while the node
// changes around it. Each function reads the attach record at pinDir and returns what to log.
#pragma once

#include <string>
#include <vector>

namespace lb {

// Sets the VIP device's MTU to the smallest attached interface's when they differ (`apilb run`
// calls it on each link notification, or every second without them). Returns a line to log, ""
// when nothing was to do.
std::string followNicMtu(const std::string& pinDir);

// Puts apilb's tc programs back in front of programs put before them since, on apilb0's egress,
// lo's and each TC interface's ingress: a classic filter at apilb's other handle
// (bpf/hooks.h clsKeepFirst), a tcx program by another load of apilb's programs on the pins
// (tcxKeepFirst). `apilb run` calls it on each tc notification (classic filters) or sweep tick
// (tcx sends none; daemon/tc_order.h). One line per hook put right (moves) or that could not be
// checked or put right (failures), for the log.
struct TcOrderReport {
  std::vector<std::string> moves;
  std::vector<std::string> failures;
};
TcOrderReport keepTcProgsFirst(const std::string& pinDir);

}  // namespace lb
