#include "process/descriptors.hpp"

#include <fcntl.h>

#include <climits>

namespace govjobd::process {

namespace {

// The RLIMIT_NOFILE children get: the daemon's own as it was before raise_open_files_limit(). The limit is
// process-wide, so its saved value is too.
bool g_restore_child_nofile = false;
rlimit g_child_nofile{};

}  // namespace

void cloexec_descriptors(long close_range_result, int first, int limit) {
  if (close_range_result == 0) return;
  for (int fd = first; fd < limit; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // EBADF for the closed ones: fine
}

int descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1 << 20;  // the kernel's default fs.nr_open
  return limit.rlim_cur > static_cast<rlim_t>(INT_MAX) ? INT_MAX : static_cast<int>(limit.rlim_cur);
}

OpenFilesLimit raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  const auto as_number = [](rlim_t v) { return v == RLIM_INFINITY ? LLONG_MAX : static_cast<long long>(v); };
  OpenFilesLimit out{as_number(limit.rlim_cur), as_number(limit.rlim_cur), as_number(limit.rlim_max)};
  if (limit.rlim_cur == limit.rlim_max) return out;
  if (!g_restore_child_nofile) {
    g_child_nofile = limit;
    g_restore_child_nofile = true;
  }
  rlimit raised{limit.rlim_max, limit.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) out.soft = out.hard;
  return out;
}

const rlimit* child_open_files_limit() { return g_restore_child_nofile ? &g_child_nofile : nullptr; }

}  // namespace govjobd::process
