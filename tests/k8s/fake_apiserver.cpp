// SPDX-License-Identifier: Apache-2.0
// Test PKI and the fake apiserver process (see fake_apiserver.h).
#include "fake_apiserver.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lb::k8s::test {
namespace {

void run(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("test setup failed: " + cmd);
}

// An EC key + certificate signed by the CA at dir/ca.*, with the given subject and extensions.
void issue(const std::string& dir, const std::string& name, const std::string& subj,
           const std::string& ext) {
  writeText(dir + "/" + name + ".ext", ext);
  run("cd " + dir + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -subj '" + subj + "' -keyout " + name + ".key -out " + name + ".csr 2>/dev/null"
      " && openssl x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial"
      " -days 2 -out " + name + ".crt -extfile " + name + ".ext 2>/dev/null");
}

}  // namespace

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string makeTempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/apilb-k8s-test.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

const TestPki& TestPki::get() {
  static const TestPki pki = [] {
    TestPki p;
    p.dir = makeTempDir();
    const std::string ca =
        " -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 2>/dev/null";
    run("cd " + p.dir + " && openssl req" + ca + " -subj '/CN=apilb k8s test CA'" +
        " -keyout ca.key -out ca.crt");
    run("cd " + p.dir + " && openssl req" + ca + " -subj '/CN=unrelated CA'" +
        " -keyout other-ca.key -out other-ca.crt");
    issue(p.dir, "server", "/CN=kube-apiserver",
          "subjectAltName=IP:127.0.0.1,DNS:kube.test\nextendedKeyUsage=serverAuth\n");
    issue(p.dir, "client", "/O=system:nodes/CN=system:node:test", "extendedKeyUsage=clientAuth\n");
    p.caCrt = p.dir + "/ca.crt";
    p.caKey = p.dir + "/ca.key";
    p.serverCrt = p.dir + "/server.crt";
    p.serverKey = p.dir + "/server.key";
    p.clientCrt = p.dir + "/client.crt";
    p.clientKey = p.dir + "/client.key";
    p.otherCaCrt = p.dir + "/other-ca.crt";
    return p;
  }();
  return pki;
}

FakeApiserver::FakeApiserver(const nlohmann::json& script, bool requireClientCert) {
  const TestPki& pki = TestPki::get();
  dir_ = makeTempDir();
  writeText(dir_ + "/script.json", script.dump());
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = {"python3",  K8S_TEST_DIR "/fake_apiserver.py",
                                   "--cert",   pki.serverCrt,
                                   "--key",    pki.serverKey,
                                   "--script", dir_ + "/script.json",
                                   "--log",    dir_ + "/log.jsonl"};
  if (requireClientCert) {
    args.push_back("--client-ca");
    args.push_back(pki.caCrt);
  }
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("python3", argv.data());
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[64] = {0};
  bool got = fgets(line, sizeof(line), f) != nullptr && sscanf(line, "PORT %d", &port_) == 1;
  fclose(f);
  if (!got) throw std::runtime_error("fake_apiserver.py did not start");
}

FakeApiserver::~FakeApiserver() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  std::string cmd = "rm -rf " + dir_;
  (void)!std::system(cmd.c_str());
}

std::vector<nlohmann::json> FakeApiserver::requests() const {
  std::vector<nlohmann::json> out;
  std::istringstream in(readText(dir_ + "/log.jsonl"));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

nlohmann::json endpointSlice(const std::string& name, const std::string& rv,
                             const std::string& addressType,
                             const std::vector<nlohmann::json>& endpoints,
                             const nlohmann::json& ports) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", name},
            {"namespace", "default"},
            {"resourceVersion", rv},
            {"labels", {{"kubernetes.io/service-name", "kubernetes"}}}}},
          {"addressType", addressType},
          {"endpoints", endpoints},
          {"ports", ports}};
}

nlohmann::json readyEndpoint(const std::string& addr, bool ready) {
  return {{"addresses", {addr}},
          {"conditions", {{"ready", ready}, {"serving", ready}, {"terminating", !ready}}},
          {"nodeName", "cp-" + addr}};
}

nlohmann::json sliceList(const std::string& rv, const std::vector<nlohmann::json>& items) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSliceList"},
          {"metadata", {{"resourceVersion", rv}}},
          {"items", items}};
}

nlohmann::json watchEvent(const std::string& type, const nlohmann::json& object) {
  return {{"type", type}, {"object", object}};
}

nlohmann::json bookmark(const std::string& rv) {
  return watchEvent("BOOKMARK", {{"apiVersion", "discovery.k8s.io/v1"},
                                 {"kind", "EndpointSlice"},
                                 {"metadata", {{"resourceVersion", rv}}}});
}

nlohmann::json status(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},   {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

}  // namespace lb::k8s::test
