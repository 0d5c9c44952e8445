// SPDX-License-Identifier: Apache-2.0
// The Prober constructor frees every libcurl handle it made when it throws half-way. libcurl's
// allocator is replaced (curl_global_init_mem, in main() before anything else in this process
// uses curl) by one that records the live blocks and can fail the N-th allocation. For every N
// the constructor either throws or succeeds, and once the Prober (if any) is gone no block that
// libcurl allocated since is still live. Without RAII owners the multi handle, the easy handles
// of the targets set up before the failure and the token header list would stay live.
// Own executable: the allocator must be installed before any other test initialises curl.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "daemon/log.h"
#include "daemon/prober.h"

namespace lb {
namespace {

struct CurlHeap {
  std::mutex mu;
  std::unordered_set<void*> live;
  long attempts = 0;  // allocations since arm()
  long failAt = 0;    // 1-based attempt that fails; 0: none
  bool failed = false;

  void arm(long n) {
    std::lock_guard<std::mutex> g(mu);
    attempts = 0, failAt = n, failed = false;
  }
  size_t liveCount() {
    std::lock_guard<std::mutex> g(mu);
    return live.size();
  }
  bool shouldFail() {
    std::lock_guard<std::mutex> g(mu);
    if (failAt == 0 || ++attempts != failAt) return false;
    failed = true;
    return true;
  }
  void* track(void* p) {
    std::lock_guard<std::mutex> g(mu);
    if (p) live.insert(p);
    return p;
  }
  void untrack(void* p) {
    std::lock_guard<std::mutex> g(mu);
    live.erase(p);
  }
};

CurlHeap& heap() {
  static CurlHeap* h = new CurlHeap;  // outlives every curl call, including exit-time ones
  return *h;
}

void* countingMalloc(size_t n) { return heap().shouldFail() ? nullptr : heap().track(malloc(n)); }
void* countingCalloc(size_t n, size_t s) {
  return heap().shouldFail() ? nullptr : heap().track(calloc(n, s));
}
char* countingStrdup(const char* s) {
  return heap().shouldFail() ? nullptr : static_cast<char*>(heap().track(strdup(s)));
}
void* countingRealloc(void* p, size_t n) {
  if (heap().shouldFail()) return nullptr;  // the old block stays valid, as with realloc
  if (p) heap().untrack(p);
  auto old = reinterpret_cast<uintptr_t>(p);  // still valid if realloc fails
  void* q = realloc(p, n);
  heap().track(q ? q : reinterpret_cast<void*>(old));
  return q;
}
void countingFree(void* p) {
  if (p) heap().untrack(p);
  free(p);
}

class TokenFile {
 public:
  TokenFile() : path_("/tmp/apilb-prober-alloc-" + std::to_string(getpid()) + ".token") {
    std::ofstream(path_) << "secret-token\n";
  }
  ~TokenFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

ProbeConfig httpsConfig(const std::string& tokenFile) {
  ProbeConfig c;  // every curl object the constructor makes: easy handles, CONNECT_TO, headers
  c.type = ProbeType::kHttps;
  c.serverName = "kubernetes.default";
  c.tokenFile = tokenFile;
  return c;
}

std::vector<Endpoint> targets() {
  std::vector<Endpoint> v;
  for (const char* s : {"127.0.0.1:16443", "127.0.0.2:16443", "[::1]:16443"}) {
    Endpoint ep;
    std::string err;
    EXPECT_TRUE(parseEndpoint(s, &ep, &err)) << err;
    v.push_back(ep);
  }
  return v;
}

TEST(ProberAlloc, ConstructorFreesEverythingWhenAnAllocationFails) {
  log::setLevel(log::Level::kError);  // "probe token loaded" on every construction
  TokenFile token;
  ProbeConfig cfg = httpsConfig(token.path());
  std::vector<Endpoint> eps = targets();
  { Prober warm(cfg, eps); }  // curl's one-time lazy state is allocated outside the count
  const size_t base = heap().liveCount();
  int threwAfterMulti = 0;
  long n = 1;
  for (;; ++n) {
    ASSERT_LT(n, 100000) << "the constructor never completed";
    heap().arm(n);
    std::string what;
    try {
      Prober p(cfg, eps);
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    bool failed = heap().failed;
    heap().arm(0);
    EXPECT_EQ(heap().liveCount(), base)
        << "allocation " << n << " failed (" << (what.empty() ? "no throw" : what)
        << "): libcurl blocks still live";
    if (what == "curl_easy_init failed") threwAfterMulti++;
    if (!failed) break;  // every allocation of a whole construction succeeded: done
  }
  // The interesting path was taken: a throw with the multi handle (and easy handles) made.
  EXPECT_GE(threwAfterMulti, 1) << n << " allocation attempts";
}

}  // namespace
}  // namespace lb

int main(int argc, char** argv) {
  if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, lb::countingMalloc, lb::countingFree,
                           lb::countingRealloc, lb::countingStrdup,
                           lb::countingCalloc) != CURLE_OK) {
    fprintf(stderr, "curl_global_init_mem failed\n");
    return 1;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
