// SPDX-License-Identifier: Apache-2.0
// PrivateNetns and ParkedNetns (netns.h).
#include "netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace lb::test {

PrivateNetns::PrivateNetns() : orig_(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) {
  ok_ = orig_.valid() && unshare(CLONE_NEWNET) == 0;
  UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  ok_ = ok_ && s.valid() && ioctl(s.get(), SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok_ = ok_ && ioctl(s.get(), SIOCSIFFLAGS, &ifr) == 0;
}

PrivateNetns::~PrivateNetns() {
  if (orig_.valid()) (void)setns(orig_.get(), CLONE_NEWNET);
}

ParkedNetns::ParkedNetns(std::function<void()> setup) {
  std::promise<void> ready;
  auto started = ready.get_future();
  auto leave = leave_.get_future();
  thread_ = std::thread([this, &ready, &setup, leave = std::move(leave)]() mutable {
    PrivateNetns ns;  // the thread stays in it until it returns
    ok_ = ns.ok();
    if (ok_ && setup) setup();
    path_ = "/proc/self/task/" + std::to_string(gettid()) + "/ns/net";
    ready.set_value();
    leave.wait();
  });
  started.wait();
}

ParkedNetns::~ParkedNetns() {
  leave_.set_value();
  thread_.join();
}

}  // namespace lb::test
