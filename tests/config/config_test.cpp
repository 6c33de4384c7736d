#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "config/duration.hpp"
#include "config/listen_address.hpp"
#include "config/settings_loader.hpp"
#include "config/yaml_json.hpp"
#include "tests/config/config_helpers.hpp"

using namespace govjobd::config;
using namespace std::chrono_literals;
using govjobd::testing::errors_of;
using govjobd::testing::password_file;

TEST_CASE("durations are whole numbers with units, largest unit first", "[config]") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("5m") == 5min);
  CHECK(parse_duration("2h") == 2h);
  CHECK(parse_duration("90d") == std::chrono::hours(90 * 24));
  CHECK(parse_duration("0s") == 0ms);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("90m") == 90min);
  CHECK(parse_duration("1d2h3m4s5ms") == std::chrono::hours(26) + 3min + 4s + 5ms);
  CHECK(parse_duration("2m0s") == 2min);
  for (const char* bad : {"", "5", "s", "1.5s", "-1s", "5 s", "5sec", "10M", "999999999999999d", "30m1h", "1h1h",
                          "1h30", "1h 30m", "h30m", "1h+30m", "106751991168d", "106751991167d23h"})
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
  CHECK(s.worker.stop_steps_without_lease);
  CHECK(s.logging.level == "info");
  CHECK(s.logging.format.empty());  // chosen at start-up: journal under systemd, else text
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
  stop_steps_without_lease: false
logging:
  level: debug
  format: json
)", "full.yaml");
  CHECK(s.database.url == "postgresql://govjobd@db.internal/governance");
  CHECK(s.worker.id == "host-a");
  CHECK(s.worker.concurrency == 16);
  CHECK(s.worker.poll_interval == 500ms);
  CHECK(s.worker.lease_timeout == 60s);
  CHECK_FALSE(s.worker.stop_steps_without_lease);
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
        V{"govjobd.yaml:2:18: worker.poll_interval: expected a duration of at least 10ms such as 500ms, 30s or 1h30m, got '2'"});
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
  CHECK(errors_of("- a\n- b\n") == V{"govjobd.yaml:1:1: expected a mapping of sections (database, worker, logging, executors, health, metrics, retention, contract)"});
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
                      "govjobd.yaml:3:18: worker.poll_interval: expected a duration of at least 10ms such as 500ms, 30s or 1h30m, got 'soon'",
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

TEST_CASE("YAML nested deeper than the depth limit is refused, not walked", "[config]") {
  const auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  CHECK(yaml_to_json(YAML::Load(nested(kMaxYamlToJsonDepth))).is_array());
  CHECK_THROWS_WITH(yaml_to_json(YAML::Load(nested(kMaxYamlToJsonDepth + 1))),
                    Catch::Contains("nested deeper than 100 levels"));
  // a megabyte of '[': yaml-cpp's own guard refuses it before any walk
  CHECK_THROWS_AS(YAML::Load(nested(512 * 1024)), YAML::ParserException);
}

TEST_CASE("executors map step types to validated executor settings", "[config]") {
  const Settings s = parse_settings(R"(
executors:
  noop: {kind: noop}
  capability_disable:
    kind: process
    command: ["/usr/lib/govjobd/capability.sh", "disable", "{target}", "--job={job_id}"]
    env: [PATH]
    set_env: {CAPABILITY_STATE_DIR: /var/lib/govjobd/capabilities}
    workdir: /var/lib/govjobd
    max_output_bytes: 1024
    kill_grace: 2s
    output: json
  config_update:
    kind: config_update
    files:
      payments: /etc/payments/routing.yaml
      ledger: {path: /etc/ledger.json, keys: [limits.max, "mode"], allow_symlink: true}
)", "f.yaml");
  REQUIRE(s.executors.size() == 3);
  const auto& p = s.executors.at("capability_disable");
  CHECK(p.kind == "process");
  CHECK(p.command.size() == 4);
  CHECK(p.env == std::vector<std::string>{"PATH"});
  CHECK(p.set_env.at("CAPABILITY_STATE_DIR") == "/var/lib/govjobd/capabilities");
  CHECK(p.max_output_bytes == 1024);
  CHECK(p.kill_grace == 2s);
  CHECK(p.output == "json");
  const auto& files = s.executors.at("config_update").files;
  CHECK(files.at("payments").path == "/etc/payments/routing.yaml");
  CHECK(files.at("payments").keys.empty());  // defaults: any key, no symlinks
  CHECK_FALSE(files.at("payments").allow_symlink);
  CHECK(files.at("ledger").path == "/etc/ledger.json");
  CHECK(files.at("ledger").keys == std::vector<std::string>{"limits.max", "mode"});
  CHECK(files.at("ledger").allow_symlink);
  CHECK(s.executors.at("noop").kill_grace == 5s);  // defaults
  CHECK(s.executors.at("noop").max_output_bytes == 65536);
}

