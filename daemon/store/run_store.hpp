#pragma once

// The store's methods for the run loop, as plain structs (see Store in store.hpp).

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/contract.hpp"
#include "daemon/model/timestamp.hpp"

namespace govjobd::store {

struct ClaimedJob {
  std::string job_id;
  std::optional<std::string> contract_id;
  std::optional<std::string> steps_json;  // the steps column as written by the creating system; none when NULL
                                          // or larger than the claim's limit (then steps_bytes says how large)
  std::optional<model::Timestamp> timeout_at;
  model::Timestamp started_at{};
  std::optional<int> current_step_index;  // set by the claim to the first step's index
  std::optional<long long> steps_bytes;   // the steps column's size as JSON text; none when NULL
  std::optional<std::string> claim_error; // the claim statement failed on this row: claimed alone, steps unread
  std::optional<model::ContractFacts> contract;  // the contract gate on: what the job's contract row held
  // Claimed to be ended, whatever its routing (JobClaimParams::force): its deadline passed, or no live
  // daemon serves it (`unserved` says what is missing; `served_step_types`, when a step type is among it, the
  // step types the live daemons serve).
  bool forced = false;
  std::optional<std::string> unserved;
  std::optional<std::set<std::string>> served_step_types;
  // created_at (the writer's value) to started_at, in seconds, for the metrics; none when created_at is NULL
  // or infinite (unknown). Negative when the writer's created_at is in the future.
  std::optional<double> pickup_seconds;
  // What a writer left in the columns govjobd records, which a PENDING job has none of: "step_results (an
  // array of 2 entries), execution_evidence" (step_results NULL, [] or JSON null is none). The claim started
  // them over; the job fails before its first step (queries/job_claim.sql).
  std::optional<std::string> preset;
  // Steps the claim would not write out (steps_bytes -1): where they nest past 100 levels or hold a number
  // past 1e300, "steps[0].step_index" (queries/job_claim.sql)
  std::optional<std::string> steps_unreadable;
};

struct JobClaimParams {
  std::string worker_id;
  int limit = 1;
  std::chrono::milliseconds lease{30'000};
  long long max_steps_bytes = 8 << 20;  // larger steps are not fetched (ClaimedJob::steps_bytes says how large)
  std::vector<std::string> excluded;    // job_ids never to claim: rows even an isolated claim failed on
  // Routing (docs/fleet.md): what this daemon serves and its latest health snapshot sees BLOCKED.
  std::vector<std::string> step_types;
  std::vector<std::string> targets{"*"};  // globs
  std::vector<std::string> pools;
  bool exclusive_targets = true;
  std::vector<std::string> blocked_targets;
  bool host_blocked = false;
  std::optional<std::string> only;  // claim this job only
  bool force = false;               // and whatever its routing, pauses and holds (to end it)
};

// A PENDING job this daemon should claim to end (queries/jobs_to_end.sql): its deadline passed, or no live
// daemon serves it (then `unserved` says what is missing).
struct JobToEnd {
  std::string job_id;
  std::optional<std::string> unserved;
  // a step type no live daemon has an executor for is among what is missing: those they have
  std::optional<std::set<std::string>> served_step_types;
};

struct JobsToEndParams {
  std::string worker_id;
  std::chrono::milliseconds lease{30'000};
  std::chrono::milliseconds unroutable_after{600'000};
  int limit = 100;
};

// A window pass (queries/jobs_window_pass.sql, docs/contract.md "Scheduled starts"): where each of its two
// reads goes on from; none: from the start of its list.
struct WindowPassPlace {
  std::optional<std::string> after_at;  // created_at, or window_opens_at, as PostgreSQL writes it
  std::optional<std::string> after_id;
};
struct WindowPassParams {
  int head_limit = 200;     // the first jobs of the claim's order, read by every pass
  int ready_limit = 1000;   // jobs not parked read, in the claim's order, after `ready`
  WindowPassPlace ready;
  int parked_limit = 1000;  // parked jobs read again, in their opening's order
  WindowPassPlace parked;
};
struct WindowPassResult {
  long long parked = 0, unparked = 0;
  WindowPassPlace ready, parked_next;  // where the next pass goes on (none: its list ended, start over)
  bool ready_full = false;             // ready_limit jobs were read: more follow
};

// The jobs claimed, and rows a claim failed on that could not even be claimed alone (never tried again by
// this daemon: see JobClaimParams::excluded).
struct ClaimResult {
  std::vector<ClaimedJob> jobs;
  std::vector<std::pair<std::string, std::string>> unclaimable;  // job_id, the database's message
  // The contract gate on and fewer jobs claimed than asked: jobs left PENDING because their contract's
  // activation window has not opened; the first opens in this long.
  std::optional<std::chrono::milliseconds> window_opens_in;
  // Holds taken for jobs the claim then left PENDING (another claim got one of their targets first): the
  // store released them (queries/target_holds_release.sql).
  long long partial_holds = 0;
  // PENDING jobs remain that this claim did not take (held, BLOCKED, paused, claimed by another, or more than
  // asked for): nothing will NOTIFY when they become claimable, so an idle daemon claims again at its poll.
  // A full claim says true without looking: true only adds a claim, and a claim that comes back short looks.
  bool left_behind = false;
  // Slots the claim left empty because jobs it picked stayed PENDING: another picked job, or another claim,
  // took one of their targets first (worker.exclusive_targets). The jobs behind them may be claimable now: the
  // claimer fills those slots with the ones this claim's jobs free, or 20 ms later (Claimer::group_wait).
  long long dropped = 0;
};

// One fenced write of a RUNNING job by its worker; see queries/job_write_batch.sql.
struct JobWrite {
  std::string job_id;
  std::string worker_id;
  std::optional<int> current_step_index;
  nlohmann::json append_results = nlohmann::json::array();
  std::optional<nlohmann::json> health_before;
  std::optional<nlohmann::json> health_after;
  std::optional<std::string> terminal_status;  // COMPLETED | FAILED | CANCELLED
  std::optional<std::string> status_reason;
  std::optional<nlohmann::json> evidence;
  std::optional<int> transition_step_index;
  // Not written: until when the write waits for a row another session holds locked (Recorder; none: until
  // the shutdown gives up), then WriteOutcome::Abandoned.
  std::optional<model::Timestamp> locked_wait_until;
};

// Applied: written. Fenced: the job is no longer RUNNING under this worker (cancelled, reaped): nothing
// written. Refused: the database refused this write on its own (not a lost connection): nothing written,
// and `refusal` holds its message. Locked: another session holds the job's row locked (the creating
// system's open transaction): nothing written, the other writes did not wait for it; to be written again.
// Abandoned: it stayed locked past the write's locked_wait_until or into a shutdown: nothing written, and
// the job writes nothing more (it stays RUNNING for the reaper); `refusal` says which.
enum class WriteOutcome { Applied, Fenced, Refused, Locked, Abandoned };

struct WriteResult {
  WriteOutcome outcome = WriteOutcome::Fenced;
  std::string refusal;
  bool operator==(const WriteResult&) const = default;
};

// The outcome of Store::job_write_and_claim: each write's, and the claim's (claim_error: it failed, not
// because the connection was lost; nothing was claimed).
struct WriteAndClaim {
  std::vector<WriteResult> writes;
  ClaimResult claim;
  std::optional<std::string> claim_error;
};

// What a daemon serves, recorded in its worker row (queries/worker_register.sql).
struct WorkerServes {
  std::vector<std::string> step_types;
  std::vector<std::string> targets;
  std::vector<std::string> pools;
  int concurrency = 0;
};

// Renews the worker and the leases of the RUNNING jobs it names (queries/worker_heartbeat.sql).
struct WorkerHeartbeatParams {
  std::string worker_id;
  std::vector<std::string> job_ids;  // the jobs it runs: only these leases are renewed
  std::chrono::milliseconds lease{30'000};
  // what its latest health snapshot sees BLOCKED (none: not recorded this time)
  std::optional<std::vector<std::string>> blocked_targets;
  bool host_blocked = false;
  std::optional<WorkerServes> serves;  // what it serves now (none: unchanged)
  std::vector<std::string> backup_for;  // jobs it was woken as backup for: which are still PENDING?
};

struct HeartbeatResult {
  bool worker_known = false;  // false: no row for this worker (it must register again)
  std::vector<std::string> live_workers;   // heartbeat within the lease, not stopped, sorted (at most 1,000)
  std::vector<std::string> still_pending;  // of backup_for
  double notify_queue_usage = 0;  // how full PostgreSQL's NOTIFY queue is, 0 to 1 (the whole cluster's)
};

struct CancelRequest {
  std::string job_id;
  std::string requested_by;
  std::string reason;
};

// A RUNNING job whose lease ran out, as the reaper finds it.
struct LostJob {
  std::string job_id;
  std::string claimed_by;
  std::optional<std::string> steps_json;  // none when NULL or larger than the reaper's limit: never fetched
  std::string step_results_json;
  int current_step_index = 0;
  std::optional<model::Timestamp> last_heartbeat;
  std::optional<model::Timestamp> lease_expires_at;
  std::optional<model::Timestamp> started_at;
  std::optional<std::string> cancel_requested_by;  // a cancel requested while it ran (govjobd.cancel_requests)
  std::optional<std::string> cancel_reason;
};

// Which lost jobs the reaper ends (queries/job_reap_candidates.sql).
struct JobReapParams {
  std::string worker_id;                    // the reaper's own
  std::chrono::milliseconds lease{30'000};  // a job whose lease ran out longer ago than this is lost
  std::chrono::milliseconds hold{0};        // and only once the reaper's own heartbeats have run this long
  int limit = 100;
  long long max_steps_bytes = 8 << 20;  // larger steps are not fetched (LostJob::steps_json is none)
};

struct ReapDecision {
  std::string status = "FAILED";  // CANCELLED when a cancel was requested before its worker was lost
  nlohmann::json append_results = nlohmann::json::array();
  std::string reason;
  std::optional<int> step_index;
  nlohmann::json evidence = nlohmann::json::object();
};

// Retention: one batch of terminal jobs completed longer ago than `keep`.
struct JobsDeleteTerminalParams {
  std::chrono::milliseconds keep{0};
  int batch_size = 500;
};

// The worker rows of daemons stopped or silent for longer than keep and a lease (queries/workers_delete_gone.sql).
struct WorkersDeleteGoneParams {
  std::chrono::milliseconds keep{0};
  std::chrono::milliseconds lease{0};
  int batch_size = 500;
};

struct SignalRow {
  std::string job_id;
  std::string contract_id;
  int step_index = 0;
  std::string scope;
  std::string signal_type;
  std::string decision;
  std::string reason;
  std::string recorded_by;
};

}  // namespace govjobd::store
