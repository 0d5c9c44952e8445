// SPDX-License-Identifier: Apache-2.0
// `apilb doctor` checks (see doctor.h).
#include "cli/doctor.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bpf/attach.h"
#include "bpf/datapath.h"
#include "bpf/device.h"
#include "bpf/hooks.h"
#include "bpf/loader.h"
#include "bpf/netlink.h"
#include "bpf/sock_attach.h"
#include "bpf/sysctl.h"
#include "bpf/unique_fd.h"
#include "daemon/datapath_port.h"
#include "daemon/prober.h"
#include "k8s/discovered_store.h"
#include "k8s/slice_watcher.h"
#include "lb/health_doc.h"

namespace lb {
namespace {

Check ok(std::string name, std::string detail) {
  return {CheckStatus::kOk, std::move(name), std::move(detail), ""};
}
Check warn(std::string name, std::string detail, std::string fix) {
  return {CheckStatus::kWarn, std::move(name), std::move(detail), std::move(fix)};
}
Check fail(std::string name, std::string detail, std::string fix) {
  return {CheckStatus::kFail, std::move(name), std::move(detail), std::move(fix)};
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}

// A connected loopback TCP pair in the current netns; the client's tuple for SOCK_DESTROY.
bool loopbackPair(UniqueFd* listener, UniqueFd* client, UniqueFd* server, lb_flow_key* key) {
  listener->reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  client->reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener->valid() || !client->valid()) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(listener->get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(listener->get(), 1) != 0 ||
      getsockname(listener->get(), reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      connect(client->get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    return false;
  server->reset(accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
  sockaddr_in c{};
  len = sizeof(c);
  if (!server->valid() || getsockname(client->get(), reinterpret_cast<sockaddr*>(&c), &len) != 0)
    return false;
  *key = lb_flow_key{};
  key->src.w[0] = c.sin_addr.s_addr;
  key->dst.w[0] = a.sin_addr.s_addr;
  key->sport = c.sin_port;
  key->dport = a.sin_port;
  key->proto = IPPROTO_TCP;
  key->family = LB_AF_INET;
  return true;
}

// apilb's program `prog` at a tc hook, and the tcx programs that run before it there: one that
// ends the hook (TCX_PASS, as a CNI's host program does for the node's own traffic) hides every
// packet from it. A classic filter runs after every tcx program.
Check tcHookCheck(const std::string& name, uint32_t ifindex, TcDir dir, const char* prog,
                  const std::string& what) {
  const std::string where =
      std::string("tc ") + (dir == TcDir::kIngress ? "ingress" : "egress") + " of " + ifName(ifindex);
  TcProg p = tcProg(ifindex, dir);
  if (!p.id)
    return fail(name, std::string(prog) + " is not attached at " + where,
                "apilb detach, then apilb attach (or restart apilb run)");
  std::string before;
  for (const auto& n : tcxProgNames(ifindex, dir)) {
    if (p.tcx && n == prog) break;
    before += (before.empty() ? "" : ", ") + n;
  }
  std::string ahead;
  if (!p.tcx && !clsAhead(ifindex, dir, &ahead) && !ahead.empty())
    return warn(name,
                "the tc filter " + ahead + " runs before " + prog + " at " + where +
                    ": if it returns TC_ACT_OK, " + prog + " never sees the packet",
                "keep apilb run running: it moves apilb's filter back to the front within a "
                "second; or use --ingress xdp, or a kernel with tcx (6.6+)");
  if (!before.empty())
    return warn(name,
                "tcx program(s) " + before + " run before " + prog + " at " + where +
                    ": one that passes a packet (TCX_PASS) ends the hook, and " + prog +
                    " never sees it",
                p.tcx ? "detach the other program(s) and attach them after apilb's"
                      : "apilb detach, then apilb attach: on this kernel apilb attaches with tcx, "
                        "first in the chain");
  return ok(name, what + (p.tcx ? " (tcx, first in the chain)" : " (tc filter)"));
}

Check checkSockDestroy() {
  const std::string name = "kernel SOCK_DESTROY";
  UniqueFd l, c, s;
  lb_flow_key key{};
  if (!loopbackPair(&l, &c, &s, &key))
    return warn(name, "could not make a loopback TCP connection to test it", "check lo is up");
  size_t n = 0;
  try {
    n = makeSockDiagKiller()->destroy({key});
  } catch (const std::exception& e) {
    return fail(name, e.what(), "enable CONFIG_INET_DIAG and CONFIG_INET_DIAG_DESTROY");
  }
  char b;
  bool gone = n == 1 && recv(c.get(), &b, 1, MSG_DONTWAIT) < 0 && errno == ECONNABORTED;
  if (!gone)
    return fail(name, "a loopback socket could not be destroyed through sock_diag",
                "use a kernel with CONFIG_INET_DIAG_DESTROY=y, or flows to dead apiservers hang "
                "until the client's own timeout");
  return ok(name, "a loopback socket was destroyed through sock_diag (CONFIG_INET_DIAG_DESTROY)");
}

Check probeProg(const char* name, bpf_prog_type t) {
  int rc = libbpf_probe_bpf_prog_type(t, nullptr);
  if (rc == 1) return ok(std::string("kernel ") + name, "program type loads");
  return fail(std::string("kernel ") + name,
              rc == 0 ? "program type not supported" : "probe failed: " + std::to_string(rc),
              "apilb needs a kernel with BPF and this program type (docs/kernels.md)");
}

}  // namespace

const char* checkStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "FAIL";
  }
  return "?";
}

std::string kubeconfigServer(const std::string& text, std::string* err) {
  try {
    YAML::Node doc = YAML::Load(text);
    std::string cluster;
    std::string ctx = doc["current-context"] ? doc["current-context"].as<std::string>() : "";
    if (doc["contexts"] && doc["contexts"].IsSequence())
      for (const auto& c : doc["contexts"])
        if (c["name"] && c["name"].as<std::string>() == ctx && c["context"]["cluster"])
          cluster = c["context"]["cluster"].as<std::string>();
    if (!doc["clusters"] || !doc["clusters"].IsSequence() || doc["clusters"].size() == 0) {
      *err = "no clusters";
      return "";
    }
    for (const auto& c : doc["clusters"])
      if ((cluster.empty() && doc["clusters"].size() == 1) ||
          (c["name"] && c["name"].as<std::string>() == cluster))
        if (c["cluster"]["server"]) return c["cluster"]["server"].as<std::string>();
    *err = cluster.empty() ? "no current-context and more than one cluster"
                           : "cluster '" + cluster + "' of the current context has no server";
  } catch (const YAML::Exception& e) {
    *err = std::string("not YAML: ") + e.what();
  }
  return "";
}

std::vector<Check> checkCertificates(const DoctorInput& in) {
  std::vector<Check> out;
  if (in.probe.type != ProbeType::kHttps) return out;
  for (const auto& b : in.backends) {
    std::string name = "cert " + b.str(), err;
    Sans s;
    if (!fetchSans(in.probe, b, &s, &err)) {
      out.push_back(fail(name, "no certificate: " + err,
                         "make sure an apiserver serves TLS at " + b.str() + " (see readyz)"));
      continue;
    }
    std::string have = "SANs: IP " + join(s.ips) + "; DNS " + join(s.dns);
    bool byIp = sansCoverIp(s, in.vip);
    bool byName = !in.probe.serverName.empty() && sansCoverName(s, in.probe.serverName);
    if (byIp || byName) {
      out.push_back(ok(name, "covers " + (byIp ? in.vip.addrStr() : in.probe.serverName) +
                                 " (" + have + ")"));
      continue;
    }
    out.push_back(fail(name,
                       "does not cover the VIP " + in.vip.addrStr() +
                           (in.probe.serverName.empty() ? "" : " nor " + in.probe.serverName) +
                           " (" + have + ")",
                       "add " + in.vip.addrStr() +
                           " to the apiserver certificate: kubeadm apiServer.certSANs, "
                           "k3s/RKE2 --tls-san; clients of the VIP fail TLS until then"));
  }
  return out;
}

std::vector<Check> checkReadyz(const DoctorInput& in) {
  std::vector<Check> out;
  if (in.backends.empty()) {
    out.push_back(warn("backends", "no backend configured or attached", "pass --backend or --config"));
    return out;
  }
  std::vector<ProbeResult> results(in.backends.size());
  std::vector<bool> done(in.backends.size(), false);
  try {
    Prober prober(in.probe, in.backends);
    auto deadline = std::chrono::steady_clock::now() + in.probe.timeout * 2 + std::chrono::seconds(1);
    size_t left = in.backends.size();
    while (left > 0 && std::chrono::steady_clock::now() < deadline) {
      prober.drive([&](size_t i, const ProbeResult& r) {
        if (i < done.size() && !done[i]) {
          done[i] = true;
          results[i] = r;
          left--;
        }
        return false;
      });
      bool unused = false;
      prober.wait(50, -1, &unused);
    }
  } catch (const std::exception& e) {
    out.push_back(fail("readyz", e.what(), "check the probe settings"));
    return out;
  }
  std::string what = in.probe.type == ProbeType::kTcp ? "tcp" : in.probe.path;
  for (size_t i = 0; i < in.backends.size(); i++) {
    std::string name = "readyz " + in.backends[i].str();
    const ProbeResult& r = results[i];
    if (!done[i]) {
      out.push_back(fail(name, "no answer", "check that the address is reachable"));
    } else if (r.outcome == ProbeOutcome::kOk) {
      out.push_back(ok(name, what + " answered " + r.result));
    } else if (r.result == kProbeCredentials) {  // 401/403; r.error starts "HTTP 401"
      bool hasCred = !in.probe.cert.empty() || !in.probe.tokenFile.empty();
      std::string status = r.error.substr(5, 3);
      out.push_back(fail(name, what + " answered " + status + " (credentials)" + (hasCred ? " with the configured credentials" : " to an anonymous request"),
                         hasCred ? "the credential is not accepted: any authenticated identity may read /readyz (system:public-info-viewer); check the certificate's CA / the token"
                                 : "anonymous auth is off (k3s, RKE2, CIS): set probe_cert/probe_key to the kubelet's client certificate, or probe_token_file to a service-account token"));
    } else if (r.result == "refused") {
      out.push_back(fail(name, "connection refused: nobody listens at " + in.backends[i].str(),
                         "check the apiserver's --advertise-address/--secure-port against this address"));
    } else {
      out.push_back(fail(name, what + ": " + r.result + (r.error.empty() ? "" : " (" + r.error + ")"),
                         "check the apiserver and the network path to it"));
    }
  }
  return out;
}

std::vector<Check> checkKernel() {
  std::vector<Check> out;
  out.push_back(probeProg("XDP", BPF_PROG_TYPE_XDP));
  out.push_back(probeProg("TC (sched_cls)", BPF_PROG_TYPE_SCHED_CLS));
  int rc = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_neigh, nullptr);
  if (rc == 1)
    out.push_back(ok("kernel bpf_redirect_neigh", "helper available to TC programs"));
  else
    out.push_back(fail("kernel bpf_redirect_neigh", "helper not available (" + std::to_string(rc) + ")",
                       "apilb needs Linux >= 5.10 (docs/kernels.md)"));
  out.push_back(checkSockDestroy());
  return out;
}

// Socket mode: every cgroup link pinned, and how many connect()s were translated.
Check checkSocketMode(const std::string& pinDir) {
  std::string missing;
  for (const char* p : sockProgNames())
    if (::access(sockLinkPin(pinDir, p).c_str(), F_OK) != 0) missing += std::string(" ") + p;
  lb_sock_rec sr{};
  (void)readSockRecord(pinDir, &sr);
  if (!missing.empty())
    return fail("socket mode", "cgroup link pins missing:" + missing,
                "re-attach: apilb detach && apilb attach --mode ...");
  auto c = sockCounters(pinDir);
  uint64_t n = c.empty() ? 0 : c[LB_S_CONNECT];
  std::string where = "cgroup " + cgroupOf(sr);
  if (n == 0)
    return warn("socket mode", "attached to " + where + ", no connect() translated yet",
                "connect to the VIP from a process under " + cgroupOf(sr));
  return ok("socket mode",
            "attached to " + where + ", " + std::to_string(n) + " connect() translated");
}

std::vector<Check> checkDatapath(const DoctorInput& in) {
  std::vector<Check> out;
  if (!isAttached(in.pinDir)) {
    out.push_back(fail("datapath", "nothing attached at " + in.pinDir,
                       "run `apilb run` (it attaches) or `apilb attach`"));
    return out;
  }
  std::optional<Datapath> dp;
  lb_attach_rec rec{};
  try {
    dp.emplace(Datapath::open(in.pinDir));
  } catch (const std::exception& e) {
    out.push_back(fail("datapath", e.what(), "re-attach: apilb detach && apilb attach ..."));
    return out;
  }
  if (auto ec = dp->attachRecord(&rec)) {
    out.push_back(fail("datapath", "attach record: " + ec.message(), "re-attach"));
    return out;
  }
  if (rec.flags & LB_ATTACH_F_SOCKET) out.push_back(checkSocketMode(in.pinDir));
  if (rec.flags & LB_ATTACH_F_NO_PACKET) return out;  // no device, NIC program or sysctl to check
  uint64_t pkts = 0;
  for (const auto& c : dp->counters()) pkts += c.packets;
  out.push_back(pkts > 0 ? ok("datapath", "attached at " + in.pinDir + ", " + std::to_string(pkts) +
                                              " packets counted")
                         : warn("datapath", "attached, but no packet counted yet",
                                "send a request to the VIP; if it stays 0, check the route to the VIP"));
  int all = 0;
  (void)readSysctl(ipv4ConfName("all", "rp_filter"), &all);
  std::string vipDev(rec.vip_dev, strnlen(rec.vip_dev, sizeof(rec.vip_dev)));
  int vipMtu = std::max(ifMtu(vipDev), 0);
  out.push_back(tcHookCheck("attach " + vipDev, rec.vip_dev_ifindex, TcDir::kEgress, kProgFwd,
                            "forward DNAT"));
  out.push_back(tcHookCheck("attach lo", rec.lo_ifindex, TcDir::kIngress, kProgRevTc,
                            "hairpin reverse NAT"));
  for (uint32_t i = 0; i < rec.n_ifaces && i < LB_MAX_IFACES; i++) {
    std::string dev = ifName(rec.ifaces[i].ifindex);
    uint8_t mode = rec.ifaces[i].mode;
    if (mode == LB_MODE_XDP_GENERIC)
      out.push_back(warn("attach " + dev, "generic XDP (the driver refused native XDP): every reply is copied",
                         "use --ingress tc on this NIC, or a driver with native XDP"));
    else if (mode == LB_MODE_XDP_NATIVE && deviceDriver(dev) == "veth")
      out.push_back(warn("attach " + dev,
                         "native XDP on a veth: the device switches to NAPI mode, with a page-pool copy, "
                         "for all of its traffic",
                         "use --ingress tc on this NIC (docs/operations.md)"));
    else if (mode == LB_MODE_TC)
      out.push_back(tcHookCheck("attach " + dev, rec.ifaces[i].ifindex, TcDir::kIngress,
                                kProgRevTc, "reverse NAT in TC"));
    else
      out.push_back(ok("attach " + dev, std::string("reverse NAT in ") + modeName(mode)));
    int own = 0;
    (void)readSysctl(ipv4ConfName(dev, "rp_filter"), &own);
    if (std::max(all, own) == 1)
      out.push_back(fail("rp_filter " + dev, "strict (max(all, " + dev + ") = 1): replies from the VIP are dropped",
                         "sysctl -w net.ipv4.conf." + dev + ".rp_filter=2 (and conf.all.rp_filter <= 2)"));
    else
      out.push_back(ok("rp_filter " + dev, "effective value " + std::to_string(std::max(all, own))));
    int mtu = std::max(ifMtu(dev), 0);
    if (vipMtu > 0 && mtu > 0 && vipMtu > mtu)
      out.push_back(fail("mtu " + dev, vipDev + " MTU " + std::to_string(vipMtu) + " > " + dev + " MTU " + std::to_string(mtu) + ": large segments through the VIP are dropped",
                         "ip link set " + vipDev + " mtu " + std::to_string(mtu)));
    else if (vipMtu > 0 && mtu > 0)
      out.push_back(ok("mtu " + dev, vipDev + " " + std::to_string(vipMtu) + " <= " + std::to_string(mtu)));
  }
  int acceptLocal = 0;
  (void)readSysctl(ipv4ConfName("lo", "accept_local"), &acceptLocal);
  bool hairpin = false;
  for (const auto& b : dp->backends()) hairpin |= (b.be.flags & LB_BE_F_LOCAL) != 0;
  if (hairpin && acceptLocal != 1)
    out.push_back(fail("accept_local lo", "0, but a backend is this node: hairpin replies are dropped",
                       "sysctl -w net.ipv4.conf.lo.accept_local=1"));
  else
    out.push_back(ok("accept_local lo", std::to_string(acceptLocal) + (hairpin ? " (hairpin in use)" : "")));
  return out;
}

std::vector<Check> checkDaemon(const DoctorInput& in) {
  std::vector<Check> out;
  std::string path = in.stateDir + "/health.json";
  std::ifstream f(path);
  auto missing = [&](std::string detail) {
    if (in.expectDaemon)
      out.push_back(fail("daemon", detail, "start `apilb run` (static pod or systemd unit: docs/kubernetes.md)"));
    else
      out.push_back(warn("daemon", detail, "without `apilb run` nothing health-checks the backends"));
  };
  if (!f) {
    missing("no " + path + ": the daemon is not running");
    return out;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) {
    missing(path + " is not a health document");
    return out;
  }
  int pid = j["pid"].get<int>();
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
    missing(path + " was written by pid " + std::to_string(pid) + ", which is gone: stale");
    return out;
  }
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  if (name != "apilb") {
    missing("pid " + std::to_string(pid) + " of " + path + " is '" + name + "', not apilb: stale");
    return out;
  }
  out.push_back(ok("daemon", "apilb run is alive (pid " + std::to_string(pid) + ", " + path + ")"));
  return out;
}

