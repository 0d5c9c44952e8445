// SPDX-License-Identifier: Apache-2.0
// Tests of the node's intent (config/config.h), shared by `apilb attach` and `apilb run`: the
// default config round-trips, flags win over the file, durations parse, defaults never reject a
// valid choice, and ONE table of bad inputs each fail with an error naming the field and value.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace lb {
namespace {

using std::chrono::milliseconds;

// A readable file to stand in for a CA/cert/key/token.
std::string tempFile() {
  static std::string path = [] {
    char tmpl[] = "/tmp/apilb-cfgtest-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    static std::string name = tmpl;
    std::atexit([] { unlink(name.c_str()); });
    return name;
  }();
  return path;
}

std::vector<std::string> loadAndValidate(const std::string& yaml, DaemonConfig* cfg) {
  RawSettings raw;
  std::vector<std::string> errs;
  if (!parseConfigYaml(yaml, &raw, &errs)) return errs;
  applySettings(raw, cfg, &errs);
  if (errs.empty()) validateConfig(*cfg, true, &errs);
  return errs;
}

std::string goodYaml() {
  return "vip: 169.254.64.43:6443\nbackend: [10.0.0.11:6443, 10.0.0.12:6443@3]\n"
         "iface: eth0\nprobe_ca: " +
         tempFile() + "\n";
}

TEST(Duration, Parses) {
  milliseconds d;
  std::string err;
  ASSERT_TRUE(parseDuration("500ms", &d, &err));
  EXPECT_EQ(d, milliseconds(500));
  ASSERT_TRUE(parseDuration("1s", &d, &err));
  EXPECT_EQ(d, milliseconds(1000));
  ASSERT_TRUE(parseDuration("1.5s", &d, &err));
  EXPECT_EQ(d, milliseconds(1500));
  ASSERT_TRUE(parseDuration("2m", &d, &err));
  EXPECT_EQ(d, milliseconds(120000));
  for (const char* badText : {"", "5", "ms", "1x", "-1s", "1..2s", "1 s", "25h", "s1"})
    EXPECT_FALSE(parseDuration(badText, &d, &err)) << badText;
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(formatDuration(milliseconds(2000)), "2s");
  EXPECT_EQ(formatDuration(milliseconds(120000)), "2m");
}

TEST(Config, SocketModeKeys) {
  DaemonConfig cfg;
  EXPECT_EQ(cfg.mode, "packet");
  auto errs =
      loadAndValidate(goodYaml() + "mode: both\ncgroup: /sys/fs/cgroup/k\npods: true\n", &cfg);
  ASSERT_TRUE(errs.empty()) << errs[0];
  EXPECT_EQ(cfg.mode, "both");
  EXPECT_EQ(cfg.cgroup, "/sys/fs/cgroup/k");
  EXPECT_TRUE(cfg.pods);
  DaemonConfig c2;
  errs = loadAndValidate(goodYaml() + "mode: sockets\n", &c2);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "mode: 'sockets': must be packet, socket or both");
  DaemonConfig c3;
  errs = loadAndValidate(goodYaml() + "mode: socket\ncgroup: sys/fs/cgroup\n", &c3);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "cgroup: 'sys/fs/cgroup': must be an absolute path");
  DaemonConfig c4;  // socket-only keys without socket mode are a mistake, not ignored
  errs = loadAndValidate(goodYaml() + "cgroup: /sys/fs/cgroup\npods: true\n", &c4);
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0], "cgroup: '/sys/fs/cgroup': only with mode socket or both");
  EXPECT_EQ(errs[1], "pods: 'true': only with mode socket or both");
}

TEST(Config, DefaultConfigParsesToTheDefaults) {
  RawSettings raw;
  std::vector<std::string> errs;
  ASSERT_TRUE(parseConfigYaml(defaultConfigYaml(), &raw, &errs)) << errs[0];
  DaemonConfig cfg;
  applySettings(raw, &cfg, &errs);
  EXPECT_TRUE(errs.empty()) << errs[0];
  EXPECT_TRUE(cfg == DaemonConfig());
  // Every key is shown; derived defaults (probe_timeout, probe_ca) are shown commented out so
  // that a copy of the default config does not turn them into explicit choices.
  const std::string text = "\n" + defaultConfigYaml();
  for (const auto& k : configKeys())
    EXPECT_TRUE(text.find("\n" + k + ":") != std::string::npos ||
                text.find("\n# " + k + ":") != std::string::npos)
        << k;
  EXPECT_FALSE(raw.count("probe_timeout"));
}

