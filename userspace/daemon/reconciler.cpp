// SPDX-License-Identifier: Apache-2.0
// Reconciler implementation (see reconciler.h).
#include "daemon/reconciler.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "daemon/log.h"

namespace lb {
namespace {

constexpr uint32_t kHealthFlags = LB_BE_F_DRAIN | LB_BE_F_DOWN;

std::string idList(const std::vector<uint32_t>& ids, const std::map<uint32_t, std::string>& names) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); i++) {
    auto it = names.find(ids[i]);
    if (i) s += ", ";
    if (it != names.end()) {
      s += it->second;
    } else {
      s += '#';  // appended, not "#" + ...: GCC 12 -O3 false -Wrestrict
      s += std::to_string(ids[i]);
    }
  }
  return s + "]";
}

bool sameEndpoint(const lb_backend& be, const Endpoint& ep) {
  return be.family == ep.family && be.port == htons(ep.port) &&
         std::equal(std::begin(be.addr.w), std::end(be.addr.w), std::begin(ep.addr.w));
}

}  // namespace

std::error_code Reconciler::sync(const Endpoint& vip, const std::vector<BackendConfig>& want) {
  bool found = false;
  for (const auto& v : port_->vips()) {
    if (v.key.family == vip.family && v.key.port == htons(vip.port) &&
        std::equal(std::begin(v.key.addr.w), std::end(v.key.addr.w), std::begin(vip.addr.w))) {
      vipId_ = v.vip.vip_id;
      failOpen_ = v.vip.flags & LB_VIP_F_FAIL_OPEN;
      found = true;
    }
  }
  if (!found) {
    log::error("VIP " + vip.str() + " is not configured in the attached datapath");
    return std::make_error_code(std::errc::no_such_file_or_directory);
  }
  std::vector<uint32_t> table = port_->table(vipId_);
  std::set<uint32_t> inTable(table.begin(), table.end());
  inTable.erase(LB_NO_BACKEND);
  lastTable_.assign(inTable.begin(), inTable.end());
  std::vector<BackendInfo> have = port_->backends();
  members_.clear();
  refused_.clear();
  stale_.clear();
  for (const auto& b : have) {
    if (b.be.vip_id != vipId_) continue;
    flags_[b.id] = b.be.flags & kHealthFlags;
    bool wanted = std::any_of(want.begin(), want.end(),
                              [&](const BackendConfig& w) { return sameEndpoint(b.be, w.ep); });
    if (!wanted) {
      stale_.push_back(b.id);
      names_[b.id] = addrToString(b.be.addr, b.be.family) + ":" + std::to_string(ntohs(b.be.port));
    }
  }
  for (const auto& w : want) {
    auto it = std::find_if(have.begin(), have.end(), [&](const BackendInfo& b) {
      return b.be.vip_id == vipId_ && sameEndpoint(b.be, w.ep);
    });
    uint32_t id = 0;
    if (it != have.end()) {
      id = it->id;
      if (it->be.weight != w.weight)
        log::warn("backend " + w.ep.str() + ": weight " + std::to_string(w.weight) +
                  " differs from the attached weight " + std::to_string(it->be.weight) +
                  "; weight changes need `apilb backend del` + `add`");
    } else if (std::string why = port_->ifaceProblem(w.ep); !why.empty()) {
      log::error("backend " + w.ep.str() + " not added to the datapath: " + why);
      refused_.push_back({w, why});
      continue;
    } else if (auto ec = port_->addBackend(vipId_, w.ep, w.weight, &id)) {
      log::error("backend " + w.ep.str() + ": cannot add to the datapath: " + ec.message());
      return ec;
    } else {
      log::info("backend " + w.ep.str() + " added to the datapath as #" + std::to_string(id) +
                " (joins the table once healthy)");
      flags_[id] = 0;
    }
    names_[id] = w.ep.str();
    members_.push_back({id, w, inTable.count(id) > 0, flags_[id]});
  }
  return {};
}

void Reconciler::apply(const Decision& d) {
  if (!d.table.empty() && d.table != lastTable_) publish(d.table);
  if (d.failOpen != failOpen_) setFailOpen(d.failOpen, d.table);
  for (auto [id, f] : d.flags) setFlags(id, f);
  if (!stale_.empty() && lastTable_ == d.table) removeStale();
}

