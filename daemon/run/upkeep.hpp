#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "daemon/run/maintenance.hpp"
#include "daemon/run/periodic.hpp"

namespace govjobd::run {

class DbWorker;
class Metrics;

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
  };
  Upkeep(boost::asio::io_context& io, DbWorker& db, DbWorker& writes, const config::Settings& settings,
         WorkerIdentity who, Metrics& metrics, Hooks hooks);
  void start();
  void stop();
  // After a reload: retention starts, stops, or starts over at its new interval.
  void settings_reloaded();
  bool heartbeat_ok() const { return heartbeat_ok_; }

 private:
  void beat();
  void reap();
  void retain(int jobs, int workers);  // the rows deleted so far in this round
  std::chrono::milliseconds lease() const { return settings_.worker.lease_timeout; }

  DbWorker& db_;
  DbWorker& writes_;
  const config::Settings& settings_;
  WorkerIdentity who_;
  Metrics& metrics_;
  Hooks hooks_;
  boost::asio::io_context& io_;
  PeriodicTimer heartbeat_timer_, reaper_timer_, retention_timer_;
  bool heartbeat_ok_ = true, heartbeat_in_flight_ = false, stopped_ = false;
};

}  // namespace govjobd::run