std::vector<Check> checkKubeconfig(const DoctorInput& in) {
  std::vector<Check> out;
  if (in.kubeletKubeconfig.empty()) return out;
  std::string name = "kubelet kubeconfig";
  std::ifstream f(in.kubeletKubeconfig);
  if (!f) {
    out.push_back(warn(name, in.kubeletKubeconfig + " not found",
                       "pass --kubelet-kubeconfig PATH (k3s/RKE2 keep it under their data dir)"));
    return out;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string err, server = kubeconfigServer(ss.str(), &err);
  if (server.empty()) {
    out.push_back(fail(name, in.kubeletKubeconfig + ": " + err, "fix the kubeconfig"));
    return out;
  }
  std::string want = "https://" + (in.vip.family == LB_AF_INET6 ? "[" + in.vip.addrStr() + "]" : in.vip.addrStr()) +
                     ":" + std::to_string(in.vip.port);
  if (server == want || server == want + "/")
    out.push_back(ok(name, in.kubeletKubeconfig + " points at the VIP " + want));
  else
    out.push_back(fail(name, in.kubeletKubeconfig + " points at " + server + ", not the VIP " + want,
                       "set the cluster's server to " + want + " and restart the kubelet"));
  return out;
}

SetDiff diffBackends(const std::vector<Endpoint>& slice, const std::vector<Endpoint>& other) {
  auto has = [](const std::vector<Endpoint>& v, const Endpoint& e) {
    return std::find(v.begin(), v.end(), e) != v.end();
  };
  SetDiff d;
  for (const auto& e : slice)
    if (!has(other, e) && !has(d.onlyInSlice, e)) d.onlyInSlice.push_back(e);
  for (const auto& e : other)
    if (!has(slice, e) && !has(d.onlyInOther, e)) d.onlyInOther.push_back(e);
  return d;
}

namespace {

std::string endpointList(const std::vector<Endpoint>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ", ") + e.str();
  return s.empty() ? "none" : s;
}

// One LIST through a SliceWatcher (its first event), within `timeout`.
bool listSlice(const k8s::ApiCredentials& creds, std::chrono::milliseconds timeout,
               k8s::DiscoveryEvent* out) {
  k8s::WatchOptions o;
  o.creds = creds;
  o.connectTimeout = std::min(timeout, o.connectTimeout);
  o.listTimeout = timeout;
  k8s::SliceWatcher w(std::move(o));
  w.start();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{w.fd(), POLLIN, 0};
    poll(&p, 1, 100);
    for (auto& ev : w.take()) {
      if (ev.kind == k8s::DiscoveryEvent::Kind::kWatchError &&
          ev.problem == k8s::DiscoveryEvent::Problem::kProtocol)
        continue;  // one bad slice: the LIST result follows
      *out = std::move(ev);
      return true;
    }
  }
  return false;
}

