#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "config/duration.hpp"
#include "config/settings_loader.hpp"
#include "config/yaml_json.hpp"

using namespace govjobd::config;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> errors_of(const std::string& yaml) {
  try {
    parse_settings(yaml, "govjobd.yaml");
  } catch (const ConfigError& e) {
    std::vector<std::string> out;
    for (const auto& issue : e.issues()) out.push_back(issue.text());
    return out;
  }
  return {};
}

}  // namespace

TEST_CASE("durations are a whole number and one unit", "[config]") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("5m") == 5min);
  CHECK(parse_duration("2h") == 2h);
  CHECK(parse_duration("90d") == std::chrono::hours(90 * 24));
  CHECK(parse_duration("0s") == 0ms);
  for (const char* bad : {"", "5", "s", "1.5s", "-1s", "5 s", "5sec", "10M", "999999999999999d"})
    CHECK_FALSE(parse_duration(bad));
  CHECK(format_duration(30000ms) == "30s");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(0ms) == "0ms");
}

TEST_CASE("an empty file gives the defaults", "[config]") {
  const Settings s = parse_settings("", "empty.yaml");
  CHECK(s.worker.concurrency == 4);
  CHECK(s.worker.poll_interval == 2s);
  CHECK(s.worker.heartbeat_interval == 5s);
  CHECK(s.worker.lease_timeout == 30s);
  CHECK(s.worker.shutdown_grace == 30s);
  CHECK(s.logging.level == "info");
  CHECK(s.logging.format == "text");
}

TEST_CASE("a full file is read into typed settings", "[config]") {
  ::unsetenv(kDatabaseUrlEnv);
  const Settings s = parse_settings(R"(
database:
  url: "postgresql://govjobd@db.internal/governance"
worker:
  id: host-a
  concurrency: 16
  poll_interval: 500ms
  heartbeat_interval: 2s
  lease_timeout: 1m
  shutdown_grace: 10s
logging:
  level: debug
  format: json
)", "full.yaml");
  CHECK(s.database.url == "postgresql://govjobd@db.internal/governance");
  CHECK(s.worker.id == "host-a");
  CHECK(s.worker.concurrency == 16);
  CHECK(s.worker.poll_interval == 500ms);
  CHECK(s.worker.lease_timeout == 60s);
  CHECK(s.logging.format == "json");
}

TEST_CASE("GOVJOBD_DATABASE_URL overrides database.url", "[config]") {
  ::setenv(kDatabaseUrlEnv, "host=127.0.0.1 dbname=x", 1);
  CHECK(parse_settings("database:\n  url: postgresql://elsewhere/y\n", "f.yaml").database.url ==
        "host=127.0.0.1 dbname=x");
  ::unsetenv(kDatabaseUrlEnv);
  CHECK(parse_settings("database:\n  url: postgresql://elsewhere/y\n", "f.yaml").database.url ==
        "postgresql://elsewhere/y");
}

TEST_CASE("each kind of config error names file, line, column and key", "[config]") {
  using V = std::vector<std::string>;
  CHECK(errors_of("worker:\n  concurrency: ten\n") ==
        V{"govjobd.yaml:2:16: worker.concurrency: expected a positive integer, got 'ten'"});
  CHECK(errors_of("worker:\n  concurrency: 0\n") ==
        V{"govjobd.yaml:2:16: worker.concurrency: expected an integer from 1 to 10000, got '0'"});
  CHECK(errors_of("worker:\n  poll_interval: 2\n") ==
        V{"govjobd.yaml:2:18: worker.poll_interval: expected a duration of at least 10ms such as 500ms, 30s or 5m, got '2'"});
  CHECK(errors_of("worker:\n  concurency: 4\n") == V{"govjobd.yaml:2:3: worker.concurency: unknown key"});
  CHECK(errors_of("databse:\n  url: x\n") == V{"govjobd.yaml:1:1: databse: unknown key"});
  CHECK(errors_of("logging:\n  format: xml\n") ==
        V{"govjobd.yaml:2:11: logging.format: expected one of text json journal, got 'xml'"});
  CHECK(errors_of("worker: 5\n") == V{"govjobd.yaml:1:9: worker: expected a mapping, got '5'"});
  CHECK(errors_of("worker:\n  id: [a, b]\n") == V{"govjobd.yaml:2:7: worker.id: expected a non-empty string, got a list"});
  CHECK(errors_of("worker:\n  concurrency: 2\n  concurrency: 3\n") ==
        V{"govjobd.yaml:3:3: worker.concurrency: duplicate key (first at line 2)"});
  CHECK(errors_of("worker:\n  heartbeat_interval: 30s\n  lease_timeout: 10s\n") ==
        V{"govjobd.yaml:2:3: worker.lease_timeout: must be longer than worker.heartbeat_interval, or live workers lose their jobs"});
  CHECK(errors_of("- a\n- b\n") == V{"govjobd.yaml:1:1: expected a mapping of sections (database, worker, logging)"});
  const auto syntax = errors_of("worker:\n  concurrency: [1\n");
  REQUIRE(syntax.size() == 1);
  CHECK(syntax[0].starts_with("govjobd.yaml:3:1: invalid YAML: "));
}

TEST_CASE("all errors of a file are reported at once", "[config]") {
  const auto errors = errors_of(R"(worker:
  concurrency: many
  poll_interval: soon
logging:
  level: loud
extra: 1
)");
  CHECK(errors == std::vector<std::string>{
                      "govjobd.yaml:2:16: worker.concurrency: expected a positive integer, got 'many'",
                      "govjobd.yaml:3:18: worker.poll_interval: expected a duration of at least 10ms such as 500ms, 30s or 5m, got 'soon'",
                      "govjobd.yaml:5:10: logging.level: expected one of trace debug info warn error, got 'loud'",
                      "govjobd.yaml:6:1: extra: unknown key",
                  });
}

TEST_CASE("load_settings reads a file and reports one that cannot be read", "[config]") {
  const auto path = std::filesystem::temp_directory_path() / "govjobd_config_test.yaml";
  std::ofstream(path) << "worker:\n  concurrency: 7\n";
  CHECK(load_settings(path.string()).worker.concurrency == 7);
  CHECK(load_settings(path.string()).source == path.string());
  std::filesystem::remove(path);
  CHECK_THROWS_WITH(load_settings("/nonexistent/govjobd.yaml"), "/nonexistent/govjobd.yaml: cannot read the file");
}

TEST_CASE("YAML becomes JSON with types inferred only for plain scalars", "[config]") {
  const auto j = yaml_to_json(YAML::Load(R"(
- step_index: 0
  target: "007"
  parameters: {count: 3, ratio: 0.5, on: true, name: payments, nothing: ~, quoted: "true"}
)"));
  CHECK(j == nlohmann::json::parse(R"([{"step_index":0,"target":"007","parameters":
      {"count":3,"ratio":0.5,"on":true,"name":"payments","nothing":null,"quoted":"true"}}])"));
}
