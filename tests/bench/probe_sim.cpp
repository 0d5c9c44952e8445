// SPDX-License-Identifier: Apache-2.0
// apilb_probe_sim: simulation of the daemon's health probes across a cluster, behind
// docs/scale.md (run scripts/scale-sim.sh). Every node probes every apiserver; this program
// computes, per probe setting and cluster size:
//   - load on one apiserver: mean probe requests/s, the peak over 100 ms bins, persistent TLS
//     connections, and new TLS handshakes/s (every probe without keep-alive, none in steady
//     state with keep-alive);
//   - failure detection: time from an apiserver dying to a node removing it (fall consecutive
//     failed probes), per node (p50/p99) and until *every* node has removed it (median and max
//     over trials), for a dead process (connection refused at once) and a dead host (each probe
//     waits for the timeout);
//   - recovery: time from the apiserver answering again to every node having re-added it (rise);
//   - lockstep: what happens when every node starts probing at the same instant.
//
// Probe model (matches the daemon contract in docs/scale.md): each (node, apiserver) pair starts
// at a random phase in [0, interval); the next probe starts interval * U(1-j, 1+j) after the
// previous start, but never before the previous probe finished (no overlapping probes to one
// backend). A probe that started rtt before the death succeeded. Failed probes finish after rtt
// (refused) or after the timeout (dead host). Randomness is std::mt19937_64 (bit-identical on
// every standard library) with its own uniform mapping, so a seed reproduces the tables exactly.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Settings {
  const char* name;
  double interval;  // s
  double timeout;   // s
  double jitter;    // fraction of the interval, +-
  int rise;
  int fall;
  bool keepAlive;
};

// The daemon's default and the alternatives docs/scale.md discusses.
const Settings kPresets[] = {
    {"default: 1s/1s rise 2 fall 2, keep-alive", 1.0, 1.0, 0.1, 2, 2, true},
    {"interval 2s (timeout 1s, fall 2)", 2.0, 1.0, 0.1, 2, 2, true},
    {"interval 5s (timeout 1s, fall 2)", 5.0, 1.0, 0.1, 2, 2, true},
    {"fall 3 (interval 1s, timeout 1s)", 1.0, 1.0, 0.1, 2, 3, true},
    {"interval 2s, fall 3", 2.0, 1.0, 0.1, 2, 3, true},
    {"lvscare-style: 5s/10s, no keep-alive, no jitter, fall 1 (weight 0)", 5.0, 10.0, 0.0, 1, 1,
     false},
    {"default without keep-alive (a TLS handshake per probe)", 1.0, 1.0, 0.1, 2, 2, false},
};

struct Options {
  std::vector<int> nodes = {1, 10, 100, 500, 1000, 2000, 5000};
  int apiservers = 3;
  int trials = 200;
  uint64_t seed = 1;
  double rtt = 0.001;  // s, probe round trip when the apiserver answers or refuses
  double bin = 0.1;    // s, bin width for the peak-rate statistic
  int preset = -1;     // -1 = all
  std::string report = "summary";
  bool custom = false;
  Settings customSettings{"custom", 1.0, 1.0, 0.1, 2, 2, true};
};

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // Uniform in [0, 1) from the top 53 bits (std::uniform_real_distribution is not specified
  // bit-exactly across standard libraries).
  double u() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }

 private:
  std::mt19937_64 gen_;
};

