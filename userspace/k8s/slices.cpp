// SPDX-License-Identifier: Apache-2.0
// EndpointSlice parsing and merging (see slices.h).
#include "k8s/slices.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace lb::k8s {
namespace {

using nlohmann::json;

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// The port to use: the one named "https", else the only one. 0 with *err set otherwise.
uint16_t slicePort(const json& obj, const std::string& where, std::string* err) {
  auto ports = obj.find("ports");
  if (ports == obj.end() || !ports->is_array() || ports->empty()) {
    *err = where + ": ports: none";
    return 0;
  }
  const json* chosen = ports->size() == 1 ? &(*ports)[0] : nullptr;
  for (const auto& p : *ports)
    if (p.is_object() && str(p, "name") == "https") chosen = &p;
  if (chosen == nullptr) {
    *err = where + ": ports: no port named https among " + std::to_string(ports->size());
    return 0;
  }
  auto port = chosen->find("port");
  if (port == chosen->end() || !port->is_number_integer() || port->get<int64_t>() < 1 ||
      port->get<int64_t>() > 65535) {
    *err = where + ": ports[].port: missing or out of range";
    return 0;
  }
  return static_cast<uint16_t>(port->get<int64_t>());
}

bool isReady(const json& ep) {
  auto cond = ep.find("conditions");
  if (cond == ep.end() || !cond->is_object()) return true;
  auto ready = cond->find("ready");
  return ready == cond->end() || ready->is_null() || (ready->is_boolean() && ready->get<bool>());
}

bool endpointLess(const Endpoint& a, const Endpoint& b) {
  if (a.family != b.family) return a.family < b.family;
  int c = std::memcmp(&a.addr, &b.addr, sizeof(a.addr));
  if (c != 0) return c < 0;
  return a.port < b.port;
}

}  // namespace

std::string parseSlice(const json& obj, Slice* out) {
  *out = Slice{};
  if (!obj.is_object()) return "EndpointSlice: not an object";
  auto meta = obj.find("metadata");
  if (meta != obj.end() && meta->is_object()) {
    out->name = str(*meta, "name");
    out->resourceVersion = str(*meta, "resourceVersion");
  }
  if (out->name.empty()) return "EndpointSlice: metadata.name: missing";
  const std::string where = "slice " + out->name;
  const std::string type = str(obj, "addressType");
  if (type == "FQDN") return "";  // not an address apilb can forward to
  if (type != "IPv4" && type != "IPv6") return where + ": addressType: '" + type + "' unknown";
  uint8_t family = type == "IPv4" ? LB_AF_INET : LB_AF_INET6;
  auto eps = obj.find("endpoints");
  if (eps == obj.end() || eps->is_null()) return "";  // no endpoints at all
  if (!eps->is_array()) return where + ": endpoints: not a list";
  std::string err;
  uint16_t port = eps->empty() ? 0 : slicePort(obj, where, &err);
  if (!err.empty()) return err;
  for (const auto& ep : *eps) {
    if (!ep.is_object() || !isReady(ep)) continue;
    auto addrs = ep.find("addresses");
    if (addrs == ep.end() || !addrs->is_array()) return where + ": endpoints[].addresses: missing";
    for (const auto& a : *addrs) {
      Endpoint e;
      std::string perr;
      if (!a.is_string() || !parseAddr(a.get<std::string>(), &e, &perr) || e.family != family)
        return where + ": endpoints[].addresses: '" + (a.is_string() ? a.get<std::string>() : "?") +
               "' is not an " + type + " address";
      e.port = port;
      out->ready.push_back(e);
    }
  }
  return "";
}

std::vector<Endpoint> canonicalBackends(std::vector<Endpoint> eps) {
  std::sort(eps.begin(), eps.end(), endpointLess);
  eps.erase(std::unique(eps.begin(), eps.end()), eps.end());
  return eps;
}

bool SliceSet::upsert(Slice slice) {
  std::string name = slice.name;
  slices_[name] = std::move(slice);
  return remerge();
}

bool SliceSet::erase(const std::string& name) {
  slices_.erase(name);
  return remerge();
}

bool SliceSet::replaceAll(std::vector<Slice> slices) {
  slices_.clear();
  for (auto& s : slices) {
    std::string name = s.name;
    slices_[name] = std::move(s);
  }
  return remerge();
}

bool SliceSet::remerge() {
  std::vector<Endpoint> all;
  for (const auto& [name, s] : slices_) all.insert(all.end(), s.ready.begin(), s.ready.end());
  all = canonicalBackends(std::move(all));
  if (all == merged_) return false;
  merged_ = std::move(all);
  return true;
}

}  // namespace lb::k8s
