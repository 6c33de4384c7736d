#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/settings.hpp"
#include "executors/signal_sink.hpp"
#include "executors/step_executor.hpp"
#include "executors/step_limits.hpp"
#include "executors/step_output.hpp"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace govjobd::process {
class ChildReaper;
}

namespace govjobd::executors {

// The executors of one configuration, step_type -> executor, built explicitly at start-up (and again on
// reload). Throws std::invalid_argument when a setting cannot be honoured (e.g. an unknown user). Process
// executors track their children in `reaper`, which the daemon owns.
class ExecutorRegistry {
 public:
  ExecutorRegistry(boost::asio::io_context& io, const std::map<std::string, config::ExecutorSettings>& settings,
                   std::shared_ptr<SignalSink> signals, std::shared_ptr<process::ChildReaper> reaper);
  ~ExecutorRegistry();

  // nullptr when no executor is configured for step_type.
  StepExecutor* find(const std::string& step_type) const;

  // The executor serving step_type (kind, rollback_action); nullopt when none is configured.
  std::optional<StepHandler> handler(const std::string& step_type) const;

  // Why a step cannot run, found before its job's first step: "step_type: No handler registered ...", or
  // what its executor's StepLimits refuse ("target: ...", "timeout_seconds: ..."); nullopt when it can run.
  std::optional<std::string> refusal(const model::JobStep& step) const;

  // "No handler registered for step type: X" (the creator's words)
  static std::string missing_message(const std::string& step_type);

 private:
  struct Entry {
    std::unique_ptr<StepExecutor> executor;
    StepLimits limits;
    StepHandler handler;
  };

  std::unique_ptr<boost::asio::thread_pool> blocking_;
  std::map<std::string, Entry> executors_;
};

}  // namespace govjobd::executors