TEST_CASE("executor settings errors name the step type and key", "[config]") {
  using V = std::vector<std::string>;
  CHECK(errors_of("executors:\n  x: {}\n") == V{"govjobd.yaml:2:6: executors.x.kind: missing"});
  CHECK(errors_of("executors:\n  x: {kind: shell}\n") ==
        V{"govjobd.yaml:2:13: executors.x.kind: expected one of process noop sleep signal_record config_update, got 'shell'"});
  CHECK(errors_of("executors:\n  x: {kind: process}\n") ==
        V{"govjobd.yaml:2:6: executors.x.command: a process executor needs a non-empty command list"});
  CHECK(errors_of("executors:\n  x: {kind: process, command: \"rm -rf /\"}\n") ==
        V{"govjobd.yaml:2:31: executors.x.command: expected a list of strings, got 'rm -rf /'"});
  CHECK(errors_of("executors:\n  x:\n    kind: process\n    command: [/bin/echo, \"{jobid}\"]\n") ==
        V{"govjobd.yaml:4:26: executors.x.command[1]: unknown placeholder {jobid}; known: {job_id} {contract_id} "
          "{step_index} {step_type} {target}"});
  CHECK(errors_of("executors:\n  x: {kind: noop, command: [/bin/true]}\n") ==
        V{"govjobd.yaml:2:28: executors.x.command: not used by kind noop (only by process)"});
  CHECK(errors_of("executors:\n  x: {kind: config_update}\n") ==
        V{"govjobd.yaml:2:6: executors.x.files: a config_update executor needs files: {target: path}"});
  CHECK(errors_of("executors:\n  x: {kind: config_update, files: {a: {path: /a, keys: [ok, b..c], allow_symlink: yes}}}\n") ==
        V{"govjobd.yaml:2:61: executors.x.files.a.keys[1]: an empty segment in 'b..c'",
          "govjobd.yaml:2:83: executors.x.files.a.allow_symlink: expected true or false, got 'yes'"});
  CHECK(errors_of("executors:\n  x: {kind: config_update, files: {a: {keys: [k]}, b: [1], c: \"\"}}\n") ==
        V{"govjobd.yaml:2:39: executors.x.files.a.path: expected the path of a JSON or YAML file",
          "govjobd.yaml:2:55: executors.x.files.b: expected a mapping, got a list",
          "govjobd.yaml:2:63: executors.x.files.c: expected the path of a JSON or YAML file"});
  CHECK(errors_of("executors:\n  x: {kind: process, command: [/bin/true], user: no-such-user-here}\n") ==
        V{"govjobd.yaml:2:50: executors.x.user: no such user 'no-such-user-here'"});
  CHECK(errors_of("executors:\n  x: {kind: process, command: [/bin/true], timeout: 5s}\n") ==
        V{"govjobd.yaml:2:44: executors.x.timeout: unknown key"});
  CHECK(errors_of("executors:\n  \"bad type\": {kind: noop}\n") ==
        V{"govjobd.yaml:2:3: executors.bad type: expected letters, digits, '_', '-' or '.' in a step type"});
}

TEST_CASE("a process executor runs only a program named by an absolute path, written literally", "[config]") {
  const std::string literal = "the program is taken literally: no placeholder or '{' in it";
  const std::map<std::string, std::string> refused{  // command -> what is said of command[0]
      {"[\"{target}\", a]", literal},
      {"[\"/opt/{step_type}/run\"]", literal},
      {"[sh, -c, 'exit 0']", "expected an absolute path to the program, got 'sh'"},
      {"[bin/step]", "expected an absolute path to the program, got 'bin/step'"}};
  for (const auto& [command, message] : refused)
    CHECK(errors_of("executors:\n  x: {kind: process, command: " + command + "}\n") ==
          std::vector<std::string>{"govjobd.yaml:2:32: executors.x.command[0]: " + message});
  CHECK(errors_of("executors:\n  x: {kind: process, command: [/bin/echo, \"{target}\"]}\n").empty());
}

