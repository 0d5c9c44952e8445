// SPDX-License-Identifier: Apache-2.0
// Daemon main loop (see daemon.h).
#include "daemon/daemon.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

#include "bpf/errno_code.h"
#include "daemon/health_file.h"
#include "daemon/log.h"

namespace lb {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<Endpoint> endpointsOf(const std::vector<Member>& members) {
  std::vector<Endpoint> v;
  for (const auto& m : members) v.push_back(m.cfg.ep);
  return v;
}

// Whether the counters are heading for a transition (re-check soon to confirm it).
bool inFlux(const BackendHealth& h) {
  switch (h.state) {
    case HealthState::kUnknown:
      return true;
    case HealthState::kHealthy:
      return h.failures > 0;
    case HealthState::kDraining:
      return h.successes > 0 || h.failedRun > 0;
    case HealthState::kDead:
      return h.successes > 0 || h.notReadyRun > 0;
  }
  return false;
}

}  // namespace

Daemon::Daemon(DaemonConfig cfg, DatapathPort* port, SocketKiller* killer, Reloader reload)
    : cfg_(std::move(cfg)), port_(port), reloader_(std::move(reload)), rec_(port, killer) {}

Daemon::~Daemon() {
  disc_.reset();  // stops the watch thread first
  if (waitfd_ >= 0) close(waitfd_);
}

std::vector<BackendConfig> Daemon::wantedBackends() const {
  return disc_ ? disc_->set().managed() : cfg_.backends;
}

bool Daemon::isLeaving(size_t index) const {
  return disc_ && index < rec_.members().size() &&
         disc_->set().isLeaving(rec_.members()[index].cfg.ep);
}

// One fd for the prober's wait: an epoll (level-triggered) of the signalfd, the route and tc
// notifications (when they could be opened) and the discovery watcher's eventfd (if any).
std::string Daemon::openWaitFd() {
  waitfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (waitfd_ < 0) return std::string("epoll_create1: ") + std::strerror(errno);
  std::vector<int> fds = {sigfd_.get()};
  if (routes_.fd() >= 0) fds.push_back(routes_.fd());
  if (tc_.fd() >= 0) fds.push_back(tc_.fd());
  if (disc_) fds.push_back(disc_->fd());
  for (int fd : fds) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(waitfd_, EPOLL_CTL_ADD, fd, &ev) != 0)
      return std::string("epoll_ctl: ") + std::strerror(errno);
  }
  return "";
}

// A route, link or address changed: the backends' egress devices and next hops follow, and so
// does whatever the owner hooked to link changes (the VIP device's MTU).
void Daemon::pollRoutes() {
  if (!routes_.drain()) return;
  refreshRoutes("route change");
  if (onLinkChange_) onLinkChange_();
}

// A qdisc or classic filter was added or removed somewhere in this namespace (including by
// onTcChange_ itself, whose second look then finds nothing to do).
void Daemon::pollTc() {
  if (tc_.drain() && onTcChange_) onTcChange_();
}

// Re-resolves every backend's path and pins its next hop (only while the daemon runs: it is the
// one that keeps them current); logs each change as "<why>: backend ...".
void Daemon::refreshRoutes(const char* why) {
  std::vector<std::string> changes;
  if (auto ec = port_->refreshRoutes(&changes, true))
    log::warn("re-resolving the backends' routes failed: " + ec.message());
  for (const auto& c : changes) log::info(std::string(why) + ": backend " + c);
}

