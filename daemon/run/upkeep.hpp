#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "daemon/run/end_reason.hpp"
#include "daemon/run/maintenance.hpp"
#include "daemon/run/periodic.hpp"

namespace govjobd::run {

class DbWorker;
class Metrics;

// How long running steps may go on without a heartbeat that succeeds. A lease runs out lease_timeout after
// the heartbeat that renewed it; then another daemon's reaper may end the jobs and release their targets to
// other jobs, so the steps are stopped before: the lease less the longest process kill_grace (SIGTERM to
// SIGKILL) and a margin of 1 s (a quarter lease at most). Never less than three quarters of the lease or two
// heartbeat intervals, so that a slow heartbeat is not taken for a lost one.
// `lease`: the one the heartbeat renewed with, when a reload changed it since (the shorter counts).
std::chrono::milliseconds lease_fence_after(const config::Settings& settings,
                                            std::optional<std::chrono::milliseconds> lease = std::nullopt);
// Whether lease_fence_after() leaves the longest kill_grace and the margin before the lease's end.
bool lease_fence_fits(const config::Settings& settings);

// Drives the maintenance services on the loop: each on its own timer, its round on a database thread, its
// outcome back on the loop. The periods are read from `settings` at every round (a reload changes them).
class Upkeep {
 public:
  struct Hooks {
    std::function<std::vector<std::string>()> running;  // the jobs whose leases the heartbeat renews
    std::function<bool()> database_up;
    std::function<void(bool ok)> heartbeat_changed;      // heartbeats began to fail, or succeed again
    std::function<void()> before_heartbeat;              // at each beat, on the loop (stray children reaped)
    std::function<FleetState()> fleet;                   // what the heartbeat records of routing and health
    // what a committed beat read: the live workers, and which jobs this daemon is backup for are still PENDING
    std::function<void(std::vector<std::string>, std::vector<std::string>)> beat_read;
    // the lease is lapsing (fence_after() without a heartbeat): every running job stops with `why`
    std::function<void(const EndReason& why)> stop_all;
  };
  Upkeep(boost::asio::io_context& io, DbWorker& db, DbWorker& writes, const config::Settings& settings,
         WorkerIdentity who, Metrics& metrics, Hooks hooks);
  ~Upkeep();
  void start();
  void stop();
  // After a reload: retention starts, stops, or starts over at its new interval.
  void settings_reloaded();
  // No claims while heartbeats fail, or while the lease lapses (one hangs).
  bool heartbeat_ok() const { return heartbeat_ok_ && !lapsed_; }
  std::chrono::milliseconds fence_after() const;

 private:
  void beat();
  void reap();
  void retain(int jobs, int workers);  // the rows deleted so far in this round
  // a heartbeat committed, renewing leases of `lease`
  void renewed(std::chrono::steady_clock::time_point attempt, std::string wall, std::chrono::milliseconds lease);
  void arm_fence();
  void lease_lapsing();
  void stop_running();  // every running job, as a lost worker's (once lapsed: also jobs started since)
  void notify_queue_read(double usage);  // the heartbeat's reading: the gauge, and a warning each 10 % up
  std::chrono::milliseconds lease() const { return settings_.worker.lease_timeout; }

  DbWorker& db_;
  DbWorker& writes_;
  const config::Settings& settings_;
  WorkerIdentity who_;
  Metrics& metrics_;
  Hooks hooks_;
  boost::asio::io_context& io_;
  PeriodicTimer heartbeat_timer_, reaper_timer_, retention_timer_;
  struct Fence;  // the timer that fires fence_after() past the last heartbeat that succeeded
  std::unique_ptr<Fence> fence_;
  bool heartbeat_ok_ = true, heartbeat_in_flight_ = false, stopped_ = false, lapsed_ = false;
  int notify_queue_tenths_ = 0;  // the NOTIFY queue's warned mark, in tenths (lowered half a step below it)
};

}  // namespace govjobd::run