TEST_CASE("a group without a user is refused: the step would keep the daemon's user", "[config]") {
  CHECK(errors_of("executors:\n  x: {kind: process, command: [/bin/true], group: nogroup}\n") ==
        std::vector<std::string>{"govjobd.yaml:2:51: executors.x.group: needs user: a group alone would leave the "
                                 "step running as the daemon's user"});
  CHECK(errors_of("executors:\n  x: {kind: process, command: [/bin/true], user: nobody, group: nogroup}\n").empty());
}

TEST_CASE("target_pattern and max_timeout are read for every kind and checked", "[config]") {
  const Settings s = parse_settings(R"(
executors:
  noop: {kind: noop}
  run: {kind: process, command: [/bin/true]}
  strict: {kind: noop, target_pattern: "^pay[a-z]*$", max_timeout: 10m}
)", "f.yaml");
  CHECK_FALSE(s.executors.at("noop").target_pattern.has_value());  // the kind's default applies (see StepLimits)
  CHECK_FALSE(s.executors.at("run").target_pattern.has_value());
  CHECK(s.executors.at("run").max_timeout == 24h);
  CHECK(s.executors.at("strict").target_pattern == "^pay[a-z]*$");
  CHECK(s.executors.at("strict").max_timeout == 10min);
  using V = std::vector<std::string>;
  CHECK(errors_of("executors:\n  x: {kind: noop, target_pattern: \"[a-\"}\n") ==
        V{"govjobd.yaml:2:35: executors.x.target_pattern: not a valid regular expression (ECMAScript): "
          "Invalid end of '[x-x]' range in regular expression"});
  // back-references would need backtracking: only patterns matched in polynomial time are accepted
  const auto backref = errors_of("executors:\n  x: {kind: noop, target_pattern: \"^(a)\\\\1$\"}\n");
  REQUIRE(backref.size() == 1);
  INFO(backref[0]);
  CHECK(backref[0].starts_with("govjobd.yaml:2:35: executors.x.target_pattern: not a valid regular expression"));
  CHECK(errors_of("executors:\n  x: {kind: noop, target_pattern: \"\"}\n") ==
        V{"govjobd.yaml:2:35: executors.x.target_pattern: expected a non-empty string, got ''"});
  CHECK(errors_of("executors:\n  x: {kind: noop, max_timeout: 500ms}\n") ==
        V{"govjobd.yaml:2:32: executors.x.max_timeout: expected a duration of at least 1s such as 500ms, 30s or 1h30m, got '500ms'"});
}

TEST_CASE("the health section is read and validated", "[config]") {
  const Settings s = parse_settings(R"(
health:
  probe_timeout: 500ms
  cache_ttl: 5s
  block_on: [BLOCKED, DEGRADED]
  system:
    load_per_cpu: {degraded: 1.5, blocked: 3}
    disks: [/, /var]
  capabilities:
    payments: {kind: http, url: "http://127.0.0.1:8080/health", healthy_status: [200], timeout: 1s}
    ledger: {kind: tcp, host: db.internal, port: 5432, on_error: DEGRADED}
    flag: {kind: file, path: /run/flag, max_age: 10m}
)", "f.yaml");
  CHECK(s.health.probe_timeout == 500ms);
  CHECK(s.health.cache_ttl == 5s);
  CHECK(s.health.block_on.size() == 2);
  CHECK(s.health.system.load_per_cpu.degraded == 1.5);
  CHECK(s.health.system.disks.size() == 2);
  CHECK(s.health.capabilities.at("payments").timeout == 1s);
  CHECK(s.health.capabilities.at("ledger").on_error == "DEGRADED");
  CHECK(s.health.capabilities.at("flag").max_age == 10min);
  using V = std::vector<std::string>;
  CHECK(errors_of("health:\n  capabilities:\n    x: {kind: tcp, host: h}\n") ==
        V{"govjobd.yaml:3:8: health.capabilities.x.port: required for a tcp probe"});
  CHECK(errors_of("health:\n  capabilities:\n    x: {kind: http, url: \"ftp://h/\"}\n") ==
        V{"govjobd.yaml:3:26: health.capabilities.x.url: expected an http:// or https:// URL"});
  CHECK(errors_of("health:\n  block_on: [DEGRADED]\n") ==
        V{"govjobd.yaml:2:3: health.block_on: must contain BLOCKED: a BLOCKED target never runs"});
  CHECK(errors_of("health:\n  system:\n    memory_available_pct: {degraded: 5, blocked: 10}\n") ==
        V{"govjobd.yaml:3:27: health.system.memory_available_pct: blocked must be no higher than degraded"});
}

