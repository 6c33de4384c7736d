#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"

namespace govjobd::run {

// What one job did beyond the creator's evidence keys, for execution_evidence.govjobd: step counts, durations
// and the gate's decisions.
struct JobTally {
  int executed = 0;  // steps whose executor was invoked (the evidence counts outcomes from the step results)
  int blocked = 0;  // failed by the gate, never run
  nlohmann::json step_durations = nlohmann::json::object();
  nlohmann::json gate_decisions = nlohmann::json::array();
  nlohmann::json contract_gate;  // the contract gate's decision (contract_gate.hpp); null: not reached

  struct Identity {
    const std::string& worker_id;
    const std::string& host;
  };
  nlohmann::json govjobd_evidence(const Identity& who, std::size_t total_steps) const;
};

// SKIPPED results of steps[first..].
nlohmann::json skipped_from(const std::vector<model::JobStep>& steps, std::size_t first);

}  // namespace govjobd::run
