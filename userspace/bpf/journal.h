// SPDX-License-Identifier: Apache-2.0
// The attach journal: attach() writes what it is about to change, one line per step, BEFORE it
// changes it, to /run/apilb/pins/<key>.journal (pinStateBase() + ".journal", next to the pin
// dir's lock file), with O_APPEND + fdatasync per line. A kill at any point of an attach leaves
// a journal that lists a superset of what was changed; `apilb detach` replays it in reverse
// (replayJournal), each undo tolerant of a step that never happened. attach() deletes the
// journal once its attach record is written (a finished attach is then undone from the record),
// and after undoing a failed attach in-process. Format (docs/cli.md, "The attach journal"):
//   apilb-journal 1
//   pindir <path> new|existing     # before creating the pin dir
//   bpffs <mountpoint>             # after mounting bpffs there (not before: the path is chosen
//                                  # by the mount); a kill in between leaves an empty bpffs mount
//   link <name>                    # before creating the VIP device (its route goes with it)
//   pins <path>                    # before pinning maps
//   clsact <ifname>                # before the tc line that may create its clsact qdisc (only
//                                  # when it had none); undone only while it holds no filter.
//                                  # apilb before 2026-12-03 wrote it after the tc line, once
//                                  # created: a kill in between left an empty clsact
//   tc <ifname> ingress|egress     # before attaching our tc filter (kTcHandle/kTcPriority)
//   xdp <ifname>                   # before attaching lb_rev_xdp
//   sysctl <dotted name> <old>     # before writing the sysctl
//   cglink <pin path>              # before attaching a socket-mode cgroup link (pinned there;
//                                  # a link not yet pinned dies with the killed process)
//   record                         # before writing the attach record
// Test-only: APILB_TEST_KILL_AFTER_STEP=N makes the process raise(SIGKILL) once N entries have
// been journaled and carried out (at the next entry, or before the journal is deleted).
#pragma once

#include <ostream>
#include <string>
#include <system_error>

#include "bpf/unique_fd.h"

namespace lb {

// "/run/apilb/pins/<key>.journal" for a pin dir.
std::string journalPath(const std::string& pinDir);
bool journalExists(const std::string& pinDir);

class Journal {
 public:
  Journal() = default;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  // Creates the journal (EEXIST if one is left over) and syncs its directory.
  [[nodiscard]] std::error_code create(const std::string& pinDir);
  // Removes the journal if finish() was not called: declared before attach()'s undo stack, it
  // goes after the in-process undo has put everything back.
  ~Journal();
  // Appends one line and syncs it; throws std::system_error on failure (before the change).
  void intend(const std::string& line);
  // Deletes the journal now (after the attach record is written).
  void finish();

 private:
  void killPoint() const;
  std::string path_;
  UniqueFd fd_;
  int steps_ = 0;
};

// Undoes, in reverse, every step the journal at pinDir lists, then deletes it. Each line done
// is printed to `log`; a step that never happened is skipped silently.
void replayJournal(const std::string& pinDir, std::ostream& log);

}  // namespace lb
