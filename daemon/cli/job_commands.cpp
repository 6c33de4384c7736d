// govjobd jobs list and jobs show.
#include <fmt/format.h>

#include "daemon/cli/command_support.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/cli/job_timeline.hpp"
#include "daemon/cli/text_table.hpp"
#include "daemon/model/utf8.hpp"
#include "daemon/run/exit_codes.hpp"

namespace govjobd::cli {

namespace {

nlohmann::json summary_json(const store::JobSummary& s) {
  auto optional_time = [](const std::optional<model::Timestamp>& t) {
    return t ? nlohmann::json(model::format_timestamp(*t)) : nlohmann::json();
  };
  return {{"job_id", s.job_id},
          {"contract_id", s.contract_id},
          {"status", s.status},
          {"status_reason", s.status_reason ? nlohmann::json(*s.status_reason) : nlohmann::json()},
          {"current_step_index", s.current_step_index},
          {"total_steps", s.total_steps},
          {"created_at", optional_time(s.created_at)},
          {"started_at", optional_time(s.started_at)},
          {"completed_at", optional_time(s.completed_at)},
          {"timeout_at", optional_time(s.timeout_at)},
          {"created_by", s.created_by ? nlohmann::json(*s.created_by) : nlohmann::json()}};
}

const std::optional<std::string>& valid_text(std::string_view option, const std::optional<std::string>& text) {
  if (text && (text->empty() || text->size() > 1024 || !model::is_valid_utf8(*text)))
    throw InputError(fmt::format("{}: expected 1 to 1024 bytes of valid UTF-8", option));
  return text;
}

// --since: a duration back from the database's now (its clock, as the rows'), or a UTC time.
void set_since(const std::string& text, store::JobListParams& params) {
  if (const auto back = since_duration(text))
    params.within = *back;
  else if (const auto at = model::parse_timestamp(text))
    params.since = *at;
  else
    throw InputError(fmt::format("--since '{}': expected a duration back from now (10m, 1h30m, 2d; at most 36500d) or an ISO-8601 "
                                 "UTC time (2026-11-28T16:00:00Z)", text));
}

store::JobListParams list_params(const ListOptions& o) {
  store::JobListParams p;
  p.status = o.status;
  p.limit = o.limit;
  if (o.contract_id) require_uuid("--contract", *o.contract_id);
  p.contract_id = o.contract_id;
  if (o.since) set_since(*o.since, p);
  p.target_glob = valid_text("--target", o.target);
  p.step_type = valid_text("--step-type", o.step_type);
  return p;
}

// Fits 80 columns before REASON; the reason is cut with "…" at kTextWidth, as in every other table of the CLI:
// one row per line, and the whole reason is one `jobs show` away.
std::string list_table(const std::vector<store::JobSummary>& jobs) {
  TextTable table({{"JOB", 8}, {"STATUS", 9}, {"STEP", 7}, {"CREATED", 19}, {"AGE", 4}, {"DURATION", 8},
                   {"REASON", kTextWidth}});
  for (const auto& job : jobs)
    table.add({job.job_id.substr(0, 8), job.status, fmt::format("{}/{}", job.current_step_index, job.total_steps),
               second_time(job.created_at ? model::format_timestamp(*job.created_at) : ""), age_text(job.age_seconds),
               job.duration_seconds ? duration_text(*job.duration_seconds) : "-", job.status_reason.value_or("")});
  return table.render();
}

}  // namespace

int command_jobs_list(const CommonOptions& common, const ListOptions& options) {
  const auto params = list_params(options);
  const auto jobs = open_store(common)->job_list(params);
  if (options.json) {
    for (const auto& job : jobs) fmt::print("{}\n", json_text(summary_json(job)));
    return run::kExitOk;
  }
  fmt::print("{}", list_table(jobs));
  if (jobs.size() == static_cast<std::size_t>(options.limit)) fmt::print("(the newest {} shown: --limit)\n", options.limit);
  return run::kExitOk;
}

int command_jobs_show(const CommonOptions& common, const ShowOptions& options) {
  const auto settings = load_config(common);
  const auto store = open_store(settings);
  const std::string job_id = resolve_job_id(*store, options.job_id);
  auto job = store->job_get(job_id, settings.worker.max_job_bytes);
  if (!job) throw InputError(fmt::format("job {} not found", job_id));
  // why it is not running (docs/fleet.md); none when it was claimed meanwhile
  if ((*job)["status"] == "PENDING")
    if (auto waiting = store->job_waiting(job_id, settings.worker.lease_timeout); !waiting.empty())
      (*job)["waiting"] = std::move(waiting);
  // --json on one line: indented, a writer's value nested deep grew the output with the square of its depth
  fmt::print("{}", options.json ? json_text(*job) + "\n" : job_timeline(*job));
  return run::kExitOk;
}

}  // namespace govjobd::cli