std::string Daemon::start() {
  // Route notifications first: only while they are read may slots carry a pinned next hop.
  if (auto ec = routes_.open(kRouteChangeGroups))
    log::warn("route notifications unavailable (" + ec.message() +
              "): no next hops pinned, the kernel looks the route up per packet");
  port_->setPinNextHops(routes_.fd() >= 0);
  if (onTcChange_) {
    if (auto ec = tc_.open(kTcChangeGroups))
      log::warn("tc notifications unavailable (" + ec.message() +
                "): apilb's tc filters are checked every second instead");
  }
  if (auto ec = rec_.sync(cfg_.vip, wantedBackends()))
    return "cannot adopt the attached datapath (see the error above): " + ec.message();
  resetHealth({}, {});
  resetPassive();
  prober_ = std::make_unique<Prober>(cfg_.probe, endpointsOf(rec_.members()));
  if (cfg_.probe.insecureSkipVerify && cfg_.probe.type == ProbeType::kHttps)
    log::warn("insecure_skip_verify: true -- apiserver certificates are NOT verified");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sigfd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd_.valid()) return "signalfd: " + errnoCode().message();
  if (std::string e = openWaitFd(); !e.empty()) return e;
  if (routes_.fd() >= 0) refreshRoutes("next hop");  // backends attached by the CLI have none
  if (onLinkChange_) onLinkChange_();                 // whatever changed before we listened
  if (onTcChange_) onTcChange_();
  if (disc_) {
    try {
      disc_->start();
    } catch (const std::exception& e) {
      return std::string("discovery: ") + e.what();
    }
  }
  std::string list;
  for (const auto& m : rec_.members())
    list += (list.empty() ? "" : ", ") + m.cfg.ep.str() + (m.priorUsable ? " (in table)" : "");
  log::info("adopted VIP " + cfg_.vip.str() + " (vip_id " + std::to_string(rec_.vipId()) +
            "), backends: " + list + "; probing " +
            (cfg_.probe.type == ProbeType::kTcp ? "tcp" : "https " + cfg_.probe.path) + " every " +
            formatDuration(cfg_.probe.interval) + ", rise " + std::to_string(cfg_.probe.rise) +
            ", fall " + std::to_string(cfg_.probe.fall) +
            (passiveOn_ ? "; passive detection on" : "; passive detection off"));
  return "";
}

void Daemon::resetPassive() {
  passive_ = PassiveDetector(
      std::max<std::chrono::milliseconds>(cfg_.probe.interval / 5, std::chrono::milliseconds(100)));
  passive_.reset(rec_.members().size());
  passiveOn_ = cfg_.passiveDetection;
  if (!passiveOn_ || rec_.members().empty()) return;
  BackendSignals probe;
  if (port_->backendSignals(rec_.members()[0].id, &probe) == std::errc::not_supported) {
    log::warn(
        "passive_detection: the attached datapath has no apilb_signals map (attached by an older "
        "apilb): probes only until it is re-attached");
    passiveOn_ = false;
  }
}

void Daemon::pollSignals() {
  auto now = std::chrono::steady_clock::now();
  const auto& members = rec_.members();
  for (size_t i = 0; i < members.size() && i < health_.size(); i++) {
    BackendSignals c;
    if (port_->backendSignals(members[i].id, &c)) continue;  // read again at the next poll
    HealthState s = health_[i].state;
    bool watch = s == HealthState::kHealthy || s == HealthState::kDraining;
    auto o = passive_.observe(i, c, now, watch);
    if (!o.any()) continue;
    const std::string& name = members[i].cfg.ep.str();
    synUnanswered_[name] += o.signals[static_cast<size_t>(SignalKind::kSynUnanswered)];
    std::string kinds;
    for (size_t k = 0; k < kSignalKinds; k++)
      if (o.signals[k])
        kinds += (kinds.empty() ? "" : " ") + std::string(signalKindName(SignalKind(k))) + "=" +
                 std::to_string(o.signals[k]);
    if (!watch || !passive_.takeProbeRequest(i, now)) {
      log::debug("backend " + name + ": datapath signals " + kinds);
      continue;
    }
    prober_->probeNow(i);
    std::string line = "backend " + name + ": datapath signals " + kinds + "; probing it now";
    log::Fields f = {{"event", "signal"}, {"backend", name}, {"signals", kinds}};
    if (s == HealthState::kHealthy)
      log::info(line, f);
    else
      log::debug(line, f);  // a draining backend's held flows keep signalling: once per recheck
  }
}

void Daemon::resetHealth(const std::vector<BackendHealth>& keep,
                         const std::vector<std::string>& keepAddr) {
  std::vector<BackendHealth> h;
  auto now = std::chrono::system_clock::now();
  for (const auto& m : rec_.members()) {
    auto it = std::find(keepAddr.begin(), keepAddr.end(), m.cfg.ep.str());
    if (it != keepAddr.end()) {
      h.push_back(keep[static_cast<size_t>(it - keepAddr.begin())]);
    } else {
      BackendHealth b;
      b.since = now;
      h.push_back(b);
    }
  }
  health_ = std::move(h);
}

