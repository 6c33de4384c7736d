#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace govjobd::config {

using Duration = std::chrono::milliseconds;

inline constexpr const char* kDefaultConfigPath = "/etc/govjobd/govjobd.yaml";
inline constexpr const char* kDatabaseUrlEnv = "GOVJOBD_DATABASE_URL";

struct DatabaseSettings {
  // A libpq URI or key=value string; empty means libpq's PG* environment variables apply.
  std::string url;
};

struct WorkerSettings {
  std::string id;  // empty: "<host>:<pid>" at start-up
  int concurrency = 4;
  Duration poll_interval = std::chrono::seconds(2);
  Duration heartbeat_interval = std::chrono::seconds(5);
  Duration lease_timeout = std::chrono::seconds(30);
  Duration shutdown_grace = std::chrono::seconds(30);
};

struct LoggingSettings {
  std::string level = "info";   // trace | debug | info | warn | error
  std::string format = "text";  // text | json | journal
};

// How one step_type runs. `kind` selects the executor; the other keys apply to the kinds named.
struct ExecutorSettings {
  std::string kind;                           // process | noop | sleep | signal_record | config_update
  std::vector<std::string> command;           // process: argv; {job_id} {contract_id} {step_index} {step_type} {target}
  std::vector<std::string> env;               // process: names passed through from the daemon's environment
  std::map<std::string, std::string> set_env; // process: fixed variables
  std::string workdir;                        // process: empty keeps the daemon's working directory
  std::string user;                           // process: run as this user (daemon must be root)
  std::string group;                          // process: and group
  int max_output_bytes = 64 * 1024;           // process: captured per stream; the rest is drained and counted
  Duration kill_grace = std::chrono::seconds(5);  // process: SIGTERM to SIGKILL on timeout or cancel
  std::string output = "text";                // process: text | json (last stdout line is the output object)
  std::map<std::string, std::string> files;   // config_update: target -> JSON or YAML file
};

inline constexpr const char* kExecutorKinds[] = {"process", "noop", "sleep", "signal_record", "config_update"};
inline constexpr const char* kCommandPlaceholders[] = {"job_id", "contract_id", "step_index", "step_type", "target"};

struct Settings {
  std::string source;  // the file these came from, or "" for built-in defaults
  DatabaseSettings database;
  WorkerSettings worker;
  LoggingSettings logging;
  std::map<std::string, ExecutorSettings> executors;  // step_type -> executor
};

}  // namespace govjobd::config
