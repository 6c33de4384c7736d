#pragma once

#include <sys/types.h>

#include <mutex>
#include <set>
#include <vector>

namespace govjobd::process {

// Reaps zombie children that no running child of the runner owns: descendants that left their group
// (setsid) and were handed to us as subreaper when their parent died. The runner tracks each leader it
// spawned from spawn to exit (Boost.Process reaps those), and the reaper leaves them alone. The daemon owns
// one and passes it down to everything that spawns (executors, health probes).
class ChildReaper {
 public:
  // A leader the runner spawned (true) or saw exit (false). Thread-safe.
  void track(pid_t leader, bool running);

  // Reaps the zombie children of this process that are not tracked leaders; returns how many. Only for a
  // process whose children all come from the runner (the daemon).
  int reap_strays();

 private:
  std::mutex mutex_;
  std::set<pid_t> leaders_;
};

// Makes the calling process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER) and ignores
// SIGPIPE, so that a child's leftover processes can be reaped and a child closing its stdin cannot kill us.
// Idempotent; the daemon and the tests call it once at start-up.
void prepare_process_for_children();

// The zombie children of `parent`, read from /proc.
std::vector<int> zombie_children(int parent);

}  // namespace govjobd::process
