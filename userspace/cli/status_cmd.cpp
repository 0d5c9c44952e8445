// SPDX-License-Identifier: Apache-2.0
// `apilb status`: a read-only view of the attached datapath. It gathers everything into one JSON
// document first; the text output is rendered from that document, so both forms always carry the
// same facts. (`apilb flows`: flows_cmd.cpp.)
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "bpf/attach.h"
#include "bpf/hooks.h"
#include "bpf/netlink.h"
#include "bpf/sock_attach.h"
#include "bpf/sysctl.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/format.h"
#include "lb/health_doc.h"
#include "lb/reasons.h"
#include "lb/timefmt.h"

namespace lb {
namespace {

using nlohmann::json;

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One line on where the health columns come from, or why there are none.
std::string healthLine(const json& j) {
  if (!j.contains("health_doc"))
    return j.contains("health_error")
               ? "unreadable health.json: " + j["health_error"].get<std::string>()
               : "no health.json: apilb run is not running here";
  const auto& d = j["health_doc"];
  std::string age =
      formatDuration(static_cast<uint64_t>(std::max<int64_t>(0, d["age_ms"])) * 1000000);
  std::string what = "written " + d["written"].get<std::string>() + " (" + age + " ago) by pid " +
                     std::to_string(d["writer_pid"].get<int>());
  std::string state = d["state"];
  if (state == "current") return what + " (apilb run, running)";
  if (state == "stale")
    return "STALE: " + what + ", which runs but stopped writing; health not shown";
  return "NOT CURRENT: " + what + ", which is not running (apilb run stopped); health not shown";
}

std::string isoTime(uint64_t realtimeNs) {
  return rfc3339(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(realtimeNs))));
}

json sysctlJson(const std::string& dev, const char* key, int8_t old) {
  std::string name = ipv4ConfName(dev, key);
  int now = -1;
  (void)readSysctl(name, &now);
  return {{"name", name}, {"old", old}, {"now", now}};
}

// How status names a hook kind in text.
std::string hookText(const std::string& hook) { return hook == "tc" ? "tc filter" : hook; }

// The kind of tc hook apilb's program sits at: "tcx", "tc" (a cls_bpf filter), or "missing".
std::string tcHookJson(uint32_t ifindex, TcDir dir) {
  TcProg p = tcProg(ifindex, dir);
  return p.id ? tcHookName(p) : "missing";
}

json ifacesJson(const lb_attach_rec& rec, json* sysctls) {
  json arr = json::array();
  for (uint32_t i = 0; i < std::min<uint32_t>(rec.n_ifaces, LB_MAX_IFACES); ++i) {
    const auto& ir = rec.ifaces[i];
    std::string name = ifName(ir.ifindex);
    json j = {{"name", name.empty() ? "(gone)" : name},
              {"ifindex", ir.ifindex},
              {"mode", modeName(ir.mode)}};
    if (ir.mode == LB_MODE_TC) j["hook"] = tcHookJson(ir.ifindex, TcDir::kIngress);
    arr.push_back(j);
    if (ir.old_rp_filter >= 0) sysctls->push_back(sysctlJson(name, "rp_filter", ir.old_rp_filter));
  }
  if (rec.old_lo_rp_filter >= 0)
    sysctls->push_back(sysctlJson("lo", "rp_filter", rec.old_lo_rp_filter));
  if (rec.old_lo_accept_local >= 0)
    sysctls->push_back(sysctlJson("lo", "accept_local", rec.old_lo_accept_local));
  if (rec.old_all_rp_filter >= 0)
    sysctls->push_back(sysctlJson("all", "rp_filter", rec.old_all_rp_filter));
  return arr;
}

json healthJson(const HealthDocBackend& h) {
  return {{"state", h.state},          {"since", h.since}, {"last_probe", h.lastProbe},
          {"latency_ms", h.latencyMs}, {"error", h.error}, {"successes", h.successes},
          {"failures", h.failures}};
}

