// SPDX-License-Identifier: Apache-2.0
// Keeps apilb's tc programs first without fighting another program over it. `apilb run` moves
// apilb's back in front whenever a tc notification says something changed (classic filters) or
// a sweep tick finds one ahead (tcx; bpf/upkeep.h keepTcProgsFirst). A program that puts its own
// first again each time -- a second "keep first" tool, a CNI reconciling its tc setup on every
// change -- would turn that into a loop at notification speed, each round a flap of both. After
// more than maxMoves moves within `window`, the keeper stops moving for `pause`, says why once,
// and then tries again; `apilb doctor` names the program ahead meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lb {

class TcOrderKeeper {
 public:
  using Clock = std::chrono::steady_clock;
  // What one check did, a line per hook: moved back in front, or failed to check or move. A
  // move is logged each time; a failure once per window (it repeats at every check).
  struct Outcome {
    std::vector<std::string> moves;
    std::vector<std::string> failures;
  };
  struct Limits {
    int maxMoves = 5;
    Clock::duration window = std::chrono::seconds(60);
    Clock::duration pause = std::chrono::seconds(60);
  };
  using Check = std::function<Outcome()>;
  using Log = std::function<void(const std::string&)>;

  TcOrderKeeper(Check check, Log warn, Limits limits);
  // Something changed (a tc notification, or the 1 s poll without them): checks, unless paused.
  void onChange(Clock::time_point now);
  // Every sweep tick: ends a pause that is over, with a check.
  void onTick(Clock::time_point now);
  bool paused() const { return pausedUntil_.has_value(); }
  uint64_t movesTotal() const { return movesTotal_; }  // since construction

 private:
  void check(Clock::time_point now);

  Check check_;
  Log warn_;
  Limits lim_;
  std::deque<Clock::time_point> moves_;                      // within the window, oldest first
  std::map<std::string, Clock::time_point> failuresLogged_;  // within the window
  std::optional<Clock::time_point> pausedUntil_;
  uint64_t movesTotal_ = 0;
};

}  // namespace lb
