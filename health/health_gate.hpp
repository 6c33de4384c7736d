#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"

namespace govjobd::health {

// Whether a step may run into its target, given the latest snapshot. BLOCKED always stops it; DEGRADED
// stops it only when block_on lists DEGRADED. A target with no probe is not gated.
struct GateDecision {
  bool run = true;
  std::string reason;       // when !run: "blocked by health: payments BLOCKED (...)"
  nlohmann::json evidence;  // {"decision": "run"|"blocked", "target", "target_state", "system_state", "reason"}
};

GateDecision decide_gate(const model::HealthSnapshot& snapshot, const std::string& target,
                         const std::vector<std::string>& block_on);

}  // namespace govjobd::health
