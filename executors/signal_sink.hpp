#pragma once

#include <functional>
#include <optional>
#include <string>

namespace govjobd::executors {

// A governance signal recorded by the signal_record step type.
struct GovernanceSignal {
  std::string job_id;
  std::string contract_id;
  int step_index = 0;
  std::string scope;  // the step's target
  std::string signal_type;
  std::string decision;
  std::string reason;
  std::string recorded_by;  // worker id
};

// Where signals go (the daemon writes them to PostgreSQL off the loop). `done` runs on the loop with the
// new signal's id, or an error text.
class SignalSink {
 public:
  virtual ~SignalSink() = default;
  struct Outcome {
    std::optional<long long> signal_id;
    std::string error;
  };
  virtual void record(const GovernanceSignal& signal, std::function<void(Outcome)> done) = 0;
};

}  // namespace govjobd::executors