// A default never rejects a valid choice: an unset timeout follows the interval.
TEST(Config, UnsetTimeoutFollowsTheInterval) {
  for (const char* extra : {"probe_interval: 500ms\n", "probe_interval: 100ms\n"}) {
    DaemonConfig cfg;
    auto errs = loadAndValidate(goodYaml() + extra, &cfg);
    EXPECT_TRUE(errs.empty()) << extra << errs[0];
    EXPECT_EQ(cfg.probe.timeout, cfg.probe.interval) << extra;
  }
  DaemonConfig longer;
  ASSERT_TRUE(loadAndValidate(goodYaml() + "probe_interval: 5s\n", &longer).empty());
  EXPECT_EQ(longer.probe.timeout, milliseconds(1000));  // min(1s, interval)
  // Flags after the file: an interval flag still moves an unset timeout along.
  DaemonConfig cfg;
  RawSettings file, flags;
  std::vector<std::string> errs;
  ASSERT_TRUE(parseConfigYaml(goodYaml(), &file, &errs));
  flags["probe_interval"] = {"300ms"};
  applySettings(file, &cfg, &errs);
  applySettings(flags, &cfg, &errs);
  validateConfig(cfg, true, &errs);
  EXPECT_TRUE(errs.empty()) << errs[0];
  EXPECT_EQ(cfg.probe.timeout, milliseconds(300));
}

// Only a timeout the user set is checked against the interval (also when set before it).
TEST(Config, ExplicitTimeoutIsStillChecked) {
  DaemonConfig cfg;
  auto errs = loadAndValidate(goodYaml() + "probe_timeout: 800ms\nprobe_interval: 500ms\n", &cfg);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "probe_timeout: '800ms': must not exceed probe_interval (500ms)");
}

// Every other default stays valid next to any valid user choice of the keys it depends on.
TEST(Config, DefaultsAcceptEveryValidNeighbour) {
  // rise/fall 1..100 with the default of the other.
  for (const char* extra : {"probe_rise: 1\n", "probe_fall: 100\n", "probe_rise: 100\n"}) {
    DaemonConfig cfg;
    EXPECT_TRUE(loadAndValidate(goodYaml() + extra, &cfg).empty()) << extra;
  }
  // The most backends with the default table size.
  std::string many =
      "vip: 169.254.64.43:6443\niface: eth0\nprobe_ca: " + tempFile() + "\nbackend:\n";
  for (int i = 0; i < LB_MAX_BACKENDS; i++)
    many += "  - 10.0." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250) + ":6443\n";
  DaemonConfig cfg;
  auto errs = loadAndValidate(many, &cfg);
  EXPECT_TRUE(errs.empty()) << errs[0];
  EXPECT_EQ(cfg.backends.size(), size_t{LB_MAX_BACKENDS});
  // insecure_skip_verify on a node without the default CA file: the default CA is not read.
  DaemonConfig insecure;
  errs = loadAndValidate("backend: 10.0.0.1:6443\niface: eth0\ninsecure_skip_verify: true\n",
                         &insecure);
  EXPECT_TRUE(errs.empty()) << errs[0];
}

// No input throws: numbers too large for a double are a one-line error, not an exception.
TEST(Duration, HugeValuesAreErrorsNotExceptions) {
  milliseconds d{0};
  std::string err;
  std::string huge = "1" + std::string(400, '0');
  for (const char* unit : {"ms", "s", "m", "h"}) {
    EXPECT_FALSE(parseDuration(huge + unit, &d, &err)) << unit;
    EXPECT_EQ(err, "too long (at most 24h)");
  }
  EXPECT_FALSE(parseDuration(huge + ".5s", &d, &err));
  EXPECT_FALSE(parseDuration("99999999999999999999999h", &d, &err));
  ASSERT_TRUE(parseDuration("0." + std::string(400, '0') + "1s", &d, &err)) << err;
  EXPECT_EQ(d, milliseconds(0));  // then rejected by validation (at least 100ms)
  DaemonConfig cfg;
  auto errs = loadAndValidate(goodYaml() + "probe_interval: " + huge + "s\n", &cfg);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "probe_interval: '" + huge + "s': too long (at most 24h)");
}