json backendsJson(const Datapath& dp, const VipInfo& vip, const std::vector<FlowInfo>& all,
                  const std::optional<HealthDoc>& hf) {
  auto slots = slotCounts(dp.table(vip.vip.vip_id));
  auto connects = sockConnects(dp.pinDir());
  std::map<uint32_t, uint32_t> flows;
  for (const auto& f : all) ++flows[f.fwd.backend_id];
  json arr = json::array();
  for (const auto& b : dp.backends()) {
    uint32_t s = slots.count(b.id) ? slots[b.id] : 0;
    json j = {{"id", b.id},
              {"address", b.endpoint().str()},
              {"weight", b.be.weight},
              {"flags", backendFlagNames(b.be.flags)},
              {"ifindex", b.be.ifindex},
              {"next_hop", b.nextHop()},
              {"slots", s},
              {"share", vip.vip.table_size ? double(s) / vip.vip.table_size : 0.0},
              {"flows", flows.count(b.id) ? flows[b.id] : 0},
              {"connects", b.id < connects.size() ? connects[b.id] : 0}};
    for (const auto& h : hf ? hf->backends : std::vector<HealthDocBackend>{})
      if (h.address == b.endpoint().str()) j["health"] = healthJson(h);
    arr.push_back(j);
  }
  return arr;
}

// Backends health.json lists that are in no datapath slot (the daemon refused them).
json refusedJson(const Datapath& dp, const std::optional<HealthDoc>& hf) {
  json arr = json::array();
  for (const auto& h : hf ? hf->backends : std::vector<HealthDocBackend>{}) {
    Endpoint ep;
    std::string err;
    if (parseEndpoint(h.address, &ep, &err) && !dp.findBackend(ep))
      arr.push_back({{"address", h.address}, {"error", h.error}});
  }
  return arr;
}

json countersJson(const Datapath& dp) {
  json obj = json::object();
  auto c = dp.counters();
  for (uint32_t r = 0; r < LB_R__MAX; ++r)
    if (c[r].packets) obj[reasonName(r)] = {{"packets", c[r].packets}, {"bytes", c[r].bytes}};
  return obj;
}

// Socket mode: the cgroup, the links still pinned, the connect-hook counters. null in packet mode.
json socketJson(const Datapath& dp, const lb_attach_rec& rec) {
  if (!(rec.flags & LB_ATTACH_F_SOCKET)) return nullptr;
  lb_sock_rec sr{};
  (void)readSockRecord(dp.pinDir(), &sr);
  json links = json::array();
  for (const char* p : sockProgNames())
    links.push_back(
        {{"program", p}, {"pinned", ::access(sockLinkPin(dp.pinDir(), p).c_str(), F_OK) == 0}});
  json counters = json::object();
  auto c = sockCounters(dp.pinDir());
  for (uint32_t r = 0; r < c.size(); ++r) counters[sockReasonName(r)] = c[r];
  return {{"cgroup", cgroupOf(sr)},
          {"cgroup_id", sr.cgroup_id},
          {"pods", (sr.flags & LB_SOCK_F_PODS) != 0},
          {"netns_cookie", sr.netns_cookie},
          {"links", links},
          {"counters", counters}};
}

json statusJson(const GlobalOptions& g, const std::string& stateDir) {
  Datapath dp = openAttached(g);
  VipInfo vip = primaryVip(dp);
  lb_attach_rec rec{};
  if (auto ec = dp.attachRecord(&rec)) throw std::system_error(ec, "read attach record");
  std::string herr;
  auto hf = readHealthDoc(stateDir + "/health.json", &herr);
  std::optional<HealthDocState> hstate;
  if (hf) {
    bool alive = hf->pidStart != 0 && processStartTime(hf->pid) == hf->pidStart;
    hstate = healthDocState(*hf, wallMs(), alive);
  }
  std::optional<HealthDoc> current;  // only a current document's health is shown as health
  if (hstate == HealthDocState::kCurrent) current = hf;
  RouteInfo vr;
  std::string nodeIp =
      !routeLookup(vip.endpoint(), &vr) && vr.prefsrc.family ? vr.prefsrc.addrStr() : "";
  std::string dev(rec.vip_dev, strnlen(rec.vip_dev, sizeof(rec.vip_dev)));
  json sysctls = json::array();
  auto flows = dp.flows();
  VipMtu mtu = vipMtuOf(rec);
  json j = {
      {"pin_dir", g.pinDir},
      {"vip", vip.endpoint().str()},
      {"vip_id", vip.vip.vip_id},
      {"mode", attachModeName(rec.flags)},
      {"socket", socketJson(dp, rec)},
      {"fail_open", (vip.vip.flags & LB_VIP_F_FAIL_OPEN) != 0 || (current && current->failOpen)},
      {"vip_device",
       {{"name", dev},
        {"ifindex", rec.vip_dev_ifindex},
        {"peer", rec.vip_peer_ifindex ? ifName(rec.vip_peer_ifindex) : ""},
        {"present", ifName(rec.vip_dev_ifindex) == dev},
        {"mtu", mtu.vip},
        {"lowest_iface_mtu", mtu.nic},
        {"hook", tcHookJson(rec.vip_dev_ifindex, TcDir::kEgress)}}},
      {"node_ip", nodeIp},
      {"interfaces", ifacesJson(rec, &sysctls)},
      {"hairpin",
       {{"device", "lo"},
        {"attached", tcProgId(rec.lo_ifindex, TcDir::kIngress) != 0},
        {"hook", tcHookJson(rec.lo_ifindex, TcDir::kIngress)}}},
      {"table_size", vip.vip.table_size},
      {"attached_at", isoTime(rec.attached_ns)},
      {"sysctls", sysctls},
      {"flows", flows.size()},
      {"backends", backendsJson(dp, vip, flows, current)},
      {"not_usable", refusedJson(dp, current)},
      {"counters", countersJson(dp)}};
  if (!herr.empty()) j["health_error"] = herr;
  j["health_file"] = current ? stateDir + "/health.json" : "";
  if (hf)
    j["health_doc"] = {{"path", stateDir + "/health.json"},
                       {"written", hf->updated},
                       {"age_ms", wallMs() - hf->updatedMs},
                       {"writer_pid", hf->pid},
                       {"state", healthDocStateName(*hstate)}};
  return j;
}

