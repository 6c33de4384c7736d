#include "executors/executor_registry.hpp"

#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>

#include "executors/builtin_executors.hpp"
#include "executors/config_update_executor.hpp"
#include "executors/process_executor.hpp"
#include "executors/signal_record_executor.hpp"

namespace govjobd::executors {

ExecutorRegistry::ExecutorRegistry(boost::asio::io_context& io,
                                   const std::map<std::string, config::ExecutorSettings>& settings,
                                   std::shared_ptr<SignalSink> signals,
                                   std::shared_ptr<process::ChildReaper> reaper)
    : blocking_(std::make_unique<boost::asio::thread_pool>(1)) {
  for (const auto& [step_type, s] : settings) {
    std::unique_ptr<StepExecutor> executor;
    if (s.kind == "process") executor = std::make_unique<ProcessExecutor>(io, s, reaper);
    else if (s.kind == "noop") executor = std::make_unique<NoopExecutor>(io);
    else if (s.kind == "sleep") executor = std::make_unique<SleepExecutor>(io);
    else if (s.kind == "config_update") executor = std::make_unique<ConfigUpdateExecutor>(io, *blocking_, s.files);
    else if (s.kind == "signal_record") {
      if (!signals) throw std::invalid_argument("executors." + step_type + ": signal_record needs the database");
      executor = std::make_unique<SignalRecordExecutor>(io, signals);
    } else {
      throw std::invalid_argument(fmt::format("executors.{}: unknown kind '{}'", step_type, s.kind));
    }
    executors_.emplace(step_type, Entry{std::move(executor), StepLimits(step_type, s), StepHandler{s.kind, s.rollback_action}});
  }
}

ExecutorRegistry::~ExecutorRegistry() { blocking_->join(); }

StepExecutor* ExecutorRegistry::find(const std::string& step_type) const {
  const auto it = executors_.find(step_type);
  return it == executors_.end() ? nullptr : it->second.executor.get();
}

std::optional<StepHandler> ExecutorRegistry::handler(const std::string& step_type) const {
  const auto it = executors_.find(step_type);
  if (it == executors_.end()) return std::nullopt;
  return it->second.handler;
}

std::optional<std::string> ExecutorRegistry::refusal(const model::JobStep& step) const {
  const auto it = executors_.find(step.step_type);
  if (it == executors_.end()) return "step_type: " + missing_message(step.step_type);
  return it->second.limits.refusal(step);
}

std::string ExecutorRegistry::missing_message(const std::string& step_type) {
  return fmt::format("No handler registered for step type: {}", step_type);
}

}  // namespace govjobd::executors