TEST(Config, GoodConfig) {
  DaemonConfig cfg;
  auto errs = loadAndValidate(goodYaml(), &cfg);
  ASSERT_TRUE(errs.empty()) << errs[0];
  ASSERT_EQ(cfg.backends.size(), 2u);
  EXPECT_EQ(cfg.backends[1].ep.str(), "10.0.0.12:6443");
  EXPECT_EQ(cfg.backends[1].weight, 3);
  EXPECT_EQ(cfg.ifaces, std::vector<std::string>{"eth0"});
  EXPECT_EQ(cfg.probe.interval, milliseconds(1000));
  EXPECT_EQ(cfg.probe.rise, 2u);
}

TEST(Config, FlagsWinOverFile) {
  DaemonConfig cfg;
  RawSettings file, flags;
  std::vector<std::string> errs;
  ASSERT_TRUE(parseConfigYaml(goodYaml() + "probe_interval: 2s\n", &file, &errs));
  flags["probe_interval"] = {"500ms"};
  flags["backend"] = {"10.0.0.99:6443"};
  applySettings(file, &cfg, &errs);
  applySettings(flags, &cfg, &errs);
  ASSERT_TRUE(errs.empty()) << errs[0];
  EXPECT_EQ(cfg.probe.interval, milliseconds(500));
  ASSERT_EQ(cfg.backends.size(), 1u);  // the flag list replaces the file's list
  EXPECT_EQ(cfg.backends[0].ep.str(), "10.0.0.99:6443");
}

std::string many257(const std::string& ca) {
  std::string y = "iface: eth0\nprobe_ca: " + ca + "\nbackend:\n";
  for (int i = 0; i < LB_MAX_BACKENDS + 1; i++)
    y += "  - 10.0." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250) + ":6443\n";
  return y;
}

struct BadCase {
  const char* name;
  std::string extraYaml;  // appended to goodYaml() (later keys override: YAML dup = error)
  const char* wantField;  // error must start with this
  const char* wantValue;  // and contain this
};

