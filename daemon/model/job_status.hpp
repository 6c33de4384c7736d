#pragma once

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace govjobd::model {

enum class JobStatus { Pending, Running, Completed, Failed, Cancelled };
enum class StepStatus { Pending, Running, Completed, Failed, Skipped };

inline constexpr std::array kAllJobStatuses{JobStatus::Pending, JobStatus::Running, JobStatus::Completed,
                                            JobStatus::Failed, JobStatus::Cancelled};
inline constexpr std::array kAllStepStatuses{StepStatus::Pending, StepStatus::Running, StepStatus::Completed,
                                             StepStatus::Failed, StepStatus::Skipped};

std::string_view to_string(JobStatus status);
std::string_view to_string(StepStatus status);
std::optional<JobStatus> parse_job_status(std::string_view text);
std::optional<StepStatus> parse_step_status(std::string_view text);

// Terminal: COMPLETED, FAILED, CANCELLED. Nothing leaves a terminal state.
bool is_terminal(JobStatus status);

// PENDING -> RUNNING | CANCELLED; RUNNING -> COMPLETED | FAILED | CANCELLED.
bool is_valid_transition(JobStatus from, JobStatus to);

// Throws JobImmutable when `from` is terminal, InvalidTransition for any other invalid pair.
void check_transition(const std::string& job_id, JobStatus from, JobStatus to, const std::string& reason);

class InvalidTransition : public std::logic_error {
 public:
  InvalidTransition(JobStatus from, JobStatus to, std::string reason);
  JobStatus from() const { return from_; }
  JobStatus to() const { return to_; }
  const std::string& reason() const { return reason_; }

 private:
  JobStatus from_;
  JobStatus to_;
  std::string reason_;
};

class JobImmutable : public std::logic_error {
 public:
  JobImmutable(std::string job_id, JobStatus status);
  const std::string& job_id() const { return job_id_; }
  JobStatus status() const { return status_; }

 private:
  std::string job_id_;
  JobStatus status_;
};

// A job row with no contract: it cannot be attributed, so it must never run.
class OrphanJob : public std::runtime_error {
 public:
  explicit OrphanJob(std::string job_id);
  const std::string& job_id() const { return job_id_; }

 private:
  std::string job_id_;
};

}  // namespace govjobd::model
