#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace govjobd::config {

using Duration = std::chrono::milliseconds;

inline constexpr const char* kDefaultConfigPath = "/etc/govjobd/govjobd.yaml";
inline constexpr const char* kDatabaseUrlEnv = "GOVJOBD_DATABASE_URL";

struct DatabaseSettings {
  // A libpq URI or key=value string; empty means libpq's PG* environment variables apply.
  std::string url;
  // The schema of the creating system's governance_jobs table (lower-case letters, digits, '_').
  std::string jobs_schema = "public";
};

struct WorkerSettings {
  std::string id;  // empty: "<host>:<pid>" at start-up
  int concurrency = 4;
  Duration poll_interval = std::chrono::seconds(2);
  Duration heartbeat_interval = std::chrono::seconds(5);
  Duration lease_timeout = std::chrono::seconds(30);
  Duration shutdown_grace = std::chrono::seconds(30);
  int max_job_bytes = 8 << 20;  // a job's steps larger than this (as JSON text) fail unread
  // The fleet (docs/fleet.md). A daemon claims only jobs it can run entirely: every step's step_type has an
  // executor here, every target matches one of `targets` (shell globs), and the job's pool (when set) is in
  // `pools`. Malformed jobs stay claimable by every daemon, so that they fail fast.
  std::vector<std::string> targets{"*"};
  std::vector<std::string> pools;
  bool exclusive_targets = true;  // one RUNNING job per target, fleet-wide
  // Running jobs stop once heartbeats have failed for most of the lease (daemon/run/upkeep.hpp), before
  // another daemon's reaper may end them; off: their steps run on, maybe past their jobs' ends.
  bool stop_steps_without_lease = true;
  // A PENDING job no live daemon serves ends FAILED, naming what is missing, once it (and the daemon that
  // ends it) waited this long.
  Duration unroutable_after = std::chrono::minutes(10);
};

struct LoggingSettings {
  std::string level = "info";   // trace | debug | info | warn | error
  std::string format;  // text | json | journal; empty: journal when stderr is the journal, else text
};

// config_update: one file that steps may edit, and how.
struct ConfigFileSettings {
  std::string path;
  std::vector<std::string> keys;  // not empty: the only dotted keys a step may change, or see the value of
  bool allow_symlink = false;     // a symbolic link at `path` is followed (its target edited) instead of refused
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
  std::map<std::string, ConfigFileSettings> files;  // config_update: target -> JSON or YAML file
  // Every kind: what a step may ask of this executor, checked before the job's first step.
  std::optional<std::string> target_pattern;  // the whole target must match; none: the kind's default
  Duration max_timeout = std::chrono::hours(24);  // a longer timeout_seconds is refused
  // Every kind: how a completed step of this type is undone (a text or an object), copied into each
  // completed step's output as rollback_action for the creator's audit; none: no rollback_action at all.
  std::optional<nlohmann::json> rollback_action;
};

// A process step's target reaches a program's argv and environment. Letters, digits and `_.:-`, at most
// 200, never first a '-' (it would read as an option) or a '.' (`.` and `..` are path components). Other
// kinds accept any target the steps parser accepted unless their config sets a pattern.
inline constexpr const char* kDefaultProcessTargetPattern = "^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$";

inline constexpr const char* kExecutorKinds[] = {"process", "noop", "sleep", "signal_record", "config_update"};
inline constexpr const char* kCommandPlaceholders[] = {"job_id", "contract_id", "step_index", "step_type", "target"};

// One threshold pair: at or beyond `degraded` the check is DEGRADED, at or beyond `blocked` BLOCKED.
struct Threshold {
  double degraded = 0;
  double blocked = 0;
};

struct SystemHealthSettings {
  bool enabled = true;
  Threshold load_per_cpu{2.0, 4.0};          // 1-minute load average per CPU; higher is worse
  Threshold memory_available_pct{10, 5};     // MemAvailable / MemTotal; lower is worse
  Threshold disk_free_pct{10, 5};            // per path in `disks`; lower is worse
  std::vector<std::string> disks{"/"};
};

// A capability's probe. `kind` selects which keys apply.
struct ProbeSettings {
  std::string kind;                          // command | tcp | http | file | systemd_unit
  std::vector<std::string> command;          // command
  std::vector<int> degraded_exit_codes;      // command: these codes are DEGRADED (0 HEALTHY, others BLOCKED)
  std::string host;                          // tcp
  int port = 0;                              // tcp
  std::string url;                           // http: http:// or https:// (config/http_url.hpp)
  std::string ca_file;                       // https: trust only the CAs in this PEM file; empty: the system's
  bool tls_verify = true;                    // https: false accepts any certificate for any name (logged)
  std::vector<int> healthy_status{200, 204}; // http
  std::vector<int> degraded_status{429};     // http; any other status is BLOCKED
  std::string path;                          // file
  std::optional<Duration> max_age;           // file: older than this is BLOCKED
  std::string unit;                          // systemd_unit
  std::optional<Duration> timeout;           // default health.probe_timeout
  std::string on_error = "BLOCKED";          // BLOCKED | DEGRADED: the state of a probe that fails or times out
};

struct HealthSettings {
  Duration probe_timeout = std::chrono::seconds(2);
  Duration cache_ttl = std::chrono::milliseconds(0);  // 0: every snapshot probes afresh
  std::vector<std::string> block_on{"BLOCKED"};       // states that stop a step: [BLOCKED] or [BLOCKED, DEGRADED]
  SystemHealthSettings system;
  std::map<std::string, ProbeSettings> capabilities;  // capability (a step's target) -> probe
};

struct MetricsSettings {
  std::string listen;  // "127.0.0.1:9464"; empty: no metrics endpoint
};

struct RetentionSettings {
  std::optional<Duration> keep_terminal;  // delete terminal jobs completed longer ago than this; none: keep all
  Duration interval = std::chrono::hours(1);
  int batch_size = 500;
};

// The contract gate (docs/contract.md): the creating system's contracts table, read (never written) when
// enabled. Names are SQL identifiers (valid_sql_identifier), always quoted where they are used.
struct ContractColumns {
  std::string id = "contract_id";  // the key that governance_jobs.contract_id refers to (uuid)
  std::string status = "status";
  std::string affected_capabilities = "affected_capabilities";
  std::string window_start = "activation_window_start";
  std::string window_end = "activation_window_end";
  bool operator==(const ContractColumns&) const = default;
};

struct ContractSettings {
  bool enabled = false;
  std::string table = "system_contracts";  // `table` (in database.jobs_schema) or `schema.table`
  ContractColumns columns;
  bool operator==(const ContractSettings&) const = default;
};

struct Settings {
  std::string source;  // the file these came from, or "" for built-in defaults
  DatabaseSettings database;
  WorkerSettings worker;
  LoggingSettings logging;
  std::map<std::string, ExecutorSettings> executors;  // step_type -> executor
  HealthSettings health;
  MetricsSettings metrics;
  RetentionSettings retention;
  ContractSettings contract;
};

}  // namespace govjobd::config
