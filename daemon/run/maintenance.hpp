#pragma once

// The daemon's upkeep, as three services whose run_once() does one round against the database and returns
// what it did: the heartbeat (this worker's liveness and its jobs' leases), the reaper (jobs of lost workers
// end FAILED) and retention (terminal jobs past their keep time deleted, one batch per round). Each runs on the
// database thread; Maintenance drives them on the loop, each by its own PeriodicTimer.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/store/run_store.hpp"

namespace govjobd::run {

// What the services need of the database (store::Store's methods; a fake in unit tests).
class MaintenanceStore {
 public:
  using Decide = std::function<store::ReapDecision(const store::LostJob&)>;
  virtual ~MaintenanceStore() = default;
  virtual store::HeartbeatResult worker_heartbeat(const store::WorkerHeartbeatParams& p) = 0;
  virtual void worker_register(const std::string& worker_id, const std::string& host, int pid,
                               const std::string& version, const store::WorkerServes& serves) = 0;
  // Ends up to p.limit jobs whose lease ran out (and whose worker this one saw beat p.hold ago), each as
  // `decide` says; the number ended.
  virtual int job_reap(const store::JobReapParams& p, const Decide& decide) = 0;
  virtual int jobs_delete_terminal(const store::JobsDeleteTerminalParams& p) = 0;
  virtual int workers_delete_gone(const store::WorkersDeleteGoneParams& p) = 0;
};

struct WorkerIdentity {
  std::string worker_id;
  std::string host;
  int pid = 0;
  std::string version;
};

// What a heartbeat records besides liveness (docs/fleet.md): what the daemon serves and what its latest
// health snapshot sees BLOCKED.
struct FleetState {
  store::WorkerServes serves;
  std::optional<std::vector<std::string>> blocked_targets;  // none: no snapshot yet
  bool host_blocked = false;
  std::vector<std::string> backup_for;  // jobs this daemon was woken as backup for (daemon/run/wake.hpp)
};

class Heartbeat {
 public:
  struct Outcome {
    bool ok = false;            // the beat committed: the leases of `running` are renewed
    bool registered = false;    // the worker's row was gone (deleted by hand): registered again
    std::string error;          // why it failed, when it did not commit
    std::vector<std::string> live_workers;   // as the beat read them
    std::vector<std::string> still_pending;  // of FleetState::backup_for
    double notify_queue_usage = 0;           // how full PostgreSQL's NOTIFY queue is, 0 to 1
  };
  Heartbeat(WorkerIdentity who, std::chrono::milliseconds lease) : who_(std::move(who)), lease_(lease) {}
  // A lost connection (store::DatabaseUnavailable) goes through: the database thread runs the round again.
  Outcome run_once(MaintenanceStore& store, const std::vector<std::string>& running, const FleetState& fleet = {}) const;

 private:
  WorkerIdentity who_;
  std::chrono::milliseconds lease_;
};

class Reaper {
 public:
  static constexpr int kBatch = 100;
  struct Outcome {
    int reaped = 0;
    int cancelled = 0;  // of them: ended CANCELLED by a request their lost worker never acted on
  };
  // hold: after an outage every lease may have run out, the live workers' too: a job is left alone until its
  // owner had the time to beat again (a lease, a heartbeat and the longest reconnect backoff).
  Reaper(std::string worker_id, std::chrono::milliseconds lease, std::chrono::milliseconds hold,
         long long max_steps_bytes = 8 << 20)
      : params_{std::move(worker_id), lease, hold, kBatch, max_steps_bytes} {}
  Outcome run_once(MaintenanceStore& store) const;

 private:
  store::JobReapParams params_;
};

class Retention {
 public:
  struct Outcome {
    int deleted = 0;
    int workers_deleted = 0;  // rows of daemons gone longer than keep and a lease, once no job batch is full
    bool more = false;  // a batch was full: run again (after what else waits for the database)
  };
  Retention(std::chrono::milliseconds keep, int batch_size, std::chrono::milliseconds lease)
      : params_{keep, batch_size}, lease_(lease) {}
  Outcome run_once(MaintenanceStore& store) const;
  std::chrono::milliseconds keep() const { return params_.keep; }

 private:
  store::JobsDeleteTerminalParams params_;
  std::chrono::milliseconds lease_;
};

// What the reaper records for a job whose worker was lost: the step in flight FAILED, the rest SKIPPED.
store::ReapDecision decide_reap(const store::LostJob& lost);
// decide_reap, or when the row's content makes it throw, a minimal ending: never an exception.
store::ReapDecision decide_reap_contained(const store::LostJob& lost);

}  // namespace govjobd::run
