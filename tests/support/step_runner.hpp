#pragma once

#include <chrono>
#include <functional>
#include <set>
#include <string>

#include "config/settings.hpp"
#include "executors/step_executor.hpp"
#include "process/child_reaper.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::testing {

// A process executor's settings for argv, with a short kill grace unless the test says otherwise.
config::ExecutorSettings process_settings(std::vector<std::string> command);

model::JobStep make_step(int timeout_seconds = 30, nlohmann::json parameters = nlohmann::json::object(),
                         std::string target = "payments");

// Runs one step through a ProcessExecutor on its own io_context; `during` may schedule things on the loop
// (a cancel, say). Fails the test when the step does not end within `limit`.
executors::StepExecution run_process_step(const config::ExecutorSettings& settings, const model::JobStep& step,
                                          executors::StepContext context = {},
                                          std::function<void(boost::asio::io_context&)> during = {},
                                          std::chrono::seconds limit = std::chrono::seconds(60));

// One child reaper for the tests of this process (the daemon owns its own).
std::shared_ptr<process::ChildReaper> test_reaper();

// Processes whose command line contains `marker`, and zombie children of this process.
std::vector<int> processes_with(const std::string& marker);
std::vector<int> zombie_children();

// A unique number to put in a command line (e.g. "sleep 100.12345") so that leftovers can be found.
std::string unique_marker();

}  // namespace govjobd::testing
