#include "process/process_group.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <utility>

namespace govjobd::process {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

constexpr milliseconds kGroupPollInterval{10};
constexpr milliseconds kReapGiveUp{2000};  // after SIGKILL, how long to wait for the group to be reaped

}  // namespace

ProcessGroup::ProcessGroup(boost::asio::io_context& io, pid_t pgid, milliseconds kill_grace)
    : pgid_(pgid), kill_grace_(kill_grace), grace_timer_(io), poll_timer_(io) {}

void ProcessGroup::terminate() {
  if (gone_ || term_sent_) return;
  signal(SIGTERM);
  grace_timer_.expires_after(kill_grace_);
  grace_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (!e && !self->gone_) self->signal(SIGKILL);
  });
}

void ProcessGroup::leader_exited(std::function<void()> gone) {
  gone_handler_ = std::move(gone);
  if (alive()) terminate();
  poll();
}

bool ProcessGroup::alive() const { return pgid_ > 0 && (::kill(-pgid_, 0) == 0 || errno == EPERM); }

void ProcessGroup::close() {
  gone_handler_ = nullptr;
  grace_timer_.cancel();
  poll_timer_.cancel();
}

void ProcessGroup::signal(int sig) {
  if (pgid_ > 0) ::kill(-pgid_, sig);
  if (sig == SIGTERM) term_sent_ = true;
  if (sig == SIGKILL && !kill_sent_) {
    kill_sent_ = true;
    kill_sent_at_ = steady::now();
  }
}

void ProcessGroup::poll() {
  if (gone_) return;
  // Orphans of the group are ours to reap (subreaper); only the group's pids, never another child's.
  while (::waitpid(-pgid_, nullptr, WNOHANG) > 0) {
  }
  const bool gave_up = kill_sent_ && steady::now() - kill_sent_at_ > kReapGiveUp;
  if (!alive() || gave_up) {
    gone_ = true;
    grace_timer_.cancel();
    poll_timer_.cancel();
    if (auto gone = std::exchange(gone_handler_, nullptr)) gone();
    return;
  }
  poll_timer_.expires_after(kGroupPollInterval);
  poll_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (!e) self->poll();
  });
}

}  // namespace govjobd::process
