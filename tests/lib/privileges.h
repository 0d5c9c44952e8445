// SPDX-License-Identifier: Apache-2.0
// Skip helper: BPF fixtures need CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN to load programs
// and run BPF_PROG_TEST_RUN. Tests call LB_SKIP_WITHOUT_BPF() first.
#pragma once

#include <optional>
#include <string>

namespace lb::test {

// A reason when the process lacks the capabilities to load and test-run BPF programs.
std::optional<std::string> missingBpfPrivileges();

}  // namespace lb::test

#define LB_SKIP_WITHOUT_BPF()                                           \
  do {                                                                  \
    if (auto lbWhy = ::lb::test::missingBpfPrivileges()) {              \
      GTEST_SKIP() << "needs root / CAP_BPF+CAP_NET_ADMIN: " << *lbWhy; \
    }                                                                   \
  } while (0)
