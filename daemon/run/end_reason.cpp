#include "daemon/run/end_reason.hpp"

#include <fmt/format.h>

namespace govjobd::run {

using Kind = EndReason::Kind;

model::JobStatus EndReason::status() const {
  switch (kind) {
    case Kind::Completed: return model::JobStatus::Completed;
    case Kind::Cancelled:
    case Kind::Shutdown: return model::JobStatus::Cancelled;
    default: return model::JobStatus::Failed;
  }
}

std::string step_label(std::optional<int> step_index) { return step_index ? std::to_string(*step_index) : "-"; }

std::string EndReason::text() const {
  if (auto error = step_error()) return fmt::format("Step {} failed: {}", step_label(step_index), *error);
  return cause();
}

std::optional<std::string> EndReason::step_error() const {
  if (failed_step_error) return failed_step_error;
  if (kind == Kind::StepFailed || kind == Kind::HealthBlocked || kind == Kind::NoHandler) return cause();
  return std::nullopt;
}

std::string EndReason::cause() const {
  const std::string step = step_label(step_index);
  switch (kind) {
    case Kind::Completed: return "All steps completed successfully";
    case Kind::StepFailed:
    case Kind::HealthBlocked: return detail;
    case Kind::NoHandler: return "No handler registered for step type: " + detail;
    case Kind::JobTimeout: return "job timeout exceeded";
    case Kind::JobTimeoutBeforeStart: return fmt::format("job timeout exceeded before it started (timeout_at {})", detail);
    case Kind::NoContract: return model::OrphanJob(detail).what();
    case Kind::InvalidSteps: return "invalid steps: " + detail;
    case Kind::PresetRecord:
      return fmt::format("invalid job: written before it ran: {}; a job's step results, evidence and health "
                         "snapshot after are recorded by govjobd as it runs", detail);
    case Kind::ContractRefused: return detail;
    case Kind::ClaimFailed: return "the claim failed on this row: " + detail;
    case Kind::Unserved: return detail;
    case Kind::StepRecordRefused: return fmt::format("step {}: the database refused the job's record: {}", step, detail);
    case Kind::RecordRefused: return "the database refused the job's record: " + detail;
    case Kind::ExecutionError: return "Execution error: " + detail;
    case Kind::InternalError: return "govjobd internal error: " + detail;
    case Kind::Cancelled: return fmt::format("cancelled by {}: {}", by, detail);
    case Kind::Shutdown: return fmt::format("cancelled by {}: {}", by, kShutdownReason);
    case Kind::WorkerLost: return fmt::format("worker {} lost (last heartbeat {})", by, detail);
  }
  return "unknown";
}

std::string_view EndReason::metric_class() const {
  switch (kind) {
    case Kind::Completed: return "completed";
    case Kind::StepFailed: return "step_failed";
    case Kind::HealthBlocked: return "health_blocked";
    case Kind::JobTimeout:
    case Kind::JobTimeoutBeforeStart: return "job_timeout";
    case Kind::NoContract:
    case Kind::NoHandler:
    case Kind::InvalidSteps:
    case Kind::PresetRecord: return "invalid_job";
    case Kind::ContractRefused: return "contract_refused";
    case Kind::Unserved: return "unroutable";
    case Kind::Cancelled: return "cancelled";
    case Kind::Shutdown: return "shutdown";
    case Kind::WorkerLost: return "worker_lost";
    default: return "other";
  }
}

}  // namespace govjobd::run
