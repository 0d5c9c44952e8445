// SPDX-License-Identifier: Apache-2.0
// The `kubernetes` Service's EndpointSlices (discovery.k8s.io/v1) reduced to what apilb uses:
// per slice, the ready endpoints' addresses with the slice's port (the port named "https", or the
// only port). SliceSet merges several slices into one sorted, de-duplicated backend set.
// Rules (from the EndpointSlice API reference): conditions.ready absent means ready; FQDN slices
// are ignored; an address that does not parse as the slice's addressType is an error.
// Pure logic, no I/O; not thread-safe (one owner).
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "lb/endpoint.h"

namespace lb::k8s {

struct Slice {
  std::string name;             // metadata.name
  std::string resourceVersion;  // metadata.resourceVersion
  std::vector<Endpoint> ready;  // ready endpoints with the slice's port
};

// Parses one EndpointSlice object. Returns "" or a one-line reason naming the field
// ("slice x: ports: no port named https among 2"); on error *out still has name/resourceVersion.
[[nodiscard]] std::string parseSlice(const nlohmann::json& obj, Slice* out);

class SliceSet {
 public:
  // Adds or replaces a slice; returns true if the merged backend set changed.
  bool upsert(Slice slice);
  // Removes a slice by name; returns true if the merged backend set changed.
  bool erase(const std::string& name);
  // Replaces every slice (a LIST result); returns true if the merged backend set changed.
  bool replaceAll(std::vector<Slice> slices);
  // The merged set, sorted by address then port, without duplicates.
  const std::vector<Endpoint>& backends() const { return merged_; }

 private:
  bool remerge();
  std::map<std::string, Slice> slices_;
  std::vector<Endpoint> merged_;
};

// Sorts and de-duplicates endpoints (the order SliceSet::backends() uses).
std::vector<Endpoint> canonicalBackends(std::vector<Endpoint> eps);

}  // namespace lb::k8s
