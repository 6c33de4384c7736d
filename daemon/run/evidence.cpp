#include "daemon/run/evidence.hpp"

#include <algorithm>
#include <chrono>

#include "govjobd/version.hpp"

namespace govjobd::run {

using nlohmann::json;

namespace {

constexpr const char* kSystemKey = "system";

// One entry of the evidence's step_results: the creator's six keys of a StepResult, in step order.
json evidence_step(const json& r) {
  json e = json::object();
  for (const char* key : {"step_index", "status", "started_at", "completed_at", "output", "error"})
    e[key] = r.is_object() && r.contains(key) ? r[key] : json(nullptr);
  return e;
}

int count_status(const json& results, const char* status) {
  return static_cast<int>(std::count_if(results.begin(), results.end(), [&](const json& r) {
    return r.is_object() && r.value("status", "") == status;
  }));
}

std::string state_of(const json& v) {
  return v.is_object() && v.contains("state") && v["state"].is_string() ? v["state"].get<std::string>() : "";
}

}  // namespace

std::string executor_version() { return std::string("govjobd ") + kVersion; }

json creator_evidence(const EvidenceFacts& f) {
  json steps = json::array();
  for (const auto& r : f.step_results) steps.push_back(evidence_step(r));
  std::stable_sort(steps.begin(), steps.end(), [](const json& a, const json& b) {
    return a["step_index"].is_number() && b["step_index"].is_number() && a["step_index"] < b["step_index"];
  });
  const int succeeded = count_status(steps, "COMPLETED"), failed = count_status(steps, "FAILED");
  const auto started = f.started_at.value_or(f.completed_at);
  // Member by member: a braced list would copy every value once more
  json e = json::object();
  e["job_id"] = f.job_id;
  e["final_status"] = f.final_status;
  e["final_reason"] = f.final_reason;
  e["execution_summary"] = {{"steps_executed", succeeded + failed}, {"steps_succeeded", succeeded}, {"steps_failed", failed}};
  e["step_results"] = std::move(steps);
  e["health_observations"] = {{"before", f.health_before}, {"after", f.health_after}};
  e["timing"] = {{"started_at", model::format_timestamp(started)},
                 {"completed_at", model::format_timestamp(f.completed_at)},
                 {"duration_seconds", std::chrono::duration<double>(f.completed_at - started).count()}};
  e["executor_version"] = executor_version();
  e["govjobd"] = f.govjobd;
  return e;
}

json health_states(const model::HealthSnapshot& snapshot) {
  json out = json::object();
  for (const auto& [name, cap] : snapshot.capabilities) out[name] = state_of(cap).empty() ? "BLOCKED" : state_of(cap);
  // a capability configured under the name "system" keeps it: the host's state is then left out, not mixed in
  if (!out.contains(kSystemKey)) out[kSystemKey] = state_of(snapshot.system_health).empty() ? "HEALTHY" : state_of(snapshot.system_health);
  return out;
}

json health_states(const json& snapshot) {
  json out = json::object();
  if (!snapshot.is_object()) return out;
  if (snapshot.contains("capabilities") && snapshot["capabilities"].is_object())
    for (const auto& [name, cap] : snapshot["capabilities"].items()) {
      if (!state_of(cap).empty()) out[name] = state_of(cap);
      else if (cap.is_string()) out[name] = cap.get<std::string>();
    }
  if (snapshot.contains("system_health") && !out.contains(kSystemKey) && !state_of(snapshot["system_health"]).empty())
    out[kSystemKey] = state_of(snapshot["system_health"]);
  return out;
}

}  // namespace govjobd::run
