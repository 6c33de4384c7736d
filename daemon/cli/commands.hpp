#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace govjobd::cli {

struct CommonOptions {
  std::string config_path;  // empty: $GOVJOBD_CONFIG, else /etc/govjobd/govjobd.yaml when it exists, else defaults
  std::optional<std::string> database_url;  // --database-url: replaces the config's database.url
};

struct EnqueueOptions {
  std::string contract_id;
  std::string steps_path;
  int timeout_minutes = 60;
  std::string created_by;  // empty: "cli:<user>@<host>"
};

struct ListOptions {
  std::optional<std::string> status;
  int limit = 50;
  bool json = false;
  std::optional<std::string> contract_id;
  std::optional<std::string> since;  // a duration back from now (1h30m) or an ISO-8601 UTC time
  std::optional<std::string> target;  // a glob (* and ?) or an exact name
  std::optional<std::string> step_type;
};

struct ShowOptions {
  std::string job_id;
  bool json = false;
};

struct WatchOptions {
  std::optional<std::string> job_id;  // none: every job's transitions from now on
  std::string interval = "500ms";     // between two reads of the transitions table
};

struct CancelOptions {
  std::string job_id;
  std::string reason = "cancelled by operator";
  std::string requested_by;  // empty: "cli:<user>@<host>"
};

// Each command returns an exit code; errors are thrown and mapped to exit codes by run().
int command_check_config(const CommonOptions& common);
int command_migrate(const CommonOptions& common);
int command_enqueue(const CommonOptions& common, const EnqueueOptions& options);
int command_jobs_list(const CommonOptions& common, const ListOptions& options);
int command_jobs_show(const CommonOptions& common, const ShowOptions& options);
int command_jobs_watch(const CommonOptions& common, const WatchOptions& options);
int command_cancel(const CommonOptions& common, const CancelOptions& options);
int command_health(const CommonOptions& common);
int command_verify(const CommonOptions& common, const std::optional<std::string>& since, bool json);
int command_run(const CommonOptions& common, bool exit_when_idle);

// Bad input on the command line or in a file it names (exit 65).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace govjobd::cli