// The key reference lives in docs/config.md (the README links it and names only the few keys a first setup needs).
TEST_CASE("every key of the config schema is documented in docs/config.md", "[config]") {
  std::ifstream in(std::string(GOVJOBD_SOURCE_DIR) + "/docs/config.md");
  REQUIRE(in);
  const std::string reference((std::istreambuf_iterator<char>(in)), {});
  const auto keys = schema_keys();
  CHECK(keys.size() > 50);
  for (const auto& key : keys) {
    INFO(key);
    CHECK(reference.find("`" + key + "`") != std::string::npos);
  }
}

TEST_CASE("metrics and retention sections", "[config]") {
  const Settings s = parse_settings("metrics: {listen: '127.0.0.1:9464'}\nretention: {keep_terminal: 90d, batch_size: 100}\n", "f.yaml");
  CHECK(s.metrics.listen == "127.0.0.1:9464");
  CHECK(s.retention.keep_terminal == std::chrono::hours(90 * 24));
  CHECK(s.retention.batch_size == 100);
  CHECK_FALSE(parse_settings("", "f.yaml").retention.keep_terminal.has_value());
  CHECK(errors_of("metrics: {listen: 9464}\n") ==
        std::vector<std::string>{"govjobd.yaml:1:19: metrics.listen: expected host:port, [IPv6]:port or :port, such as 127.0.0.1:9464"});
}

TEST_CASE("metrics.listen takes a host name, an IPv6 address in brackets, and :port for every address", "[config]") {
  for (const char* listen : {"127.0.0.1:9464", "localhost:9464", "[::1]:9464", ":9464", "[::]:1", "metrics.example:65535"}) {
    INFO(listen);
    CHECK(errors_of(fmt::format("metrics: {{listen: '{}'}}\n", listen)).empty());
  }
  std::string error;
  const auto any = parse_listen_address(":9464", error);
  REQUIRE(any);
  CHECK(any->host.empty());
  CHECK(any->port == 9464);
  CHECK(parse_listen_address("[::1]:9464", error)->host == "::1");
  using V = std::vector<std::string>;
  CHECK(errors_of("metrics: {listen: '::1:9464'}\n") ==
        V{"govjobd.yaml:1:19: metrics.listen: write an IPv6 address in brackets, such as [::1]:9464"});
  for (const char* port : {"h:", "h:0", "h:65536", "h:x1", "h:-1"})
    CHECK(errors_of(fmt::format("metrics: {{listen: '{}'}}\n", port)) ==
          V{"govjobd.yaml:1:19: metrics.listen: expected a port from 1 to 65535 after the last ':', such as 127.0.0.1:9464"});
}

TEST_CASE("a password file that every user may read, or an empty one, is a config error", "[config]") {
  using std::filesystem::perms;
  const std::string open = password_file("s3cret", perms::owner_read | perms::group_read | perms::others_read);
  CHECK(errors_of("database:\n  password_file: " + open + "\n") ==
        std::vector<std::string>{"govjobd.yaml:2:18: database.password_file: " + open +
                                 " is readable by every user: chmod o-rwx (0640 root:govjobd, or a LoadCredential=)"});
  const std::string empty = password_file("");
  CHECK(errors_of("database:\n  password_file: " + empty + "\n") ==
        std::vector<std::string>{"govjobd.yaml:2:18: database.password_file: " + empty + " holds no password on its first line"});
  CHECK_THAT(errors_of("database:\n  password_file: /nonexistent/pw\n").at(0),
             Catch::Contains("cannot read /nonexistent/pw: No such file or directory"));
  std::filesystem::remove(open);
}

