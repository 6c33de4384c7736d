#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>

#include "config/yaml_json.hpp"
#include "executors/config_update_executor.hpp"
#include "tests/support/step_runner.hpp"

using namespace govjobd;
using executors::StepOutcome;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("govjobd-cfg-" + testing::unique_marker());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("config_update sets a key in a JSON file when the old value matches", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  std::ofstream(file) << R"({"routing": {"mode": "live", "weight": 3}, "other": true})";
  auto r = executors::update_config_file(file, {{"key", "routing.mode"}, {"old_value", "live"}, {"new_value", "maintenance"}});
  CHECK(r.outcome == StepOutcome::Completed);
  CHECK(r.output == json{{"file", file.string()}, {"key", "routing.mode"}, {"old_value", "live"}, {"new_value", "maintenance"}});
  CHECK(json::parse(read(file)) == json::parse(R"({"routing": {"mode": "maintenance", "weight": 3}, "other": true})"));
  // no temporary file is left next to it
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("config_update in YAML keeps types - without old_value it sets unconditionally", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.yaml";
  std::ofstream(file) << "routing:\n  mode: live\n  weight: 3\nlabel: \"007\"\n";
  auto r = executors::update_config_file(file, {{"key", "limits.max"}, {"new_value", 50}});
  CHECK(r.outcome == StepOutcome::Completed);
  CHECK(r.output.at("old_value").is_null());
  const auto after = config::yaml_to_json(YAML::Load(read(file)));
  CHECK(after == json::parse(R"({"routing": {"mode": "live", "weight": 3}, "label": "007", "limits": {"max": 50}})"));
}

TEST_CASE("config_update refuses when the current value is not old_value, and changes nothing", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  const std::string original = R"({"routing": {"mode": "degraded"}})";
  std::ofstream(file) << original;
  auto r = executors::update_config_file(file, {{"key", "routing.mode"}, {"old_value", "live"}, {"new_value", "maintenance"}});
  CHECK(r.outcome == StepOutcome::Failed);
  CHECK(r.error == file.string() + ": routing.mode is \"degraded\", not the expected old_value \"live\"; nothing changed");
  CHECK(read(file) == original);
  auto absent = executors::update_config_file(file, {{"key", "routing.region"}, {"old_value", "eu"}, {"new_value", "us"}});
  CHECK(absent.error == file.string() + ": routing.region is absent, not the expected old_value \"eu\"; nothing changed");
  CHECK(executors::update_config_file(file, {{"new_value", 1}}).error ==
        "parameters.key: expected a non-empty dotted path such as limits.max");
  CHECK(executors::update_config_file(file, {{"key", "a"}}).error == "parameters.new_value: missing");
  CHECK(executors::update_config_file(dir.path / "missing.json", {{"key", "a"}, {"new_value", 1}}).error ==
        "cannot read " + (dir.path / "missing.json").string() + ": No such file or directory");
}

TEST_CASE("config_update into an unwritable directory fails and leaves the file as it was", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  const std::string original = R"({"routing": {"mode": "live"}})";
  std::ofstream(file) << original;
  fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  // root ignores permissions: run the update as nobody in a child process
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    auto r = executors::update_config_file(file, {{"key", "routing.mode"}, {"new_value", "off"}});
    const std::string text = r.error;
    (void)!::write(fds[1], text.data(), text.size());
    ::_exit(r.outcome == StepOutcome::Failed ? 0 : 1);
  }
  ::close(fds[1]);
  std::string error;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) error.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  fs::permissions(dir.path, fs::perms::owner_all);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(error, Catch::StartsWith("cannot create a temporary file in " + dir.path.string() + ": Permission denied"));
  CHECK(read(file) == original);
}

TEST_CASE("the config_update executor runs off the loop and maps targets to files", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  std::ofstream(file) << R"({"mode": "live"})";
  boost::asio::io_context io;
  boost::asio::thread_pool blocking(1);
  executors::ConfigUpdateExecutor executor(io, blocking, {{"payments", file.string()}});
  std::vector<executors::StepExecution> results;
  executor.start(testing::make_step(30, {{"key", "mode"}, {"new_value", "off"}}, "payments"), {},
                 [&](executors::StepExecution r) { results.push_back(std::move(r)); });
  executor.start(testing::make_step(30, {{"key", "mode"}, {"new_value", "off"}}, "ledger"), {},
                 [&](executors::StepExecution r) { results.push_back(std::move(r)); });
  auto guard = boost::asio::make_work_guard(io);
  for (int i = 0; i < 100 && results.size() < 2; ++i) io.run_for(std::chrono::milliseconds(50));
  blocking.join();
  REQUIRE(results.size() == 2);
  const auto& by_target = results[0].outcome == StepOutcome::Completed ? results[0] : results[1];
  const auto& missing = results[0].outcome == StepOutcome::Completed ? results[1] : results[0];
  CHECK(by_target.output.at("new_value") == "off");
  CHECK(missing.error == "no config file configured for target 'ledger'");
}
