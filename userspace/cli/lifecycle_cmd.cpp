// SPDX-License-Identifier: Apache-2.0
// `apilb attach` and `apilb detach`: flag parsing into lb::AttachConfig; the work is in
// userspace/bpf/attach.cpp.
#include <iostream>
#include <memory>

#include "bpf/attach.h"
#include "bpf/system.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace lb {
namespace {

struct AttachFlags {
  std::string vip;
  std::vector<std::string> backends;
  std::vector<std::string> ifaces;
  std::string ingress = "xdp";
  uint32_t tableSize = LB_DEFAULT_TABLE;
};

AttachConfig toConfig(const AttachFlags& f, const GlobalOptions& g) {
  AttachConfig cfg;
  cfg.pinDir = g.pinDir;
  std::string err;
  if (f.vip.empty()) throw BadInput("--vip is required");
  if (!parseEndpoint(f.vip, &cfg.vip, &err)) throw BadInput("--vip " + f.vip + ": " + err);
  for (const auto& b : f.backends) {
    BackendSpec spec;
    if (!parseBackendSpec(b, &spec, &err)) throw BadInput("--backend " + b + ": " + err);
    cfg.backends.push_back(spec);
  }
  cfg.ifaces = f.ifaces;
  if (f.ingress != "xdp" && f.ingress != "tc")
    throw BadInput("--ingress must be xdp or tc, not '" + f.ingress + "'");
  cfg.ingress = f.ingress == "tc" ? IngressMode::kTc : IngressMode::kXdp;
  cfg.tableSize = f.tableSize;
  return cfg;
}

}  // namespace

void enterGlobalNetns(const GlobalOptions& g) {
  if (g.netns.empty()) return;
  std::error_code ec = enterNetns(g.netns);
  if (ec == std::errc::operation_not_permitted)
    throw BadInput("insufficient privileges: need root (CAP_SYS_ADMIN) to enter --netns " +
                   g.netns);
  if (ec)
    throw BadInput("--netns " + g.netns + ": cannot enter /run/netns/" + g.netns + ": " +
                   ec.message());
}

void addAttachCommand(CLI::App& app, GlobalOptions& g) {
  auto f = std::make_shared<AttachFlags>();
  auto* sub =
      app.add_subcommand("attach", "Put the datapath on this node (VIP device, programs, maps)");
  sub->add_option("--vip", f->vip, "VIP as ip:port, e.g. 169.254.64.43:6443");
  sub->add_option("--backend", f->backends, "apiserver ip:port[@weight] (repeatable)");
  sub->add_option(
      "--iface", f->ifaces,
      "NIC for reverse NAT (repeatable; default: the interfaces of the backend routes)");
  sub->add_option("--ingress", f->ingress, "reverse NAT hook on the NICs: xdp (default) or tc");
  sub->add_option("--table-size", f->tableSize, "Maglev table size, a prime in 257..65537")
      ->capture_default_str();
  sub->callback([f, &g] {
    AttachConfig cfg = toConfig(*f, g);  // bad flags fail before the netns is entered
    enterGlobalNetns(g);
    PinLock lock = lockForWrite(g, "it attaches by itself; stop it before attaching by hand");
    attach(cfg, std::cout);
    std::cout << "attached: VIP " << cfg.vip.str() << " -> " << cfg.backends.size()
              << " backend(s), pins in " << cfg.pinDir << "\n";
  });
}

void addDetachCommand(CLI::App& app, GlobalOptions& g) {
  auto* sub = app.add_subcommand("detach", "Remove everything attach created");
  sub->callback([&g] {
    enterGlobalNetns(g);
    PinLock lock = lockForWrite(
        g, "stop it first (with --cleanup-on-exit it detaches on SIGTERM), then detach");
    detach(g.pinDir, std::cout);
    std::cout << "detached\n";
  });
}

}  // namespace lb
