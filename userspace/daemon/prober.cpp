// SPDX-License-Identifier: Apache-2.0
// Prober implementation (see prober.h).
#include "daemon/prober.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "daemon/log.h"

namespace lb {
namespace {

using Clock = std::chrono::steady_clock;

size_t discardBody(char*, size_t size, size_t n, void*) { return size * n; }

std::string hostForUrl(const Endpoint& ep) {
  if (ep.family != LB_AF_INET6) return ep.addrStr();
  std::string s = "[";  // appended, not "[" + ...: GCC 12 -O3 false -Wrestrict
  s += ep.addrStr();
  s += ']';
  return s;
}

bool isTlsError(CURLcode c) {
  switch (c) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
      return true;
    default:
      return false;
  }
}

struct EasyCleanup {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};

}  // namespace

struct Prober::Target {
  Endpoint ep;
  bool busy = false;
  bool rerun = false;  // probeNow() while busy: start again as soon as this one finishes
  Clock::time_point due{};
  Clock::time_point started{};
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string url;
  std::string connectTo;
  std::unique_ptr<curl_slist, SlistFree> connectToList;
  size_t index = 0;
  std::unique_ptr<CURL, EasyCleanup> easy;  // last: freed before the list it points to
};

Prober::Prober(const ProbeConfig& cfg, const std::vector<Endpoint>& targets)
    : cfg_(cfg), rng_(std::random_device{}()) {
  static const CURLcode kInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kInit != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  multi_.reset(curl_multi_init());
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(targets.size() * 2 + 4));
  refreshToken();
  std::uniform_int_distribution<int> phase(0, static_cast<int>(cfg_.interval.count() / 10));
  auto now = Clock::now();
  for (size_t i = 0; i < targets.size(); i++) {
    auto t = std::make_unique<Target>();
    t->ep = targets[i];
    t->index = i;
    t->due = now + std::chrono::milliseconds(phase(rng_));  // first round at once, spread a bit
    setup(t.get());
    targets_.push_back(std::move(t));
  }
}

Prober::~Prober() {
  // The handles themselves are freed by their owners: easy handles (targets_) before the multi.
  for (auto& t : targets_)
    if (t->busy) curl_multi_remove_handle(multi_.get(), t->easy.get());
}

void Prober::setup(Target* t) {
  t->easy.reset(curl_easy_init());
  if (t->easy == nullptr) throw std::runtime_error("curl_easy_init failed");
  CURL* e = t->easy.get();
  std::string port = std::to_string(t->ep.port);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.timeout.count()));
  curl_easy_setopt(e, CURLOPT_PROXY, "");  // never through an http_proxy from the environment
  if (cfg_.type == ProbeType::kTcp) {
    t->url = "http://" + hostForUrl(t->ep) + ":" + port + "/";
    curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);  // a reused socket would prove nothing
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    return;
  }
  std::string host = cfg_.serverName.empty() ? hostForUrl(t->ep) : cfg_.serverName;
  t->url = "https://" + host + ":" + port + cfg_.path;
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  if (!cfg_.serverName.empty()) {  // certificate name + SNI = serverName, TCP to the backend IP
    t->connectTo = cfg_.serverName + ":" + port + ":" + hostForUrl(t->ep) + ":" + port;
    t->connectToList.reset(curl_slist_append(nullptr, t->connectTo.c_str()));
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connectToList.get());
  }
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discardBody);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg_.insecureSkipVerify ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg_.insecureSkipVerify ? 0L : 2L);
  if (!cfg_.ca.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, cfg_.ca.c_str());
    curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);  // trust exactly this CA
  }
  if (!cfg_.cert.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, cfg_.cert.c_str());
    curl_easy_setopt(e, CURLOPT_SSLKEY, cfg_.key.c_str());
  }
}

void Prober::refreshToken() {
  if (cfg_.tokenFile.empty() || cfg_.type != ProbeType::kHttps) return;
  struct stat st {};
  if (stat(cfg_.tokenFile.c_str(), &st) != 0) {
    log::warn("probe_token_file " + cfg_.tokenFile + ": " + std::strerror(errno) +
              " (keeping the previous token)");
    return;
  }
  if (headers_ != nullptr && st.st_mtim.tv_sec == tokenMtime_.tv_sec &&
      st.st_mtim.tv_nsec == tokenMtime_.tv_nsec)
    return;
  std::ifstream in(cfg_.tokenFile);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string tok = ss.str();
  while (!tok.empty() && std::isspace(static_cast<unsigned char>(tok.back()))) tok.pop_back();
  tokenMtime_ = st.st_mtim;
  if (tok == token_ && headers_ != nullptr) return;
  token_ = tok;
  headers_.reset(curl_slist_append(nullptr, ("Authorization: Bearer " + token_).c_str()));
  for (auto& t : targets_) curl_easy_setopt(t->easy.get(), CURLOPT_HTTPHEADER, headers_.get());
  log::info("probe token loaded from " + cfg_.tokenFile);
}

