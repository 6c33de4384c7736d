#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "daemon/model/job_status.hpp"

namespace govjobd::run {

// Why a job ended, as a value. Its text (the job row's status_reason and the transition's reason) is made
// from it in one place, text(); the metrics count by metric_class(), never by parsing the text.
struct EndReason {
  enum class Kind {
    Completed,              // every step COMPLETED
    StepFailed,             // a step ended FAILED or TIMED OUT by its own timeout: detail = its error
    HealthBlocked,          // the gate refused a step: detail = the gate's reason
    NoHandler,              // a step's type has no executor, found before the first step: detail = the type
    JobTimeout,             // the job's timeout_at passed while it ran
    JobTimeoutBeforeStart,  // timeout_at had passed when it was claimed: detail = timeout_at
    NoContract,             // no contract_id: detail = the job_id
    InvalidSteps,           // detail = what is wrong, naming step and field
    PresetRecord,           // results, evidence or a snapshot after were set when claimed: detail = which
    ContractRefused,        // the contract gate refused the job before its first step: detail = why (contract_gate.hpp)
    ClaimFailed,            // the claim statement failed on this row: detail = the database's message
    Unserved,               // no live daemon serves it (worker.unroutable_after): detail = what is missing
    StepRecordRefused,      // the database refused a write before the end (a step's result, a snapshot)
    RecordRefused,          // the database refused the job's end: detail = its message
    ExecutionError,         // the job's own handling threw: detail = what
    InternalError,          // the daemon's loop failed: detail = what
    Cancelled,              // detail = the request's reason, by = who asked
    Shutdown,               // the daemon's shutdown grace ran out: by = "govjobd <worker>"
    WorkerLost,             // the reaper's ending: by = the lost worker, detail = its last heartbeat
  };

  Kind kind = Kind::Completed;
  std::optional<int> step_index;  // the step it concerns, when it concerns one
  std::string detail;
  std::string by;
  // Set when the step at step_index ended FAILED for this reason (a timeout, cancel or lost worker during
  // it): that step's error. The creator's frame then applies: "Step N failed: <that step's error>".
  std::optional<std::string> failed_step_error;

  static EndReason completed() { return {Kind::Completed, std::nullopt, {}, {}, {}}; }
  static EndReason of(Kind kind, std::optional<int> step_index, std::string detail = {}, std::string by = {}) {
    return {kind, step_index, std::move(detail), std::move(by), {}};
  }

  model::JobStatus status() const;
  // The one place reason texts are made, in the creator's words where it has words for them
  // (docs/row-contract.md): "All steps completed successfully", "Step N failed: <that step's error>",
  // "No handler registered for step type: X", "Execution error: ..."; govjobd's own wording otherwise.
  std::string text() const;
  // The text without the "Step N failed: " frame: what a step that failed for this reason records as its error.
  std::string cause() const;
  // The failed step's error, when a step failed (StepFailed, HealthBlocked, NoHandler, or failed_step_error).
  std::optional<std::string> step_error() const;
  // completed | step_failed | job_timeout | invalid_job (NoHandler too) | contract_refused | health_blocked |
  // unroutable | worker_lost | cancelled | shutdown | other
  std::string_view metric_class() const;
};

// How a state change's log line names the step: its index, or "-" when it concerns the job as a whole.
std::string step_label(std::optional<int> step_index);

// The reason text of Shutdown's cancel: "daemon shutdown".
inline constexpr std::string_view kShutdownReason = "daemon shutdown";

}  // namespace govjobd::run
