// SPDX-License-Identifier: Apache-2.0
// EndpointSlice LIST/WATCH on its own thread (see slice_watcher.h).
#include "k8s/slice_watcher.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <nlohmann/json.hpp>
#include <system_error>

namespace lb::k8s {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Problem = DiscoveryEvent::Problem;

constexpr size_t kMaxBody = 64u << 20;  // a LIST of slices is tiny; this only bounds a bad server

std::string urlEscape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// "message" of a Kubernetes Status body, or the body's first line.
std::string statusMessage(const std::string& body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("message") && doc["message"].is_string())
    return doc["message"].get<std::string>();
  std::string line = body.substr(0, body.find('\n'));
  return line.size() > 200 ? line.substr(0, 200) : line;
}

bool isTlsError(CURLcode c) {
  return c == CURLE_SSL_CONNECT_ERROR || c == CURLE_PEER_FAILED_VERIFICATION ||
         c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CIPHER || c == CURLE_SSL_CACERT_BADFILE ||
         c == CURLE_SSL_ISSUER_ERROR;
}

}  // namespace

const char* problemName(Problem p) {
  switch (p) {
    case Problem::kNone: return "none";
    case Problem::kCredentials: return "credentials";
    case Problem::kNetwork: return "network";
    case Problem::kGone: return "gone";
    case Problem::kServer: return "server";
    case Problem::kProtocol: return "protocol";
  }
  return "?";
}

// One HTTP GET: the status, the body (non-streaming or non-200), and for a streaming 200 every
// complete line handed to onLine (which returns false to end the transfer).
struct SliceWatcher::Transfer {
  CURL* easy = nullptr;
  long status = -1;
  std::string body, partial;
  std::function<bool(const std::string&)> onLine;
  bool abortedByUs = false;
  size_t lines = 0;
  const std::atomic<bool>* stopping = nullptr;
  CURLcode code = CURLE_OK;
  char errbuf[CURL_ERROR_SIZE] = {0};

  static size_t write(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t len = size * n;
    if (t->status < 0) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->status != 200 || !t->onLine) {
      if (t->body.size() + len > kMaxBody) return 0;
      t->body.append(data, len);
      return len;
    }
    t->partial.append(data, len);
    size_t start = 0, nl;
    while ((nl = t->partial.find('\n', start)) != std::string::npos) {
      std::string line = t->partial.substr(start, nl - start);
      start = nl + 1;
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      t->lines++;
      if (!t->onLine(line)) {
        t->abortedByUs = true;
        return 0;
      }
    }
    t->partial.erase(0, start);
    if (t->partial.size() > kMaxBody) return 0;
    return len;
  }
  static int progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Transfer*>(self)->stopping->load() ? 1 : 0;
  }
};

SliceWatcher::SliceWatcher(WatchOptions opts)
    : opts_(std::move(opts)), backoff_(opts_.backoffInitial, opts_.backoffCap) {
  static const CURLcode kInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kInit != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

SliceWatcher::~SliceWatcher() {
  stop();
  close(efd_);
}

void SliceWatcher::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void SliceWatcher::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<DiscoveryEvent> SliceWatcher::take() {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t n;
  while (read(efd_, &n, sizeof(n)) == static_cast<ssize_t>(sizeof(n))) {
  }
  std::vector<DiscoveryEvent> out(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

void SliceWatcher::post(DiscoveryEvent ev) {
  std::lock_guard<std::mutex> lk(mu_);
  queue_.push_back(std::move(ev));
  while (queue_.size() > opts_.maxQueued) queue_.pop_front();
  uint64_t one = 1;
  (void)!write(efd_, &one, sizeof(one));  // only fails when the counter is saturated: still readable
}

void SliceWatcher::sleepFor(Backoff::Ms d) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, d, [this] { return stopping_.load(); });
}

std::string SliceWatcher::listPath(const WatchOptions& o) {
  return "/apis/discovery.k8s.io/v1/namespaces/" + urlEscape(o.ns) +
         "/endpointslices?labelSelector=" + urlEscape("kubernetes.io/service-name=" + o.service);
}

std::string SliceWatcher::watchPath(const WatchOptions& o, const std::string& rv) {
  return listPath(o) + "&watch=1&allowWatchBookmarks=true&resourceVersion=" + urlEscape(rv) +
         "&timeoutSeconds=" + std::to_string(o.watchTimeout.count());
}

bool SliceWatcher::perform(Transfer* t, const std::string& path,
                           std::chrono::milliseconds timeout) {
  CURL* e = curl_easy_init();
  if (e == nullptr) {
    snprintf(t->errbuf, sizeof(t->errbuf), "curl_easy_init failed");
    t->code = CURLE_FAILED_INIT;
    return false;
  }
  t->easy = e;
  t->stopping = &stopping_;
  CurlRequestStorage storage;
  std::string err = applyCredentials(e, opts_.creds, path, &storage);
  if (!err.empty()) {
    snprintf(t->errbuf, sizeof(t->errbuf), "%s", err.c_str());
    t->code = CURLE_FAILED_INIT;
    curl_easy_cleanup(e);
    return false;
  }
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connectTimeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);  // a silently dead peer ends the watch early
  curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Transfer::progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
  t->code = curl_easy_perform(e);
  if (t->status < 0) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t->status);
  curl_easy_cleanup(e);
  t->easy = nullptr;
  return t->code == CURLE_OK && t->status == 200;
}

