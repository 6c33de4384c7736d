#include "daemon/run/maintenance.hpp"

#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/model/steps_parser.hpp"
#include "daemon/run/end_reason.hpp"
#include "daemon/run/db_worker.hpp"

namespace govjobd::run {

using nlohmann::json;

Heartbeat::Outcome Heartbeat::run_once(MaintenanceStore& store, const std::vector<std::string>& running) const {
  Outcome out;
  // a lost connection goes through: the database thread runs the round again after the reconnect
  const auto error = error_unless_unavailable([&] {
    if (!store.worker_heartbeat({who_.worker_id, running, lease_}).worker_known) {
      store.worker_register(who_.worker_id, who_.host, who_.pid, who_.version);
      out.registered = true;
    }
  });
  out.ok = !error;
  out.error = error.value_or("");
  return out;
}

Reaper::Outcome Reaper::run_once(MaintenanceStore& store) const {
  Outcome out;
  out.reaped = store.job_reap(params_, [](const store::LostJob& lost) {
    auto d = decide_reap(lost);
    spdlog::warn("job {} step {} RUNNING -> FAILED: {}", lost.job_id, step_label(d.step_index), d.reason);
    return d;
  });
  return out;
}

Retention::Outcome Retention::run_once(MaintenanceStore& store) const {
  Outcome out;
  out.deleted = store.jobs_delete_terminal(params_);
  out.more = out.deleted == params_.batch_size;
  return out;
}

store::ReapDecision decide_reap(const store::LostJob& lost) {
  store::ReapDecision d;
  const std::string heartbeat = lost.last_heartbeat ? model::format_timestamp(*lost.last_heartbeat) : "never";
  d.reason = EndReason::of(EndReason::Kind::WorkerLost, std::nullopt, heartbeat, lost.claimed_by).text();
  d.evidence = {{"reaped", {{"worker_id", lost.claimed_by}, {"last_heartbeat", heartbeat},
                            {"reaped_at", model::format_timestamp(model::now_utc())}}}};
  const auto parsed = lost.steps_json ? model::parse_steps_text(*lost.steps_json) : model::StepsParse{};
  if (!parsed.ok()) return d;
  std::set<int> recorded;
  const auto existing = json::parse(lost.step_results_json, nullptr, false);
  if (existing.is_array())
    for (const auto& r : existing)
      if (r.is_object() && r.contains("step_index") && r["step_index"].is_number_integer()) recorded.insert(r["step_index"].get<int>());
  bool in_flight_found = false;
  for (const auto& step : parsed.steps) {
    if (recorded.count(step.step_index)) continue;
    model::StepResult r;
    r.step_index = step.step_index;
    if (!in_flight_found && step.step_index == lost.current_step_index) {
      in_flight_found = true;
      r.status = model::StepStatus::Failed;
      r.completed_at = model::now_utc();
      r.error = d.reason;
      d.step_index = step.step_index;
    } else {
      r.status = model::StepStatus::Skipped;
    }
    d.append_results.push_back(r);
  }
  return d;
}

}  // namespace govjobd::run
