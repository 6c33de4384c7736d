#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace govjobd::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs argv (no shell) with the current environment plus `env` (an empty value removes a variable),
// captures stdout and stderr, kills it after `timeout`.
ProcessResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace govjobd::testing
