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
  const auto report = open_store_unbounded(load_config(common))->migrate();
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
  // a reload (SIGHUP) reads database.url from the config again: an override here would silently not survive it
  if (common.database_url)
    throw InputError("--database-url is for the operator commands; the daemon reads database.url from its config "
                     "or GOVJOBD_DATABASE_URL");
  const config::Settings settings = load_config(common);
  log::configure(settings.logging, settings.worker.id.empty() ? run::default_worker_id() : settings.worker.id);
  spdlog::info("config {} ({}), database {}", settings.source, settings.source.empty() ? "defaults" : "file",
               config::redact_database_url(settings.database.url.empty() ? "(libpq environment)" : settings.database.url));
  return run::run_daemon(settings, {common.config_path.empty() ? settings.source : common.config_path, exit_when_idle});
}

}  // namespace govjobd::cli

namespace govjobd::cli {

namespace {

// --since: a UTC time, or a duration back from this host's now (1h30m), as a UTC time.
std::string since_time(const std::string& text) {
  if (const auto back = since_duration(text))
    return model::format_timestamp(model::now_utc() - std::chrono::duration_cast<std::chrono::microseconds>(*back));
  if (!model::parse_timestamp(text))
    throw InputError(fmt::format("--since '{}': expected an ISO-8601 UTC time or a duration back from now (1h30m, at most 36500d)", text));
  return text;
}

}  // namespace

int command_verify(const CommonOptions& common, const std::optional<std::string>& since, bool json) {
  const auto problems = open_store(common)->jobs_verify(since ? std::optional(since_time(*since)) : std::nullopt);
  for (const auto& [job, problem] : problems)
    if (json)
      fmt::print("{}\n", json_text({{"job_id", job}, {"problem", problem}}));
    else
      fmt::print("{}  {}\n", log::escape_line(job), log::escape_line(problem));  // names an owner chose, rows' values
  if (json) {
    if (!problems.empty()) fmt::print(stderr, "verify: {} problems\n", problems.size());
    return problems.empty() ? run::kExitOk : run::kExitFailure;
  }
  if (problems.empty()) {
    fmt::print("verify: clean\n");
    return run::kExitOk;
  }
  fmt::print(stderr, "verify: {} problems\n", problems.size());
  return run::kExitFailure;
}

}  // namespace govjobd::cli
