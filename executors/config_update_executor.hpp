#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "config/settings.hpp"
#include "executors/step_executor.hpp"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace govjobd::executors {

// Sets parameters.key (dotted path, at most 32 segments) to parameters.new_value in the JSON or YAML file
// `file`, only when the current value equals parameters.old_value (if given). The file is flock()ed from
// the read to the rename, waiting no later than `deadline`; a key outside the file's `keys:` allowlist and a
// symbolic link (unless allowed) are refused before the file is read. Atomic: a temporary file in the same
// directory with the file's owner, group and mode, fsync, a check that the file was not replaced meanwhile,
// rename, fsync of the directory. A YAML file has only the value's text replaced (comments and layout
// kept), so only an existing scalar can be changed there. Blocking; the executor runs it off the loop.
// `before_rename` runs just before the final check (tests).
// The most a config file may hold, read or as written again: 4 MiB. A step's new_value nested deep would
// otherwise grow the file many times over once indented (a 1 MB value, 95 levels deep: 98 MB), and the next
// step would read it whole.
inline constexpr std::size_t kMaxConfigFileBytes = 4u << 20;

StepExecution update_config_file(const config::ConfigFileSettings& file, const nlohmann::json& parameters,
                                 const Deadline& deadline, const std::function<void()>& before_rename = {});

class ConfigUpdateExecutor : public StepExecutor {
 public:
  ConfigUpdateExecutor(boost::asio::io_context& io, boost::asio::thread_pool& blocking,
                       std::map<std::string, config::ConfigFileSettings> files)
      : io_(io), blocking_(blocking), files_(std::move(files)) {}
  void start(const model::JobStep& step, const StepContext& context, StepDone done) override;

 private:
  boost::asio::io_context& io_;
  boost::asio::thread_pool& blocking_;
  std::map<std::string, config::ConfigFileSettings> files_;  // target -> file
};

}  // namespace govjobd::executors
