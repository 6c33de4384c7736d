#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace govjobd::cli {

struct CommonOptions {
  std::string config_path;  // empty: /etc/govjobd/govjobd.yaml when it exists, else built-in defaults
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
int command_jobs_show(const CommonOptions& common, const std::string& job_id);
int command_cancel(const CommonOptions& common, const CancelOptions& options);
int command_health(const CommonOptions& common);
int command_verify(const CommonOptions& common, const std::optional<std::string>& since);
int command_run(const CommonOptions& common, bool exit_when_idle);

// Bad input on the command line or in a file it names (exit 65).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace govjobd::cli
