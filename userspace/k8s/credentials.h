// SPDX-License-Identifier: Apache-2.0
// How apilb reaches and authenticates to the Kubernetes API: a kubeconfig file (its
// current-context's cluster and user) or the in-cluster service account. Inline `*-data` fields
// stay in memory and reach libcurl as blobs (applyCredentials()); files are passed by path; a
// token file is re-read at every request because service-account tokens rotate.
// Error convention: loaders throw std::runtime_error with a one-line message naming the file and
// the field ("kubeconfig /x: users[0].user.client-key-data: not valid base64"); applyCredentials()
// returns a one-line reason. Everything here is reentrant; an ApiCredentials is a plain value.
#pragma once

#include <curl/curl.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

namespace lb::k8s {

struct ApiCredentials {
  std::string server;         // "https://host:port" (no trailing slash)
  std::string tlsServerName;  // certificate name + SNI when it differs from the server's host
  bool insecureSkipTlsVerify = false;
  std::string caFile, caData;      // PEM; data wins when both are set
  std::string certFile, certData;  // client certificate (PEM)
  std::string keyFile, keyData;    // client key (PEM)
  std::string token;               // bearer token given inline
  std::string tokenFile;           // bearer token read at each request (wins over `token`)
};

// Parses a kubeconfig: current-context -> cluster (server, certificate-authority[-data],
// insecure-skip-tls-verify, tls-server-name) and user (client-certificate[-data],
// client-key[-data], token, tokenFile). Relative file paths are relative to the kubeconfig's
// directory, as kubectl resolves them. Throws std::runtime_error naming the field.
ApiCredentials loadKubeconfig(const std::string& path);

// The in-cluster service account: <saDir>/token (as tokenFile) and <saDir>/ca.crt. The server is
// `serverOverride` if set (apilb reaches the apiserver through its VIP), otherwise
// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT read through `getenv`.
// Throws std::runtime_error naming the missing file or variable.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
ApiCredentials inClusterCredentials(
    const std::optional<std::string>& serverOverride, const std::string& saDir = kServiceAccountDir,
    const std::function<const char*(const char*)>& getenv = [](const char* n) {
      return ::getenv(n);
    });

// Decodes standard base64 (padding optional, whitespace ignored); nullopt if invalid.
std::optional<std::string> base64Decode(const std::string& in);

// Sets `url` (server + path) and TLS/auth options on `easy`. `storage` must outlive the
// transfer (it holds the Authorization header list and CONNECT_TO list). Returns "" on success or
// a one-line reason ("token file /x: No such file or directory", "libcurl lacks CURLOPT_*_BLOB").
struct CurlRequestStorage {
  std::string url, connectTo, authHeader;
  curl_slist* headers = nullptr;
  curl_slist* connectToList = nullptr;
  CurlRequestStorage() = default;
  CurlRequestStorage(const CurlRequestStorage&) = delete;
  CurlRequestStorage& operator=(const CurlRequestStorage&) = delete;
  ~CurlRequestStorage();
};
[[nodiscard]] std::string applyCredentials(CURL* easy, const ApiCredentials& creds,
                                           const std::string& path, CurlRequestStorage* storage);

}  // namespace lb::k8s
