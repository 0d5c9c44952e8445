// SPDX-License-Identifier: Apache-2.0
// Kubeconfig / in-cluster credentials and their libcurl options (see credentials.h).
#include "k8s/credentials.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lb::k8s {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& where, const std::string& field, const std::string& why) {
  throw std::runtime_error(where + ": " + field + ": " + why);
}

std::string readFile(const std::string& path, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = path + ": " + std::strerror(errno);
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trimRight(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Finds the entry of `list` (a kubeconfig named list: [{name, <kind>: {...}}]) called `name`.
YAML::Node findNamed(const YAML::Node& root, const std::string& list, const std::string& kind,
                     const std::string& name, const std::string& where, std::string* field) {
  const YAML::Node seq = root[list];
  if (!seq || !seq.IsSequence()) fail(where, list, "missing or not a list");
  for (size_t i = 0; i < seq.size(); i++) {
    const YAML::Node n = seq[i]["name"];
    if (n && n.IsScalar() && n.as<std::string>() == name) {
      *field = list + "[" + std::to_string(i) + "]." + kind;
      const YAML::Node body = seq[i][kind];
      if (!body || !body.IsMap()) fail(where, *field, "missing or not a map");
      return body;
    }
  }
  fail(where, list, "no entry named '" + name + "'");
}

std::string scalar(const YAML::Node& map, const char* key, const std::string& where,
                   const std::string& field) {
  const YAML::Node n = map[key];
  if (!n || n.IsNull()) return "";
  if (!n.IsScalar()) fail(where, field + "." + key, "not a string");
  return n.as<std::string>();
}

// A `<key>-data` field (base64) or a `<key>` file path resolved against the kubeconfig's dir.
void fileOrData(const YAML::Node& map, const char* fileKey, const std::string& where,
                const std::string& field, const fs::path& baseDir, std::string* file,
                std::string* data) {
  std::string dataKey = std::string(fileKey) + "-data";
  std::string encoded = scalar(map, dataKey.c_str(), where, field);
  if (!encoded.empty()) {
    auto decoded = base64Decode(encoded);
    if (!decoded || decoded->empty()) fail(where, field + "." + dataKey, "not valid base64");
    *data = std::move(*decoded);
    return;
  }
  std::string path = scalar(map, fileKey, where, field);
  if (path.empty()) return;
  fs::path p(path);
  if (p.is_relative()) p = baseDir / p;
  if (!fs::exists(p)) fail(where, field + "." + fileKey, p.string() + " does not exist");
  *file = p.string();
}

std::string hostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// Splits "https://host:port[/]" into host (brackets kept for IPv6) and port ("443" if absent).
bool splitServer(const std::string& server, std::string* host, std::string* port) {
  const std::string scheme = "https://";
  if (server.rfind(scheme, 0) != 0) return false;
  std::string rest = server.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return false;
  size_t colon = rest.rfind(':');
  size_t bracket = rest.rfind(']');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
    *host = rest;
    *port = "443";
  } else {
    *host = rest.substr(0, colon);
    *port = rest.substr(colon + 1);
  }
  return !host->empty() && !port->empty();
}

}  // namespace

std::optional<std::string> base64Decode(const std::string& in) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : in) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') {
      pad++;
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else return std::nullopt;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  if (pad > 2 || bits >= 6) return std::nullopt;  // a lone 6-bit group cannot end a string
  return out;
}

ApiCredentials loadKubeconfig(const std::string& path) {
  const std::string where = "kubeconfig " + path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw std::runtime_error(where + ": cannot read: " + std::strerror(errno));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(where + ": not YAML: " + e.what());
  }
  if (!root.IsMap()) throw std::runtime_error(where + ": not a kubeconfig (expected a map)");
  const std::string current = scalar(root, "current-context", where, "");
  if (current.empty()) fail(where, "current-context", "missing");
  std::string ctxField, clusterField, userField;
  const YAML::Node ctx = findNamed(root, "contexts", "context", current, where, &ctxField);
  const std::string clusterName = scalar(ctx, "cluster", where, ctxField);
  if (clusterName.empty()) fail(where, ctxField + ".cluster", "missing");
  const std::string userName = scalar(ctx, "user", where, ctxField);

  const fs::path baseDir = fs::path(path).parent_path();
  ApiCredentials c;
  const YAML::Node cluster = findNamed(root, "clusters", "cluster", clusterName, where,
                                       &clusterField);
  c.server = scalar(cluster, "server", where, clusterField);
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  std::string host, port;
  if (!splitServer(c.server, &host, &port))
    fail(where, clusterField + ".server", "'" + c.server + "' is not https://host[:port]");
  c.tlsServerName = scalar(cluster, "tls-server-name", where, clusterField);
  std::string insecure = scalar(cluster, "insecure-skip-tls-verify", where, clusterField);
  if (insecure != "" && insecure != "true" && insecure != "false")
    fail(where, clusterField + ".insecure-skip-tls-verify", "'" + insecure + "' is not a bool");
  c.insecureSkipTlsVerify = insecure == "true";
  fileOrData(cluster, "certificate-authority", where, clusterField, baseDir, &c.caFile, &c.caData);

  if (!userName.empty()) {
    const YAML::Node user = findNamed(root, "users", "user", userName, where, &userField);
    fileOrData(user, "client-certificate", where, userField, baseDir, &c.certFile, &c.certData);
    fileOrData(user, "client-key", where, userField, baseDir, &c.keyFile, &c.keyData);
    c.token = scalar(user, "token", where, userField);
    std::string tokenFile = scalar(user, "tokenFile", where, userField);
    if (!tokenFile.empty()) {
      fs::path p(tokenFile);
      c.tokenFile = (p.is_relative() ? baseDir / p : p).string();
    }
    bool hasCert = !c.certFile.empty() || !c.certData.empty();
    bool hasKey = !c.keyFile.empty() || !c.keyData.empty();
    if (hasCert != hasKey)
      fail(where, userField + (hasCert ? ".client-key" : ".client-certificate"),
           "missing (client-certificate and client-key go together)");
  }
  return c;
}

