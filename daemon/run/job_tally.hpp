#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"

namespace govjobd::run {

// What one job did, for its execution_evidence: step counts, durations and the gate's decisions.
struct JobTally {
  model::Timestamp started_at = model::now_utc();
  int executed = 0, succeeded = 0, failed = 0;
  int blocked = 0;  // failed by the gate, never run
  nlohmann::json step_durations = nlohmann::json::object();
  nlohmann::json gate_decisions = nlohmann::json::array();
  nlohmann::json contract_gate;  // the contract gate's decision (contract_gate.hpp); null: not reached

  struct Identity {
    const std::string& worker_id;
    const std::string& host;
  };
  nlohmann::json evidence(const Identity& who, std::size_t total_steps, const model::Timestamp& ended) const;
};

// SKIPPED results of steps[first..].
nlohmann::json skipped_from(const std::vector<model::JobStep>& steps, std::size_t first);

}  // namespace govjobd::run
