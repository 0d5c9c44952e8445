// SPDX-License-Identifier: Apache-2.0
// Datapath (userspace/bpf/datapath.h) against real maps: each test loads the BPF skeleton, pins
// its maps under a private bpffs dir and drives Datapath through them. Backends are loopback
// addresses, so the route lookups are deterministic (type local -> LB_BE_F_LOCAL, ifindex lo).
// Needs CAP_BPF + CAP_NET_ADMIN; skipped otherwise.
#include "bpf/datapath.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpf/loader.h"
#include "bpf/pin_lock.h"
#include "bpf/system.h"
#include "cli/format.h"

namespace lb {
namespace {

constexpr uint32_t kTable = 1009;  // prime

Endpoint ep(const char* s) {
  Endpoint e;
  std::string err;
  EXPECT_TRUE(parseEndpoint(s, &e, &err)) << err;
  return e;
}

class DatapathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing;
    if (!havePrivileges(&missing)) GTEST_SKIP() << "needs " << missing;
    pin_ = "/sys/fs/bpf/apilb-ctltest-" + std::to_string(getpid());
    std::string mounted;
    ASSERT_FALSE(ensureBpffs(pin_, &mounted)) << "bpffs at " << pin_;
    prog_ = std::make_unique<LbProgram>(LbProgram::load(kTable, if_nametoindex("lo")));
    prog_->pinMaps(pin_);
    dp_ = std::make_unique<Datapath>(Datapath::open(pin_));
    ASSERT_FALSE(dp_->addVip(ep("169.254.64.43:6443"), 0, kTable));
  }
  void TearDown() override {
    dp_.reset();
    prog_.reset();
    if (!pin_.empty()) removePinDir(pin_);
  }
  uint32_t add(const char* s, uint16_t w = 1) {
    uint32_t id = ~0u;
    EXPECT_FALSE(dp_->addBackend(0, ep(s), w, &id)) << s;
    return id;
  }
  std::string pin_;
  std::unique_ptr<LbProgram> prog_;
  std::unique_ptr<Datapath> dp_;
};

TEST_F(DatapathTest, VipIsReadBack) {
  auto v = dp_->vips();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].endpoint().str(), "169.254.64.43:6443");
  EXPECT_EQ(v[0].vip.table_size, kTable);
  EXPECT_EQ(dp_->addVip(ep("169.254.64.43:6443"), 1, kTable), std::errc::file_exists);
}

TEST_F(DatapathTest, AddBackendResolvesLocalRouteAndRefusesDuplicatesAndFamilies) {
  uint32_t id = add("127.0.0.1:7001", 3);
  auto b = dp_->findBackend(ep("127.0.0.1:7001"));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, id);
  EXPECT_EQ(b->be.flags, LB_BE_F_IN_USE | LB_BE_F_LOCAL);
  EXPECT_EQ(b->be.ifindex, if_nametoindex("lo"));
  EXPECT_EQ(b->be.weight, 3);
  EXPECT_EQ(b->be.port, htons(7001));
  EXPECT_EQ(dp_->addBackend(0, ep("127.0.0.1:7001"), 1, &id), std::errc::file_exists);
  EXPECT_EQ(dp_->addBackend(0, ep("[::1]:7001"), 1, &id), std::errc::address_family_not_supported);
  EXPECT_EQ(dp_->addBackend(5, ep("127.0.0.2:7001"), 1, &id), std::errc::no_such_file_or_directory)
      << "unknown vip id";
}