std::string pct(double share) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.1f%%", share * 100);
  return buf;
}

std::string backendTable(const json& backends, bool withHealth) {
  std::vector<std::vector<std::string>> rows{
      {"ID", "ADDRESS", "WEIGHT", "FLAGS", "SLOTS", "SHARE", "FLOWS", "CONNECTS"}};
  if (withHealth)
    for (const char* h : {"HEALTH", "SINCE", "LAST_PROBE", "LATENCY", "OK/FAIL", "ERROR"})
      rows[0].push_back(h);
  for (const auto& b : backends) {
    std::string flags;
    for (const auto& f : b["flags"]) {
      if (!flags.empty()) flags += ',';
      flags += f.get<std::string>();
    }
    std::vector<std::string> r{
        std::to_string(b["id"].get<uint32_t>()),     b["address"],
        std::to_string(b["weight"].get<uint32_t>()), flags.empty() ? "-" : flags,
        std::to_string(b["slots"].get<uint32_t>()),  pct(b["share"]),
        std::to_string(b["flows"].get<uint32_t>()),  std::to_string(b["connects"].get<uint64_t>())};
    if (withHealth && b.contains("health")) {
      const auto& h = b["health"];
      char lat[32];
      std::snprintf(lat, sizeof(lat), "%.1fms", h["latency_ms"].get<double>());
      r.insert(r.end(),
               {h["state"], h["since"], h["last_probe"], lat,
                std::to_string(h["successes"].get<uint32_t>()) + "/" +
                    std::to_string(h["failures"].get<uint32_t>()),
                h["error"].get<std::string>().empty() ? "-" : h["error"].get<std::string>()});
    } else if (withHealth) {
      r.insert(r.end(), {"?", "-", "-", "-", "-", "-"});
    }
    rows.push_back(r);
  }
  return renderTable(rows, "  ");
}

// The socket-mode lines of `apilb status` (mode socket|both).
void printSocketText(const json& so) {
  std::cout << "cgroup:       " << so["cgroup"].get<std::string>() << " (id "
            << so["cgroup_id"].get<uint64_t>() << ", "
            << (so["pods"].get<bool>() ? "every network namespace (--pods)"
                                       : "this network namespace only")
            << ")\n";
  std::string missing;
  size_t pinned = 0;
  for (const auto& l : so["links"])
    if (l["pinned"].get<bool>())
      ++pinned;
    else
      missing += " " + l["program"].get<std::string>();
  std::cout << "cgroup links: " << pinned << " pinned"
            << (missing.empty() ? "" : ", MISSING:" + missing) << "\n";
  std::cout << "socket:      ";
  for (const auto& [name, n] : so["counters"].items()) std::cout << " " << name << "=" << n;
  std::cout << "\n";
}

