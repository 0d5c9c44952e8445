// SPDX-License-Identifier: Apache-2.0
// One way to replace a file so a reader never sees half of it and a power cut leaves either the
// old or the new one: write a temp file in the same directory (mkstemp), fsync it, rename it over
// the target, fsync the directory. Used for health.json (daemon) and discovered.json (k8s).
// Reentrant: concurrent writers of one path each use their own temp file; the last rename wins
// and the file is always complete.
#pragma once

#include <sys/types.h>

#include <string>
#include <system_error>

namespace lb {

// Writes `text` to dir/name atomically, creating `dir` (and its parents, 0755) first. The file
// gets `mode`. Returns the errno of the step that failed; the temp file is removed on failure.
[[nodiscard]] std::error_code writeFileAtomic(const std::string& dir, const std::string& name,
                                              const std::string& text, mode_t mode = 0644);

}  // namespace lb
