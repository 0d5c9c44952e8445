// SPDX-License-Identifier: Apache-2.0
// `apilb attach` and `apilb detach`: the flags (from the key table, cli/key_flags.h) parsed and
// validated as the node's intent (config/config.h) into lb::AttachConfig; the work is in
// userspace/bpf/attach.cpp.
#include <iostream>
#include <memory>

#include "bpf/attach.h"
#include "bpf/system.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/key_flags.h"

namespace lb {
namespace {

// The flags as the node's intent: one parser and validator with `apilb run` and the YAML file.
AttachConfig toConfig(const KeyFlags& f, const GlobalOptions& g) {
  RawSettings raw = f.given();
  std::vector<std::string> errs;
  checkRequired(raw, kUseAttach, &errs);
  DaemonConfig intent;
  applySettings(raw, &intent, &errs);
  if (errs.empty()) validateDatapath(intent, &errs);
  if (!errs.empty()) throw BadInput(errs.front());
  return attachConfigOf(intent, g.pinDir);
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
  auto f = std::make_shared<KeyFlags>();
  auto* sub =
      app.add_subcommand("attach", "Put the datapath on this node (VIP device, programs, maps)");
  f->add(sub, kUseAttach);
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
