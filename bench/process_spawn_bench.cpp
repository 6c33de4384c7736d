// /bin/true steps per second through the process executor, against a posix_spawn + waitpid loop, measured
// side by side in one run. Usage: govjobd_process_bench [N] [IN_FLIGHT]
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <vector>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "executors/process_executor.hpp"
#include "process/child_reaper.hpp"

extern char** environ;

using namespace govjobd;
using steady = std::chrono::steady_clock;

namespace {

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

double posix_spawn_rate(int n) {
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  const auto started = steady::now();
  for (int i = 0; i < n; ++i) {
    pid_t pid = 0;
    if (::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) std::abort();
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  return n / seconds_since(started);
}

double executor_rate(int n, int in_flight) {
  boost::asio::io_context io;
  config::ExecutorSettings settings;
  settings.kind = "process";
  settings.command = {"/bin/true"};
  executors::ProcessExecutor executor(io, settings, std::make_shared<process::ChildReaper>());
  int started_steps = 0, finished = 0, failed = 0;
  std::function<void()> start_one = [&] {
    const model::JobStep step{started_steps++, "bench", "", nlohmann::json::object(), 30};
    executor.start(step, {"job", "contract", "bench", std::nullopt, nullptr, nullptr}, [&](executors::StepExecution r) {
      ++finished;
      if (r.outcome != executors::StepOutcome::Completed) ++failed;
      if (started_steps < n) start_one();
    });
  };
  const auto started = steady::now();
  for (int i = 0; i < in_flight && started_steps < n; ++i) start_one();
  io.run();
  if (failed) fmt::print(stderr, "{} steps failed\n", failed);
  return finished / seconds_since(started);
}

// Steps that ignore SIGTERM, each with a 1 s timeout and kill_grace 200 ms: how long after deadline + grace
// the result arrives (the group is gone and reaped by then), in ms.
std::vector<double> timeout_overshoot(int n, int in_flight) {
  boost::asio::io_context io;
  config::ExecutorSettings settings;
  settings.kind = "process";
  settings.command = {"/bin/sh", "-c", "trap '' TERM; sleep 30"};
  settings.kill_grace = std::chrono::milliseconds(200);
  executors::ProcessExecutor executor(io, settings, std::make_shared<process::ChildReaper>());
  std::vector<double> overshoot;
  int started_steps = 0;
  std::function<void()> start_one = [&] {
    const model::JobStep step{started_steps++, "bench", "", nlohmann::json::object(), 1};
    const auto began = steady::now();
    executor.start(step, {"job", "contract", "bench", std::nullopt, nullptr, nullptr}, [&, began](executors::StepExecution) {
      const double ms = std::chrono::duration<double, std::milli>(steady::now() - began).count();
      overshoot.push_back(ms - 1000.0 - 200.0);
      if (started_steps < n) start_one();
    });
  };
  for (int i = 0; i < in_flight && started_steps < n; ++i) start_one();
  io.run();
  std::sort(overshoot.begin(), overshoot.end());
  return overshoot;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int in_flight = argc > 2 ? std::atoi(argv[2]) : 16;
  process::prepare_process_for_children();
  executor_rate(std::min(n, 50), in_flight);  // warm-up
  const double baseline = posix_spawn_rate(n);
  const double executor = executor_rate(n, in_flight);
  fmt::print("process steps: {} x /bin/true, {} in flight\n", n, in_flight);
  fmt::print("  {:<36} {:>10.0f} /s\n", "posix_spawn + waitpid loop", baseline);
  fmt::print("  {:<36} {:>10.0f} /s\n", "govjobd process executor", executor);
  fmt::print("  {:<36} {:>10.2f}   (target >= 0.70)\n", "ratio", executor / baseline);
  if (argc > 3) {
    const int steps = std::atoi(argv[3]);
    const auto over = timeout_overshoot(steps, 25);
    fmt::print("timeout precision: {} steps ignoring SIGTERM, timeout 1 s, kill_grace 200 ms, 25 at once\n", steps);
    fmt::print("  overshoot past deadline + grace    p50 {:.1f} ms   p99 {:.1f} ms   max {:.1f} ms   (target p99 <= 100 ms)\n",
               percentile(over, 0.5), percentile(over, 0.99), over.empty() ? 0.0 : over.back());
  }
  return 0;
}