TEST(Config, BadConfigsNameFieldAndValue) {
  const std::string ca = tempFile();
  auto base = [&](std::string body) { return body; };
  const std::vector<BadCase> cases = {
      {"unknown key", goodYaml() + "probe_intervall: 1s\n", "config", "probe_intervall"},
      {"bad vip", "vip: 169.254.64.43\nbackend: 10.0.0.1:6443\niface: eth0\nprobe_ca: " + ca, "vip",
       "169.254.64.43"},
      {"vip port 0", "vip: 169.254.64.43:0\nbackend: 10.0.0.1:6443\niface: eth0\nprobe_ca: " + ca,
       "vip", "169.254.64.43:0"},
      {"bad backend", "backend: [10.0.0.1:6443, nope:1]\niface: eth0\nprobe_ca: " + ca, "backend",
       "nope:1"},
      {"bad weight", "backend: 10.0.0.1:6443@0\niface: eth0\nprobe_ca: " + ca, "backend",
       "10.0.0.1:6443@0"},
      {"no backend", "backend: []\niface: eth0\nprobe_ca: " + ca, "backend", "at least one"},
      {"duplicate backend", "backend: [10.0.0.1:6443, 10.0.0.1:6443]\niface: eth0\nprobe_ca: " + ca,
       "backend", "10.0.0.1:6443"},
      {"mixed family", "backend: ['[fd00::1]:6443']\niface: eth0\nprobe_ca: " + ca, "backend",
       "[fd00::1]:6443"},
      {"no iface", "backend: 10.0.0.1:6443\nprobe_ca: " + ca, "iface", "at least one"},
      {"iface too long", "backend: 10.0.0.1:6443\niface: abcdefghijklmnopq\nprobe_ca: " + ca,
       "iface", "abcdefghijklmnopq"},
      {"bad ingress", "backend: 10.0.0.1:6443\niface: eth0\ningress: afxdp\nprobe_ca: " + ca,
       "ingress", "afxdp"},
      {"table not prime", "backend: 10.0.0.1:6443\niface: eth0\ntable_size: 16380\nprobe_ca: " + ca,
       "table_size", "16380"},
      {"table too big", "backend: 10.0.0.1:6443\niface: eth0\ntable_size: 70001\nprobe_ca: " + ca,
       "table_size", "70001"},
      {"bad probe type", "backend: 10.0.0.1:6443\niface: eth0\nprobe_type: icmp\nprobe_ca: " + ca,
       "probe_type", "icmp"},
      {"bad path", "backend: 10.0.0.1:6443\niface: eth0\nprobe_path: readyz\nprobe_ca: " + ca,
       "probe_path", "readyz"},
      {"bad interval", "backend: 10.0.0.1:6443\niface: eth0\nprobe_interval: 5\nprobe_ca: " + ca,
       "probe_interval", "'5'"},
      {"interval too short",
       "backend: 10.0.0.1:6443\niface: eth0\nprobe_interval: 10ms\n"
       "probe_timeout: 5ms\nprobe_ca: " +
           ca,
       "probe_interval", "10ms"},
      {"timeout > interval",
       "backend: 10.0.0.1:6443\niface: eth0\nprobe_timeout: 2s\nprobe_ca: " + ca, "probe_timeout",
       "2s"},
      {"rise 0", "backend: 10.0.0.1:6443\niface: eth0\nprobe_rise: 0\nprobe_ca: " + ca,
       "probe_rise", "'0'"},
      {"fall junk", "backend: 10.0.0.1:6443\niface: eth0\nprobe_fall: two\nprobe_ca: " + ca,
       "probe_fall", "two"},
      {"missing ca", "backend: 10.0.0.1:6443\niface: eth0\nprobe_ca: /nonexistent/ca.crt",
       "probe_ca", "/nonexistent/ca.crt"},
      {"cert without key",
       "backend: 10.0.0.1:6443\niface: eth0\nprobe_cert: " + ca + "\nprobe_ca: " + ca, "probe_key",
       "probe_cert is set"},
      {"missing token",
       "backend: 10.0.0.1:6443\niface: eth0\nprobe_token_file: /nonexistent/t\n"
       "probe_ca: " +
           ca,
       "probe_token_file", "/nonexistent/t"},
      {"bad server name",
       "backend: 10.0.0.1:6443\niface: eth0\nprobe_server_name: 'a b'\n"
       "probe_ca: " +
           ca,
       "probe_server_name", "a b"},
      {"bad bool",
       "backend: 10.0.0.1:6443\niface: eth0\ninsecure_skip_verify: maybe\nprobe_ca: " + ca,
       "insecure_skip_verify", "maybe"},
      {"relative state dir", "backend: 10.0.0.1:6443\niface: eth0\nstate_dir: run\nprobe_ca: " + ca,
       "state_dir", "run"},
      {"bad log level", "backend: 10.0.0.1:6443\niface: eth0\nlog_level: loud\nprobe_ca: " + ca,
       "log_level", "loud"},
      {"iface lo", "backend: 10.0.0.1:6443\niface: lo\nprobe_ca: " + ca, "iface", "'lo'"},
      {"iface vip device", "backend: 10.0.0.1:6443\niface: apilb0\nprobe_ca: " + ca, "iface",
       "'apilb0'"},
      {"iface twice", "backend: 10.0.0.1:6443\niface: [eth0, eth0]\nprobe_ca: " + ca, "iface",
       "'eth0': listed twice"},
      {"too many ifaces",
       "backend: 10.0.0.1:6443\niface: [a, b, c, d, e, f, g, h, i]\nprobe_ca: " + ca, "iface",
       "at most 8"},
      {"table too small", "backend: 10.0.0.1:6443\niface: eth0\ntable_size: 251\nprobe_ca: " + ca,
       "table_size", "'251'"},
      {"table huge",
       "backend: 10.0.0.1:6443\niface: eth0\ntable_size: 99999999999\nprobe_ca: " + ca,
       "table_size", "'99999999999'"},
      {"vip is a backend",
       "vip: 10.0.0.1:6443\nbackend: 10.0.0.1:6443\niface: eth0\nprobe_ca: " + ca, "backend",
       "is the VIP itself"},
      {"huge weight", "backend: 10.0.0.1:6443@70000\niface: eth0\nprobe_ca: " + ca, "backend",
       "@70000"},
      {"huge interval",
       "backend: 10.0.0.1:6443\niface: eth0\nprobe_interval: 1e400s\nprobe_ca: " + ca,
       "probe_interval", "1e400s"},
      {"too many backends", many257(ca), "backend", "at most 256"},
      {"list for scalar", "backend: 10.0.0.1:6443\niface: eth0\nvip: [a, b]\nprobe_ca: " + ca,
       "vip", "single value"},
      {"missing kubeconfig",
       "backend: 10.0.0.1:6443\niface: eth0\nkubeconfig: /nonexistent/kubelet.conf\nprobe_ca: " +
           ca,
       "kubeconfig", "'/nonexistent/kubelet.conf': No such file"},
      {"kubeconfig and in_cluster",
       "backend: 10.0.0.1:6443\niface: eth0\nkubeconfig: " + ca +
           "\nin_cluster: true\nprobe_ca: " + ca,
       "in_cluster", "kubeconfig is set too"},
      {"in_cluster junk", "backend: 10.0.0.1:6443\niface: eth0\nin_cluster: yes\nprobe_ca: " + ca,
       "in_cluster", "'yes': must be true or false"},
      {"relative data dir",
       "backend: 10.0.0.1:6443\niface: eth0\ndata_dir: var/lib\nprobe_ca: " + ca, "data_dir",
       "'var/lib': must be an absolute path"},
      {"not a mapping", "- a\n- b\n", "config", "mapping"},
      {"yaml syntax", "vip: [\n", "config", "YAML"},
  };
  for (const auto& c : cases) {
    DaemonConfig cfg;
    auto errs = loadAndValidate(base(c.extraYaml), &cfg);
    ASSERT_FALSE(errs.empty()) << c.name;
    bool found = false;
    for (const auto& e : errs)
      found |= e.rfind(c.wantField, 0) == 0 && e.find(c.wantValue) != std::string::npos;
    EXPECT_TRUE(found) << c.name << ": got '" << errs[0] << "'";
  }
}

