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

}  // namespace govjobd::executors
