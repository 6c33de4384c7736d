#include "daemon/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "config/config_error.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/cli/fleet_commands.hpp"
#include "daemon/log/logging.hpp"
#include "daemon/model/job_status.hpp"
#include "daemon/run/exit_codes.hpp"
#include "daemon/store/store_errors.hpp"
#include "govjobd/version.hpp"

namespace govjobd::cli {

namespace {

void add_config_option(CLI::App& command, CommonOptions& common) {
  command.add_option("-c,--config", common.config_path, "YAML config file (default /etc/govjobd/govjobd.yaml)")
      ->envname("GOVJOBD_CONFIG");
}

// Global, and accepted after the command too (`govjobd jobs list --database-url ...`).
void add_database_url_option(CLI::App& command, CommonOptions& common) {
  command.add_option("--database-url", common.database_url,
                     "Use this database (libpq URI or key=value) instead of the config's database.url");
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

namespace {

// Every option the subcommands fill in, and the command the parse chose.
struct Parsed {
  CommonOptions common;
  EnqueueOptions enqueue;
  ListOptions list;
  ShowOptions show;
  WatchOptions watch;
  CancelOptions cancel;
  std::optional<std::string> since;
  bool exit_when_idle = false;
  PauseOptions pause;
  ResumeOptions resume;
  PausesOptions pauses;
  bool json = false;  // status, workers, health, verify
  std::function<int()> chosen;
};

CLI::App* command(CLI::App& parent, Parsed& p, const char* name, const char* what, std::function<int()> run) {
  auto* sub = parent.add_subcommand(name, what);
  add_config_option(*sub, p.common);
  add_database_url_option(*sub, p.common);
  sub->callback([&p, run = std::move(run)] { p.chosen = run; });
  return sub;
}

void add_job_commands(CLI::App& app, Parsed& p) {
  auto* enqueue = command(app, p, "enqueue", "Create a PENDING job; prints its job_id",
                          [&p] { return command_enqueue(p.common, p.enqueue); });
  enqueue->add_option("--contract", p.enqueue.contract_id, "Contract UUID (one job per contract)")->required();
  enqueue->add_option("--steps", p.enqueue.steps_path, "YAML or JSON file holding the list of steps")->required();
  enqueue->add_option("--timeout-minutes", p.enqueue.timeout_minutes, "Job deadline from now, 1..1440")
      ->check(CLI::Range(1, 1440));
  enqueue->add_option("--created-by", p.enqueue.created_by, "Recorded as created_by");

  auto* jobs = app.add_subcommand("jobs", "Inspect jobs");
  jobs->require_subcommand(1);
  auto* list = command(*jobs, p, "list", "List jobs, newest first", [&p] { return command_jobs_list(p.common, p.list); });
  list->add_option("--status", p.list.status, "Only jobs in this status")->check(CLI::IsMember(status_names()));
  list->add_option("--limit", p.list.limit, "At most this many jobs")->check(CLI::Range(1, 100000));
  list->add_flag("--json", p.list.json, "One JSON object per line");
  list->add_option("--contract", p.list.contract_id, "Only the job of this contract UUID");
  list->add_option("--since", p.list.since, "Only jobs created since: a duration back from now (10m, 1h30m) or a UTC time");
  list->add_option("--target", p.list.target, "Only jobs with a step on a target matching this glob (* and ?) or name");
  list->add_option("--step-type", p.list.step_type, "Only jobs with a step of this type");
  auto* show = command(*jobs, p, "show", "One job's timeline: header, transitions, steps with health and errors",
                       [&p] { return command_jobs_show(p.common, p.show); });
  show->add_option("job_id", p.show.job_id, "Job UUID, or its first 8 or more characters")->required();
  show->add_flag("--json", p.show.json, "The job as JSON: every column plus its transitions");
  auto* watch = command(*jobs, p, "watch", "Print transitions as they happen; with a job, its history then until it ends",
                        [&p] { return command_jobs_watch(p.common, p.watch); });
  watch->add_option("job_id", p.watch.job_id, "Job UUID, or its first 8 or more characters");
  watch->add_option("--interval", p.watch.interval, "Between two reads of the transitions table (100ms to 60s)")
      ->capture_default_str();

  auto* cancel = command(app, p, "cancel", "Cancel a PENDING job, or request the cancel of a RUNNING one",
                         [&p] { return command_cancel(p.common, p.cancel); });
  cancel->add_option("job_id", p.cancel.job_id, "Job UUID")->required();
  cancel->add_option("--reason", p.cancel.reason, "Why (recorded in the transition)");
  cancel->add_option("--by", p.cancel.requested_by, "Who (default cli:<user>@<host>)");
}

void add_host_commands(CLI::App& app, Parsed& p) {
  command(app, p, "health", "Print one HealthSnapshot as JSON; exit 0 HEALTHY, 1 DEGRADED, 2 BLOCKED (the worst state)",
          [&p] { return command_health(p.common); })
      ->add_flag("--json", p.json, "The output is always JSON (accepted as on every command that reads)");
  auto* verify = command(app, p, "verify", "Check the recorded evidence; exit 1 listing every broken invariant",
                         [&p] { return command_verify(p.common, p.since, p.json); });
  verify->add_option("--since", p.since, "Only jobs created since: a UTC time (2026-11-28T00:00:00Z) or a duration back (1h30m)");
  verify->add_flag("--json", p.json, "One JSON object per problem: job_id, problem");
  command(app, p, "run", "The daemon: claim, run and record jobs until SIGTERM",
          [&p] { return command_run(p.common, p.exit_when_idle); })
      ->add_flag("--exit-when-idle", p.exit_when_idle, "Exit 0 once no PENDING job is left and nothing runs");
}

// The fleet's commands (docs/fleet.md).
void add_fleet_commands(CLI::App& app, Parsed& p) {
  auto* pause = command(app, p, "pause", "Pause claims of the jobs matching the filters (all jobs without any); prints its id",
                        [&p] { return command_pause(p.common, p.pause); });
  pause->add_option("--step-type", p.pause.step_type, "Only jobs with a step of this type");
  pause->add_option("--target", p.pause.target, "Only jobs with a target matching this glob (* and ?)");
  pause->add_option("--pool", p.pause.pool, "Only jobs of this pool");
  pause->add_option("--until", p.pause.until, "Ends by itself: a duration from now (30m, 2h) or a UTC time");
  pause->add_option("--reason", p.pause.reason, "Why (1 to 1000 characters)")->required();
  pause->add_option("--by", p.pause.by, "Who (default: the OS user)");

  auto* resume = command(app, p, "resume", "End a pause (or --all); daemons claim at once",
                         [&p] { return command_resume(p.common, p.resume); });
  auto* id = resume->add_option("pause_id", p.resume.pause_id, "The pause's id");
  auto* all = resume->add_flag("--all", p.resume.all, "Every active pause");
  id->excludes(all);
  resume->add_option("--by", p.resume.by, "Who (default: the OS user)");
  resume->callback([&p] {
    if (!p.resume.pause_id && !p.resume.all) throw CLI::RequiredError("a PAUSE_ID or --all");
    p.chosen = [&p] { return command_resume(p.common, p.resume); };
  });

  auto* pauses = command(app, p, "pauses", "List the active pauses: filters, who, why, since, until",
                         [&p] { return command_pauses(p.common, p.pauses); });
  pauses->add_flag("--all", p.pauses.all, "The ended ones too");
  pauses->add_flag("--json", p.pauses.json, "One JSON object per line");
  command(app, p, "status", "The fleet at a glance: jobs by status, why PENDING jobs wait, pauses, holds, daemons",
          [&p] { return command_status(p.common, p.json); })
      ->add_flag("--json", p.json, "One JSON object");
  command(app, p, "workers", "Each daemon's row: heartbeat, state, running jobs, what it serves and sees BLOCKED",
          [&p] { return command_workers(p.common, p.json); })
      ->add_flag("--json", p.json, "One JSON object per line");
}

}  // namespace

int run(int argc, char** argv) {
  log::configure_cli();
  CLI::App app{"govjobd: runs governance jobs from PostgreSQL, every step bounded, observed and recorded"};
  app.set_version_flag("-V,--version", std::string("govjobd ") + kVersion);
  app.require_subcommand(1);
  Parsed p;
  add_database_url_option(app, p.common);
  command(app, p, "check-config", "Validate a config file and exit", [&p] { return command_check_config(p.common); });
  command(app, p, "migrate", "Create or upgrade govjobd's schema (idempotent)", [&p] { return command_migrate(p.common); });
  add_job_commands(app, p);
  add_host_commands(app, p);
  add_fleet_commands(app, p);
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
  return guarded(p.chosen);
}

}  // namespace govjobd::cli
