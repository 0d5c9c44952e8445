// SPDX-License-Identifier: Apache-2.0
// The complete commented default configuration printed by `apilb run --print-default-config`.
// A unit test checks that it parses and yields exactly the compiled-in defaults.
#include "daemon/config.h"

namespace lb {

std::string defaultConfigYaml() {
  return R"(# apilb run configuration. Every key is also a flag: key_name -> --key-name (flags win).
# Durations: 500ms, 1s, 1.5s, 2m. Unknown keys are errors.

# Node-local virtual IP:port that kubelet & co. use to reach the apiserver.
vip: 169.254.64.43:6443

# Apiservers ("ip:port" or "[ipv6]:port", optional "@weight"). Same family as the VIP.
# Example:
#   backend:
#     - 10.0.0.11:6443
#     - 10.0.0.12:6443
#     - 10.0.0.13:6443
backend: []

# NICs whose ingress gets the reverse-NAT program (only used when the daemon attaches).
iface: []

# Reverse NAT hook on the NICs: xdp (native, generic as fallback) or tc.
ingress: xdp

# Maglev table size (a prime; only used when the daemon attaches).
table_size: 16381

# Probe: https = GET probe_path, 200 is up; tcp = connect only.
probe_type: https
probe_path: /readyz
probe_interval: 1s
probe_timeout: 1s
# A backend that only times out (overloaded, not refusing) is drained: no new flows, its flows
# kept. It is declared dead (flows terminated) once it has timed out for this long.
probe_timeout_dead_after: 10s
# Consecutive successes to become healthy / failures to become draining or dead.
probe_rise: 2
probe_fall: 2

# TLS: the CA that signed the apiserver certificates (verification is on by default).
probe_ca: /etc/kubernetes/pki/ca.crt
# Client certificate + key, for clusters with anonymous auth off (k3s, RKE2, CIS).
probe_cert: ""
probe_key: ""
# File holding a bearer token (re-read when it changes).
probe_token_file: ""
# Name the certificate is checked against and sent as SNI; "" = the backend's IP address.
probe_server_name: ""
# Skip certificate verification (logged as a warning). Never in production.
insecure_skip_verify: false

# Where health.json (read by `apilb status`) is written.
state_dir: /run/apilb
# On SIGTERM/SIGINT: false leaves the datapath forwarding; true detaches it.
cleanup_on_exit: false
# debug, info, warn or error.
log_level: info
)";
}

}  // namespace lb
