#include "daemon/run/job_tally.hpp"

#include <unistd.h>

#include <algorithm>

#include "govjobd/version.hpp"

namespace govjobd::run {

using nlohmann::json;

json JobTally::govjobd_evidence(const Identity& who, std::size_t total_steps) const {
  const int skipped = static_cast<int>(total_steps) - executed - blocked;
  // Member by member: a braced list would copy every value once more
  json e = json::object();
  e["daemon_version"] = kVersion;
  e["worker_id"] = who.worker_id;
  e["host"] = who.host;
  e["pid"] = ::getpid();
  e["steps_invoked"] = executed;
  e["steps_blocked"] = blocked;
  e["steps_skipped"] = std::max(0, skipped);
  e["step_durations_ms"] = step_durations;
  e["gate_decisions"] = gate_decisions;
  if (!contract_gate.is_null()) e["contract_gate"] = contract_gate;
  return e;
}

json skipped_from(const std::vector<model::JobStep>& steps, std::size_t first) {
  json out = json::array();
  for (std::size_t i = first; i < steps.size(); ++i) {
    model::StepResult skipped;
    skipped.step_index = steps[i].step_index;
    skipped.status = model::StepStatus::Skipped;
    out.push_back(skipped);
  }
  return out;
}

}  // namespace govjobd::run
