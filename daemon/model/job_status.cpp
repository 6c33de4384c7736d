#include "daemon/model/job_status.hpp"

#include <fmt/format.h>

namespace govjobd::model {

std::string_view to_string(JobStatus status) {
  switch (status) {
    case JobStatus::Pending: return "PENDING";
    case JobStatus::Running: return "RUNNING";
    case JobStatus::Completed: return "COMPLETED";
    case JobStatus::Failed: return "FAILED";
    case JobStatus::Cancelled: return "CANCELLED";
  }
  throw std::logic_error("unknown JobStatus");
}

std::string_view to_string(StepStatus status) {
  switch (status) {
    case StepStatus::Pending: return "PENDING";
    case StepStatus::Running: return "RUNNING";
    case StepStatus::Completed: return "COMPLETED";
    case StepStatus::Failed: return "FAILED";
    case StepStatus::Skipped: return "SKIPPED";
  }
  throw std::logic_error("unknown StepStatus");
}

std::optional<JobStatus> parse_job_status(std::string_view text) {
  for (JobStatus s : kAllJobStatuses)
    if (to_string(s) == text) return s;
  return std::nullopt;
}

std::optional<StepStatus> parse_step_status(std::string_view text) {
  for (StepStatus s : kAllStepStatuses)
    if (to_string(s) == text) return s;
  return std::nullopt;
}

bool is_terminal(JobStatus status) {
  return status == JobStatus::Completed || status == JobStatus::Failed || status == JobStatus::Cancelled;
}

bool is_valid_transition(JobStatus from, JobStatus to) {
  switch (from) {
    case JobStatus::Pending: return to == JobStatus::Running || to == JobStatus::Cancelled;
    case JobStatus::Running:
      return to == JobStatus::Completed || to == JobStatus::Failed || to == JobStatus::Cancelled;
    default: return false;
  }
}

void check_transition(const std::string& job_id, JobStatus from, JobStatus to, const std::string& reason) {
  if (is_terminal(from)) throw JobImmutable(job_id, from);
  if (!is_valid_transition(from, to)) throw InvalidTransition(from, to, reason);
}

InvalidTransition::InvalidTransition(JobStatus from, JobStatus to, std::string reason)
    : std::logic_error(fmt::format("invalid transition {} -> {} ({})", to_string(from), to_string(to), reason)),
      from_(from),
      to_(to),
      reason_(std::move(reason)) {}

JobImmutable::JobImmutable(std::string job_id, JobStatus status)
    : std::logic_error(fmt::format("job {} is {}, a terminal state, and cannot be changed", job_id,
                                   to_string(status))),
      job_id_(std::move(job_id)),
      status_(status) {}

OrphanJob::OrphanJob(std::string job_id)
    : std::runtime_error(fmt::format("job {} has no contract_id and cannot run", job_id)),
      job_id_(std::move(job_id)) {}

}  // namespace govjobd::model
