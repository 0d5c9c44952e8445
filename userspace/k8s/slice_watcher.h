// SPDX-License-Identifier: Apache-2.0
// SliceWatcher: follows the `kubernetes` Service's EndpointSlices (discovery.k8s.io/v1) in
// namespace `default` and reports the apiserver set to the daemon.
//   LIST  /apis/discovery.k8s.io/v1/namespaces/default/endpointslices
//           ?labelSelector=kubernetes.io/service-name=kubernetes
//   WATCH the same with watch=1, allowWatchBookmarks=true, resourceVersion=<last seen>,
//           timeoutSeconds=<watchTimeout>; one JSON WatchEvent per line in a chunked response.
// A watch that ends cleanly (timeoutSeconds) restarts from the last resourceVersion at once; a
// dropped stream or error waits (Backoff: capped exponential, jittered) and resumes from it; 410
// Gone (HTTP status or an ERROR event with code 410) re-LISTs. 401/403 are credential problems,
// reported apart from network errors. BOOKMARKs only move the resourceVersion.
//
// Threading: the watch runs blocking libcurl transfers on its own thread (start() .. stop()).
// Results cross to the owner through a mutex-protected queue, and an eventfd (fd()) becomes
// readable whenever the queue is non-empty, so a poll()-based loop (the daemon's) just adds fd()
// to its poll set and calls take() when it is readable. fd(), take() and stop() may be called from
// any one owner thread while the watcher thread runs; the constructor, start() and the destructor
// belong to the owner. stop() returns within about a second (libcurl's progress callback period).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "k8s/backoff.h"
#include "k8s/credentials.h"
#include "k8s/slices.h"
#include "lb/endpoint.h"

namespace lb::k8s {

struct DiscoveryEvent {
  enum class Kind {
    kListOk,      // a LIST succeeded; `backends` is the complete current set
    kSetChanged,  // a watch event changed the set; `backends` is the complete current set
    kWatchError,  // LIST or WATCH failed, or a slice could not be used; see `problem`/`reason`
  };
  enum class Problem {
    kNone,
    kCredentials,  // HTTP 401/403: the identity is missing or not allowed ("401 credentials: ...")
    kNetwork,      // connect, TLS, timeout, dropped stream ("connect: ...", "watch dropped: ...")
    kGone,         // 410: the resourceVersion expired; a re-LIST follows ("410 relist")
    kServer,       // any other HTTP status or ERROR event ("HTTP 500: ...")
    kProtocol,     // a body or slice that does not parse ("slice x: ports: none")
  };
  Kind kind = Kind::kWatchError;
  Problem problem = Problem::kNone;
  std::string reason;
  std::vector<Endpoint> backends;  // kListOk / kSetChanged: sorted, de-duplicated
  std::string resourceVersion;     // the last one seen when the event was made
};

const char* problemName(DiscoveryEvent::Problem p);

struct WatchOptions {
  ApiCredentials creds;
  std::string ns = "default";
  std::string service = "kubernetes";
  std::chrono::seconds watchTimeout{300};  // timeoutSeconds asked of the apiserver
  std::chrono::milliseconds connectTimeout{10000};
  std::chrono::milliseconds listTimeout{30000};
  Backoff::Ms backoffInitial{500};
  Backoff::Ms backoffCap{30000};
  size_t maxQueued = 256;  // oldest events are dropped beyond this (the owner is not draining)
};

class SliceWatcher {
 public:
  // Creates the eventfd; throws std::system_error if that fails. Does not connect.
  explicit SliceWatcher(WatchOptions opts);
  ~SliceWatcher();  // stop()
  SliceWatcher(const SliceWatcher&) = delete;
  SliceWatcher& operator=(const SliceWatcher&) = delete;

  // Starts the watch thread (LIST first). Throws std::system_error if the thread cannot start.
  void start();
  // Stops and joins the watch thread; idempotent.
  void stop();
  // Readable (EFD_NONBLOCK, poll for POLLIN) while events are queued.
  int fd() const { return efd_; }
  // Takes every queued event, oldest first, and clears fd()'s readiness.
  std::vector<DiscoveryEvent> take();

  // The request paths (exposed for tests).
  static std::string listPath(const WatchOptions& o);
  static std::string watchPath(const WatchOptions& o, const std::string& resourceVersion);

 private:
  struct Transfer;
  enum class WatchEnd { kClean, kRelist, kRetry, kStopped };
  void run();
  bool list(std::string* rv);
  WatchEnd watch(std::string* rv);
  bool handleWatchLine(const std::string& line, std::string* rv, WatchEnd* end);
  bool perform(Transfer* t, const std::string& path, std::chrono::milliseconds timeout);
  void reportFailure(const Transfer& t, bool watching);
  void post(DiscoveryEvent ev);
  void sleepFor(Backoff::Ms d);

  WatchOptions opts_;
  int efd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards queue_ and the stop wait
  std::condition_variable cv_;
  std::deque<DiscoveryEvent> queue_;
  // Watch-thread state.
  Backoff backoff_;
  SliceSet slices_;
};

}  // namespace lb::k8s
