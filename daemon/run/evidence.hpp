#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"

namespace govjobd::run {

// What a finished job's execution_evidence is made of. The creator's audit reads the evidence in its own
// format (docs/row-contract.md): exactly its keys, and everything govjobd records beyond them under "govjobd".
struct EvidenceFacts {
  std::string job_id;
  std::string final_status;
  std::string final_reason;
  nlohmann::json step_results = nlohmann::json::array();  // every StepResult of the job (as JSON), any order
  nlohmann::json health_before = nlohmann::json::object();  // capability -> state (health_states)
  nlohmann::json health_after = nlohmann::json::object();
  std::optional<model::Timestamp> started_at;
  model::Timestamp completed_at{};
  nlohmann::json govjobd = nlohmann::json::object();
};

nlohmann::json creator_evidence(const EvidenceFacts& facts);

// One entry of the evidence's step_results: the creator's six keys of a StepResult, its output cut to what
// the audit reads (target, step_type, handler, executed_at, rollback_action) and exit_code. Any JSON in.
nlohmann::json evidence_step(const nlohmann::json& result);

// A snapshot as the creator's audit reads health: a flat map of capability name -> state, and the host-wide
// state under "system". Nothing in it changes on its own (no captured_at, latency or details), so a
// capability differs between before and after only when its state did.
nlohmann::json health_states(const model::HealthSnapshot& snapshot);
// "govjobd <version>": the creator's executor_version.
std::string executor_version();

}  // namespace govjobd::run