void printStatusText(const json& j) {
  const auto& d = j["vip_device"];
  std::cout << "VIP:          " << j["vip"].get<std::string>()
            << (j["fail_open"].get<bool>() ? "  [FAIL-OPEN: no backend healthy]" : "") << "\n";
  std::cout << "mode:         " << j["mode"].get<std::string>() << "\n";
  if (!j["socket"].is_null()) printSocketText(j["socket"]);
  if (j["mode"] == "socket") {
    std::cout << "table size:   " << j["table_size"].get<uint32_t>() << "\n";
    std::cout << "attached at:  " << j["attached_at"].get<std::string>() << "\n";
    std::cout << "health:       " << healthLine(j) << "\n";
    std::cout << "backends:\n"
              << backendTable(j["backends"], !j["health_file"].get<std::string>().empty());
    return;
  }
  std::cout << "VIP device:   " << d["name"].get<std::string>() << " (ifindex "
            << d["ifindex"].get<uint32_t>()
            << (d["peer"].get<std::string>().empty()
                    ? ""
                    : ", veth peer " + d["peer"].get<std::string>())
            << (d["present"].get<bool>() ? "" : ", MISSING") << ", mtu " << d["mtu"].get<int>()
            << ", lb_fwd: " << hookText(d["hook"].get<std::string>()) << " egress)\n";
  if (int vip = d["mtu"].get<int>(), nic = d["lowest_iface_mtu"].get<int>(); nic > 0 && vip > nic)
    std::cout << "warning:      " << d["name"].get<std::string>() << " MTU " << vip
              << " is above the smallest attached interface's (" << nic
              << "): large segments to the VIP are lost; `apilb run` re-matches it, or: ip link "
                 "set "
              << d["name"].get<std::string>() << " mtu " << nic << "\n";
  std::cout << "node IP:      "
            << (j["node_ip"].get<std::string>().empty() ? "?" : j["node_ip"].get<std::string>())
            << "\n";
  for (const auto& i : j["interfaces"]) {
    std::cout << "interface:    " << i["name"].get<std::string>() << " ("
              << i["mode"].get<std::string>()
              << (i.contains("hook") ? ", " + hookText(i["hook"].get<std::string>()) : "")
              << ")\n";
    if (i["mode"].get<std::string>() == modeName(LB_MODE_XDP_GENERIC))
      std::cout << genericXdpWarning(i["name"].get<std::string>()) << "\n";
  }
  std::cout << "hairpin:      lo "
            << (j["hairpin"]["attached"].get<bool>()
                    ? hookText(j["hairpin"]["hook"].get<std::string>()) + " ingress, attached"
                    : "tc ingress NOT attached")
            << "\n";
  std::cout << "table size:   " << j["table_size"].get<uint32_t>() << "\n";
  std::cout << "attached at:  " << j["attached_at"].get<std::string>() << "\n";
  for (const auto& s : j["sysctls"])
    std::cout << "sysctl:       " << s["name"].get<std::string>() << " was " << s["old"].get<int>()
              << ", now " << s["now"].get<int>() << " (restored on detach)\n";
  std::cout << "flows:        " << j["flows"].get<size_t>() << "\n";
  std::cout << "health:       " << healthLine(j) << "\n";
  std::cout << "backends:\n"
            << backendTable(j["backends"], !j["health_file"].get<std::string>().empty());
  for (const auto& r : j["not_usable"])
    std::cout << "not usable:   " << r["address"].get<std::string>() << " ("
              << r["error"].get<std::string>() << ")\n";
  std::vector<std::vector<std::string>> rows{{"REASON", "PACKETS", "BYTES"}};
  for (const auto& [name, c] : j["counters"].items())
    rows.push_back({name, std::to_string(c["packets"].get<uint64_t>()),
                    std::to_string(c["bytes"].get<uint64_t>())});
  std::cout << "counters:\n" << (rows.size() > 1 ? renderTable(rows, "  ") : "  (none)\n");
}

}  // namespace

void addStatusCommand(CLI::App& app, GlobalOptions& g) {
  auto json_ = std::make_shared<bool>(false);
  auto stateDir = std::make_shared<std::string>("/run/apilb");
  auto* sub =
      app.add_subcommand("status", "Show VIP, devices, interfaces, backends, flows, counters");
  sub->add_flag("--json", *json_, "machine-readable output");
  sub->add_option("--state-dir", *stateDir, "where `apilb run` writes health.json")
      ->capture_default_str();
  sub->callback([&g, json_, stateDir] {
    json j = statusJson(g, *stateDir);
    if (*json_)
      std::cout << j.dump(2) << "\n";
    else
      printStatusText(j);
  });
}

}  // namespace lb