bool Daemon::onProbe(size_t index, const ProbeResult& r) {
  if (index >= health_.size()) return false;
  BackendHealth& h = health_[index];
  const std::string& name = rec_.members()[index].cfg.ep.str();
  HealthRules rules{cfg_.probe.rise, cfg_.probe.fall, cfg_.probe.timeoutDeadAfter};
  // A probe answering a datapath signal: its failure decides at once (passive.h).
  PassiveDetector::Answer a = passive_.onProbe(index, r.started);
  bool confirms = passiveOn_ && a.answers && r.outcome != ProbeOutcome::kOk;
  if (confirms) rules.fall = 1;
  if (passiveOn_ && a.answers)
    passiveProbes_[{name, signalKindName(a.trigger), confirms ? "confirmed" : "cleared"}]++;
  auto t = recordProbe(&h, r, rules, std::chrono::system_clock::now());
  if (isLeaving(index) && h.state == HealthState::kHealthy) {  // left the slice: drains on
    h.state = HealthState::kDraining;
    if (t && t->to == HealthState::kHealthy) t.reset();
  }
  if (metrics_) metrics_->observeProbe(name, r);
  log::debug("probe " + name + ": " + r.result + " " + std::to_string(r.latencyMs) + " ms" +
             (r.error.empty() ? "" : " (" + r.error + ")"));
  if (t && confirms)
    t->reason += std::string("; confirms datapath signal ") + signalKindName(a.trigger);
  if (t) {
    std::string line = "backend " + name + ": " + healthStateName(t->from) + " -> " +
                       healthStateName(t->to) + " (" + t->reason + ")";
    log::Fields f = {{"event", "state"},
                     {"backend", name},
                     {"from", healthStateName(t->from)},
                     {"to", healthStateName(t->to)},
                     {"reason", t->reason}};
    if (t->to == HealthState::kHealthy)
      log::info(line, f);
    else
      log::warn(line, f);
    dirty_ = true;
  }
  return inFlux(h) || (passiveOn_ && passive_.suspect(index));
}

void Daemon::reconcile() {
  std::vector<BackendView> views;
  const auto& members = rec_.members();
  for (size_t i = 0; i < members.size(); i++)
    views.push_back(
        {members[i].id, health_[i].state, members[i].priorUsable, members[i].priorFlags});
  rec_.apply(decide(views, rec_.lastTable()));
}

void Daemon::writeHealth() {
  std::vector<HealthEntry> entries;
  const auto& members = rec_.members();
  const auto& table = rec_.lastTable();
  std::vector<std::string> tableNames;
  for (size_t i = 0; i < members.size(); i++) {
    bool in = std::binary_search(table.begin(), table.end(), members[i].id);
    entries.push_back({members[i].cfg.ep.str(), members[i].id, health_[i], in});
    if (isLeaving(i)) {
      std::string& e = entries.back().health.error;
      e = "no longer in the EndpointSlice: draining until its flows end" +
          (e.empty() ? std::string() : "; last probe: " + e);
    }
    if (in) tableNames.push_back(members[i].cfg.ep.str());
  }
  for (const auto& r : rec_.refused()) {
    BackendHealth h;
    h.state = HealthState::kDead;
    h.result = "refused";
    h.error = "not in the datapath: " + r.reason;
    entries.push_back({r.cfg.ep.str(), LB_NO_BACKEND, h, false});
  }
  std::string text = renderHealthJson(cfg_.vip.str(), getpid(), rec_.failOpen(), tableNames,
                                      entries, std::chrono::system_clock::now());
  if (auto ec = writeFileAtomic(cfg_.stateDir, "health.json", text))
    log::error("writing " + cfg_.stateDir + "/health.json: " + ec.message());
}

DaemonView Daemon::view() const {
  DaemonView v;
  v.vip = cfg_.vip.str();
  const auto& members = rec_.members();
  for (size_t i = 0; i < members.size() && i < health_.size(); i++)
    v.backends.push_back({members[i].cfg.ep.str(), members[i].id, health_[i].state});
  v.failOpen = rec_.failOpen();
  v.publishes = rec_.publishes();
  v.flowsReset = rec_.socketsDestroyed();
  v.synUnanswered = synUnanswered_;
  v.passiveProbes = passiveProbes_;
  return v;
}