void Prober::start(Target* t) {
  t->errbuf[0] = '\0';
  if (headers_ != nullptr) curl_easy_setopt(t->easy.get(), CURLOPT_HTTPHEADER, headers_.get());
  t->started = Clock::now();
  CURLMcode rc = curl_multi_add_handle(multi_.get(), t->easy.get());
  if (rc != CURLM_OK) {
    log::error(std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
    t->due = t->started + cfg_.interval;
    return;
  }
  t->busy = true;
}

ProbeResult Prober::classify(ProbeType type, CURLcode code, long httpStatus, long osErrno,
                             const char* errbuf, double latencyMs) {
  ProbeResult r;
  r.latencyMs = latencyMs;
  std::string err = errbuf != nullptr && errbuf[0] ? errbuf : curl_easy_strerror(code);
  if (code == CURLE_OK) {
    if (type == ProbeType::kTcp || httpStatus == 200) {
      r.outcome = ProbeOutcome::kOk;
      r.result = type == ProbeType::kTcp ? "connected" : "200";
      return r;
    }
    r.outcome = ProbeOutcome::kNotReady;
    r.result = std::to_string(httpStatus);
    r.error = "HTTP " + r.result;
    if (httpStatus == 401 || httpStatus == 403) {  // it answers: a credentials problem, not dead
      r.result = kProbeCredentials;
      r.error +=
          " credentials: /readyz refused the probe's identity (anonymous auth off? set "
          "probe_cert/probe_key or probe_token_file)";
    }
    return r;
  }
  r.outcome = ProbeOutcome::kFailed;
  r.error = err;
  if (code == CURLE_COULDNT_CONNECT)
    r.result = osErrno == ECONNREFUSED || err.find("refused") != std::string::npos ? "refused"
                                                                                   : "unreachable";
  else if (code == CURLE_OPERATION_TIMEDOUT)
    r.outcome = ProbeOutcome::kTimedOut, r.result = "timeout";
  else if (isTlsError(code))
    r.result = "tls: " + err.substr(0, 120);
  else if (code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING)
    r.result = "reset";
  else
    r.result = std::string("error: ") + curl_easy_strerror(code);
  return r;
}

void Prober::finish(CURL* easy, CURLcode code, const Callback& cb) {
  Target* t = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
  curl_multi_remove_handle(multi_.get(), easy);
  t->busy = false;
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t totalUs = 0;
  curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &totalUs);
  long osErrno = 0;
  curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &osErrno);
  ProbeResult r =
      classify(cfg_.type, code, status, osErrno, t->errbuf, static_cast<double>(totalUs) / 1000.0);
  r.started = t->started;
  bool fast = cb(t->index, r);
  auto base =
      fast ? std::max<std::chrono::milliseconds>(cfg_.interval / 5, std::chrono::milliseconds(100))
           : cfg_.interval;
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  auto next = std::chrono::duration_cast<Clock::duration>(base * jitter(rng_));
  t->due = std::max(t->started + next, Clock::now() + std::chrono::milliseconds(fast ? 0 : 10));
  if (t->rerun) t->due = Clock::now();
  t->rerun = false;
}

void Prober::probeNow(size_t index) {
  if (index >= targets_.size()) return;
  Target* t = targets_[index].get();
  if (t->busy)
    t->rerun = true;
  else
    t->due = Clock::now();
}

int Prober::msUntilNextDue() const {
  auto now = Clock::now();
  int64_t best = 1000;
  for (const auto& t : targets_) {
    if (t->busy) continue;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t->due - now).count();
    best = std::min<int64_t>(best, std::max<int64_t>(ms, 0));
  }
  return static_cast<int>(best);
}

void Prober::drive(const Callback& cb) {
  auto now = Clock::now();
  bool anyStarted = false;
  for (auto& t : targets_)
    if (!t->busy && t->due <= now) {
      if (!anyStarted) refreshToken();
      anyStarted = true;
      start(t.get());
    }
  int running = 0;
  curl_multi_perform(multi_.get(), &running);
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_.get(), &left))
    if (m->msg == CURLMSG_DONE) finish(m->easy_handle, m->data.result, cb);
}

void Prober::wait(int maxWaitMs, int extraFd, bool* extraReady) {
  int wait = std::min(maxWaitMs, msUntilNextDue());
  curl_waitfd extra{};
  extra.fd = extraFd;
  extra.events = CURL_WAIT_POLLIN;
  int numfds = 0;
  curl_multi_poll(multi_.get(), extraFd >= 0 ? &extra : nullptr, extraFd >= 0 ? 1 : 0, wait,
                  &numfds);
  *extraReady = extraFd >= 0 && (extra.revents & CURL_WAIT_POLLIN);
}

}  // namespace lb