TEST(Config, DiscoveryKeys) {
  DaemonConfig def;
  EXPECT_FALSE(def.discovery());
  EXPECT_EQ(def.dataDir, "/var/lib/apilb");
  DaemonConfig cfg;
  auto errs =
      loadAndValidate(goodYaml() + "kubeconfig: " + tempFile() + "\ndata_dir: /srv/apilb\n", &cfg);
  ASSERT_TRUE(errs.empty()) << errs[0];
  EXPECT_TRUE(cfg.discovery());
  EXPECT_EQ(cfg.kubeconfig, tempFile());
  EXPECT_FALSE(cfg.inCluster);
  EXPECT_EQ(cfg.dataDir, "/srv/apilb");
  // The flags come from the same table: --in-cluster is a value-less boolean of `run` only.
  DaemonConfig flags;
  RawSettings raw{{"in_cluster", {"true"}}};
  applySettings(raw, &flags, &errs);
  ASSERT_TRUE(errs.empty()) << errs[0];
  EXPECT_TRUE(flags.inCluster && flags.discovery());
  for (const auto& k : keyTable()) {
    std::string name = k.name;
    if (name == "kubeconfig" || name == "in_cluster" || name == "data_dir") {
      EXPECT_EQ(k.use, static_cast<unsigned>(kUseRun)) << name;
    }
    if (name == "in_cluster") {
      EXPECT_TRUE(k.boolean);
    }
  }
}

// `apilb attach` and `apilb backend add` parse backends with the same parser as the file.
TEST(Backend, ParsesWeight) {
  BackendConfig b;
  std::string err;
  ASSERT_TRUE(parseBackend("10.0.0.1:6443@7", &b, &err)) << err;
  EXPECT_EQ(b.ep.str(), "10.0.0.1:6443");
  EXPECT_EQ(b.weight, 7);
  ASSERT_TRUE(parseBackend("[fd00::1]:6443", &b, &err)) << err;
  EXPECT_EQ(b.ep.str(), "[fd00::1]:6443");
  EXPECT_EQ(b.weight, 1);
}

TEST(Backend, RejectsBadWeightsAndEndpoints) {
  BackendConfig b;
  for (const char* s :
       {"10.0.0.1:6443@0", "10.0.0.1:6443@65536", "10.0.0.1:6443@", "10.0.0.1:6443@x",
        "10.0.0.1:6443@-1", "10.0.0.1", "10.0.0.1:0", "host:6443", "10.0.0.1:6443@99999999999"}) {
    std::string err;
    EXPECT_FALSE(parseBackend(s, &b, &err)) << s;
    EXPECT_FALSE(err.empty()) << s;
  }
}