void Daemon::reload() {
  DaemonConfig next;
  std::vector<std::string> errs;
  bool ok = false;
  try {  // no input may end the daemon: whatever the reader throws keeps the old config
    ok = reloader_ && reloader_(&next, &errs);
  } catch (const std::exception& e) {
    errs = {std::string("reading the config failed: ") + e.what()};
  } catch (...) {
    errs = {"reading the config failed"};
  }
  if (!ok) {
    for (const auto& e : errs)
      log::error("SIGHUP: invalid config, keeping the old one: " + e,
                 {{"event", "reload"}, {"result", "rejected"}, {"error", e}});
    return;
  }
  if (!(next.vip == cfg_.vip) || next.ifaces != cfg_.ifaces || next.ingress != cfg_.ingress ||
      next.tableSize != cfg_.tableSize) {
    log::warn(
        "SIGHUP: vip/iface/ingress/table_size changes need a re-attach (apilb detach + "
        "restart); keeping the attached ones");
    next.vip = cfg_.vip;
    next.ifaces = cfg_.ifaces;
    next.ingress = cfg_.ingress;
    next.tableSize = cfg_.tableSize;
  }
  if (next.kubeconfig != cfg_.kubeconfig || next.inCluster != cfg_.inCluster ||
      next.dataDir != cfg_.dataDir) {
    log::warn(
        "SIGHUP: kubeconfig/in_cluster/data_dir changes need a restart; keeping the current "
        "discovery settings");
    next.kubeconfig = cfg_.kubeconfig;
    next.inCluster = cfg_.inCluster;
    next.dataDir = cfg_.dataDir;
  }
  log::Level lvl;
  if (log::parseLevel(next.logLevel, &lvl)) log::setLevel(lvl);
  log::Format fmt;
  if (log::parseFormat(next.logFormat, &fmt)) log::setFormat(fmt);
  if (next == cfg_) {
    log::info("SIGHUP: config unchanged");
    return;
  }
  std::vector<BackendConfig> want = next.backends;
  if (disc_) {
    std::vector<std::string> notes;
    disc_->set().setBootstrap(next.backends, Clock::now(), &notes);
    for (const auto& n : notes) log::warn("SIGHUP: discovery: " + n);
    want = disc_->set().managed();
  }
  if (!setMembers(want, next.probe, "SIGHUP")) return;
  cfg_ = next;
  log::info("SIGHUP: config reloaded (" + std::to_string(rec_.members().size()) + " backends)",
            {{"event", "reload"}, {"result", "applied"}});
}

// The one way the backend set changes after start (SIGHUP, discovery, a drained leaver): sync
// the datapath, keep the health of the backends that stay, restart the prober if its targets or
// settings changed. On a sync error the previous set is restored and false returned.
bool Daemon::setMembers(const std::vector<BackendConfig>& backends, const ProbeConfig& probe,
                        const char* why) {
  std::vector<std::string> oldAddr;
  std::vector<BackendConfig> oldWant;
  for (const auto& m : rec_.members()) {
    oldAddr.push_back(m.cfg.ep.str());
    oldWant.push_back(m.cfg);
  }
  std::vector<BackendHealth> oldHealth = health_;
  if (auto ec = rec_.sync(cfg_.vip, backends)) {
    log::error(std::string(why) + ": the new backend set cannot be applied (" + ec.message() +
               "); keeping the current backends");
    (void)rec_.sync(cfg_.vip, oldWant);  // logs its own error, if any
    return false;
  }
  bool probeChanged = !(probe == cfg_.probe) || oldAddr.size() != rec_.members().size();
  for (size_t i = 0; !probeChanged && i < oldAddr.size(); i++)
    probeChanged = oldAddr[i] != rec_.members()[i].cfg.ep.str();
  resetHealth(oldHealth, oldAddr);
  resetPassive();
  auto now = std::chrono::system_clock::now();
  for (size_t i = 0; i < health_.size(); i++) {
    BackendHealth& h = health_[i];
    if (!isLeaving(i) || h.state == HealthState::kDraining || h.state == HealthState::kDead)
      continue;
    const std::string name = rec_.members()[i].cfg.ep.str();
    const char* reason = "no longer in the EndpointSlice";
    log::warn("backend " + name + ": " + healthStateName(h.state) + " -> draining (" + reason + ")",
              {{"event", "state"},
               {"backend", name},
               {"from", healthStateName(h.state)},
               {"to", "draining"},
               {"reason", reason}});
    h.state = HealthState::kDraining;
    h.since = now;
  }
  if (probeChanged) prober_ = std::make_unique<Prober>(probe, endpointsOf(rec_.members()));
  dirty_ = true;
  return true;
}

