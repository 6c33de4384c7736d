#pragma once

#include <memory>
#include <vector>

#include "config/settings.hpp"
#include "executors/step_executor.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::executors {

// Runs a step as a child process (Boost.Process v1, no shell): argv from config with placeholders
// substituted inside single arguments; the step as one JSON document on stdin; an allowlisted environment
// plus GOVJOBD_* variables; its own process group; no inherited descriptors. On its deadline or a cancel:
// SIGTERM to the group, kill_grace, SIGKILL. Output is captured up to max_output_bytes per stream.
class ProcessExecutor : public StepExecutor {
 public:
  ProcessExecutor(boost::asio::io_context& io, config::ExecutorSettings settings);
  ~ProcessExecutor() override;
  void start(const model::JobStep& step, const StepContext& context, StepDone done) override;

  struct Identity;  // the user and group to switch to, resolved once

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<const config::ExecutorSettings> settings_;
  std::shared_ptr<const Identity> identity_;
};

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
// run/descriptor_budget.hpp). Steps started afterwards get the soft limit back as it was (as systemd does:
// programs that use select() or close every descriptor up to the limit expect a small one). Idempotent.
OpenFilesLimit raise_open_files_limit();

// Makes the calling process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER) and ignores
// SIGPIPE, so that a step's leftover processes can be reaped and a child closing its stdin cannot kill us.
// Idempotent; the daemon and the tests call it once at start-up.
void prepare_process_for_children();

// Reaps zombie children that no running step owns: descendants that left their step's process group
// (setsid) and were handed to us as subreaper when their parent died. Only for the daemon, whose only
// children are steps; returns how many were reaped.
int reap_stray_children();

// The zombie children of `parent`, read from /proc.
std::vector<int> zombie_children(int parent);

}  // namespace govjobd::executors
