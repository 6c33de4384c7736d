#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace govjobd::executors {

// How one step ended. Only Completed lets the job go on.
enum class StepOutcome { Completed, Failed, TimedOut, Cancelled, SpawnFailed };

// Which deadline ended a TimedOut step: its own timeout_seconds, or the job's timeout_at.
enum class DeadlineKind { Step, Job };

std::string_view to_string(StepOutcome outcome);

struct StepExecution {
  StepOutcome outcome = StepOutcome::Failed;
  nlohmann::json output = nlohmann::json::object();
  std::string error;
  std::optional<int> exit_code;  // when a process exited
  std::optional<int> signal;     // when a process was killed by a signal
  std::chrono::milliseconds duration{0};
  // SpawnFailed because descriptors, processes or memory ran out (EMFILE, ENFILE, EAGAIN, ENOMEM): the daemon
  // claims more slowly until a spawn succeeds again.
  bool resource_shortage = false;
  std::optional<DeadlineKind> deadline;  // set when TimedOut

  static StepExecution completed(nlohmann::json output = nlohmann::json::object());
  static StepExecution ended(StepOutcome outcome, std::string error);  // any outcome but Completed
};

}  // namespace govjobd::executors
