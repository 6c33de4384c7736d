#include "executors/locked_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

namespace govjobd::executors {

namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

std::string errno_text(int e = errno) { return std::strerror(e); }

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool unchanged(const struct stat& a, const struct stat& b) {
  return same_file(a, b) && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// flock() with a bounded wait: there is no timed flock, so it is tried again with a growing pause.
// Returns 0, ETIMEDOUT, or flock's errno.
int lock_until(int fd, steady::time_point deadline) {
  auto pause = std::chrono::milliseconds(2);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return errno;
    const auto now = steady::now();
    if (now >= deadline) return ETIMEDOUT;
    std::this_thread::sleep_for(std::min<steady::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
  return 0;
}

std::string write_all(int fd, const std::string& text) {
  for (std::size_t written = 0; written < text.size();) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_text();
    written += static_cast<std::size_t>(n);
  }
  return "";
}

}  // namespace

LockedFile::~LockedFile() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

std::string LockedFile::open(const std::string& path, bool follow_symlink, steady::time_point deadline,
                             bool& timed_out) {
  timed_out = false;
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) return fmt::format("cannot read {}: {}", path, errno_text());
  path_ = path;
  if (S_ISLNK(link.st_mode)) {
    if (!follow_symlink)
      return fmt::format("{} is a symbolic link, refused (allow_symlink is off for this file); nothing changed", path);
    std::error_code ec;
    path_ = fs::canonical(path, ec).string();
    if (ec) return fmt::format("cannot resolve the symbolic link {}: {}", path, ec.message());
  }
  // A concurrent edit renames a new file over the one locked: lock again until the locked file is the file.
  for (;;) {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the open
    fd_ = ::open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) return fmt::format("cannot read {}: {}", path_, errno_text());
    if (::fstat(fd_, &read_) != 0 || !S_ISREG(read_.st_mode))
      return fmt::format("{} is not a regular file; nothing changed", path_);
    if (const int e = lock_until(fd_, deadline); e != 0) {
      timed_out = e == ETIMEDOUT;
      return timed_out ? fmt::format("waiting for the lock on {} (another process holds it); nothing changed", path_)
                       : fmt::format("cannot lock {}: {}", path_, errno_text(e));
    }
    struct stat now {};
    if (::fstat(fd_, &read_) == 0 && ::stat(path_.c_str(), &now) == 0 && same_file(read_, now)) return "";
    ::close(fd_);
    fd_ = -1;
    if (steady::now() >= deadline) {
      timed_out = true;
      return fmt::format("waiting for {} to stop being replaced; nothing changed", path_);
    }
  }
}

std::string LockedFile::read(std::string& text, std::size_t limit) {
  text.clear();
  if (read_.st_size > 0 && static_cast<std::size_t>(read_.st_size) > limit)
    return fmt::format("{} holds {} bytes, more than the {} a config file may hold; nothing changed", path_,
                       static_cast<long long>(read_.st_size), limit);
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return fmt::format("cannot read {}: {}", path_, errno_text());
    if (n == 0) return "";
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > limit)  // grew since it was opened
      return fmt::format("{} holds more than the {} bytes a config file may hold; nothing changed", path_, limit);
  }
}

std::string LockedFile::replace(const std::string& text, const std::function<void()>& before_rename) {
  const fs::path target(path_);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".govjobd-XXXXXX")).string();
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return fmt::format("cannot create a temporary file in {}: {}", dir.string(), errno_text());
  auto fail = [&](std::string problem) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    return problem;
  };
  // owner first: chown clears the set-id bits that the mode then restores
  if (::fchown(fd, read_.st_uid, read_.st_gid) != 0)
    return fail(fmt::format("cannot give {} its owner {}:{} back: {}; nothing changed", temp, read_.st_uid,
                            read_.st_gid, errno_text()));
  if (::fchmod(fd, read_.st_mode & 07777) != 0)
    return fail(fmt::format("cannot give {} its mode back: {}; nothing changed", temp, errno_text()));
  if (std::string e = write_all(fd, text); !e.empty()) return fail(fmt::format("cannot write {}: {}", temp, e));
  if (::fsync(fd) != 0) return fail(fmt::format("cannot flush {}: {}", temp, errno_text()));
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) return fail(fmt::format("cannot flush {}: {}", temp, errno_text()));
  if (before_rename) before_rename();
  struct stat now {};
  if (::stat(path_.c_str(), &now) != 0 || !unchanged(read_, now))
    return fail(fmt::format("{} was replaced or rewritten by someone else while it was being edited; nothing changed",
                            path_));
  if (::rename(temp.c_str(), path_.c_str()) != 0) return fail(fmt::format("cannot replace {}: {}", path_, errno_text()));
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return "";
}

}  // namespace govjobd::executors