// Another writer is between finding the lowest free slot and claiming it (it holds SlotLock, as
// addBackend does): a second process's addBackend waits and then takes the next slot, instead of
// claiming slot 0 too and being overwritten.
TEST_F(DatapathTest, ConcurrentAddBackendNeverClaimsOneSlotTwice) {
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t pid = fork();  // before the lock is taken: a child would share its open file description
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char c;
    (void)!read(go[0], &c, 1);
    Datapath dp = Datapath::open(pin_);
    uint32_t id = 0;
    _exit(dp.addBackend(0, ep("127.0.0.2:7000"), 1, &id) ? 100 : static_cast<int>(id));
  }
  auto other = std::make_unique<SlotLock>(pin_);
  ASSERT_TRUE(other->held());
  ASSERT_EQ(write(go[1], "x", 1), 1);
  usleep(300 * 1000);
  int st = 0;
  EXPECT_EQ(waitpid(pid, &st, WNOHANG), 0) << "addBackend did not wait for the slot lock";
  lb_backend be{};  // the other writer's claim of slot 0
  be.addr = ep("127.0.0.1:7000").addr;
  be.port = htons(7000);
  be.family = LB_AF_INET;
  be.flags = LB_BE_F_IN_USE | LB_BE_F_LOCAL;
  be.weight = 1;
  int fd = bpf_obj_get((pin_ + "/" LB_MAP_BACKENDS).c_str());
  ASSERT_GE(fd, 0);
  uint32_t slot = 0;
  ASSERT_EQ(bpf_map_update_elem(fd, &slot, &be, BPF_ANY), 0);
  close(fd);
  other.reset();
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1) << "the second writer must take the next free slot";
  EXPECT_TRUE(dp_->findBackend(ep("127.0.0.1:7000")));
  EXPECT_TRUE(dp_->findBackend(ep("127.0.0.2:7000")));
}

TEST_F(DatapathTest, PublishSpreadsSlotsByWeightAndSkipsDrained) {
  uint32_t a = add("127.0.0.1:7001"), b = add("127.0.0.1:7002"), c = add("127.0.0.1:7003", 2);
  ASSERT_FALSE(dp_->publishTable(0));
  auto t = dp_->table(0);
  ASSERT_EQ(t.size(), kTable);
  auto n = slotCounts(t);
  EXPECT_EQ(n[a] + n[b] + n[c], kTable) << "every slot filled";
  EXPECT_NEAR(double(n[c]) / n[a], 2.0, 0.1) << "weight 2 gets twice the slots";
  ASSERT_FALSE(dp_->setBackendFlags(b, LB_BE_F_DRAIN, 0));
  ASSERT_FALSE(dp_->publishTable(0));
  n = slotCounts(dp_->table(0));
  EXPECT_EQ(n.count(b), 0u) << "drained backend is out of the table";
  EXPECT_EQ(n[a] + n[c], kTable);
  ASSERT_FALSE(dp_->setBackendFlags(b, 0, LB_BE_F_DRAIN));
  ASSERT_FALSE(dp_->publishTable(0, std::vector<uint32_t>{b}));
  n = slotCounts(dp_->table(0));
  EXPECT_EQ(n[b], kTable) << "explicit id set";
}

TEST_F(DatapathTest, PublishSwapsTheInnerMapAndNeverPublishesEmpty) {
  uint32_t a = add("127.0.0.1:7001");
  int outer = bpf_obj_get((pin_ + "/" LB_MAP_MAGLEV).c_str());
  ASSERT_GE(outer, 0);
  uint32_t key = 0, id1 = 0, id2 = 0;
  ASSERT_FALSE(dp_->publishTable(0));
  ASSERT_EQ(bpf_map_lookup_elem(outer, &key, &id1), 0);
  ASSERT_FALSE(dp_->publishTable(0));
  ASSERT_EQ(bpf_map_lookup_elem(outer, &key, &id2), 0);
  close(outer);
  EXPECT_NE(id1, id2) << "a new inner map per publish";
  EXPECT_EQ(dp_->publishTable(0, std::vector<uint32_t>{}), std::errc::no_such_file_or_directory);
  ASSERT_FALSE(dp_->setBackendFlags(a, LB_BE_F_DOWN, 0));
  EXPECT_EQ(dp_->publishTable(0), std::errc::no_such_file_or_directory) << "all down";
  EXPECT_EQ(slotCounts(dp_->table(0))[a], kTable) << "old table still in place";
}

