#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/settings.hpp"
#include "daemon/model/timestamp.hpp"
#include "daemon/store/fleet.hpp"
#include "daemon/store/run_store.hpp"
#include "daemon/store/store_errors.hpp"

namespace govjobd::store {

struct MigrationReport {
  int previous_version = 0;
  int current_version = 0;
  std::vector<std::string> applied;  // file names, in order
};

struct JobEnqueueParams {
  std::string contract_id;
  nlohmann::json steps;  // already validated by model::parse_steps
  int timeout_minutes = 60;
  std::string created_by;
};

struct JobListParams {
  std::optional<std::string> status;
  int limit = 100;
  std::optional<std::string> contract_id;  // a UUID
  std::optional<model::Timestamp> since;   // created at or after
  std::optional<std::chrono::milliseconds> within;  // created at most this long before the database's now
  std::optional<std::string> target_glob;  // a step's target matches (* and ?)
  std::optional<std::string> step_type;    // a step has this type
};

struct JobSummary {
  std::string job_id;
  std::string contract_id;
  std::string status;
  std::optional<std::string> status_reason;
  int current_step_index = 0;
  int total_steps = 0;
  std::optional<model::Timestamp> created_at;
  std::optional<model::Timestamp> started_at;
  std::optional<model::Timestamp> completed_at;
  std::optional<model::Timestamp> timeout_at;
  std::optional<std::string> created_by;
  double age_seconds = 0;                   // since created_at, by the database's clock
  std::optional<double> duration_seconds;   // started to completed, or to now while RUNNING
};

// One row of governance_job_transitions (`jobs watch`).
struct TransitionRow {
  long long transition_id = 0;
  std::string job_id;
  std::optional<std::string> from_status;  // none: the job's creation
  std::string to_status;
  std::optional<int> step_index;
  std::string reason;
  std::string transitioned_by;
  std::optional<model::Timestamp> transitioned_at;
};

struct JobCancelParams {
  std::string job_id;
  std::string reason;
  std::string requested_by;
};

enum class CancelOutcome { Cancelled, Requested };

// Bounds on every later statement of a connection: statement_timeout and lock_timeout.
struct ConnectionTimeouts {
  std::chrono::milliseconds statement{60'000};
  std::chrono::milliseconds lock{30'000};
};

// The only code that talks to PostgreSQL. One connection; every method is one transaction and takes and
// returns plain structs. Throws DatabaseUnavailable, SchemaMismatch or RequestRejected.
class Store {
 public:
  // url: a libpq URI or key=value string; empty uses libpq's PG* environment.
  // jobs_schema: where the creating system's governance_jobs table is (database.jobs_schema).
  // contract: the contract gate; when enabled, claims read the contracts table it names (job_claim.sql).
  static std::unique_ptr<Store> connect(const std::string& url, const std::string& jobs_schema = "public",
                                        const config::ContractSettings& contract = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Bounds every later statement of this connection (the daemon's: no wait on the database is unbounded).
  void set_timeouts(const ConnectionTimeouts& timeouts);

  MigrationReport migrate();
  int schema_version();  // 0 when never migrated
  // Throws SchemaMismatch unless the database is at exactly the version this binary knows.
  void check_schema_version();

  std::string job_enqueue(const JobEnqueueParams& params);  // the new job_id
  std::vector<JobSummary> job_list(const JobListParams& params);
  // Every column plus "transitions"; a column's value larger than max_value_bytes as JSON text is a note of its size.
  std::optional<nlohmann::json> job_get(const std::string& job_id, long long max_value_bytes = 8 << 20);
  CancelOutcome job_cancel(const JobCancelParams& params);
  // Every broken invariant of the recorded evidence: (job_id, problem). `since`: created_at lower bound.
  std::vector<std::pair<std::string, std::string>> jobs_verify(const std::optional<std::string>& since);

  // `jobs watch` (store_watch.cpp): transitions after `after_id` (of one job, or all), oldest first; the newest
  // transition's id (0: none); a job's status (none: no such job).
  std::vector<TransitionRow> transitions_after(long long after_id, const std::optional<std::string>& job_id, int limit);
  long long transition_last_id();
  std::optional<std::string> job_status(const std::string& job_id);
  // At most two job_ids from `low` to `high` (a prefix's range).
  std::vector<std::string> job_ids_between(const std::string& low, const std::string& high);

  // The run loop (store_run.cpp).
  void worker_register(const std::string& worker_id, const std::string& host, int pid, const std::string& version,
                       const WorkerServes& serves = {});
  HeartbeatResult worker_heartbeat(const WorkerHeartbeatParams& p);
  void worker_stop(const std::string& worker_id);
  // Claims up to p.limit PENDING jobs. A claim that fails on a row's data (not a lost connection) is made
  // again job by job, so that the row is found and claimed alone for its worker to fail (claim_error).
  ClaimResult job_claim(const JobClaimParams& p);
  // The PENDING jobs to claim only to end them: deadline passed, or no live daemon serves them (jobs_to_end.sql).
  std::vector<JobToEnd> jobs_to_end(const JobsToEndParams& p);
  // Target holds whose job is not RUNNING (a claim that got only part of a job's targets, an end not ours).
  int target_holds_release();
  // Wakes the next daemon for a new job this one did not take, while the job is PENDING (job_wake_pass.sql).
  void job_wake_pass(const std::string& job_id, const std::string& payload);
  // All in one transaction (one commit for the batch), one statement per round (queries/job_write_batch.sql);
  // when the batch fails, each write is retried in a transaction of its own.
  std::vector<WriteResult> job_write_batch(const std::vector<JobWrite>& writes);
  // The writes and a claim (for the slots their ends free) in one transaction: one commit, one WAL flush for
  // both. When the database refuses either, the writes go as job_write_batch, then the claim as job_claim.
  WriteAndClaim job_write_and_claim(const std::vector<JobWrite>& writes, const JobClaimParams& claim);
  std::vector<CancelRequest> job_cancel_requests(const std::string& worker_id);
  // Ends up to p.limit lost jobs FAILED, each as `decide` says; returns how many. Only jobs whose owner's
  // silence this worker witnessed (job_reap_candidates.sql): p.hold after its own heartbeats resumed.
  int job_reap(const JobReapParams& p, const std::function<ReapDecision(const LostJob&)>& decide);
  long long jobs_pending_count();
  // With the contract gate on: what keeps the claim from reading the contracts table as configured (missing
  // table or column, a type it cannot read, no SELECT for this role), each naming its config key; empty: none.
  std::vector<std::string> contract_table_problems();
  // With the contract gate on: parks the scheduled starts among the next jobs of the claim's walk, and reads
  // parked jobs against their contract rows again (store_contract.cpp, queries/jobs_window_pass.sql).
  WindowPassResult jobs_window_pass(const WindowPassParams& p);
  long long signal_record(const SignalRow& signal);  // the signal's id
  // Retention: one batch each; return how many jobs, or worker rows, were deleted.
  int jobs_delete_terminal(const JobsDeleteTerminalParams& p);
  int workers_delete_gone(const WorkersDeleteGoneParams& p);

  // Operating the fleet (store_fleet.cpp, docs/fleet.md).
  std::optional<long long> pause_create(const PauseParams& p);  // the pause_id; none: its until is not ahead
  // The pauses ended, in order; RequestRejected for a pause_id not found or already ended. Wakes every daemon.
  std::vector<long long> pause_resume(const PauseResumeParams& p);
  std::vector<Pause> pause_list(bool include_ended, int limit);  // newest first
  // Why a PENDING job is not running: one object per reason, {"reason": kWaitingReasons[i], details...}, in
  // that order; empty when the job is not PENDING. `lease`: a worker that beat within it is live.
  std::vector<nlohmann::json> job_waiting(const std::string& job_id, std::chrono::milliseconds lease);
  FleetStatus fleet_status(const FleetStatusParams& p);
  std::map<std::string, long long> jobs_count_by_status();
  std::vector<TargetHold> target_holds_list(int limit);
  WorkerList worker_list(std::chrono::milliseconds lease, int limit);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::optional<std::string> claim_of_none_fails(const JobClaimParams& p);
  ClaimResult claim_isolating(const JobClaimParams& p, const std::string& excluded,
                              const std::function<void(const std::string&, ClaimResult&)>& claim_one);
  void claim_alone(const JobClaimParams& p, const std::string& job_id, const std::string& message, ClaimResult& out);
  std::unique_ptr<Impl> impl_;
};

// The newest migration this binary carries.
int latest_schema_version();

// The URL (or key=value string) with bounds on every network wait that it does not set itself: connect
// within 10 s (unless PGCONNECT_TIMEOUT says otherwise), TCP keepalives after 10 s idle, and unacknowledged
// data given up after 30 s. A host that silently drops packets then ends in an error, not a hang.
std::string with_connection_bounds(const std::string& url);

}  // namespace govjobd::store
