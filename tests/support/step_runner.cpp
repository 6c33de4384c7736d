#include "tests/support/step_runner.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "executors/process_executor.hpp"
#include "process/child_reaper.hpp"

namespace govjobd::testing {

config::ExecutorSettings process_settings(std::vector<std::string> command) {
  config::ExecutorSettings s;
  s.kind = "process";
  s.command = std::move(command);
  s.kill_grace = std::chrono::milliseconds(500);
  return s;
}

model::JobStep make_step(int timeout_seconds, nlohmann::json parameters, std::string target) {
  return model::JobStep{0, "test_step", std::move(target), std::move(parameters), timeout_seconds};
}

executors::StepExecution run_process_step(const config::ExecutorSettings& settings, const model::JobStep& step,
                                          executors::StepContext context,
                                          std::function<void(boost::asio::io_context&)> during,
                                          std::chrono::seconds limit) {
  process::prepare_process_for_children();
  boost::asio::io_context io;
  executors::ProcessExecutor executor(io, settings, test_reaper());
  std::optional<executors::StepExecution> result;
  if (context.job_id.empty()) context.job_id = "00000000-0000-0000-0000-0000000000j1";
  executor.start(step, context, [&](executors::StepExecution r) { result = std::move(r); });
  if (during) during(io);
  io.run_for(limit);
  REQUIRE(result.has_value());
  return *result;
}

std::vector<int> processes_with(const std::string& marker) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().find(marker) != std::string::npos && std::stoi(name) != ::getpid()) out.push_back(std::stoi(name));
  }
  return out;
}

std::vector<int> zombie_children() { return process::zombie_children(::getpid()); }

std::shared_ptr<process::ChildReaper> test_reaper() {
  static const auto reaper = std::make_shared<process::ChildReaper>();
  return reaper;
}

std::string unique_marker() {
  static std::atomic<int> counter{0};
  return fmt::format("{}.{}{}", 100 + (std::random_device{}() % 800), ::getpid() % 10000, counter++);
}

}  // namespace govjobd::testing