TEST_CASE("a key that is a list, a mapping or empty where a name is expected is a config error, never a crash",
          "[config]") {
  // Found by the config fuzz target: names() gave "" for such a key and the lookup by "" threw.
  for (const char* key : {"? [a]", "? {a: b}", "?", "? ~", "? [x, y]"}) {
    INFO(key);
    const std::string files = fmt::format(
        "executors:\n  x:\n    kind: config_update\n    files:\n      {}\n        : /tmp/a.yaml\n", key);
    const std::string caps = fmt::format("health:\n  capabilities:\n    {}\n      : {{kind: command}}\n", key);
    const std::string types = fmt::format("executors:\n  {}\n    : {{kind: noop}}\n", key);
    for (const std::string& yaml : {files, caps, types}) {
      INFO(yaml);
      std::vector<std::string> errors;
      REQUIRE_NOTHROW(errors = errors_of(yaml));
      CHECK_FALSE(errors.empty());
    }
  }
  CHECK(errors_of("executors:\n  x:\n    kind: config_update\n    files:\n      [a]: /tmp/a.yaml\n") ==
        std::vector<std::string>{"govjobd.yaml:5:7: executors.x.files.?: expected a name (a plain string)",
                                 "govjobd.yaml:3:5: executors.x.files: a config_update executor needs files: {target: path}"});
}

TEST_CASE("an executor's rollback_action is a text or a mapping, kept as JSON", "[config]") {
  const Settings s = parse_settings(R"(executors:
  a: {kind: noop, rollback_action: "re-enable the capability"}
  b:
    kind: noop
    rollback_action: {step_type: capability_enable, note: "same target"}
  c: {kind: noop}
)", "govjobd.yaml");
  CHECK(s.executors.at("a").rollback_action == nlohmann::json("re-enable the capability"));
  CHECK(s.executors.at("b").rollback_action ==
        nlohmann::json{{"step_type", "capability_enable"}, {"note", "same target"}});
  CHECK_FALSE(s.executors.at("c").rollback_action);
  CHECK(errors_of("executors:\n  a: {kind: noop, rollback_action: [x]}\n") ==
        std::vector<std::string>{"govjobd.yaml:2:36: executors.a.rollback_action: expected a non-empty text or a mapping"});
}

TEST_CASE("the contract section is off by default and its names are SQL identifiers", "[config][contract]") {
  const Settings defaults = parse_settings("", "f.yaml");
  CHECK_FALSE(defaults.contract.enabled);
  CHECK(defaults.contract.table == "system_contracts");
  CHECK(defaults.contract.columns.id == "contract_id");
  CHECK(defaults.contract.columns.window_start == "activation_window_start");
  const Settings s = parse_settings(
      "contract:\n  enabled: true\n  table: creator.Contracts\n  columns: {id: id, status: state, affected_capabilities: caps,"
      " window_start: opens_at, window_end: closes$at}\n", "f.yaml");
  CHECK(s.contract.enabled);
  CHECK(s.contract.table == "creator.Contracts");
  CHECK(s.contract.columns.status == "state");
  CHECK(s.contract.columns.window_end == "closes$at");
  using V = std::vector<std::string>;
  CHECK(errors_of("contract:\n  enabled: true\n  columns:\n    status: \"status; DROP TABLE x\"\n") ==
        V{"govjobd.yaml:4:13: contract.columns.status: 'status; DROP TABLE x' is not a column name govjobd accepts "
          "(ASCII letters, digits, '_' and '$', not starting with a digit or '$', at most 63 bytes)"});
  CHECK(errors_of("contract:\n  table: a.b.c\n") ==
        V{"govjobd.yaml:2:10: contract.table: 'a.b.c' is not a table name govjobd accepts (ASCII letters, digits, '_' "
          "and '$', not starting with a digit or '$', at most 63 bytes; optionally schema.table)"});
  CHECK(errors_of("contract:\n  columns: {id: \"1id\", window_end: \"\"}\n  enabled: yes\n").size() == 3);
  CHECK(errors_of("contract:\n  columns: {idd: x}\n") == V{"govjobd.yaml:2:13: contract.columns.idd: unknown key"});
  CHECK(errors_of("contract:\n  table: " + std::string(64, 'a') + "\n").size() == 1);
}
