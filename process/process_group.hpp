#pragma once

// Private to process/: the kill sequence and the reaping of one child's process group.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace govjobd::process {

// The process group a child leads. Boost.Process's terminate() and ~child() SIGKILL only the direct pid and
// grandchildren survive (STACK_NOTES trap 6): this signals the whole group, SIGTERM then SIGKILL after the
// grace, and once the leader has exited reaps what the leader left in it and says when it is empty.
class ProcessGroup : public std::enable_shared_from_this<ProcessGroup> {
 public:
  ProcessGroup(boost::asio::io_context& io, pid_t pgid, std::chrono::milliseconds kill_grace);

  // SIGTERM to the group now, SIGKILL after the grace unless it is gone by then. Only the first call acts.
  void terminate();

  // The leader exited (Boost.Process reaped it). Whatever stays in the group is terminated (trap 7: a
  // background grandchild would hold the output pipes open), its members are reaped as they die, and `gone`
  // runs once none is left, or 2 s after SIGKILL when one cannot die (every wait is bounded).
  void leader_exited(std::function<void()> gone);

  bool alive() const;
  bool killed() const { return kill_sent_; }

  // Stops the timers and drops `gone` (the run is over).
  void close();

 private:
  void signal(int sig);
  void poll();

  pid_t pgid_;
  std::chrono::milliseconds kill_grace_;
  boost::asio::steady_timer grace_timer_, poll_timer_;
  std::function<void()> gone_handler_;
  bool term_sent_ = false;
  bool kill_sent_ = false;
  bool gone_ = false;
  std::chrono::steady_clock::time_point kill_sent_at_{};
};

}  // namespace govjobd::process
