#include "daemon/cli/commands.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "config/database_url.hpp"
#include "daemon/cli/command_support.hpp"
#include "config/yaml_json.hpp"
#include "daemon/model/job_types.hpp"
#include "daemon/model/steps_parser.hpp"
#include "daemon/log/logging.hpp"
#include "daemon/run/daemon.hpp"
#include "daemon/run/descriptor_budget.hpp"
#include "daemon/run/exit_codes.hpp"
#include "daemon/run/metrics_listen.hpp"
#include "process/child_reaper.hpp"
#include "process/descriptors.hpp"
#include "daemon/store/store.hpp"
#include "health/health_monitor.hpp"

namespace govjobd::cli {

namespace {

std::string default_actor() {
  const passwd* pw = ::getpwuid(::geteuid());
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("cli:{}@{}", pw ? pw->pw_name : std::to_string(::geteuid()), host);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot read the file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A list of steps from a .json file, or from YAML (any other name).
nlohmann::json read_steps_file(const std::string& path) {
  const std::string text = read_file(path);
  if (path.ends_with(".json")) {
    try {
      return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(fmt::format("{}: invalid JSON at byte {}", path, e.byte));
    }
  }
  try {
    return config::yaml_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}:{}:{}: invalid YAML: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

void require_uuid(const std::string& what, const std::string& text) {
  if (!model::is_uuid(text)) throw InputError(fmt::format("{} '{}' is not a UUID", what, text));
}

std::string or_dash(const std::optional<model::Timestamp>& t) { return t ? model::format_timestamp(*t) : "-"; }

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

}  // namespace

int command_check_config(const CommonOptions& common) {
  const config::Settings settings = load_config(common);
  // What `govjobd run` would check after raising its soft limit to the hard one (here: this process's; under
  // systemd: the unit's LimitNOFILE=).
  const auto files = process::raise_open_files_limit();
  const auto budget = run::descriptor_budget(settings);
  if (auto shortfall = run::descriptor_shortfall(budget, files.soft)) {
    spdlog::error("{}: {}", settings.source, *shortfall);
    return run::kExitConfig;
  }
  if (const auto problem = run::metrics_listen_problem(settings.metrics.listen); !problem.empty()) {
    spdlog::error("{}: {}", settings.source, problem);
    return run::kExitConfig;
  }
  fmt::print("{}: OK (open files: {} needed, {} allowed here)\n", settings.source, budget.total(), files.soft);
  return run::kExitOk;
}

int command_migrate(const CommonOptions& common) {
  const auto report = open_store(common)->migrate();
  if (report.applied.empty())
    fmt::print("schema already at version {}; nothing to do\n", report.current_version);
  else
    fmt::print("schema migrated from version {} to {}: {}\n", report.previous_version, report.current_version,
               fmt::join(report.applied, ", "));
  return run::kExitOk;
}

int command_enqueue(const CommonOptions& common, const EnqueueOptions& options) {
  require_uuid("contract", options.contract_id);
  const auto parsed = model::parse_steps(read_steps_file(options.steps_path));
  if (!parsed.ok()) throw InputError(fmt::format("{}: {}", options.steps_path, parsed.problems_text()));
  auto store = open_store(common);
  store::JobEnqueueParams params{options.contract_id, nlohmann::json(parsed.steps), options.timeout_minutes,
                                 options.created_by.empty() ? default_actor() : options.created_by};
  fmt::print("{}\n", store->job_enqueue(params));
  return run::kExitOk;
}

int command_jobs_list(const CommonOptions& common, const ListOptions& options) {
  const auto jobs = open_store(common)->job_list({options.status, options.limit});
  if (options.json) {
    for (const auto& job : jobs) fmt::print("{}\n", summary_json(job).dump());
    return run::kExitOk;
  }
  fmt::print("{:<36}  {:<9}  {:>5}  {:<27}  {:<27}  {}\n", "JOB_ID", "STATUS", "STEP", "CREATED_AT", "COMPLETED_AT",
             "REASON");
  for (const auto& job : jobs)
    fmt::print("{:<36}  {:<9}  {:>5}  {:<27}  {:<27}  {}\n", job.job_id, job.status,
               fmt::format("{}/{}", job.current_step_index, job.total_steps), or_dash(job.created_at),
               or_dash(job.completed_at), log::escape_line(job.status_reason.value_or("")));  // the writer's text, one line
  return run::kExitOk;
}

int command_jobs_show(const CommonOptions& common, const std::string& job_id) {
  require_uuid("job", job_id);
  const auto settings = load_config(common);
  const auto store = open_store(settings);
  auto job = store->job_get(job_id);
  if (!job) throw InputError(fmt::format("job {} not found", job_id));
  // why it is not running (docs/fleet.md); none when it was claimed meanwhile
  if ((*job)["status"] == "PENDING")
    if (auto waiting = store->job_waiting(job_id, settings.worker.lease_timeout); !waiting.empty())
      (*job)["waiting"] = std::move(waiting);
  fmt::print("{}\n", job->dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  return run::kExitOk;
}

int command_cancel(const CommonOptions& common, const CancelOptions& options) {
  require_uuid("job", options.job_id);
  const std::string by = options.requested_by.empty() ? default_actor() : options.requested_by;
  const auto outcome = open_store(common)->job_cancel({options.job_id, options.reason, by});
  if (outcome == store::CancelOutcome::Cancelled)
    fmt::print("job {} CANCELLED\n", options.job_id);
  else
    fmt::print("job {} is RUNNING: cancel requested; its daemon stops it and records it CANCELLED\n", options.job_id);
  return run::kExitOk;
}

}  // namespace govjobd::cli

namespace govjobd::cli {

int command_health(const CommonOptions& common) {
  const config::Settings settings = load_config(common);
  boost::asio::io_context io;
  health::HealthMonitor monitor(io, settings.health, std::make_shared<process::ChildReaper>());
  std::optional<model::HealthSnapshot> snapshot;
  monitor.snapshot([&](model::HealthSnapshot s) { snapshot = std::move(s); });
  io.run();
  if (!snapshot) throw std::logic_error("no health snapshot");
  fmt::print("{}\n", nlohmann::json(*snapshot).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  switch (health::worst_state(*snapshot)) {
    case health::HealthState::Healthy: return run::kExitOk;
    case health::HealthState::Degraded: return run::kExitHealthDegraded;
    case health::HealthState::Blocked: break;
  }
  return run::kExitHealthBlocked;
}

}  // namespace govjobd::cli

namespace govjobd::cli {

int command_run(const CommonOptions& common, bool exit_when_idle) {
  const config::Settings settings = load_config(common);
  log::configure(settings.logging, settings.worker.id.empty() ? run::default_worker_id() : settings.worker.id);
  spdlog::info("config {} ({}), database {}", settings.source, settings.source.empty() ? "defaults" : "file",
               config::redact_database_url(settings.database.url.empty() ? "(libpq environment)" : settings.database.url));
  return run::run_daemon(settings, {common.config_path.empty() ? settings.source : common.config_path, exit_when_idle});
}

}  // namespace govjobd::cli

namespace govjobd::cli {

int command_verify(const CommonOptions& common, const std::optional<std::string>& since) {
  if (since && !model::parse_timestamp(*since))
    throw InputError(fmt::format("--since '{}' is not an ISO-8601 UTC timestamp", *since));
  const auto problems = open_store(common)->jobs_verify(since);
  for (const auto& [job, problem] : problems) fmt::print("{}  {}\n", job, problem);
  if (problems.empty()) {
    fmt::print("verify: clean\n");
    return run::kExitOk;
  }
  fmt::print(stderr, "verify: {} problems\n", problems.size());
  return run::kExitFailure;
}

}  // namespace govjobd::cli
