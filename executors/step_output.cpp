#include "executors/step_output.hpp"

namespace govjobd::executors {

using nlohmann::json;

json audit_output(json produced, const model::JobStep& step, const StepHandler& handler,
                  const model::Timestamp& executed_at, bool completed) {
  json out = json::object();
  if (produced.is_object()) out = std::move(produced);
  else if (!produced.is_null()) out["result"] = std::move(produced);
  // govjobd's keys last: a step's own output (which may echo its parameters) cannot forge them
  out["target"] = step.target;
  out["step_type"] = step.step_type;
  out["handler"] = handler.kind;
  out["executed_at"] = model::format_timestamp(executed_at);
  // only the operator's config says how a step is undone: an executor's output may echo the step's
  // parameters, which the creating system wrote
  out.erase("rollback_action");
  if (completed && handler.rollback_action) out["rollback_action"] = *handler.rollback_action;
  return out;
}

}  // namespace govjobd::executors