double gap(Rng& r, const Settings& s) {
  return s.interval * (1.0 + s.jitter * (2.0 * r.u() - 1.0));
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  double idx = p * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(idx);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

enum class Death { kRefused, kHostDown };

// One node's view of one apiserver dying at `deathAt` and coming back at `backAt`.
struct NodeOutcome {
  double detect;   // s from death to the fall-th consecutive failure
  double recover;  // s from backAt to the rise-th consecutive success
};

NodeOutcome simulateNode(Rng& r, const Settings& s, const Options& o, Death d, double deathAt,
                         double backAt) {
  double t = r.u() * s.interval;
  while (t + o.rtt <= deathAt) t += gap(r, s);  // these probes succeeded
  double failCost = d == Death::kRefused ? o.rtt : s.timeout;
  NodeOutcome out{NAN, NAN};
  int fails = 0;
  while (t < backAt) {  // probes while the apiserver is down
    double done = t + failCost;
    if (++fails == s.fall && std::isnan(out.detect)) out.detect = done - deathAt;
    t = std::max(t + gap(r, s), done);
  }
  // Back up: with keep-alive the first probe pays a new TLS handshake (counted as 3 rtt).
  for (int ok = 0; ok < s.rise; ++ok) {
    double done = t + (ok == 0 ? 3 * o.rtt : o.rtt);
    if (ok + 1 == s.rise) out.recover = done - backAt;
    t = std::max(t + gap(r, s), done);
  }
  return out;
}

struct DetectStats {
  double nodeP50, nodeP99, allP50, allMax, recAllP50, recAllMax;
};

DetectStats simulateDetect(const Settings& s, const Options& o, Death d, int nodes) {
  Rng r(o.seed * 7919 + static_cast<uint64_t>(nodes));
  std::vector<double> perNode, allNodes, recAll;
  // Long enough down time for every node to detect the failure before it comes back.
  double deathAt = 20 * s.interval;
  double backAt = deathAt + (s.fall + 2) * (s.interval * (1 + s.jitter) + s.timeout) + 5;
  for (int tr = 0; tr < o.trials; ++tr) {
    double worst = 0, worstRec = 0;
    for (int n = 0; n < nodes; ++n) {
      NodeOutcome no = simulateNode(r, s, o, d, deathAt, backAt);
      if (perNode.size() < 2000000) perNode.push_back(no.detect);
      worst = std::max(worst, no.detect);
      worstRec = std::max(worstRec, no.recover);
    }
    allNodes.push_back(worst);
    recAll.push_back(worstRec);
  }
  return {percentile(perNode, 0.5),  percentile(perNode, 0.99),
          percentile(allNodes, 0.5), *std::max_element(allNodes.begin(), allNodes.end()),
          percentile(recAll, 0.5),   *std::max_element(recAll.begin(), recAll.end())};
}

struct LoadStats {
  double meanRate;       // probes/s arriving at one apiserver
  double peakRate;       // max over bins, scaled to /s
  double handshakeRate;  // new TLS handshakes/s, steady state
  double connections;    // persistent TLS connections held open on one apiserver
};

// Probe arrivals at apiserver 0 over [warm, warm + span) from `nodes` nodes; `lockstep` starts
// every node at t = 0 instead of a random phase.
std::vector<int> arrivals(const Settings& s, const Options& o, int nodes, bool lockstep,
                          double from, double span, Rng& r) {
  std::vector<int> bins(static_cast<size_t>(std::ceil(span / o.bin)), 0);
  for (int n = 0; n < nodes; ++n) {
    double t = lockstep ? 0.0 : r.u() * s.interval;
    while (t < from) t += gap(r, s);
    for (; t < from + span; t += gap(r, s)) bins[static_cast<size_t>((t - from) / o.bin)]++;
  }
  return bins;
}

LoadStats simulateLoad(const Settings& s, const Options& o, int nodes) {
  Rng r(o.seed * 104729 + static_cast<uint64_t>(nodes));
  double span = 30 * s.interval;
  std::vector<int> bins = arrivals(s, o, nodes, false, 10 * s.interval, span, r);
  long total = 0;
  for (int b : bins) total += b;
  double mean = static_cast<double>(total) / span;
  double peak = *std::max_element(bins.begin(), bins.end()) / o.bin;
  return {mean, peak, s.keepAlive ? 0.0 : mean, s.keepAlive ? static_cast<double>(nodes) : 0.0};
}

void printLoad(const Options& o, const Settings& s) {
  std::printf("\n#### Load on one apiserver: %s\n\n", s.name);
  std::printf(
      "| nodes | probes/s (mean) | probes/s (peak 100 ms bin) | open TLS conns | "
      "new TLS handshakes/s | probes/s, all %d apiservers |\n",
      o.apiservers);
  std::printf("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (int n : o.nodes) {
    LoadStats l = simulateLoad(s, o, n);
    std::printf("| %d | %.1f | %.0f | %.0f | %.1f | %.1f |\n", n, l.meanRate, l.peakRate,
                l.connections, l.handshakeRate, l.meanRate * o.apiservers);
  }
}

void printDetect(const Options& o, const Settings& s, Death d) {
  std::printf("\n#### Failure detection, %s: %s\n\n",
              d == Death::kRefused ? "apiserver process dies (refused)"
                                   : "apiserver host dies (probes time out)",
              s.name);
  std::printf(
      "| nodes | per node p50 | per node p99 | every node removed: median | "
      "every node removed: max | every node re-added: median | re-added: max |\n");
  std::printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (int n : o.nodes) {
    DetectStats st = simulateDetect(s, o, d, n);
    std::printf("| %d | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s |\n", n, st.nodeP50,
                st.nodeP99, st.allP50, st.allMax, st.recAllP50, st.recAllMax);
  }
}

// Peak 100 ms bin in the first interval and after 10 and 60 intervals when all nodes start
// together (e.g. a phase derived from the start time instead of a random one).
void printLockstep(const Options& o) {
  int n = o.nodes.back();
  std::printf(
      "\n#### Lockstep: %d nodes all start probing at t=0 (peak probes/s per 100 ms "
      "bin at one apiserver)\n\n",
      n);
  std::printf(
      "| interval | jitter | random phase (steady) | lockstep, 1st interval | "
      "after 10 intervals | after 60 intervals |\n");
  std::printf("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (double jit : {0.0, 0.1, 0.2}) {
    Settings s{"lockstep", 1.0, 1.0, jit, 2, 2, true};
    Rng r(o.seed);
    auto peakAt = [&](bool lock, double from) {
      std::vector<int> b = arrivals(s, o, n, lock, from, s.interval * 1.5, r);
      return *std::max_element(b.begin(), b.end()) / o.bin;
    };
    std::printf("| %.0f s | %.0f %% | %.0f | %.0f | %.0f | %.0f |\n", s.interval, jit * 100,
                peakAt(false, 10), peakAt(true, 0), peakAt(true, 10), peakAt(true, 60));
  }
}

// Probes/s at one apiserver for every preset, one column per preset: "mean / peak".
void printLoadSummary(const Options& o) {
  std::printf(
      "\n#### Probe load on one apiserver: mean / peak (100 ms bins) probes/s, and new "
      "TLS handshakes/s\n\n| nodes |");
  for (size_t i = 0; i < std::size(kPresets); ++i) std::printf(" P%zu |", i);
  std::printf(" open TLS conns (keep-alive) |\n| ---: |");
  for (size_t i = 0; i <= std::size(kPresets); ++i) std::printf(" ---: |");
  std::printf("\n");
  for (int n : o.nodes) {
    std::printf("| %d |", n);
    for (const Settings& s : kPresets) {
      LoadStats l = simulateLoad(s, o, n);
      std::printf(" %.*f / %.0f; %.*f hs/s |", l.meanRate < 10 ? 1 : 0, l.meanRate, l.peakRate,
                  l.handshakeRate < 10 && l.handshakeRate > 0 ? 1 : 0, l.handshakeRate);
    }
    std::printf(" %d |\n", n);
  }
}

// Detection and recovery at the largest cluster size, one row per preset and death mode.
void printDetectSummary(const Options& o) {
  int n = o.nodes.back();
  std::printf("\n#### Failure detection and recovery, %d nodes (%d trials)\n\n", n, o.trials);
  std::printf(
      "| preset | death | per node p50 | per node p99 | every node removed: median | "
      "max | every node re-added: median | max |\n");
  std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (size_t i = 0; i < std::size(kPresets); ++i) {
    for (Death d : {Death::kRefused, Death::kHostDown}) {
      DetectStats st = simulateDetect(kPresets[i], o, d, n);
      std::printf("| P%zu | %s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s |\n", i,
                  d == Death::kRefused ? "process (refused)" : "host (timeout)", st.nodeP50,
                  st.nodeP99, st.allP50, st.allMax, st.recAllP50, st.recAllMax);
    }
  }
}

void printPresets() {
  std::printf(
      "\n#### Presets\n\n| id | setting | interval | timeout | jitter | rise | fall | "
      "keep-alive |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
  for (size_t i = 0; i < std::size(kPresets); ++i) {
    const Settings& s = kPresets[i];
    std::printf("| P%zu | %s | %.0f s | %.0f s | +-%.0f %% | %d | %d | %s |\n", i, s.name,
                s.interval, s.timeout, s.jitter * 100, s.rise, s.fall, s.keepAlive ? "yes" : "no");
  }
}

// --report check: the simulation against closed forms (used as a ctest). Returns failures.
int checkClosedForms(const Options& o) {
  int bad = 0;
  auto expect = [&](bool ok, const char* what, double got, double want) {
    std::printf("%s %-58s got %.3f want %.3f\n", ok ? "ok  " : "FAIL", what, got, want);
    bad += !ok;
  };
  for (size_t i = 0; i < 5; ++i) {  // presets with jitter and keep-alive
    const Settings& s = kPresets[i];
    double hi = s.interval * (1 + s.jitter);
    double refusedMax = s.fall * hi + o.rtt;
    double hostMax = hi + (s.fall - 1) * std::max(hi, s.timeout) + s.timeout + o.rtt;
    DetectStats r = simulateDetect(s, o, Death::kRefused, 5000);
    DetectStats h = simulateDetect(s, o, Death::kHostDown, 5000);
    std::printf("P%zu %s\n", i, s.name);
    expect(r.allMax <= refusedMax + 1e-9, "refused: every-node max <= fall*I*(1+j)", r.allMax,
           refusedMax);
    expect(r.allP50 >= 0.95 * refusedMax, "refused: 5000 nodes approach that bound", r.allP50,
           refusedMax);
    double p50 = 0.5 * s.interval + (s.fall - 1) * s.interval;
    expect(std::abs(r.nodeP50 - p50) <= 0.05 * p50, "refused: per-node p50 ~ I/2 + (fall-1)*I",
           r.nodeP50, p50);
    expect(h.allMax <= hostMax + 1e-9, "host: every-node max <= closed form", h.allMax, hostMax);
    LoadStats l = simulateLoad(s, o, 5000);
    expect(std::abs(l.meanRate - 5000 / s.interval) <= 0.02 * 5000 / s.interval,
           "load: mean probes/s = nodes / interval", l.meanRate, 5000 / s.interval);
    expect(l.handshakeRate == 0 && l.connections == 5000, "keep-alive: no handshakes, N conns",
           l.handshakeRate, 0);
  }
  return bad;
}

[[noreturn]] void usage(const char* msg, int code = 2) {
  std::fprintf(
      code == 0 ? stdout : stderr,
      "apilb_probe_sim: %s\n"
      "usage: apilb_probe_sim [--report summary|check|all|load|detect|lockstep] [--preset N]\n"
      "  [--nodes 1,10,...] [--apiservers N] [--trials N] [--seed N] [--rtt S]\n"
      "  [--interval S --timeout S --jitter F --rise N --fall N --keepalive 0|1]"
      " (custom setting)\n",
      msg);
  std::exit(code);
}

double toNum(const char* flag, const char* v) {
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(d >= 0)) usage((std::string(flag) + ": bad number").c_str());
  return d;
}

std::vector<int> toList(const char* v) {
  std::vector<int> out;
  std::string s(v);
  for (size_t pos = 0; pos <= s.size();) {
    size_t c = s.find(',', pos);
    if (c == std::string::npos) c = s.size();
    double d = toNum("--nodes", s.substr(pos, c - pos).c_str());
    if (d < 1 || d != std::floor(d)) usage("--nodes: need positive integers");
    out.push_back(static_cast<int>(d));
    pos = c + 1;
  }
  return out;
}

// Flags about the run (not the probe setting). Returns false if `f` is not one of them.
bool applyRunFlag(Options& o, const std::string& f, const char* v) {
  if (f == "--report") {
    o.report = v;
  } else if (f == "--preset") {
    o.preset = static_cast<int>(toNum(f.c_str(), v));
  } else if (f == "--nodes") {
    o.nodes = toList(v);
  } else if (f == "--apiservers") {
    o.apiservers = std::max(1, static_cast<int>(toNum(f.c_str(), v)));
  } else if (f == "--trials") {
    o.trials = std::max(1, static_cast<int>(toNum(f.c_str(), v)));
  } else if (f == "--seed") {
    o.seed = static_cast<uint64_t>(toNum(f.c_str(), v));
  } else if (f == "--rtt") {
    o.rtt = toNum(f.c_str(), v);
  } else {
    return false;
  }
  return true;
}

// Flags that define a custom probe setting (which then replaces the presets).
void applySettingFlag(Options& o, const std::string& f, const char* v) {
  Settings& c = o.customSettings;
  double d = toNum(f.c_str(), v);
  if (f == "--interval") {
    c.interval = d;
  } else if (f == "--timeout") {
    c.timeout = d;
  } else if (f == "--jitter") {
    c.jitter = d;
  } else if (f == "--rise") {
    c.rise = std::max(1, static_cast<int>(d));
  } else if (f == "--fall") {
    c.fall = std::max(1, static_cast<int>(d));
  } else if (f == "--keepalive") {
    c.keepAlive = d != 0;
  } else {
    usage(("unknown flag " + f).c_str());
  }
  o.custom = true;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "-h" || f == "--help") usage("probe simulation for docs/scale.md", 0);
    if (i + 1 >= argc) usage((f + " needs a value").c_str());
    const char* v = argv[++i];
    if (!applyRunFlag(o, f, v)) applySettingFlag(o, f, v);
  }
  if (o.customSettings.interval <= 0) usage("--interval must be > 0");
  if (o.customSettings.jitter >= 1) usage("--jitter must be < 1");
  if (o.preset >= static_cast<int>(std::size(kPresets))) usage("--preset out of range");
  if (o.report != "summary" && o.report != "check" && o.report != "all" && o.report != "load" &&
      o.report != "detect" && o.report != "lockstep")
    usage("--report: summary, check, all, load, detect or lockstep");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::printf("<!-- apilb_probe_sim seed=%llu trials=%d rtt=%.3fs apiservers=%d -->\n",
              static_cast<unsigned long long>(o.seed), o.trials, o.rtt, o.apiservers);
  if (o.report == "check") return checkClosedForms(o) == 0 ? 0 : 1;
  if (o.report == "summary") {
    printPresets();
    printLoadSummary(o);
    printDetectSummary(o);
    printDetect(o, kPresets[0], Death::kRefused);
    printDetect(o, kPresets[0], Death::kHostDown);
    printLockstep(o);
    return 0;
  }
  std::vector<Settings> sets;
  if (o.custom)
    sets.push_back(o.customSettings);
  else if (o.preset >= 0)
    sets.push_back(kPresets[o.preset]);
  else
    sets.assign(std::begin(kPresets), std::end(kPresets));
  for (const Settings& s : sets) {
    if (o.report == "all" || o.report == "load") printLoad(o, s);
    if (o.report == "all" || o.report == "detect") {
      printDetect(o, s, Death::kRefused);
      printDetect(o, s, Death::kHostDown);
    }
  }
  if (o.report == "all" || o.report == "lockstep") printLockstep(o);
  return 0;
}
