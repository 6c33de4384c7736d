#include "daemon/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "config/config_error.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/log/logging.hpp"
#include "daemon/model/job_status.hpp"
#include "daemon/run/exit_codes.hpp"
#include "daemon/store/store_errors.hpp"
#include "govjobd/version.hpp"

namespace govjobd::cli {

namespace {

void add_config_option(CLI::App& command, CommonOptions& common) {
  command.add_option("-c,--config", common.config_path, "YAML config file (default /etc/govjobd/govjobd.yaml)");
}

std::vector<std::string> status_names() {
  std::vector<std::string> names;
  for (auto s : model::kAllJobStatuses) names.emplace_back(model::to_string(s));
  return names;
}

// Runs the chosen command; every error becomes one line on stderr and its exit code.
template <class F>
int guarded(F&& command) {
  try {
    return command();
  } catch (const config::ConfigError& e) {
    for (const auto& issue : e.issues()) spdlog::error("{}", issue.text());
    return run::kExitConfig;
  } catch (const store::DatabaseUnavailable& e) {
    spdlog::error("{}", e.what());
    return run::kExitUnavailable;
  } catch (const store::SchemaMismatch& e) {
    spdlog::error("{}", e.what());
    return run::kExitConfig;
  } catch (const store::RequestRejected& e) {
    spdlog::error("{}", e.what());
    return run::kExitDataError;
  } catch (const InputError& e) {
    spdlog::error("{}", e.what());
    return run::kExitDataError;
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return run::kExitSoftware;
  }
}

}  // namespace

int run(int argc, char** argv) {
  log::configure_cli();

  CLI::App app{"govjobd: runs governance jobs from PostgreSQL, every step bounded, observed and recorded"};
  app.set_version_flag("-V,--version", std::string("govjobd ") + kVersion);
  app.require_subcommand(1);

  CommonOptions common;
  std::function<int()> chosen;

  auto* check = app.add_subcommand("check-config", "Validate a config file and exit");
  add_config_option(*check, common);
  check->callback([&] { chosen = [&] { return command_check_config(common); }; });

  auto* migrate = app.add_subcommand("migrate", "Create or upgrade govjobd's schema (idempotent)");
  add_config_option(*migrate, common);
  migrate->callback([&] { chosen = [&] { return command_migrate(common); }; });

  EnqueueOptions enqueue_options;
  auto* enqueue = app.add_subcommand("enqueue", "Create a PENDING job; prints its job_id");
  add_config_option(*enqueue, common);
  enqueue->add_option("--contract", enqueue_options.contract_id, "Contract UUID (one job per contract)")->required();
  enqueue->add_option("--steps", enqueue_options.steps_path, "YAML or JSON file holding the list of steps")
      ->required();
  enqueue->add_option("--timeout-minutes", enqueue_options.timeout_minutes, "Job deadline from now, 1..1440")
      ->check(CLI::Range(1, 1440));
  enqueue->add_option("--created-by", enqueue_options.created_by, "Recorded as created_by");
  enqueue->callback([&] { chosen = [&] { return command_enqueue(common, enqueue_options); }; });

  auto* jobs = app.add_subcommand("jobs", "Inspect jobs");
  jobs->require_subcommand(1);
  ListOptions list_options;
  auto* list = jobs->add_subcommand("list", "List jobs, newest first");
  add_config_option(*list, common);
  list->add_option("--status", list_options.status, "Only jobs in this status")->check(CLI::IsMember(status_names()));
  list->add_option("--limit", list_options.limit, "At most this many jobs")->check(CLI::Range(1, 100000));
  list->add_flag("--json", list_options.json, "One JSON object per line");
  list->callback([&] { chosen = [&] { return command_jobs_list(common, list_options); }; });

  std::string show_job_id;
  auto* show = jobs->add_subcommand("show", "Print one job as JSON: every column plus its transitions");
  add_config_option(*show, common);
  show->add_option("job_id", show_job_id, "Job UUID")->required();
  show->callback([&] { chosen = [&] { return command_jobs_show(common, show_job_id); }; });

  CancelOptions cancel_options;
  auto* cancel = app.add_subcommand("cancel", "Cancel a PENDING job, or request the cancel of a RUNNING one");
  add_config_option(*cancel, common);
  cancel->add_option("job_id", cancel_options.job_id, "Job UUID")->required();
  cancel->add_option("--reason", cancel_options.reason, "Why (recorded in the transition)");
  cancel->add_option("--by", cancel_options.requested_by, "Who (default cli:<user>@<host>)");
  cancel->callback([&] { chosen = [&] { return command_cancel(common, cancel_options); }; });

  auto* health = app.add_subcommand("health", "Print one HealthSnapshot as JSON; exit 1 when anything is BLOCKED");
  add_config_option(*health, common);
  health->callback([&] { chosen = [&] { return command_health(common); }; });

  std::optional<std::string> since;
  auto* verify = app.add_subcommand("verify", "Check the recorded evidence; exit 1 listing every broken invariant");
  add_config_option(*verify, common);
  verify->add_option("--since", since, "Only jobs created at or after this UTC time (2026-11-28T00:00:00Z)");
  verify->callback([&] { chosen = [&] { return command_verify(common, since); }; });

  bool exit_when_idle = false;
  auto* run = app.add_subcommand("run", "The daemon: claim, run and record jobs until SIGTERM");
  add_config_option(*run, common);
  run->add_flag("--exit-when-idle", exit_when_idle, "Exit 0 once no PENDING job is left and nothing runs");
  run->callback([&] { chosen = [&] { return command_run(common, exit_when_idle); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    spdlog::error("{} (see govjobd --help)", e.what());
    return run::kExitUsage;
  }
  return guarded(chosen);
}

}  // namespace govjobd::cli
