// SPDX-License-Identifier: Apache-2.0
// `apilb flows`: the packet path's tracked flows (apilb_fwd_v2) and socket mode's open translated
// connections (apilb_scookie). A socket-mode connection has no flow entry: its client address
// and TCP state come from sock_diag, found by the socket's cookie in this network namespace and,
// when socket mode serves pods (--pods), in the node's other namespaces (bpf/netns.h).
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <time.h>

#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "bpf/netns.h"
#include "bpf/sock_attach.h"
#include "bpf/sock_destroy.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/format.h"
#include "lb/reasons.h"

namespace lb {
namespace {

using nlohmann::json;

uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

uint64_t since(uint64_t now, uint64_t t) { return now > t ? now - t : 0; }

// A kernel TCP state (sock_diag's idiag_state) by name, as `ss` spells them, lower case.
const char* kernelTcpState(uint8_t s) {
  switch (s) {
    case TCP_ESTABLISHED: return "established";
    case TCP_SYN_SENT: return "syn_sent";
    case TCP_SYN_RECV: return "syn_recv";
    case TCP_FIN_WAIT1: return "fin_wait1";
    case TCP_FIN_WAIT2: return "fin_wait2";
    case TCP_TIME_WAIT: return "time_wait";
    case TCP_CLOSE: return "close";
    case TCP_CLOSE_WAIT: return "close_wait";
    case TCP_LAST_ACK: return "last_ack";
    case TCP_CLOSING: return "closing";
    default: return "unknown";
  }
}

json packetFlows(const Datapath& dp, uint64_t now) {
  json arr = json::array();
  for (const auto& f : dp.flows()) {
    Endpoint client{f.key.src, ntohs(f.key.sport), f.key.family};
    Endpoint vip{f.key.dst, ntohs(f.key.dport), f.key.family};
    Endpoint be{f.fwd.backend, ntohs(f.fwd.backend_port), f.key.family};
    arr.push_back({{"mode", "packet"},
                   {"client", client.str()},
                   {"vip", vip.str()},
                   {"backend", be.str()},
                   {"backend_id", f.fwd.backend_id},
                   {"state", tcpStateName(f.fwd.state)},
                   {"age_ns", since(now, f.fwd.created_ns)},
                   {"idle_ns", since(now, f.fwd.last_ns)},
                   {"adopted", (f.fwd.flags & LB_FLOW_F_ADOPTED) != 0}});
  }
  return arr;
}

// Socket mode's connections: backend and VIP from the slot chosen at connect() (while the slot
// still holds that backend: same generation), client and state from the socket itself.
json socketConnections(const GlobalOptions& g, const Datapath& dp, uint64_t now) {
  json arr = json::array();
  std::vector<SockConn> conns = sockConnections(g.pinDir);
  if (conns.empty()) return arr;
  std::map<uint32_t, BackendInfo> backends;
  for (const auto& b : dp.backends()) backends.emplace(b.id, b);
  std::map<uint32_t, std::string> vips;
  for (const auto& v : dp.vips()) vips[v.vip.vip_id] = v.endpoint().str();
  lb_sock_rec rec{};
  bool pods = !readSockRecord(g.pinDir, &rec) && (rec.flags & LB_SOCK_F_PODS);
  std::vector<uint64_t> cookies;
  for (const auto& c : conns) cookies.push_back(c.cookie);
  auto found = findCookieSockets(cookies, pods ? otherNetns() : std::vector<std::string>{});
  for (const auto& c : conns) {
    auto b = backends.find(c.ent.backend_id);
    bool same = b != backends.end() && b->second.be.gen == c.ent.backend_gen;
    auto f = found.find(c.cookie);
    json row = {{"mode", "socket"},
                {"client", ""},
                {"vip", same && vips.count(b->second.be.vip_id) ? vips[b->second.be.vip_id] : ""},
                {"backend", same ? b->second.endpoint().str() : ""},
                {"backend_id", c.ent.backend_id},
                {"state", "unknown"},
                {"age_ns", since(now, c.ent.connect_ns)},
                {"idle_ns", nullptr},
                {"adopted", false},
                {"cookie", c.cookie},
                {"netns", ""}};
    if (f != found.end()) {
      const DiagSocket& s = f->second.sock;
      row["client"] = Endpoint{s.tuple.src, ntohs(s.tuple.sport), s.tuple.family}.str();
      row["state"] = kernelTcpState(s.state);
      row["netns"] = f->second.netns;
    }
    arr.push_back(row);
  }
  return arr;
}

void printFlowsText(const json& arr) {
  std::vector<std::vector<std::string>> rows{{"CLIENT", "VIP", "BACKEND", "STATE", "AGE", "IDLE"}};
  size_t packet = 0, socket = 0;
  for (const auto& f : arr) {
    bool sock = f["mode"] == "socket";
    (sock ? socket : packet)++;
    std::string state = f["state"].get<std::string>();
    if (f["adopted"].get<bool>()) state += " (adopted)";
    if (sock) state += f["netns"].get<std::string>().empty() ? " (socket)" : " (socket, other netns)";
    std::string client = f["client"].get<std::string>();
    rows.push_back({client.empty() ? "?" : client, f["vip"].get<std::string>(),
                    f["backend"].get<std::string>().empty() ? "(gone)" : f["backend"].get<std::string>(),
                    state, formatDuration(f["age_ns"]),
                    f["idle_ns"].is_null() ? "-" : formatDuration(f["idle_ns"])});
  }
  std::cout << renderTable(rows) << packet << " flow(s)\n";
  if (socket > 0) std::cout << socket << " socket-mode connection(s)\n";
}

}  // namespace

void addFlowsCommand(CLI::App& app, GlobalOptions& g) {
  auto json_ = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "flows", "List tracked flows and socket-mode connections: client, VIP, backend, state, age");
  sub->add_flag("--json", *json_, "machine-readable output");
  sub->callback([&g, json_] {
    Datapath dp = openAttached(g);
    uint64_t now = monotonicNs();
    json arr = packetFlows(dp, now);
    for (auto& row : socketConnections(g, dp, now)) arr.push_back(std::move(row));
    if (*json_)
      std::cout << arr.dump(2) << "\n";
    else
      printFlowsText(arr);
  });
}

}  // namespace lb