void SliceWatcher::reportFailure(const Transfer& t, bool watching) {
  DiscoveryEvent ev;
  ev.kind = DiscoveryEvent::Kind::kWatchError;
  const char* what = watching ? "watch" : "list";
  if (t.status == 401 || t.status == 403) {
    ev.problem = Problem::kCredentials;
    ev.reason = std::to_string(t.status) + " credentials: " + statusMessage(t.body);
  } else if (t.status == 410) {
    ev.problem = Problem::kGone;
    ev.reason = "410 relist";
  } else if (t.status > 0 && t.status != 200) {
    ev.problem = Problem::kServer;
    ev.reason = std::string(what) + ": HTTP " + std::to_string(t.status) + ": " +
                statusMessage(t.body);
  } else if (t.status == 200) {  // headers arrived, then the stream broke
    ev.problem = Problem::kNetwork;
    ev.reason = std::string(what) + " dropped: " + (t.errbuf[0] ? t.errbuf
                                                               : curl_easy_strerror(t.code));
  } else if (t.code == CURLE_FAILED_INIT) {
    ev.problem = Problem::kCredentials;
    ev.reason = t.errbuf;
  } else {
    ev.problem = Problem::kNetwork;
    ev.reason = std::string(isTlsError(t.code) ? "tls: " : "connect: ") +
                (t.errbuf[0] ? t.errbuf : curl_easy_strerror(t.code));
  }
  post(std::move(ev));
}

bool SliceWatcher::list(std::string* rv) {
  Transfer t;
  if (!perform(&t, listPath(opts_), opts_.listTimeout)) {
    if (!stopping_) reportFailure(t, false);
    return false;
  }
  json doc = json::parse(t.body, nullptr, false);
  std::string listRv;
  if (doc.is_object() && doc.contains("metadata") && doc["metadata"].is_object() &&
      doc["metadata"].contains("resourceVersion") && doc["metadata"]["resourceVersion"].is_string())
    listRv = doc["metadata"]["resourceVersion"].get<std::string>();
  if (!doc.is_object() || !doc.contains("items") || !doc["items"].is_array() || listRv.empty()) {
    post({DiscoveryEvent::Kind::kWatchError, Problem::kProtocol,
          "list: not an EndpointSliceList with items and metadata.resourceVersion", {}, ""});
    return false;
  }
  std::vector<Slice> slices;
  for (const auto& item : doc["items"]) {
    Slice s;
    std::string err = parseSlice(item, &s);
    if (!err.empty()) {
      post({DiscoveryEvent::Kind::kWatchError, Problem::kProtocol, err, {}, listRv});
      s.ready.clear();  // an unusable slice contributes nothing
    }
    slices.push_back(std::move(s));
  }
  slices_.replaceAll(std::move(slices));
  *rv = listRv;
  post({DiscoveryEvent::Kind::kListOk, Problem::kNone, "", slices_.backends(), listRv});
  return true;
}

