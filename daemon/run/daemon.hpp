#pragma once

#include <memory>
#include <string>

#include "config/settings.hpp"

namespace govjobd::run {

struct DaemonOptions {
  std::string config_path;  // re-read on SIGHUP
  bool exit_when_idle = false;
};

// `govjobd run`: claims, runs and records jobs until SIGTERM/SIGINT (or idle, with exit_when_idle).
// Returns the process exit code.
// "<host>:<pid>", the worker id when worker.id is not set.
std::string default_worker_id();

int run_daemon(const config::Settings& settings, const DaemonOptions& options);

}  // namespace govjobd::run
