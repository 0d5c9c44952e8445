// SPDX-License-Identifier: Apache-2.0
// What a serving certificate covers: its Subject Alternative Names, fetched over TLS with libcurl's
// certinfo, and whether they name an address or a host. Used by `apilb doctor` to say whether the
// apiservers' certificates accept the VIP; the parsing and matching are pure (tests/ctl).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "lb/endpoint.h"

namespace lb {

// SANs of an OpenSSL certinfo "X509v3 Subject Alternative Name" value ("DNS:a, IP Address:1.2.3.4").
struct Sans {
  std::vector<std::string> dns;
  std::vector<std::string> ips;
};
Sans parseSans(const std::string& certinfoValue);
// Whether they cover an IP (compared after parsing, not as text) or a DNS name (exact or a
// one-label wildcard).
bool sansCoverIp(const Sans& s, const Endpoint& ip);
bool sansCoverName(const Sans& s, const std::string& name);

// The SANs of the certificate `ep` presents, over TLS with p's CA and client certificate (the
// chain verified unless p.insecureSkipVerify, the name deliberately not). false + *err if no
// certificate was received.
bool fetchSans(const ProbeConfig& p, const Endpoint& ep, Sans* out, std::string* err);

}  // namespace lb
