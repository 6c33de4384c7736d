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

// A state as the gate reads it: a capability without a state (string) counts as BLOCKED, a system without
// one as HEALTHY. The evidence's health_observations read states the same way.
std::string capability_state(const nlohmann::json& capability);
std::string system_state(const model::HealthSnapshot& snapshot);

// What the claim avoids (health-aware claiming, docs/fleet.md): the capabilities whose state stops a step,
// and whether the system's does (then every step would be stopped).
struct ClaimView {
  std::vector<std::string> blocked_targets;
  bool host_blocked = false;
  bool operator==(const ClaimView&) const = default;
};
ClaimView claim_view(const model::HealthSnapshot& snapshot, const std::vector<std::string>& block_on);

GateDecision decide_gate(const model::HealthSnapshot& snapshot, const std::string& target,
                         const std::vector<std::string>& block_on);

}  // namespace govjobd::health
