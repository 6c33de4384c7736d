// libFuzzer target: whole job rows. The raw text of a job's `steps` column goes through the steps parser
// and, when accepted, its steps run in order through the built-in executors behind the run loop's guard
// (start_guarded): noop, and config_update on a JSON and a YAML file in a temporary directory that is
// written afresh for each input (process execution is not fuzzed here). Nothing may crash, hang, leak or
// throw past the guard; each step ends exactly once; a refusal or a failure always says why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "config/settings.hpp"
#include "daemon/model/steps_parser.hpp"
#include "executors/executor_registry.hpp"

namespace fs = std::filesystem;
using namespace govjobd;

namespace {

struct Fixture {
  fs::path dir;
  boost::asio::io_context io;
  std::unique_ptr<executors::ExecutorRegistry> registry;

  Fixture() {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    dir = base / ("govjobd-fuzz-job-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    config::ExecutorSettings noop, update;
    noop.kind = "noop";
    update.kind = "config_update";
    update.files["json"] = {(dir / "c.json").string(), {}, false};
    update.files["yaml"] = {(dir / "c.yaml").string(), {}, false};
    update.files["allowlisted"] = {(dir / "c.json").string(), {"routing.mode"}, false};
    update.files["link"] = {(dir / "link.json").string(), {}, false};
    registry = std::make_unique<executors::ExecutorRegistry>(
        io, std::map<std::string, config::ExecutorSettings>{{"noop", noop}, {"config_update", update}}, nullptr,
        nullptr);  // no process executor: no child reaper
  }

  void reset_files() const {
    std::ofstream(dir / "c.json", std::ios::trunc) << R"({"routing": {"mode": "live", "hosts": ["a", "b"]}, "n": 1})";
    std::ofstream(dir / "c.yaml", std::ios::trunc)
        << "# routing\nrouting:\n  mode: live   # or maintenance\n  hosts: [a, b]\nlimits: {max: 10}\nlabel: '007'\n";
    fs::remove(dir / "link.json");
    fs::create_symlink(dir / "c.json", dir / "link.json");
  }
};

Fixture& fixture() {
  static Fixture* f = [] {
    auto* made = new Fixture();  // lives until exit, with its pool thread
    std::atexit([] { std::error_code ec; fs::remove_all(fixture().dir, ec); });
    return made;
  }();
  return *f;
}

// Runs one step; returns whether it completed.
bool run_step(Fixture& f, executors::StepExecutor& executor, const model::JobStep& step) {
  int ends = 0;
  executors::StepExecution result;
  executors::start_guarded(f.io, executor, step, {}, [&](executors::StepExecution r) {
    ++ends;
    result = std::move(r);
  });
  f.io.restart();
  {
    // config_update ends from its pool thread: keep the loop waiting for it (30 s: a hang is a finding)
    auto work = boost::asio::make_work_guard(f.io);
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ends == 0 && std::chrono::steady_clock::now() < limit) f.io.run_one_for(std::chrono::milliseconds(100));
  }
  f.io.restart();
  f.io.poll();  // a second end would show here
  if (ends != 1) std::abort();
  if (result.outcome != executors::StepOutcome::Completed && result.error.empty()) std::abort();
  (void)nlohmann::json(result.output).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return result.outcome == executors::StepOutcome::Completed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = fixture();
  const model::StepsParse parsed = model::parse_steps_text(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) {
    if (parsed.problems_text().empty()) std::abort();
    return 0;
  }
  f.reset_files();
  for (const model::JobStep& step : parsed.steps) {
    executors::StepExecutor* executor = f.registry->find(step.step_type);
    if (!executor) return 0;  // the run loop refuses the job before its first step
    if (!run_step(f, *executor, step)) return 0;  // stop at the first failure, as the run loop does
  }
  return 0;
}
