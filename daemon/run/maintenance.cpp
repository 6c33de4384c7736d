#include "daemon/run/maintenance.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/log/logging.hpp"
#include "daemon/model/steps_parser.hpp"
#include "daemon/run/end_reason.hpp"
#include "daemon/run/evidence.hpp"
#include "daemon/run/db_worker.hpp"
#include "daemon/store/store_errors.hpp"

namespace govjobd::run {

using nlohmann::json;

Heartbeat::Outcome Heartbeat::run_once(MaintenanceStore& store, const std::vector<std::string>& running,
                                       const FleetState& fleet) const {
  Outcome out;
  // a lost connection goes through: the database thread runs the round again after the reconnect
  const auto error = error_unless_unavailable([&] {
    auto beat = store.worker_heartbeat(
        {who_.worker_id, running, lease_, fleet.blocked_targets, fleet.host_blocked, fleet.serves, fleet.backup_for});
    out.live_workers = std::move(beat.live_workers);
    out.still_pending = std::move(beat.still_pending);
    out.notify_queue_usage = beat.notify_queue_usage;
    if (!beat.worker_known) {
      store.worker_register(who_.worker_id, who_.host, who_.pid, who_.version, fleet.serves);
      out.registered = true;
    }
  });
  out.ok = !error;
  out.error = error.value_or("");
  return out;
}

Reaper::Outcome Reaper::run_once(MaintenanceStore& store) const {
  struct Ended {
    std::string job_id, status, reason;
    std::optional<int> step_index;
  };
  std::vector<Ended> ended;  // logged once their transaction committed: a lost commit runs the round again
  Outcome out;
  try {
    out.reaped = store.job_reap(params_, [&ended](const store::LostJob& lost) {
      auto d = decide_reap_contained(lost);
      ended.push_back({lost.job_id, d.status, d.reason, d.step_index});
      return d;
    });
  } catch (const store::DatabaseUnavailable& e) {
    // A commit whose answer was lost may have been made: the next round does not find those jobs again.
    for (const auto& job : ended) {
      const log::ScopedJob scope({job.job_id, "", job.step_index, "", "RUNNING", job.status});
      spdlog::warn("job {} step {} RUNNING -> {} not confirmed ({}): recorded if the reap committed, reaped again "
                   "if not: {}", job.job_id, step_label(job.step_index), job.status, e.what(), job.reason);
    }
    throw;
  }
  for (const auto& job : ended) {
    const log::ScopedJob scope({job.job_id, "", job.step_index, "", "RUNNING", job.status});
    spdlog::warn("job {} step {} RUNNING -> {}: {}", job.job_id, step_label(job.step_index), job.status, job.reason);
    if (job.status == "CANCELLED") ++out.cancelled;
  }
  return out;
}

Retention::Outcome Retention::run_once(MaintenanceStore& store) const {
  Outcome out;
  out.deleted = store.jobs_delete_terminal(params_);
  if (out.deleted < params_.batch_size) {
    // the jobs' batch is committed: an error here (a lost connection included) must not hide it; the next
    // round deletes these rows
    try {
      out.workers_deleted = store.workers_delete_gone({params_.keep, lease_, params_.batch_size});
    } catch (const std::exception& e) {
      spdlog::error("retention: deleting the rows of gone daemons failed: {}", e.what());
    }
  }
  out.more = out.deleted == params_.batch_size || out.workers_deleted == params_.batch_size;
  return out;
}

namespace {

// The creator's evidence format for a job its worker left: what the row holds, and the reaper's facts.
json reaped_evidence(const store::LostJob& lost, const EndReason& why, const json& existing, const json& appended,
                     const std::string& heartbeat) {
  EvidenceFacts f;
  f.job_id = lost.job_id;
  f.final_status = model::to_string(why.status());
  f.final_reason = why.text();
  if (existing.is_array())
    for (const auto& r : existing) f.step_results.push_back(r);
  for (const auto& r : appended) f.step_results.push_back(r);
  // health_observations stay empty: the reaper observed nothing of this job, and the before column may be
  // the creator's own snapshot, not govjobd's
  f.started_at = lost.started_at;
  f.completed_at = model::now_utc();
  f.govjobd["reaped"] = {{"worker_id", lost.claimed_by}, {"last_heartbeat", heartbeat},
                         {"reaped_at", model::format_timestamp(f.completed_at)}};
  if (lost.cancel_requested_by) f.govjobd["reaped"]["cancel_requested_by"] = *lost.cancel_requested_by;
  return creator_evidence(f);
}

}  // namespace

// A row whose results the reaper cannot make sense of still ends: an exception here would roll back the
// whole batch, and the same row would come first again every round, so no lost job would ever be reaped.
store::ReapDecision decide_reap_contained(const store::LostJob& lost) {
  try {
    return decide_reap(lost);
  } catch (const std::exception& e) {
    store::ReapDecision d;
    d.reason = EndReason::of(EndReason::Kind::WorkerLost, std::nullopt, "unreadable", lost.claimed_by).text();
    EvidenceFacts f;  // the creator's format still, without the results it could not read
    f.job_id = lost.job_id;
    f.final_status = d.status;
    f.final_reason = d.reason;
    f.started_at = lost.started_at;
    f.completed_at = model::now_utc();
    f.govjobd["reaped"] = {{"worker_id", lost.claimed_by}, {"error", e.what()}};
    d.evidence = creator_evidence(f);
    return d;
  }
}

store::ReapDecision decide_reap(const store::LostJob& lost) {
  store::ReapDecision d;
  const std::string heartbeat = lost.last_heartbeat ? model::format_timestamp(*lost.last_heartbeat) : "never";
  // A cancel requested before its worker was lost is what ends it: the request outlives the daemon
  EndReason why = lost.cancel_requested_by
                      ? EndReason::of(EndReason::Kind::Cancelled, std::nullopt, lost.cancel_reason.value_or(""),
                                      *lost.cancel_requested_by)
                      : EndReason::of(EndReason::Kind::WorkerLost, std::nullopt, heartbeat, lost.claimed_by);
  const auto existing = json::parse(lost.step_results_json, nullptr, false);
  const auto parsed = lost.steps_json ? model::parse_steps_text(*lost.steps_json) : model::StepsParse{};
  if (parsed.ok()) {
    std::set<int> recorded;
    if (existing.is_array())
      for (const auto& r : existing)
        if (r.is_object() && r.contains("step_index") && r["step_index"].is_number_integer()) recorded.insert(r["step_index"].get<int>());
    for (const auto& step : parsed.steps) {
      if (recorded.count(step.step_index)) continue;
      model::StepResult r;
      r.step_index = step.step_index;
      r.status = model::StepStatus::Skipped;
      if (!why.step_index && step.step_index == lost.current_step_index) {  // the step in flight
        r.status = model::StepStatus::Failed;
        r.completed_at = model::now_utc();
        r.error = why.cause();
        why.step_index = step.step_index;
        why.failed_step_error = r.error;
      }
      d.append_results.push_back(r);
    }
  }
  d.step_index = why.step_index;
  d.status = model::to_string(why.status());
  d.reason = why.text();
  d.evidence = reaped_evidence(lost, why, existing, d.append_results, heartbeat);
  return d;
}

}  // namespace govjobd::run
