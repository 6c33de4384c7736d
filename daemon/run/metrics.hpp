#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/model/job_types.hpp"

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

// What the daemon counts, rendered in the Prometheus text format. Loop-thread only.
class Metrics {
 public:
  void jobs_claimed(int n, double claim_seconds);
  // `reason_class` is EndReason::metric_class(): completed | step_failed | job_timeout | invalid_job |
  // contract_refused | health_blocked | worker_lost | cancelled | shutdown | other
  void job_finished(std::string_view status, std::string_view reason_class, long long n = 1);
  void step_finished(const std::string& step_type, double seconds);
  void set_running(int n) { running_ = n; }
  void health_observed(const model::HealthSnapshot& snapshot);
  void set_database_reconnects(int n) { reconnects_ = n; }
  // The fleet's queue as the database says (docs/fleet.md): PENDING jobs, the oldest one's age, and PENDING
  // jobs by why they wait (paused | contract_window | unserved | target_blocked | target_held | slots).
  void set_queue(long long pending, double oldest_pending_seconds, std::map<std::string, long long> by_reason);
  std::string render() const;

 private:
  long long claimed_ = 0;
  std::map<std::pair<std::string, std::string>, long long> finished_;  // (status, reason class)
  std::map<std::string, Histogram> step_seconds_;
  Histogram claim_seconds_{{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1}};
  int running_ = 0;
  std::map<std::string, int> health_;  // capability (and "system") -> 0 HEALTHY, 1 DEGRADED, 2 BLOCKED
  int reconnects_ = 0;
  bool queue_known_ = false;
  long long pending_ = 0;
  double oldest_pending_seconds_ = 0;
  std::map<std::string, long long> pending_by_reason_;
};

}  // namespace govjobd::run
