#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/model/job_types.hpp"
#include "daemon/run/end_reason.hpp"
#include "daemon/run/process_stats.hpp"
#include "daemon/store/fleet.hpp"

namespace govjobd::run {

// A Prometheus histogram: cumulative counts per upper bound, plus sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}
  void observe(double value);
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<long long> counts_;
  double sum_ = 0;
  long long count_ = 0;
};

// What the daemon counts, rendered in the Prometheus text format (docs/metrics.md lists every family).
// Loop-thread only. Every label value is one of a fixed set or a name from the daemon's own configuration
// (a step type, a capability): nothing a job row holds becomes a label.
class Metrics {
 public:
  // Pickups above this count as this: a created_at the writer set absurdly far back cannot swamp the sum.
  static constexpr double kMaxPickupSeconds = 366.0 * 24 * 3600;

  Metrics();
  void jobs_claimed(int n, double claim_seconds);
  // A job this daemon claimed to run: created_at (the writer's value) to started_at (the claim's). nullopt
  // (created_at NULL or infinite) is unknown and not observed; a created_at in the future counts as 0.
  void job_picked_up(std::optional<double> seconds);
  // Counted by why.status() and why.metric_class(): labels from the typed end reason, never from its text.
  void job_finished(const EndReason& why, long long n = 1);
  // A job this daemon ran ended: counted, and its duration (claim to end) observed by status.
  void job_ended(const EndReason& why, double seconds);
  // Jobs of lost workers this daemon's reaper ended (whatever their end: worker_lost, or cancelled).
  void jobs_reaped(long long n) { reaped_ += n; }
  void step_finished(const std::string& step_type, double seconds);
  void set_running(int n) { running_ = n; }
  // The gauges follow the latest snapshot, whoever took it (a job's gate, the background refresh); an older
  // one arriving late (a monitor replaced by a reload) changes nothing.
  void health_observed(const model::HealthSnapshot& snapshot);
  // The database accepted this daemon's heartbeat (its worker row and its jobs' leases renewed).
  void heartbeat_recorded(model::Timestamp at) { heartbeat_at_ = at; }
  // How full PostgreSQL's NOTIFY queue is, 0 to 1, as the last heartbeat read it.
  void notify_queue_read(double usage) { notify_queue_usage_ = usage; }
  // No heartbeat committed for the lease fence (daemon/run/upkeep.hpp): claims stopped, running jobs stopped
  // unless worker.stop_steps_without_lease is off.
  void lease_lapsed() { ++lease_lapses_; }
  // A periodic round of the fleet's (FleetWatch: "queue", "jobs_to_end", "holds_release", "window_pass") failed
  // or was skipped (timed out, refused by a grant or a policy): it tries again at its next period.
  void round_failed(const std::string& round) { ++rounds_failed_[round]; }
  // up: the daemon's last database operation or connection succeeded (false while it reconnects).
  void set_database(bool up, int reconnects) {
    database_up_ = up;
    reconnects_ = reconnects;
  }
  // The fleet's queue as the database says (docs/fleet.md): PENDING jobs, the oldest one's age, and PENDING
  // jobs by why they wait (paused | contract_window | unserved | target_blocked | target_held | slots).
  void set_queue(const store::FleetStatus& queue);
  // Reads /proc/self (at most once a second, see ProcessSampler).
  std::string render() const;

 private:
  void render_jobs(std::string& out) const;
  void render_daemon(std::string& out) const;
  void render_queue(std::string& out) const;
  void render_process(std::string& out) const;

  long long claimed_ = 0;
  std::map<std::pair<std::string, std::string>, long long> finished_;  // (status, reason class)
  std::map<std::string, Histogram> step_seconds_;
  Histogram claim_seconds_{{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1}};
  Histogram pickup_seconds_;
  std::map<std::string, Histogram> job_seconds_;  // by final status
  long long reaped_ = 0;
  long long lease_lapses_ = 0;
  std::map<std::string, long long> rounds_failed_{{"queue", 0}, {"jobs_to_end", 0}, {"holds_release", 0}, {"window_pass", 0}};
  int running_ = 0;
  std::map<std::string, int> health_;  // capability (and "system") -> 0 HEALTHY, 1 DEGRADED, 2 BLOCKED
  std::optional<model::Timestamp> health_at_;
  std::optional<model::Timestamp> heartbeat_at_;
  std::optional<double> notify_queue_usage_;
  bool database_up_ = true;
  int reconnects_ = 0;
  bool queue_known_ = false;
  long long pending_ = 0;
  double oldest_pending_seconds_ = 0;
  std::map<std::string, long long> pending_by_reason_;
  mutable ProcessSampler process_;  // a cache of /proc/self: rendering changes nothing else
};

}  // namespace govjobd::run
