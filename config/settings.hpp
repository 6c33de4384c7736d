#pragma once

#include <chrono>
#include <string>

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

struct Settings {
  std::string source;  // the file these came from, or "" for built-in defaults
  DatabaseSettings database;
  WorkerSettings worker;
  LoggingSettings logging;
};

}  // namespace govjobd::config
