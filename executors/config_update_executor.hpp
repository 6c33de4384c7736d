#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "executors/step_executor.hpp"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace govjobd::executors {

// Sets parameters.key (dotted path) to parameters.new_value in the JSON or YAML file configured for the
// step's target, only when the current value equals parameters.old_value (if given). Atomic: a temporary
// file in the same directory, fsync, rename, fsync of the directory. Blocking; the executor runs it off
// the loop.
StepExecution update_config_file(const std::string& path, const nlohmann::json& parameters);

class ConfigUpdateExecutor : public StepExecutor {
 public:
  ConfigUpdateExecutor(boost::asio::io_context& io, boost::asio::thread_pool& blocking,
                       std::map<std::string, std::string> files)
      : io_(io), blocking_(blocking), files_(std::move(files)) {}
  void start(const model::JobStep& step, const StepContext& context, StepDone done) override;

 private:
  boost::asio::io_context& io_;
  boost::asio::thread_pool& blocking_;
  std::map<std::string, std::string> files_;  // target -> file
};

}  // namespace govjobd::executors
