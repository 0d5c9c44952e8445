// SPDX-License-Identifier: Apache-2.0
// Atomic file replacement (see atomic_file.h).
#include "lb/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace lb {
namespace {

std::error_code lastError() { return {errno, std::generic_category()}; }

std::error_code writeAll(int fd, const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return lastError();
    if (n == 0) return std::make_error_code(std::errc::io_error);
    off += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

std::error_code writeFileAtomic(const std::string& dir, const std::string& name,
                                const std::string& text, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ec;
  std::string tmp = dir + "/." + name + ".XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return lastError();
  if (fchmod(fd, mode) != 0) ec = lastError();
  if (!ec) ec = writeAll(fd, text);
  if (!ec && fsync(fd) != 0) ec = lastError();
  if (close(fd) != 0 && !ec) ec = lastError();
  if (!ec && rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) ec = lastError();
  if (ec) {
    unlink(tmp.c_str());
    return ec;
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // make the rename itself durable across a power cut
    (void)fsync(dfd);
    close(dfd);
  }
  return {};
}

}  // namespace lb
