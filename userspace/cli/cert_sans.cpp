// SPDX-License-Identifier: Apache-2.0
// What a serving certificate covers (see cert_sans.h).
#include "cli/cert_sans.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <sstream>

namespace lb {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') i++;
  return s.substr(i);
}

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

// The SAN extension of the certificate `ep` presents (TLS verified against the CA, the name
// deliberately not: finding out what the certificate covers is the point).
bool fetchSans(const ProbeConfig& p, const Endpoint& ep, Sans* out, std::string* err) {
  std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
  if (!c) {
    *err = "curl_easy_init failed";
    return false;
  }
  // Appended piece by piece: GCC 12 -O3 reports a false -Wrestrict on `"[" + std::string`.
  std::string url = "https://";
  if (ep.family == LB_AF_INET6)
    url.append(1, '[').append(ep.addrStr()).append(1, ']');
  else
    url.append(ep.addrStr());
  url.append(1, ':').append(std::to_string(ep.port)).append(1, '/');
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_PROXY, "");
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(p.timeout.count()) * 2);
  curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c.get(), CURLOPT_SSL_VERIFYPEER, p.insecureSkipVerify ? 0L : 1L);
  curl_easy_setopt(c.get(), CURLOPT_SSL_VERIFYHOST, 0L);
  if (!p.ca.empty()) curl_easy_setopt(c.get(), CURLOPT_CAINFO, p.ca.c_str());
  if (!p.cert.empty()) {
    curl_easy_setopt(c.get(), CURLOPT_SSLCERT, p.cert.c_str());
    curl_easy_setopt(c.get(), CURLOPT_SSLKEY, p.key.c_str());
  }
  CURLcode rc = curl_easy_perform(c.get());
  curl_certinfo* ci = nullptr;
  curl_easy_getinfo(c.get(), CURLINFO_CERTINFO, &ci);
  if (ci == nullptr || ci->num_of_certs < 1) {
    *err = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return false;
  }
  const std::string key = "X509v3 Subject Alternative Name:";
  for (curl_slist* s = ci->certinfo[0]; s != nullptr; s = s->next) {
    std::string line = s->data;
    if (line.rfind(key, 0) == 0) *out = parseSans(line.substr(key.size()));
  }
  return true;
}

Sans parseSans(const std::string& v) {
  Sans s;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (item.rfind("DNS:", 0) == 0) s.dns.push_back(item.substr(4));
    if (item.rfind("IP Address:", 0) == 0) s.ips.push_back(item.substr(11));
  }
  return s;
}

bool sansCoverIp(const Sans& s, const Endpoint& ip) {
  for (const auto& text : s.ips) {
    Endpoint e;
    std::string err;
    if (parseAddr(text, &e, &err) && e.family == ip.family &&
        std::equal(std::begin(e.addr.w), std::end(e.addr.w), std::begin(ip.addr.w)))
      return true;
  }
  return false;
}

bool sansCoverName(const Sans& s, const std::string& name) {
  for (const auto& d : s.dns) {
    if (d == name) return true;
    if (d.rfind("*.", 0) == 0) {
      size_t dot = name.find('.');
      if (dot != std::string::npos && name.substr(dot) == d.substr(1)) return true;
    }
  }
  return false;
}

}  // namespace lb