bool SliceWatcher::handleWatchLine(const std::string& line, std::string* rv, WatchEnd* end) {
  json ev = json::parse(line, nullptr, false);
  if (!ev.is_object() || !ev.contains("type") || !ev["type"].is_string() ||
      !ev.contains("object") || !ev["object"].is_object()) {
    post({DiscoveryEvent::Kind::kWatchError, Problem::kProtocol, "watch: event is not a WatchEvent",
          {}, *rv});
    *end = WatchEnd::kRetry;
    return false;
  }
  const std::string type = ev["type"].get<std::string>();
  const json& obj = ev["object"];
  if (type == "ERROR") {  // obj is a Status
    long code = obj.contains("code") && obj["code"].is_number_integer() ? obj["code"].get<long>() : 0;
    if (code == 410) {
      post({DiscoveryEvent::Kind::kWatchError, Problem::kGone, "410 relist", {}, *rv});
      *end = WatchEnd::kRelist;
    } else {
      std::string msg = obj.contains("message") && obj["message"].is_string()
                            ? obj["message"].get<std::string>()
                            : "";
      Problem p = code == 401 || code == 403 ? Problem::kCredentials : Problem::kServer;
      std::string head = p == Problem::kCredentials ? std::to_string(code) + " credentials"
                                                    : "watch ERROR " + std::to_string(code);
      post({DiscoveryEvent::Kind::kWatchError, p, head + ": " + msg, {}, *rv});
      *end = WatchEnd::kRetry;
    }
    return false;
  }
  if (type == "BOOKMARK") {
    // A bookmark carries only metadata.resourceVersion: no slice changes.
    if (obj.contains("metadata") && obj["metadata"].contains("resourceVersion") &&
        obj["metadata"]["resourceVersion"].is_string())
      *rv = obj["metadata"]["resourceVersion"].get<std::string>();
    return true;
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") {
    post({DiscoveryEvent::Kind::kWatchError, Problem::kProtocol,
          "watch: unknown event type '" + type + "'", {}, *rv});
    return true;
  }
  Slice s;
  std::string err = parseSlice(obj, &s);
  if (!s.resourceVersion.empty()) *rv = s.resourceVersion;
  bool changed;
  if (type == "DELETED") {
    changed = !s.name.empty() && slices_.erase(s.name);
  } else if (!err.empty()) {
    post({DiscoveryEvent::Kind::kWatchError, Problem::kProtocol, err, {}, *rv});
    return true;  // keep what the slice had before
  } else {
    changed = slices_.upsert(std::move(s));
  }
  if (changed) post({DiscoveryEvent::Kind::kSetChanged, Problem::kNone, "", slices_.backends(), *rv});
  return true;
}

SliceWatcher::WatchEnd SliceWatcher::watch(std::string* rv) {
  Transfer t;
  WatchEnd end = WatchEnd::kClean;
  t.onLine = [&](const std::string& line) { return handleWatchLine(line, rv, &end); };
  // The server ends the watch after timeoutSeconds; the client cap only catches a dead peer.
  auto cap = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.watchTimeout) +
             std::chrono::seconds(30);
  auto began = Clock::now();
  bool ok = perform(&t, watchPath(opts_, *rv), cap);
  if (stopping_) return WatchEnd::kStopped;
  if (t.lines > 0) backoff_.reset();
  if (t.abortedByUs) return end;  // the event handler already reported why
  if (!ok) {
    reportFailure(t, true);
    return t.status == 410 ? WatchEnd::kRelist : WatchEnd::kRetry;
  }
  // A clean end is the server's timeoutSeconds; one that came at once with nothing in it is
  // treated as an error so a misbehaving server is not hammered.
  if (t.lines == 0 && Clock::now() - began < std::chrono::seconds(1)) return WatchEnd::kRetry;
  return WatchEnd::kClean;
}

void SliceWatcher::run() {
  std::string rv;
  while (!stopping_) {
    if (rv.empty()) {
      if (!list(&rv)) {
        sleepFor(backoff_.next());
        continue;
      }
      backoff_.reset();
    }
    switch (watch(&rv)) {
      case WatchEnd::kStopped:
        return;
      case WatchEnd::kClean:
        break;
      case WatchEnd::kRelist:
        rv.clear();
        break;
      case WatchEnd::kRetry:
        sleepFor(backoff_.next());
        break;
    }
  }
}

}  // namespace lb::k8s