TEST_F(DatapathTest, RemoveBackendBumpsGenerationAndFreesTheSlot) {
  uint32_t a = add("127.0.0.1:7001");
  uint32_t gen = dp_->findBackend(ep("127.0.0.1:7001"))->be.gen;
  ASSERT_FALSE(dp_->removeBackend(a));
  EXPECT_FALSE(dp_->findBackend(ep("127.0.0.1:7001")));
  EXPECT_EQ(dp_->removeBackend(a), std::errc::no_such_file_or_directory);
  uint32_t again = add("127.0.0.2:7001");
  EXPECT_EQ(again, a) << "slot reused";
  EXPECT_GT(dp_->findBackend(ep("127.0.0.2:7001"))->be.gen, gen + 1);
}

TEST_F(DatapathTest, BackendPortsAreMarkedWhileSomeBackendUsesThem) {
  EXPECT_FALSE(dp_->isBackendPort(7001));
  uint32_t a = add("127.0.0.1:7001"), b = add("127.0.0.2:7001"), c = add("127.0.0.1:7002");
  EXPECT_TRUE(dp_->isBackendPort(7001));
  EXPECT_TRUE(dp_->isBackendPort(7002));
  ASSERT_FALSE(dp_->removeBackend(a));
  EXPECT_TRUE(dp_->isBackendPort(7001)) << "127.0.0.2:7001 still listens there";
  ASSERT_FALSE(dp_->removeBackend(b));
  EXPECT_FALSE(dp_->isBackendPort(7001));
  EXPECT_TRUE(dp_->isBackendPort(7002));
  ASSERT_FALSE(dp_->removeBackend(c));
  EXPECT_FALSE(dp_->isBackendPort(7002));
}

TEST_F(DatapathTest, DeleteFlowsToRemovesBothDirectionsOfOnlyThatBackend) {
  uint32_t a = add("127.0.0.1:7001"), b = add("127.0.0.1:7002");
  int fwd = bpf_obj_get((pin_ + "/" LB_MAP_FWD).c_str());
  int rev = bpf_obj_get((pin_ + "/" LB_MAP_REV).c_str());
  ASSERT_GE(fwd, 0);
  ASSERT_GE(rev, 0);
  for (uint32_t i = 0; i < 4; ++i) {
    lb_flow_key k{};
    k.src.w[0] = htonl(0x0a000001);
    k.dst.w[0] = htonl(0xa9fe402b);
    k.sport = htons(40000 + i);
    k.dport = htons(6443);
    k.proto = IPPROTO_TCP;
    k.family = LB_AF_INET;
    lb_fwd f{};
    f.backend.w[0] = htonl(0x7f000001);
    f.backend_port = htons(i % 2 ? 7002 : 7001);
    f.backend_id = i % 2 ? b : a;
    f.state = LB_TCP_ESTABLISHED;
    ASSERT_EQ(bpf_map_update_elem(fwd, &k, &f, BPF_ANY), 0);
    lb_flow_key r{};
    r.src = f.backend;
    r.dst = k.src;
    r.sport = f.backend_port;
    r.dport = k.sport;
    r.proto = IPPROTO_TCP;
    r.family = LB_AF_INET;
    lb_rev rv{};
    ASSERT_EQ(bpf_map_update_elem(rev, &r, &rv, BPF_ANY), 0);
  }
  EXPECT_EQ(dp_->flows().size(), 4u);
  size_t n = 0;
  ASSERT_FALSE(dp_->deleteFlowsTo(a, &n));
  EXPECT_EQ(n, 2u);
  auto left = dp_->flows();
  ASSERT_EQ(left.size(), 2u);
  for (const auto& f : left) EXPECT_EQ(f.fwd.backend_id, b);
  lb_flow_key k{}, next{};
  size_t revLeft = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(rev, prev, &next) == 0) {
    ++revLeft;
    k = next;
    prev = &k;
  }
  EXPECT_EQ(revLeft, 2u) << "reverse entries of the deleted flows are gone too";
  close(fwd);
  close(rev);
}

TEST_F(DatapathTest, CountersStartAtZeroAndRecordIsEmpty) {
  for (const auto& c : dp_->counters()) EXPECT_EQ(c.packets, 0u);
  lb_attach_rec rec{};
  ASSERT_FALSE(dp_->attachRecord(&rec));
  EXPECT_EQ(rec.magic, 0u);
}

}  // namespace
}  // namespace lb
