#pragma once

#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <string>

namespace govjobd::executors {

// A configuration file opened for a compare-and-set: flock()ed exclusively (advisory: it orders govjobd's
// own edits, and those of any tool that takes the same lock) from before the read until after the rename.
class LockedFile {
 public:
  LockedFile() = default;
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;
  ~LockedFile();

  // Opens and locks `path`, waiting for the lock until `deadline`. A symbolic link is refused unless
  // `follow_symlink`, and then its target is what is edited. Returns "" or the problem; `timed_out` says
  // the problem is the deadline.
  std::string open(const std::string& path, bool follow_symlink, std::chrono::steady_clock::time_point deadline,
                   bool& timed_out);
  // The whole file, read through the locked descriptor, when it holds at most `limit` bytes. Returns "" or the
  // problem (a larger file: its size, nothing read past the limit).
  std::string read(std::string& text, std::size_t limit);
  // Writes `text` to a temporary file beside it with the file's owner, group and mode, fsyncs it, checks
  // that the file is still the one read (same device, inode, size and mtime: nothing replaced or rewrote
  // it meanwhile), renames it over the file and fsyncs the directory. `before_rename` runs just before the
  // check (tests). Returns "" or the problem; on a problem the file is untouched.
  std::string replace(const std::string& text, const std::function<void()>& before_rename = {});

  const std::string& path() const { return path_; }  // the file edited (a symlink's target)

 private:
  std::string path_;
  int fd_ = -1;
  struct stat read_ {};  // the file as it was read
};

}  // namespace govjobd::executors
