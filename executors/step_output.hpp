#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"

namespace govjobd::executors {

// Which executor serves a step type: its kind (the output's `handler`) and, when the config declares one,
// how a completed step is undone.
struct StepHandler {
  std::string kind;
  std::optional<nlohmann::json> rollback_action;
};

// A step's output as the creator's audit reads it (docs/row-contract.md): what the executor produced (an
// object; anything else is kept under "result"), with `target`, `step_type`, `handler` and `executed_at` set
// by govjobd over whatever the executor wrote, and the config's rollback_action on a completed step (an
// executor's own rollback_action key is dropped: its output may echo the step's parameters).
nlohmann::json audit_output(nlohmann::json produced, const model::JobStep& step, const StepHandler& handler,
                            const model::Timestamp& executed_at, bool completed);

}  // namespace govjobd::executors