ApiCredentials inClusterCredentials(const std::optional<std::string>& serverOverride,
                                    const std::string& saDir,
                                    const std::function<const char*(const char*)>& getenv) {
  ApiCredentials c;
  const fs::path dir(saDir);
  c.tokenFile = (dir / "token").string();
  c.caFile = (dir / "ca.crt").string();
  for (const std::string& f : {c.tokenFile, c.caFile})
    if (!fs::exists(f))
      throw std::runtime_error("in-cluster: " + f + " does not exist (no service account mounted)");
  if (serverOverride && !serverOverride->empty()) {
    c.server = *serverOverride;
    while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
    std::string host, port;
    if (!splitServer(c.server, &host, &port))
      throw std::runtime_error("in-cluster: server '" + c.server + "' is not https://host[:port]");
    return c;
  }
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0')
    throw std::runtime_error("in-cluster: KUBERNETES_SERVICE_HOST is not set");
  if (port == nullptr || *port == '\0')
    throw std::runtime_error("in-cluster: KUBERNETES_SERVICE_PORT is not set");
  c.server = "https://" + hostForUrl(host) + ":" + port;
  return c;
}

CurlRequestStorage::~CurlRequestStorage() {
  curl_slist_free_all(headers);
  curl_slist_free_all(connectToList);
}

std::string applyCredentials(CURL* easy, const ApiCredentials& creds, const std::string& path,
                             CurlRequestStorage* s) {
  std::string host, port;
  if (!splitServer(creds.server, &host, &port)) return "server '" + creds.server + "' is invalid";
  if (!creds.tlsServerName.empty()) {  // name checked and sent as SNI; TCP still to the server
    s->url = "https://" + hostForUrl(creds.tlsServerName) + ":" + port + path;
    s->connectTo = hostForUrl(creds.tlsServerName) + ":" + port + ":" + host + ":" + port;
    s->connectToList = curl_slist_append(nullptr, s->connectTo.c_str());
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, s->connectToList);
  } else {
    s->url = creds.server + path;
  }
  curl_easy_setopt(easy, CURLOPT_URL, s->url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROXY, "");  // never through an http_proxy from the environment
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, creds.insecureSkipTlsVerify ? 0L : 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, creds.insecureSkipTlsVerify ? 0L : 2L);

  auto blob = [&](CURLoption opt, const std::string& data, const char* name) -> std::string {
    curl_blob b{const_cast<char*>(data.data()), data.size(), CURL_BLOB_COPY};
    CURLcode rc = curl_easy_setopt(easy, opt, &b);
    if (rc != CURLE_OK) return std::string("libcurl cannot take ") + name + ": " +
                               curl_easy_strerror(rc);
    return "";
  };
  std::string err;
  if (!creds.caData.empty()) {
    if (!(err = blob(CURLOPT_CAINFO_BLOB, creds.caData, "certificate-authority-data")).empty())
      return err;
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);  // trust exactly this CA
  } else if (!creds.caFile.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, creds.caFile.c_str());
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  }
  if (!creds.certData.empty()) {
    if (!(err = blob(CURLOPT_SSLCERT_BLOB, creds.certData, "client-certificate-data")).empty())
      return err;
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!creds.certFile.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, creds.certFile.c_str());
  }
  if (!creds.keyData.empty()) {
    if (!(err = blob(CURLOPT_SSLKEY_BLOB, creds.keyData, "client-key-data")).empty()) return err;
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!creds.keyFile.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLKEY, creds.keyFile.c_str());
  }

  std::string token = creds.token;
  if (!creds.tokenFile.empty()) {
    std::string readErr;
    token = trimRight(readFile(creds.tokenFile, &readErr));
    if (!readErr.empty()) return "token file " + readErr;
    if (token.empty()) return "token file " + creds.tokenFile + " is empty";
  }
  s->headers = curl_slist_append(nullptr, "Accept: application/json");
  if (!token.empty()) {
    s->authHeader = "Authorization: Bearer " + token;
    s->headers = curl_slist_append(s->headers, s->authHeader.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, s->headers);
  return "";
}

}  // namespace lb::k8s
