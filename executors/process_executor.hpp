#pragma once

#include <memory>

#include "config/settings.hpp"
#include "executors/step_executor.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::process {
class ChildReaper;
struct Identity;
}  // namespace govjobd::process

namespace govjobd::executors {

// Runs a step as a child process through the process runner (process/runner.hpp: no shell, its own process
// group, no inherited descriptors, SIGTERM to the group then SIGKILL after kill_grace, output capped at
// max_output_bytes per stream). What this adds is what a step means: argv from config with placeholders
// substituted inside single arguments; the step as one JSON document on stdin; an allowlisted environment
// plus GOVJOBD_* variables; the step's deadline and cancel; the output as text or as the JSON object on the
// last stdout line.
class ProcessExecutor : public StepExecutor {
 public:
  // Throws std::invalid_argument for a group without a user, an unknown user or an unknown group.
  ProcessExecutor(boost::asio::io_context& io, config::ExecutorSettings settings,
                  std::shared_ptr<process::ChildReaper> reaper);
  ~ProcessExecutor() override;
  void start(const model::JobStep& step, const StepContext& context, StepDone done) override;

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<const config::ExecutorSettings> settings_;  // a running step keeps it across a SIGHUP swap
  std::shared_ptr<process::ChildReaper> reaper_;
  std::shared_ptr<const process::Identity> identity_;
};

}  // namespace govjobd::executors
