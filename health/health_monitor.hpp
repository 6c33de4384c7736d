#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "config/settings.hpp"
#include "daemon/model/job_types.hpp"
#include "health/health_state.hpp"
#include "health/probe.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::health {

// Takes HealthSnapshots: every capability probe at once on the loop, plus the system checks. Observes,
// never changes anything. With a cache TTL, snapshots within the TTL reuse the last one. Command probes
// track their children in `reaper`, which the daemon owns.
class HealthMonitor {
 public:
  HealthMonitor(boost::asio::io_context& io, config::HealthSettings settings,
                std::shared_ptr<process::ChildReaper> reaper);
  ~HealthMonitor();
  void snapshot(std::function<void(model::HealthSnapshot)> done);
  // Told of every snapshot taken, whoever asked (a job's gate, the daemon's background refresh).
  void on_snapshot(std::function<void(const model::HealthSnapshot&)> listener) { listener_ = std::move(listener); }

 private:
  struct Pending;
  boost::asio::io_context& io_;
  config::HealthSettings settings_;
  std::map<std::string, std::unique_ptr<Probe>> probes_;
  std::optional<model::HealthSnapshot> cached_;
  std::chrono::steady_clock::time_point cached_at_{};
  std::shared_ptr<Pending> in_flight_;  // concurrent callers share one round of probes
  std::function<void(const model::HealthSnapshot&)> listener_;
};

// True when nothing in the snapshot is BLOCKED (the exit status of `govjobd health`).
bool nothing_blocked(const model::HealthSnapshot& snapshot);

// The worst state in the snapshot, the system's and every capability's (a state it cannot read counts as
// BLOCKED): `govjobd health` exits with it as monitoring plugins do (0, 1, 2).
HealthState worst_state(const model::HealthSnapshot& snapshot);

}  // namespace govjobd::health
