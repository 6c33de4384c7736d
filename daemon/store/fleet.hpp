#pragma once

// The store's methods for operating the fleet (docs/fleet.md): pauses, why jobs wait, the fleet at a glance,
// as plain structs (see Store in store.hpp; implemented in store_fleet.cpp).

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/timestamp.hpp"

namespace govjobd::store {

// Why a PENDING job is not running, in the order a job is classified by its first (queries/job_waiting.sql).
inline constexpr std::array<std::string_view, 6> kWaitingReasons{"paused",        "contract_window", "unserved",
                                                                 "target_blocked", "target_held",     "slots"};

// A pause (queries/pause_insert.sql). Filters left empty match any job; `until` or `until_in` (from the
// database's now) end it by themselves, neither: until resumed.
struct PauseParams {
  std::optional<std::string> step_type;
  std::optional<std::string> target_glob;
  std::optional<std::string> pool;
  std::optional<model::Timestamp> until;
  std::optional<std::chrono::milliseconds> until_in;
  std::string reason;
  std::string paused_by;
};

struct Pause {
  long long pause_id = 0;
  std::optional<std::string> step_type;
  std::optional<std::string> target_glob;
  std::optional<std::string> pool;
  std::optional<model::Timestamp> until;
  std::string reason;
  std::string paused_by;
  std::optional<model::Timestamp> paused_at;
  std::optional<std::string> resumed_by;
  std::optional<model::Timestamp> resumed_at;
  bool active = false;  // not resumed, and its until (if any) still ahead
};

struct PauseResumeParams {
  std::optional<long long> pause_id;  // none: every active pause
  std::string resumed_by;
};

struct TargetHold {
  std::string target;
  std::string job_id;
  std::string held_by;
  std::optional<model::Timestamp> held_at;
};

// A worker row (queries/worker_list.sql); state: live, lost (not stopped, no heartbeat within the lease) or stopped.
struct WorkerRow {
  std::string worker_id;
  std::string host;
  std::string version;
  double heartbeat_age_seconds = 0;
  std::string state;
  long long running_jobs = 0;
  std::optional<int> concurrency;
  std::optional<std::vector<std::string>> serves_step_types;  // none: not recorded (a daemon before the fleet)
  std::optional<std::vector<std::string>> serves_targets;
  std::optional<std::vector<std::string>> serves_pools;
  std::optional<std::vector<std::string>> blocked_targets;
  std::optional<bool> host_blocked;
};

struct WorkerList {
  std::vector<WorkerRow> rows;  // at most the limit asked, live first
  long long live = 0, lost = 0, stopped = 0;  // all rows, by state
};

struct FleetStatusParams {
  std::chrono::milliseconds lease{30'000};  // a worker that beat within it is live
  int classify_limit = 10'000;              // the oldest PENDING jobs not parked classified by waiting reason
};

// The PENDING queue for operators and metrics.
struct FleetStatus {
  long long pending = 0;
  // the oldest job's wait, a parked one's since its opening came; none: nothing PENDING but parked jobs
  std::optional<double> oldest_pending_age_seconds;
  std::map<std::string, long long> pending_by_reason;  // every key of kWaitingReasons, over the jobs classified
  // jobs parked for activation windows still to open: all counted under contract_window, whatever else holds
  // them (jobs show lists each reason of one)
  long long parked = 0;
  // how many PENDING jobs were classified: the parked, and the oldest of the others (at most classify_limit)
  long long classified = 0;
  // how full PostgreSQL's NOTIFY queue is, 0 to 1 (queries/notify_queue_usage.sql)
  double notify_queue_usage = 0;
};

}  // namespace govjobd::store
