#include "executors/step_execution.hpp"

#include <stdexcept>

namespace govjobd::executors {

std::string_view to_string(StepOutcome outcome) {
  switch (outcome) {
    case StepOutcome::Completed: return "completed";
    case StepOutcome::Failed: return "failed";
    case StepOutcome::TimedOut: return "timed_out";
    case StepOutcome::Cancelled: return "cancelled";
    case StepOutcome::SpawnFailed: return "spawn_failed";
  }
  throw std::logic_error("unknown StepOutcome");
}

StepExecution StepExecution::completed(nlohmann::json output) {
  StepExecution r;
  r.outcome = StepOutcome::Completed;
  r.output = std::move(output);
  return r;
}

StepExecution StepExecution::ended(StepOutcome outcome, std::string error) {
  StepExecution r;
  r.outcome = outcome;
  r.error = std::move(error);
  return r;
}

}  // namespace govjobd::executors
