#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/contract.hpp"
#include "daemon/model/job_types.hpp"

namespace govjobd::run {

// Whether a claimed job may run under its contract (the contract gate, docs/contract.md), decided before
// its first step from what the claim read of the contract row.
struct ContractDecision {
  bool allowed = false;
  std::string reason;                                  // why not; empty when allowed
  nlohmann::json evidence = nlohmann::json::object();  // execution_evidence's contract_gate
};

// Refused when the contract is missing, not ACTIVE, its activation window closed (or not open: the claim
// leaves such jobs PENDING, so only a clock at odds with the claim's sees it), its affected capabilities
// cannot be read, or a step's target is not among them (every such step named). `now`: the claim's time.
// No facts: the gate is off, the job is allowed and the evidence says so.
ContractDecision decide_contract(const std::string& contract_id, const std::optional<model::ContractFacts>& facts,
                                 const std::vector<model::JobStep>& steps, model::Timestamp now);

}  // namespace govjobd::run
