#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
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

config::ConfigFileSettings file_settings(const fs::path& file, std::vector<std::string> keys = {}, bool allow_symlink = false) {
  return {file.string(), std::move(keys), allow_symlink};
}

executors::Deadline deadline_in(int seconds) {
  return {std::chrono::steady_clock::now() + std::chrono::seconds(seconds), false, seconds};
}

// One update of `file` with no allowlist, no symlinks and a 30 s deadline.
executors::StepExecution update(const fs::path& file, const json& parameters) {
  return executors::update_config_file(file_settings(file), parameters, deadline_in(30));
}

}  // namespace

TEST_CASE("config_update sets a key in a JSON file when the old value matches", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  std::ofstream(file) << R"({"routing": {"mode": "live", "weight": 3}, "other": true})";
  auto r = update(file, {{"key", "routing.mode"}, {"old_value", "live"}, {"new_value", "maintenance"}});
  CHECK(r.outcome == StepOutcome::Completed);
  CHECK(r.output == json{{"file", file.string()}, {"key", "routing.mode"}, {"old_value", "live"}, {"new_value", "maintenance"}});
  CHECK(json::parse(read(file)) == json::parse(R"({"routing": {"mode": "maintenance", "weight": 3}, "other": true})"));
  // no temporary file is left next to it
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("config_update in YAML keeps types - without old_value it sets unconditionally", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.yaml";
  std::ofstream(file) << "routing:\n  mode: live\n  weight: 3\nlabel: \"007\"\nlimits: {max: 10}\n";
  auto r = update(file, {{"key", "limits.max"}, {"new_value", 50}});
  INFO(r.error);
  CHECK(r.outcome == StepOutcome::Completed);
  CHECK(r.output.at("old_value") == 10);
  CHECK(update(file, {{"key", "label"}, {"new_value", "008"}}).outcome == StepOutcome::Completed);
  const auto after = config::yaml_to_json(YAML::Load(read(file)));
  CHECK(after == json::parse(R"({"routing": {"mode": "live", "weight": 3}, "label": "008", "limits": {"max": 50}})"));
}

TEST_CASE("config_update refuses when the current value is not old_value, and changes nothing", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  const std::string original = R"({"routing": {"mode": "degraded"}})";
  std::ofstream(file) << original;
  auto r = update(file, {{"key", "routing.mode"}, {"old_value", "live"}, {"new_value", "maintenance"}});
  CHECK(r.outcome == StepOutcome::Failed);
  CHECK(r.error == file.string() + ": routing.mode is \"degraded\", not the expected old_value \"live\"; nothing changed");
  CHECK(read(file) == original);
  auto absent = update(file, {{"key", "routing.region"}, {"old_value", "eu"}, {"new_value", "us"}});
  CHECK(absent.error == file.string() + ": routing.region is absent, not the expected old_value \"eu\"; nothing changed");
  CHECK(update(file, {{"new_value", 1}}).error ==
        "parameters.key: expected a non-empty dotted path such as limits.max");
  CHECK(update(file, {{"key", "a"}}).error == "parameters.new_value: missing");
  CHECK(update(dir.path / "missing.json", {{"key", "a"}, {"new_value", 1}}).error ==
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
    auto r = update(file, {{"key", "routing.mode"}, {"new_value", "off"}});
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
  executors::ConfigUpdateExecutor executor(io, blocking, {{"payments", file_settings(file)}});
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

TEST_CASE("config_update bounds the key to 32 segments: 100,000 segments fail the step, not the daemon", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  const std::string original = R"({"routing": {"mode": "live"}})";
  std::ofstream(file) << original;
  std::string huge = "a";
  for (int i = 1; i < 100000; ++i) huge += ".a";  // 200 KB: nested 100,000 levels deep, dump() overflowed
  auto r = update(file, {{"key", huge}, {"new_value", 1}});
  CHECK(r.outcome == StepOutcome::Failed);
  CHECK(r.error == "parameters.key: more than 32 dotted segments (100000)");
  std::string at_limit = "a";
  for (int i = 1; i < 32; ++i) at_limit += ".a";
  CHECK(update(file, {{"key", at_limit}, {"new_value", 1}}).outcome == StepOutcome::Completed);
  CHECK(update(file, {{"key", at_limit + ".a"}, {"new_value", 1}}).error ==
        "parameters.key: more than 32 dotted segments (33)");
  CHECK(update(file, {{"key", "routing..mode"}, {"new_value", 1}}).error ==
        "parameters.key: an empty segment in 'routing..mode'");
}

TEST_CASE("config_update refuses array indexes beyond the end, and appends", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  const std::string original = R"({"arr": [1, 2], "o": {"0": "zero"}})";
  std::ofstream(file) << original;
  // arr.1000000000 grew the array to a billion nulls (bad_alloc); arr.5 padded it with nulls
  for (const std::string key : {"arr.1000000000", "arr.5", "arr.2", "arr.-", "arr.x", "arr.01", "arr.-1"}) {
    INFO(key);
    auto r = update(file, {{"key", key}, {"new_value", 3}});
    CHECK(r.outcome == StepOutcome::Failed);
    CHECK_THAT(r.error, Catch::StartsWith("parameters.key: " + key.substr(4) + " is not an index of the 2 elements of arr"));
  }
  CHECK(read(file) == original);
  CHECK(update(file, {{"key", "arr.1"}, {"new_value", 3}}).outcome == StepOutcome::Completed);
  CHECK(update(file, {{"key", "o.0"}, {"new_value", "nil"}}).outcome == StepOutcome::Completed);  // a key of an object
  CHECK(json::parse(read(file)) == json::parse(R"({"arr": [1, 3], "o": {"0": "nil"}})"));
}

TEST_CASE("config_update in a commented YAML file replaces only the value's text", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "routing.yaml";
  const std::string original =
      "# payments routing (owned by the payments team)\n"
      "routing:   # how traffic is sent\n"
      "  mode: live    # live | maintenance\n"
      "  weight: 3\n"
      "\n"
      "limits: {max: 10, min: 1}  # flow style\n"
      "label: '007'\n"
      "hosts:\n"
      "  - a.example   # first\n"
      "  - b.example\n"
      "# the end\n";
  std::ofstream(file) << original;
  auto r = update(file, {{"key", "routing.mode"}, {"old_value", "live"}, {"new_value", "maintenance"}});
  INFO(r.error);
  REQUIRE(r.outcome == StepOutcome::Completed);
  std::string expected = original;
  expected.replace(expected.find("live    #"), 4, "\"maintenance\"");
  CHECK(read(file) == expected);
  REQUIRE(update(file, {{"key", "limits.max"}, {"new_value", 50}}).outcome == StepOutcome::Completed);
  expected.replace(expected.find("max: 10"), 7, "max: 50");
  REQUIRE(update(file, {{"key", "label"}, {"new_value", "008"}}).outcome == StepOutcome::Completed);
  expected.replace(expected.find("'007'"), 5, "\"008\"");
  REQUIRE(update(file, {{"key", "hosts.1"}, {"new_value", "c.example"}}).outcome == StepOutcome::Completed);
  expected.replace(expected.find("b.example"), 9, "\"c.example\"");
  CHECK(read(file) == expected);

  // what cannot be done in place is refused, and the file stays as it is
  const auto absent = update(file, {{"key", "routing.region"}, {"new_value", "eu"}});
  CHECK(absent.error == "parameters.key: routing.region is absent; in a YAML file config_update replaces existing "
                        "values only (so that the file keeps its comments and layout)");
  CHECK(update(file, {{"key", "routing"}, {"new_value", "off"}}).error ==
        "parameters.key: routing is a mapping in the file; in a YAML file config_update replaces a scalar value only");
  std::ofstream(dir.path / "block.yaml") << "text: |\n  line one\n  line two\nmulti: one\n  two\n";
  for (const std::string key : {"text", "multi"})
    CHECK_THAT(update(dir.path / "block.yaml", {{"key", key}, {"new_value", "x"}}).error,
               Catch::EndsWith("is not written in a form that config_update replaces in place (a plain, single- or "
                               "double-quoted scalar on one line); nothing changed"));
  CHECK(read(file) == expected);
}

TEST_CASE("config_update keeps the file's owner, group and mode", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  std::ofstream(file) << R"({"mode": "live"})";
  const uid_t uid = ::geteuid() == 0 ? 65534 : ::geteuid();  // root here: another user's file (nobody)
  const gid_t gid = ::geteuid() == 0 ? 65534 : ::getegid();
  REQUIRE(::chown(file.c_str(), uid, gid) == 0);
  REQUIRE(::chmod(file.c_str(), 02640) == 0);  // setgid too: chown must not clear it
  REQUIRE(update(file, {{"key", "mode"}, {"new_value", "off"}}).outcome == StepOutcome::Completed);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK(st.st_uid == uid);
  CHECK(st.st_gid == gid);
  CHECK((st.st_mode & 07777) == 02640);
  CHECK(json::parse(read(file)) == json{{"mode", "off"}});
}

TEST_CASE("config_update refuses a symbolic link unless the file allows it, and then edits its target", "[config_update]") {
  TempDir dir;
  const auto real = dir.path / "real.json";
  const auto link = dir.path / "link.json";
  std::ofstream(real) << R"({"mode": "live"})";
  fs::create_symlink(real, link);
  auto refused = update(link, {{"key", "mode"}, {"new_value", "off"}});
  CHECK(refused.error == link.string() + " is a symbolic link, refused (allow_symlink is off for this file); nothing changed");
  CHECK(json::parse(read(real)) == json{{"mode", "live"}});
  auto followed = executors::update_config_file(file_settings(link, {}, true), {{"key", "mode"}, {"new_value", "off"}},
                                                deadline_in(30));
  CHECK(followed.outcome == StepOutcome::Completed);
  CHECK(followed.output.at("file") == real.string());
  CHECK(fs::is_symlink(link));
  CHECK(json::parse(read(real)) == json{{"mode", "off"}});
}

TEST_CASE("config_update with a keys allowlist refuses other keys without reading or showing them", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  std::ofstream(file) << R"({"mode": "live", "secret": "hunter2", "bad": )";  // not even valid JSON
  const auto settings = file_settings(file, {"mode"});
  auto r = executors::update_config_file(settings, {{"key", "secret"}, {"old_value", "x"}, {"new_value", "y"}}, deadline_in(30));
  CHECK(r.error == "parameters.key: secret is not among the keys allowed for " + file.string() + "; nothing changed");
  // errors about the file say where, never what it holds
  auto invalid = executors::update_config_file(settings, {{"key", "mode"}, {"new_value", "y"}}, deadline_in(30));
  CHECK(invalid.error == file.string() + " is not valid JSON (at byte 46)");
  std::ofstream(dir.path / "s.yaml") << "secret: hunter2\nmode: [live\n";
  auto yaml = update(dir.path / "s.yaml", {{"key", "mode"}, {"new_value", "y"}});
  CHECK_THAT(yaml.error, Catch::StartsWith((dir.path / "s.yaml").string() + " is not valid YAML for config_update (line "));
  CHECK(yaml.error.find("hunter2") == std::string::npos);
}

TEST_CASE("config_update waits for the file's lock no longer than the step's deadline", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  std::ofstream(file) << R"({"mode": "live"})";
  const int holder = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(::flock(holder, LOCK_EX) == 0);  // another editor holds it
  const auto started = std::chrono::steady_clock::now();
  auto r = executors::update_config_file(file_settings(file), {{"key", "mode"}, {"new_value", "off"}}, deadline_in(1));
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(r.outcome == StepOutcome::TimedOut);
  CHECK(r.error == "step timeout of 1s exceeded waiting for the lock on " + file.string() +
                       " (another process holds it); nothing changed");
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(20));
  ::flock(holder, LOCK_UN);
  CHECK(update(file, {{"key", "mode"}, {"new_value", "off"}}).outcome == StepOutcome::Completed);
  ::close(holder);
}

TEST_CASE("config_update fails, changing nothing, when the file is replaced between its read and the rename", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "payments.json";
  std::ofstream(file) << R"({"mode": "live"})";
  const std::string theirs = R"({"mode": "theirs"})";
  auto replace_it = [&] {  // another tool writes a new file and renames it over, as editors do
    std::ofstream(dir.path / "new.json") << theirs;
    fs::rename(dir.path / "new.json", file);
  };
  auto r = executors::update_config_file(file_settings(file), {{"key", "mode"}, {"new_value", "off"}}, deadline_in(30),
                                         replace_it);
  CHECK(r.outcome == StepOutcome::Failed);
  CHECK(r.error == file.string() + " was replaced or rewritten by someone else while it was being edited; nothing changed");
  CHECK(read(file) == theirs);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);  // no temporary file left
}

TEST_CASE("config_update survives every JSON type in every parameter", "[config_update]") {
  TempDir dir;
  const std::vector<json> values{nullptr, true, 0, -1, 18446744073709551615ULL, 1.5, 1e308, "", "x", "a.b",
                                 "\u0000", std::string(100000, '.'), json::array(), json::array({1}), json::object(),
                                 json{{"a", 1}}};
  for (const std::string name : {"j.json", "y.yaml"}) {
    const auto file = dir.path / name;
    const std::string original = name == "j.json" ? R"({"a": {"b": [1, 2]}, "x": 1})" : "a:\n  b: [1, 2]\nx: 1  # c\n";
    for (const std::string field : {"key", "old_value", "new_value", "parameters"})
      for (const auto& v : values) {
        std::ofstream(file, std::ios::trunc) << original;
        json parameters{{"key", "x"}, {"new_value", 2}};
        if (field == "parameters") parameters = v;
        else parameters[field] = v;
        INFO(name << " " << field << " = " << v.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 80));
        executors::StepExecution r;
        REQUIRE_NOTHROW(r = update(file, parameters));
        if (r.outcome == StepOutcome::Completed) CHECK_NOTHROW(json(r.output).dump());
        else CHECK(read(file) == original);  // a refusal changes nothing
        CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
        fs::remove(file);
      }
  }
}