// The backends the daemon uses now: health.json's, else the attached datapath's.
std::vector<Endpoint> backendsInUse(const DoctorInput& in, std::string* source) {
  std::vector<Endpoint> v;
  std::string err;
  auto doc = readHealthDoc(in.stateDir + "/health.json", &err);
  if (doc && processStartTime(doc->pid) == doc->pidStart && doc->pidStart != 0) {
    for (const auto& b : doc->backends) {
      Endpoint e;
      std::string why;
      if (b.id != LB_NO_BACKEND && parseEndpoint(b.address, &e, &why)) v.push_back(e);
    }
    *source = "in use by apilb run (health.json)";
    return v;
  }
  if (isAttached(in.pinDir)) {
    Datapath dp = Datapath::open(in.pinDir);
    for (const auto& b : dp.backends()) v.push_back(b.endpoint());
    *source = "in the attached datapath";
  }
  return v;
}

}  // namespace

std::vector<Check> checkDiscovery(const DoctorInput& in) {
  std::vector<Check> out;
  if (!in.discovery) return out;
  const std::string name = "discovery";
  k8s::DiscoveryEvent ev;
  if (!listSlice(in.discoveryCreds, std::chrono::seconds(10), &ev)) {
    out.push_back(fail(name, "no answer from " + in.discoveryCreds.server + " within 10 s",
                       "the kubeconfig's server must be reachable from this node (normally the "
                       "VIP, served by the bootstrap `backend` list)"));
    return out;
  }
  if (ev.kind == k8s::DiscoveryEvent::Kind::kWatchError) {
    bool creds = ev.problem == k8s::DiscoveryEvent::Problem::kCredentials;
    out.push_back(fail(name,
                       std::string("LIST of the kubernetes EndpointSlice at ") +
                           in.discoveryCreds.server + " failed: " + k8s::problemName(ev.problem) +
                           ": " + ev.reason,
                       creds ? "let this identity read EndpointSlices in namespace default: "
                               "`apilb manifest rbac ... | kubectl apply -f -`"
                             : "check the kubeconfig's server and CA"));
    return out;
  }
  std::vector<Endpoint> slice;  // the VIP's family only, as `apilb run` uses it
  for (const auto& e : ev.backends)
    if (e.family == in.vip.family && !(e == in.vip)) slice.push_back(e);
  out.push_back(ok(name, "the kubernetes EndpointSlice lists " + std::to_string(slice.size()) +
                             " ready apiservers: " + endpointList(slice)));
  if (slice.empty())
    out.push_back(warn(name, "no ready apiserver of the VIP's family in the EndpointSlice",
                       "apilb keeps the backends it has; check `kubectl get endpointslices -n "
                       "default -l kubernetes.io/service-name=kubernetes`"));
  std::string source;
  std::vector<Endpoint> used = backendsInUse(in, &source);
  if (!source.empty()) {
    SetDiff d = diffBackends(slice, used);
    if (d.onlyInSlice.empty() && d.onlyInOther.empty())
      out.push_back(ok(name + " in use", "the backends " + source + " match the EndpointSlice"));
    if (!d.onlyInSlice.empty())
      out.push_back(
          warn(name + " in use",
               "in the EndpointSlice but not " + source + ": " + endpointList(d.onlyInSlice),
               "is `apilb run` running with kubeconfig/in_cluster? It adds them "
               "(after probe_rise successes) within seconds"));
    if (!d.onlyInOther.empty())
      out.push_back(warn(name + " in use",
                         source + " but not in the EndpointSlice: " + endpointList(d.onlyInOther),
                         "with discovery on, `apilb run` drains and removes them; a dead one "
                         "there means the slice lists an address that does not serve"));
  }
  SetDiff cfg = diffBackends(slice, in.backends);
  if (!cfg.onlyInOther.empty())
    out.push_back(warn(
        name + " bootstrap",
        "configured `backend` entries not in the EndpointSlice: " + endpointList(cfg.onlyInOther),
        "the static list only bootstraps discovery; keep it to addresses that "
        "serve (an outdated one only costs a dead probe until the first LIST)"));
  k8s::DiscoveredSet saved;
  std::string why = k8s::loadDiscovered(in.dataDir, &saved);
  if (!why.empty()) {
    out.push_back(warn(name + " persisted", why,
                       "written by `apilb run` after its first LIST; data_dir must be writable "
                       "and survive reboots"));
  } else {
    SetDiff p = diffBackends(slice, saved.backends);
    if (p.onlyInSlice.empty() && p.onlyInOther.empty())
      out.push_back(ok(name + " persisted", in.dataDir + "/discovered.json matches the slice"));
    else
      out.push_back(warn(name + " persisted",
                         in.dataDir + "/discovered.json differs: not saved " +
                             endpointList(p.onlyInSlice) + "; saved but gone " +
                             endpointList(p.onlyInOther),
                         "`apilb run` rewrites it on the next change it sees; a daemon without "
                         "discovery never does"));
  }
  return out;
}

std::vector<Check> runDoctor(const DoctorInput& in) {
  std::vector<Check> all = checkKernel();
  for (auto* fn : {checkDatapath, checkDaemon, checkReadyz, checkCertificates, checkKubeconfig,
                   checkDiscovery}) {
    auto v = fn(in);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

}  // namespace lb
