// SPDX-License-Identifier: Apache-2.0
// `apilb backend add|del|list`: change or show the backend set of the attached VIP through
// Datapath, republishing the Maglev table after each change. A delete publishes the table
// without the backend first and clears its slot afterwards, so no packet ever picks a slot
// that is being cleared.
#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "bpf/attach.h"
#include "bpf/netlink.h"
#include "bpf/system.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/format.h"

namespace lb {

Datapath openAttached(const GlobalOptions& g) {
  enterGlobalNetns(g);
  std::string missing;
  if (!havePrivileges(&missing))
    throw BadInput("insufficient privileges: need root (" + missing + ")");
  if (!isAttached(g.pinDir)) throw BadInput("nothing attached at " + g.pinDir);
  return Datapath::open(g.pinDir);
}

PinLock lockForWrite(const GlobalOptions& g, const std::string& instead) {
  std::string missing;
  if (!havePrivileges(&missing))
    throw BadInput("insufficient privileges: need root (" + missing + ")");
  PinLock lock;
  LockHolder holder;
  std::error_code ec = PinLock::tryAcquire(g.pinDir, "cli", &lock, &holder);
  if (ec == std::errc::operation_would_block && holder.role == "run")
    throw BadInput("apilb run (pid " + std::to_string(holder.pid) + ") manages " + g.pinDir + ": " +
                   instead);
  if (ec == std::errc::operation_would_block) ec = PinLock::acquire(g.pinDir, "cli", &lock);
  if (ec) throw std::system_error(ec, "lock " + pinStateBase(g.pinDir) + ".lock");
  return lock;
}

VipInfo primaryVip(const Datapath& dp) {
  for (const auto& v : dp.vips())
    if (v.vip.vip_id == 0) return v;
  throw BadInput("no VIP in " + dp.pinDir() + "/" LB_MAP_VIPS);
}

namespace {

constexpr const char* kViaDaemon =
    "change the backend list in its config (--backend / backends:) and send it SIGHUP";

void addBackendCmd(const GlobalOptions& g, const std::string& text) {
  BackendConfig spec;
  std::string err;
  if (!parseBackend(text, &spec, &err)) throw BadInput("backend: '" + text + "': " + err);
  PinLock lock = lockForWrite(g, kViaDaemon);
  Datapath dp = openAttached(g);
  VipInfo vip = primaryVip(dp);
  if (spec.ep.family != vip.key.family)
    throw BadInput("backend: '" + spec.ep.str() + "': address family differs from the VIP " +
                   vip.endpoint().str());
  if (dp.findBackend(spec.ep)) throw BadInput("backend: '" + spec.ep.str() + "': already exists");
  if (std::string why = dp.ifaceProblem(spec.ep); !why.empty()) throw BadInput(why);
  uint32_t id = 0;
  if (auto ec = dp.addBackend(vip.vip.vip_id, spec.ep, spec.weight, &id)) {
    if (ec == std::errc::network_unreachable || ec == std::errc::host_unreachable)
      throw BadInput("no route to backend " + spec.ep.str() + ": " + ec.message());
    if (ec == std::errc::no_space_on_device) throw BadInput("no free backend slot (max 256)");
    throw std::system_error(ec, "add backend " + spec.ep.str());
  }
  if (auto ec = dp.publishTable(vip.vip.vip_id)) {
    (void)dp.removeBackend(id);
    throw std::system_error(ec, "publish Maglev table");
  }
  std::cout << "added backend " << spec.ep.str() << " (id " << id << ", weight " << spec.weight
            << "), table republished\n";
}

void delBackendCmd(const GlobalOptions& g, const std::string& text) {
  Endpoint ep;
  std::string err;
  if (!parseEndpoint(text, &ep, &err)) throw BadInput("backend " + text + ": " + err);
  PinLock lock = lockForWrite(g, kViaDaemon);
  Datapath dp = openAttached(g);
  auto victim = dp.findBackend(ep);
  if (!victim) throw BadInput("no backend " + ep.str());
  std::vector<uint32_t> usable, rest;
  for (const auto& b : dp.backends()) {
    if (b.id == victim->id || b.be.vip_id != victim->be.vip_id) continue;
    rest.push_back(b.id);
    if (!(b.be.flags & (LB_BE_F_DRAIN | LB_BE_F_DOWN))) usable.push_back(b.id);
  }
  if (rest.empty()) throw BadInput("refusing to delete the last backend " + ep.str());
  // Only drained/down ones left: keep serving them rather than publishing an empty table.
  if (auto ec = dp.publishTable(victim->be.vip_id, usable.empty() ? rest : usable))
    throw std::system_error(ec, "publish Maglev table");
  if (auto ec = dp.removeBackend(victim->id)) throw std::system_error(ec, "remove backend");
  std::cout << "deleted backend " << ep.str() << " (id " << victim->id << "), table republished\n";
}

std::map<uint32_t, uint32_t> flowCounts(const Datapath& dp) {
  std::map<uint32_t, uint32_t> out;
  for (const auto& f : dp.flows()) ++out[f.fwd.backend_id];
  return out;
}

void listBackendsCmd(const GlobalOptions& g, bool json) {
  Datapath dp = openAttached(g);
  VipInfo vip = primaryVip(dp);
  auto slots = slotCounts(dp.table(vip.vip.vip_id));
  auto flows = flowCounts(dp);
  std::vector<std::vector<std::string>> rows{
      {"ID", "ADDRESS", "WEIGHT", "FLAGS", "SLOTS", "FLOWS"}};
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& b : dp.backends()) {
    uint32_t s = slots.count(b.id) ? slots[b.id] : 0, fl = flows.count(b.id) ? flows[b.id] : 0;
    rows.push_back({std::to_string(b.id), b.endpoint().str(), std::to_string(b.be.weight),
                    backendFlagsStr(b.be.flags), std::to_string(s), std::to_string(fl)});
    arr.push_back({{"id", b.id},
                   {"address", b.endpoint().str()},
                   {"weight", b.be.weight},
                   {"flags", backendFlagNames(b.be.flags)},
                   {"slots", s},
                   {"flows", fl}});
  }
  if (json)
    std::cout << arr.dump(2) << "\n";
  else
    std::cout << renderTable(rows);
}

}  // namespace

void addBackendCommand(CLI::App& app, GlobalOptions& g) {
  auto* be = app.add_subcommand("backend", "Add, delete or list backends of the attached VIP");
  be->require_subcommand(1);
  auto addArg = std::make_shared<std::string>();
  auto* add = be->add_subcommand("add", "Add a backend ip:port[@weight] and republish the table");
  add->add_option("backend", *addArg, "ip:port[@weight]")->required();
  add->callback([&g, addArg] { addBackendCmd(g, *addArg); });
  auto delArg = std::make_shared<std::string>();
  auto* del = be->add_subcommand("del", "Delete a backend ip:port and republish the table");
  del->add_option("backend", *delArg, "ip:port")->required();
  del->callback([&g, delArg] { delBackendCmd(g, *delArg); });
  auto json = std::make_shared<bool>(false);
  auto* list =
      be->add_subcommand("list", "List backends: id, address, weight, flags, slots, flows");
  list->add_flag("--json", *json, "machine-readable output");
  list->callback([&g, json] { listBackendsCmd(g, *json); });
}

}  // namespace lb