TEST_CASE("config_update bounds a config file to 4 MiB, read or written: a value that indenting would grow past it "
          "fails the step, and a larger file is not read", "[config_update]") {
  TempDir dir;
  const auto file = dir.path / "app.json";
  const std::string before = R"({"limits": {"max": 1}})";
  std::ofstream(file) << before;
  // 100,000 zeros 95 arrays deep: under 0.3 MB as JSON, about 20 MB once each element has a line of its own
  json value = json::array();
  for (int i = 0; i < 100'000; ++i) value.push_back(0);
  for (int depth = 0; depth < 95; ++depth) value = json::array({value});
  auto r = update(file, {{"key", "grow.a"}, {"new_value", value}});
  CHECK(r.outcome == StepOutcome::Failed);
  CHECK_THAT(r.error, Catch::Contains("would hold") && Catch::Contains("more than the 4194304 a config file may hold; nothing changed"));
  CHECK(read(file) == before);
  // a value that fits is written indented, as before
  r = update(file, {{"key", "grow.b"}, {"new_value", json::array({json::array({1, 2})})}});
  CHECK(r.outcome == StepOutcome::Completed);
  CHECK(read(file) == "{\n  \"grow\": {\n    \"b\": [\n      [\n        1,\n        2\n      ]\n    ]\n  },\n  \"limits\": {\n    \"max\": 1\n  }\n}\n");
  // a file larger than the bound is refused before it is read
  const auto big = dir.path / "big.json";
  std::ofstream(big) << "{\"pad\": \"" << std::string(executors::kMaxConfigFileBytes, 'x') << "\"}";
  r = update(big, {{"key", "limits.max"}, {"new_value", 2}});
  CHECK(r.outcome == StepOutcome::Failed);
  CHECK_THAT(r.error, Catch::Contains("bytes, more than the 4194304 a config file may hold; nothing changed"));
}
