// SPDX-License-Identifier: Apache-2.0
#include "daemon/tc_order.h"

#include <utility>

namespace lb {

namespace {
long secondsOf(TcOrderKeeper::Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}
}  // namespace

TcOrderKeeper::TcOrderKeeper(Check check, Log warn, Limits limits)
    : check_(std::move(check)), warn_(std::move(warn)), lim_(limits) {}

void TcOrderKeeper::onChange(Clock::time_point now) {
  if (!paused()) check(now);
}

void TcOrderKeeper::onTick(Clock::time_point now) {
  if (!paused() || now < *pausedUntil_) return;
  pausedUntil_.reset();
  warn_("tc order: moving apilb's programs back in front again after a " +
        std::to_string(secondsOf(lim_.pause)) + " s pause");
  check(now);
}

void TcOrderKeeper::check(Clock::time_point now) {
  Outcome o = check_();
  for (const std::string& l : o.moves) warn_(l);
  movesTotal_ += o.moves.size();
  std::erase_if(failuresLogged_, [&](const auto& f) { return now - f.second >= lim_.window; });
  for (const std::string& l : o.failures)
    if (failuresLogged_.emplace(l, now).second) warn_(l);
  while (!moves_.empty() && now - moves_.front() >= lim_.window) moves_.pop_front();
  for (size_t i = 0; i < o.moves.size(); ++i) moves_.push_back(now);
  if (static_cast<int>(moves_.size()) <= lim_.maxMoves) return;
  warn_("tc order: apilb's programs were moved back in front " + std::to_string(moves_.size()) +
        " times within " + std::to_string(secondsOf(lim_.window)) +
        " s: another program keeps putting itself first; not fighting it, apilb's stay where "
        "they are for " +
        std::to_string(secondsOf(lim_.pause)) +
        " s (replies its filter ends the hook for are lost; `apilb doctor` names it)");
  moves_.clear();
  pausedUntil_ = now + lim_.pause;
}

}  // namespace lb
