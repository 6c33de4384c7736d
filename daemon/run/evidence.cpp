#include "daemon/run/evidence.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "govjobd/version.hpp"
#include "health/health_gate.hpp"

namespace govjobd::run {

using nlohmann::json;

namespace {

constexpr const char* kSystemKey = "system";
// What the evidence keeps of a step's output: what the creator's audit reads, and the exit code. The whole
// output stays in the row's step_results; copying it here too would double a row's size.
constexpr const char* kOutputKeys[] = {"target", "step_type", "handler", "executed_at", "rollback_action", "exit_code"};

int count_status(const json& results, const char* status) {
  return static_cast<int>(std::count_if(results.begin(), results.end(), [&](const json& r) {
    return r.is_object() && r.contains("status") && r["status"] == status;  // any type: a row's results are untrusted
  }));
}

// Numbers first, by value; anything else after them, in the order given (a strict weak ordering whatever
// the row holds).
std::pair<int, double> order_of(const json& r) {
  const json& i = r["step_index"];
  return i.is_number() ? std::pair{0, i.get<double>()} : std::pair{1, 0.0};
}

}  // namespace

json evidence_step(const json& r) {
  json e = json::object();
  for (const char* key : {"step_index", "status", "started_at", "completed_at", "output", "error"})
    e[key] = r.is_object() && r.contains(key) ? r[key] : json(nullptr);
  if (e["output"].is_object()) {
    json kept = json::object();
    for (const char* key : kOutputKeys)
      if (e["output"].contains(key)) kept[key] = e["output"][key];
    e["output"] = std::move(kept);
  }
  return e;
}

std::string executor_version() { return std::string("govjobd ") + kVersion; }

json creator_evidence(const EvidenceFacts& f) {
  json steps = json::array();
  for (const auto& r : f.step_results) steps.push_back(evidence_step(r));
  std::stable_sort(steps.begin(), steps.end(), [](const json& a, const json& b) { return order_of(a) < order_of(b); });
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
                 // started_at is the database's clock (the claim), completed_at this host's: never below 0
                 {"duration_seconds", std::max(0.0, std::chrono::duration<double>(f.completed_at - started).count())}};
  e["executor_version"] = executor_version();
  e["govjobd"] = f.govjobd;
  return e;
}

json health_states(const model::HealthSnapshot& snapshot) {
  json out = json::object();
  for (const auto& [name, cap] : snapshot.capabilities) out[name] = health::capability_state(cap);
  // a capability configured under the name "system" keeps it: the host's state is then left out, not mixed in
  if (!out.contains(kSystemKey)) out[kSystemKey] = health::system_state(snapshot);
  return out;
}

}  // namespace govjobd::run