// The datapath part alone (what `apilb attach` checks): no probe files are read.
TEST(Config, DatapathValidationIgnoresProbeSettings) {
  RawSettings raw{{"backend", {"10.0.0.1:6443"}}, {"probe_ca", {"/nonexistent"}}};
  DaemonConfig cfg;
  std::vector<std::string> errs;
  applySettings(raw, &cfg, &errs);
  validateDatapath(cfg, &errs);
  EXPECT_TRUE(errs.empty()) << errs[0];
}

// attach requires --vip; run takes the default VIP.
TEST(Config, RequiredKeysPerCommand) {
  std::vector<std::string> errs;
  checkRequired({{"backend", {"10.0.0.1:6443"}}}, kUseAttach, &errs);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "vip: required (--vip)");
  errs.clear();
  checkRequired({{"backend", {"10.0.0.1:6443"}}}, kUseRun, &errs);
  EXPECT_TRUE(errs.empty());
}

// docs/cli.md and docs/daemon.md carry the key tables generated from keyTable(), between
// <!-- keys:attach --> / <!-- keys:run --> and <!-- /keys -->. On failure, paste the expected text.
TEST(Config, DocsKeyTablesMatchTheKeyTable) {
  struct Doc {
    const char* file;
    const char* marker;
    KeyUse use;
  };
  for (const Doc& d : {Doc{"/docs/cli.md", "<!-- keys:attach -->\n", kUseAttach},
                       Doc{"/docs/daemon.md", "<!-- keys:run -->\n", kUseRun}}) {
    std::ifstream in(std::string(APILB_SOURCE_DIR) + d.file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t b = text.find(d.marker);
    size_t e = text.find("<!-- /keys -->", b);
    ASSERT_NE(b, std::string::npos) << d.file << " lacks " << d.marker;
    ASSERT_NE(e, std::string::npos) << d.file;
    b += std::string(d.marker).size();
    EXPECT_EQ(text.substr(b, e - b), keysMarkdown(d.use)) << d.file << ": regenerate the table";
  }
}

TEST(Config, InsecureSkipVerifyNeedsNoCa) {
  DaemonConfig cfg;
  auto errs = loadAndValidate(
      "backend: 10.0.0.1:6443\niface: eth0\nprobe_ca: ''\ninsecure_skip_verify: true\n", &cfg);
  EXPECT_TRUE(errs.empty()) << errs[0];
  DaemonConfig cfg2;
  errs = loadAndValidate("backend: 10.0.0.1:6443\niface: eth0\nprobe_ca: ''\n", &cfg2);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].rfind("probe_ca", 0), 0u);
}

TEST(Config, TcpProbeIgnoresTlsFiles) {
  DaemonConfig cfg;
  auto errs = loadAndValidate(
      "backend: 10.0.0.1:6443\niface: eth0\nprobe_type: tcp\nprobe_ca: /nonexistent\n", &cfg);
  EXPECT_TRUE(errs.empty()) << errs[0];
}

TEST(Config, NestedOrMissingFileIsAnError) {
  RawSettings raw;
  std::vector<std::string> errs;
  EXPECT_FALSE(loadConfigFile("/nonexistent/config.yaml", &raw, &errs));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].find("/nonexistent/config.yaml"), std::string::npos);
  errs.clear();
  EXPECT_FALSE(loadConfigFile("/tmp", &raw, &errs));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "config: '/tmp': is a directory");
}

}  // namespace
}  // namespace lb

namespace lb {
namespace {

// The shipped example configs parse with no error (file checks aside).
TEST(Config, ShippedExamplesParse) {
  for (const char* rel : {"/docs/config.example.yaml"}) {
    RawSettings raw;
    std::vector<std::string> errs;
    ASSERT_TRUE(loadConfigFile(std::string(APILB_SOURCE_DIR) + rel, &raw, &errs)) << errs[0];
    DaemonConfig cfg;
    applySettings(raw, &cfg, &errs);
    EXPECT_TRUE(errs.empty()) << rel << ": " << errs[0];
    EXPECT_EQ(cfg.backends.size(), 3u);
    EXPECT_EQ(cfg.probe.serverName, "kubernetes.default.svc");
  }
}

}  // namespace
}  // namespace lb
