// govjobd status and govjobd workers: the fleet at a glance (docs/fleet.md).
#include <fmt/format.h>

#include "daemon/cli/command_support.hpp"
#include "daemon/cli/fleet_commands.hpp"
#include "daemon/cli/text_table.hpp"
#include "daemon/model/job_status.hpp"
#include "daemon/run/exit_codes.hpp"

namespace govjobd::cli {

namespace {

constexpr int kListLimit = 1000;  // pauses, held targets and workers listed at most

std::string dump(const nlohmann::json& j) { return json_text(j); }

nlohmann::json texts_or_null(const std::optional<std::vector<std::string>>& texts) {
  return texts ? nlohmann::json(*texts) : nlohmann::json();
}

nlohmann::json worker_json(const store::WorkerRow& w) {
  return {{"worker_id", w.worker_id},
          {"host", w.host},
          {"version", w.version},
          {"heartbeat_age_seconds", w.heartbeat_age_seconds},
          {"state", w.state},
          {"running_jobs", w.running_jobs},
          {"concurrency", w.concurrency ? nlohmann::json(*w.concurrency) : nlohmann::json()},
          {"serves", {{"step_types", texts_or_null(w.serves_step_types)},
                      {"targets", texts_or_null(w.serves_targets)},
                      {"pools", texts_or_null(w.serves_pools)}}},
          {"blocked_targets", texts_or_null(w.blocked_targets)},
          {"host_blocked", w.host_blocked ? nlohmann::json(*w.host_blocked) : nlohmann::json()}};
}

std::string list_text(const std::optional<std::vector<std::string>>& texts) {
  if (!texts) return "(not recorded)";
  return texts->empty() ? "none" : fmt::format("{}", fmt::join(*texts, ", "));
}

// What a worker serves and sees BLOCKED, under its row.
void add_worker_notes(TextTable& table, const store::WorkerRow& w) {
  table.add_note(fmt::format("serves: step types {}; targets {}; pools {}", list_text(w.serves_step_types),
                             list_text(w.serves_targets), list_text(w.serves_pools)));
  std::vector<std::string> blocked;
  if (w.host_blocked.value_or(false)) blocked.push_back("host BLOCKED");
  if (w.blocked_targets && !w.blocked_targets->empty())
    blocked.push_back("targets BLOCKED: " + list_text(w.blocked_targets));
  if (!blocked.empty()) table.add_note(fmt::format("{}", fmt::join(blocked, "; ")));
}

struct StatusView {
  std::map<std::string, long long> jobs;
  store::FleetStatus fleet;
  std::vector<store::Pause> pauses;
  std::vector<store::TargetHold> holds;
  store::WorkerList workers;
};

StatusView read_status(const CommonOptions& common) {
  const auto settings = load_config(common);
  const auto store = open_store(settings);
  StatusView v{store->jobs_count_by_status(), store->fleet_status({settings.worker.lease_timeout}),
               store->pause_list(false, kListLimit), store->target_holds_list(kListLimit),
               store->worker_list(settings.worker.lease_timeout, 1)};  // the counts of all rows
  for (const auto s : model::kAllJobStatuses) v.jobs.try_emplace(std::string(model::to_string(s)), 0);
  return v;
}

nlohmann::json status_json(const StatusView& v) {
  nlohmann::json jobs = nlohmann::json::object();
  for (const auto& [status, n] : v.jobs) jobs[status] = n;
  nlohmann::json pauses = nlohmann::json::array();
  for (const auto& p : v.pauses) pauses.push_back(pause_json(p));
  nlohmann::json holds = nlohmann::json::array();
  for (const auto& h : v.holds)
    holds.push_back({{"target", h.target}, {"job_id", h.job_id}, {"held_by", h.held_by},
                     {"held_at", h.held_at ? nlohmann::json(model::format_timestamp(*h.held_at)) : nlohmann::json()}});
  const auto& f = v.fleet;
  return {{"jobs", jobs},
          {"oldest_pending_age_seconds", f.oldest_pending_age_seconds ? nlohmann::json(*f.oldest_pending_age_seconds)
                                                                      : nlohmann::json()},
          {"pending_by_reason", f.pending_by_reason},
          {"classified", f.classified},
          {"parked", f.parked},
          {"notify_queue_usage", f.notify_queue_usage},
          {"pauses", pauses},
          {"held_targets", holds},
          {"daemons", {{"live", v.workers.live}, {"lost", v.workers.lost}, {"stopped", v.workers.stopped}}}};
}

std::string holds_table(const std::vector<store::TargetHold>& holds) {
  TextTable table({{"TARGET", 30}, {"JOB", 36}, {"WORKER", 30}, {"SINCE", 16}}, 2);
  for (const auto& h : holds)
    table.add({h.target, h.job_id, h.held_by, short_time(h.held_at ? model::format_timestamp(*h.held_at) : "")});
  return table.render();
}

void print_status(const StatusView& v) {
  std::vector<std::string> counts;  // in the lifecycle's order
  for (const auto s : model::kAllJobStatuses) {
    const std::string status(model::to_string(s));
    counts.push_back(fmt::format("{} {}", status, v.jobs.at(status)));
  }
  fmt::print("{}\n", one_line("jobs: " + fmt::format("{}", fmt::join(counts, ", "))));
  const auto& f = v.fleet;
  fmt::print("oldest PENDING: {}\n", f.oldest_pending_age_seconds ? age_text(*f.oldest_pending_age_seconds) : "-");
  fmt::print("PENDING by waiting reason:\n");
  std::vector<TextTable::Column> columns;
  std::vector<std::string> row;
  for (const auto reason : store::kWaitingReasons) {
    columns.push_back({std::string(reason), 20});
    row.push_back(std::to_string(f.pending_by_reason.at(std::string(reason))));
  }
  TextTable reasons(columns, 2);
  reasons.add(row);
  fmt::print("{}", reasons.render());
  if (f.classified < f.pending && f.parked > 0)
    fmt::print("  ({} of {} PENDING jobs classified: the {} parked for their windows, and the oldest others)\n",
               f.classified, f.pending, f.parked);
  else if (f.classified < f.pending)
    fmt::print("  (the {} oldest of {} PENDING jobs classified)\n", f.classified, f.pending);
  // from 1 %: a session that listens and does not read holds the queue's tail; full, every NOTIFY fails
  if (f.notify_queue_usage >= 0.01)
    fmt::print("NOTIFY queue: {:.1f} % full (a session that listens and does not read holds it)\n", 100 * f.notify_queue_usage);
  fmt::print("daemons: live {}, lost {}, stopped {}\n", v.workers.live, v.workers.lost, v.workers.stopped);
  fmt::print("active pauses: {}\n", v.pauses.size());
  if (!v.pauses.empty()) fmt::print("{}", pause_table(v.pauses, false, 2));
  fmt::print("held targets: {}\n", v.holds.size());
  if (!v.holds.empty()) fmt::print("{}", holds_table(v.holds));
}

}  // namespace

int command_status(const CommonOptions& common, bool json) {
  const auto view = read_status(common);
  if (json)
    fmt::print("{}\n", dump(status_json(view)));
  else
    print_status(view);
  return run::kExitOk;
}

int command_workers(const CommonOptions& common, bool json) {
  const auto settings = load_config(common);
  const auto workers = open_store(settings)->worker_list(settings.worker.lease_timeout, kListLimit);
  if (json) {
    for (const auto& w : workers.rows) fmt::print("{}\n", dump(worker_json(w)));
    return run::kExitOk;
  }
  TextTable table({{"WORKER", 30}, {"HOST", 20}, {"VERSION", 12}, {"STATE", 7}, {"BEAT", 5}, {"JOBS", 9}});
  for (const auto& w : workers.rows) {
    table.add({w.worker_id, w.host, w.version, w.state, age_text(w.heartbeat_age_seconds),
               w.concurrency ? fmt::format("{}/{}", w.running_jobs, *w.concurrency) : std::to_string(w.running_jobs)});
    add_worker_notes(table, w);
  }
  fmt::print("{}", table.render());
  const auto total = workers.live + workers.lost + workers.stopped;
  if (total > static_cast<long long>(workers.rows.size()))
    fmt::print("(the first {} of {} worker rows shown)\n", workers.rows.size(), total);
  return run::kExitOk;
}

}  // namespace govjobd::cli