void Reconciler::publish(const std::vector<uint32_t>& table) {
  auto t0 = std::chrono::steady_clock::now();
  if (auto ec = port_->publishTable(vipId_, table)) {
    log::error("publishing table " + idList(table, names_) + " failed: " + ec.message(),
               {{"event", "publish"}, {"error", ec.message()}});
    return;
  }
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  log::info("published Maglev table " + idList(table, names_) + " (was " +
                idList(lastTable_, names_) + ") in " + std::to_string(us.count()) + " us",
            {{"event", "publish"},
             {"table", idList(table, names_)},
             {"previous", idList(lastTable_, names_)},
             {"duration_us", std::to_string(us.count())}});
  lastTable_ = table;
  publishes_++;
}

void Reconciler::setFailOpen(bool on, const std::vector<uint32_t>& table) {
  auto ec = on ? port_->setVipFlags(vipId_, LB_VIP_F_FAIL_OPEN, 0)
               : port_->setVipFlags(vipId_, 0, LB_VIP_F_FAIL_OPEN);
  if (ec) {
    log::error(std::string("setting the VIP fail-open flag failed: ") + ec.message());
    return;
  }
  failOpen_ = on;
  if (on)
    log::error("FAIL-OPEN: no backend is healthy; keeping the last good table " +
                   idList(table, names_) + " and leaving its flows alone",
               {{"event", "fail_open"}, {"fail_open", "true"}, {"table", idList(table, names_)}});
  else
    log::warn("fail-open ended: table " + idList(table, names_) + " has healthy backends",
              {{"event", "fail_open"}, {"fail_open", "false"}, {"table", idList(table, names_)}});
}

void Reconciler::setFlags(uint32_t id, uint32_t want) {
  uint32_t have = flags_.count(id) ? flags_[id] : 0;
  if (have == want) return;
  if (auto ec = port_->setBackendFlags(id, want, kHealthFlags & ~want)) {
    log::error("backend " + nameOf(id) + ": setting flags failed: " + ec.message());
    return;
  }
  flags_[id] = want;
  if ((want & LB_BE_F_DOWN) && !(have & LB_BE_F_DOWN)) killFlows(id);
}

void Reconciler::killFlows(uint32_t id) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<lb_flow_key> keys;
  for (const auto& f : port_->flows())
    if (f.fwd.backend_id == id) keys.push_back(f.key);
  std::vector<uint64_t> cookies = port_->socketCookiesTo(id);  // socket mode's connections
  size_t destroyed = killer_->destroy(keys) + killer_->destroyCookies(cookies);
  size_t deleted = 0;
  if (auto ec = port_->deleteFlowsTo(id, &deleted))
    log::error("backend " + nameOf(id) + ": deleting flows failed: " + ec.message());
  flowsTerminated_ += keys.size();
  if (destroyed > 0) destroyed_[nameOf(id)] += destroyed;
  if (keys.empty() && deleted == 0 && cookies.empty()) return;
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  std::string sock =  // socket mode only, so packet mode's line stays as it was
      cookies.empty() ? "" : " and " + std::to_string(cookies.size()) + " socket-mode connections";
  log::warn("backend " + nameOf(id) + ": terminated " + std::to_string(keys.size()) + " flows" +
                sock + " (" + std::to_string(destroyed) + " local sockets destroyed, " +
                std::to_string(deleted) + " entries deleted) in " + std::to_string(us.count()) +
                " us",
            {{"event", "reset"},
             {"backend", nameOf(id)},
             {"flows", std::to_string(keys.size())},
             {"sockets_destroyed", std::to_string(destroyed)},
             {"entries_deleted", std::to_string(deleted)},
             {"sock_connections", std::to_string(cookies.size())},
             {"duration_us", std::to_string(us.count())}});
}

void Reconciler::sweepDown() {
  std::set<uint32_t> down;
  for (auto [id, f] : flags_)
    if (f & LB_BE_F_DOWN) down.insert(id);
  if (down.empty()) return;
  std::set<uint32_t> hit;
  for (const auto& fl : port_->flows())
    if (down.count(fl.fwd.backend_id)) hit.insert(fl.fwd.backend_id);
  for (uint32_t id : hit) killFlows(id);
}

void Reconciler::removeStale() {
  for (uint32_t id : stale_) {
    killFlows(id);
    if (auto ec = port_->removeBackend(id)) {
      log::error("backend " + nameOf(id) + ": removing failed: " + ec.message());
      continue;
    }
    log::info("backend " + nameOf(id) + " removed from the datapath (not in the config)");
    flags_.erase(id);
  }
  stale_.clear();
}

std::string Reconciler::nameOf(uint32_t id) const {
  auto it = names_.find(id);
  if (it != names_.end()) return it->second;
  std::string s = "#";  // appended, not "#" + ...: GCC 12 -O3 false -Wrestrict
  s += std::to_string(id);
  return s;
}

}  // namespace lb
