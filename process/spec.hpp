#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process/identity.hpp"

namespace govjobd::process {

// What to run, and within which bounds.
struct Spec {
  std::vector<std::string> argv;           // argv[0]: a path, or a name looked up in the daemon's PATH; never a shell
  std::map<std::string, std::string> env;  // the child's whole environment
  std::string stdin_bytes;                 // written to stdin, which is then closed
  std::string workdir;                     // entered after the identity drop; empty: the daemon's
  std::shared_ptr<const Identity> identity;  // null: the daemon's user (a drop needs the daemon to be root)
  std::optional<std::chrono::steady_clock::time_point> deadline;  // then it is stopped as StopReason::Deadline
  std::chrono::milliseconds kill_grace{5000};  // between SIGTERM and SIGKILL to the group
  std::size_t max_output_bytes = 64 * 1024;    // kept per stream; the rest is counted
  std::function<void()> on_spawned;            // may be null; runs once the child runs
};

// The named variables of the daemon's own environment that are set (an allowlist to pass through).
std::map<std::string, std::string> inherited_environment(const std::vector<std::string>& names);

}  // namespace govjobd::process
