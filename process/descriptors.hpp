#pragma once

#include <sys/resource.h>

namespace govjobd::process {

// The child's half of "no inherited descriptors", run between vfork and exec (async-signal-safe).
// `close_range_result` is what close_range(first, ~0U, CLOSE_RANGE_CLOEXEC) returned; when it failed (ENOSYS
// before Linux 5.9, EINVAL before 5.11, or a seccomp filter), every descriptor from `first` below `limit` is
// marked close-on-exec one by one.
void cloexec_descriptors(long close_range_result, int first, int limit);

// One more than the highest descriptor this process can hold: RLIMIT_NOFILE's soft limit (a descriptor at or
// above it exists only when the limit was lowered after it was opened, which govjobd never does).
int descriptor_limit();

// RLIMIT_NOFILE's soft limit before and after raise_open_files_limit(), and the hard limit.
struct OpenFilesLimit {
  long long before = 0;
  long long soft = 0;
  long long hard = 0;
};

// Raises RLIMIT_NOFILE's soft limit to the hard one: the daemon's descriptors grow with its concurrency (see
// run/descriptor_budget.hpp). Children started afterwards get the soft limit back as it was (as systemd does:
// programs that use select() or close every descriptor up to the limit expect a small one). Idempotent.
OpenFilesLimit raise_open_files_limit();

// The RLIMIT_NOFILE a child gets back, or null when it keeps the daemon's (the limit was never raised). Set
// once at start-up, before any spawn; read between vfork and exec.
const rlimit* child_open_files_limit();

}  // namespace govjobd::process