void Daemon::pollDiscovery() {
  if (disc_ && disc_->poll(Clock::now()))
    setMembers(disc_->set().managed(), cfg_.probe, "discovery");
}

// Backends that left the EndpointSlice: removed once no flow is tracked to them (a dead one's
// were reset) or after BackendSet::kLeaveGrace.
void Daemon::finishDrainedLeavers() {
  if (!disc_) return;
  std::map<uint32_t, size_t> flows;
  bool any = false;
  for (size_t i = 0; i < rec_.members().size(); i++)
    if (isLeaving(i)) any = true, flows[rec_.members()[i].id] = 0;
  if (!any) return;
  for (const auto& f : port_->flows())
    if (auto it = flows.find(f.fwd.backend_id); it != flows.end()) it->second++;
  bool changed = false;
  auto expired = disc_->set().leavingExpired(Clock::now());
  for (const auto& m : rec_.members()) {
    if (!disc_->set().isLeaving(m.cfg.ep)) continue;
    bool late = std::find(expired.begin(), expired.end(), m.cfg.ep) != expired.end();
    if (flows[m.id] > 0 && !late) continue;
    log::info("backend " + m.cfg.ep.str() + ": left the EndpointSlice and " +
                  (late ? "its drain time is over (" + std::to_string(flows[m.id]) +
                              " flows reset): removing"
                        : std::string("has no flows left: removing")),
              {{"event", "discovery"}, {"backend", m.cfg.ep.str()}});
    changed |= disc_->set().finishLeaving(m.cfg.ep);
  }
  if (changed) setMembers(disc_->set().managed(), cfg_.probe, "discovery");
}

void Daemon::handleSignals() {
  signalfd_siginfo si;
  while (read(sigfd_.get(), &si, sizeof(si)) == sizeof(si)) {
    if (si.ssi_signo == SIGHUP) {
      reload();
    } else {
      log::info(std::string("received ") + strsignal(static_cast<int>(si.ssi_signo)) +
                ", stopping");
      stop_ = true;
    }
  }
}

int Daemon::run() {
  auto nextWrite = Clock::now();
  auto nextSweep = Clock::now() + std::chrono::seconds(1);
  auto cb = [this](size_t i, const ProbeResult& r) { return onProbe(i, r); };
  while (!stop_) {
    if (passiveOn_) pollSignals();  // every pass: at most kSignalPollMs apart (the wait below)
    prober_->drive(cb);
    if (dirty_) reconcile();  // at once: a dead backend's flows go within milliseconds
    auto now = Clock::now();
    if (now >= nextSweep) {  // also retries a publish/flag write that failed
      finishDrainedLeavers();  // first: the reconcile below removes them from the datapath
      reconcile();
      rec_.sweepDown();
      if (onLinkChange_ && routes_.fd() < 0) onLinkChange_();  // no notifications: poll
      if (onTcChange_ && tc_.fd() < 0) onTcChange_();
      if (onSweep_) onSweep_();
      nextSweep = now + std::chrono::seconds(1);
    }
    if (dirty_ || now >= nextWrite) {
      writeHealth();
      nextWrite = now + std::chrono::milliseconds(kHealthWritePeriodMs);
      dirty_ = false;
    }
    if (metrics_) metrics_->update(view());  // also the loop's heartbeat for /healthz
    bool sig = false;
    prober_->wait(passiveOn_ ? kSignalPollMs : 200, waitfd_, &sig);
    if (sig) {
      handleSignals();
      pollDiscovery();
      pollRoutes();
      pollTc();
    }
  }
  // Nobody keeps the next hops current any more: the kernel's per-packet lookup takes over.
  port_->setPinNextHops(false);
  if (routes_.fd() >= 0 && port_->refreshRoutes(nullptr, false))
    log::warn("clearing the backends' next hops failed: they stay until the next apilb run");
  return 0;
}

}  // namespace lb
