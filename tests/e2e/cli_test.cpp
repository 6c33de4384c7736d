#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/test_database.hpp"

using govjobd::testing::ProcessResult;
using govjobd::testing::run_process;
using govjobd::testing::TestDatabase;

namespace {

// The binary, as an operator runs it, pointed at one database by environment.
ProcessResult run_govjobd(const std::vector<std::string>& args, const std::string& database_url = "") {
  std::vector<std::string> argv{GOVJOBD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {{"GOVJOBD_DATABASE_URL", database_url}});
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("govjobd_e2e_" + std::to_string(::getpid()) + name);
  std::ofstream(path) << text;
  return path.string();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

const char* kStepsYaml = R"(
- step_index: 0
  step_type: noop
  target: payments
- step_index: 1
  step_type: capability_disable
  target: payments
  parameters: {reason: "maintenance window"}
  timeout_seconds: 60
)";

}  // namespace

TEST_CASE("the version flag, usage errors and help have their exit codes", "[cli]") {
  const auto version = run_govjobd({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.starts_with("govjobd "));
  CHECK(run_govjobd({}).exit_code == 2);
  CHECK(run_govjobd({"frobnicate"}).exit_code == 2);
  const auto missing = run_govjobd({"enqueue", "--steps", "x.yaml"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("--contract is required"));
  CHECK(run_govjobd({"enqueue", "--contract", "x", "--steps", "y", "--timeout-minutes", "1441"}).exit_code == 2);
  CHECK(run_govjobd({"--help"}).exit_code == 0);
}

TEST_CASE("check-config: 0 for a good file, 78 with file:line:column and key for a bad one", "[cli]") {
  const auto good = write_temp("good.yaml", "worker:\n  concurrency: 8\n");
  const auto ok = run_govjobd({"check-config", "-c", good});
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::StartsWith(good + ": OK (open files: "));
  const auto bad = write_temp("bad.yaml", "worker:\n  concurrency: ten\n  colour: blue\n");
  const auto refused = run_govjobd({"check-config", "-c", bad});
  CHECK(refused.exit_code == 78);
  CHECK(refused.err == "govjobd: error: " + bad + ":2:16: worker.concurrency: expected a positive integer, got 'ten'\n" +
                           "govjobd: error: " + bad + ":3:3: worker.colour: unknown key\n");
  CHECK(run_govjobd({"check-config", "-c", "/nonexistent.yaml"}).exit_code == 78);
  CHECK(run_govjobd({"check-config", "-c", std::string(GOVJOBD_SOURCE_DIR) + "/examples/govjobd.yaml"}).exit_code == 0);
}

TEST_CASE("migrate, enqueue, list, show and cancel through the binary", "[cli]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  const auto migrated = run_govjobd({"migrate"}, db.url());
  CHECK(migrated.exit_code == 0);
  CHECK_THAT(migrated.out, Catch::StartsWith("schema migrated from version 0"));
  const auto again = run_govjobd({"migrate"}, db.url());
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::StartsWith("schema already at version"));

  const auto steps = write_temp("steps.yaml", kStepsYaml);
  const auto enqueued = run_govjobd({"enqueue", "--contract", "20000000-0000-0000-0000-000000000001", "--steps", steps,
                                 "--created-by", "e2e", "--timeout-minutes", "5"},
                                db.url());
  REQUIRE(enqueued.exit_code == 0);
  const std::string job_id = trim(enqueued.out);
  CHECK(govjobd::model::is_uuid(job_id));

  const auto listed = run_govjobd({"jobs", "list"}, db.url());
  CHECK(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::Contains(job_id.substr(0, 8)) && Catch::Contains("PENDING"));
  const auto as_json = run_govjobd({"jobs", "list", "--json", "--status", "PENDING"}, db.url());
  CHECK(nlohmann::json::parse(as_json.out).at("job_id") == job_id);

  const auto shown = run_govjobd({"jobs", "show", "--json", job_id}, db.url());
  REQUIRE(shown.exit_code == 0);
  const auto job = nlohmann::json::parse(shown.out);
  CHECK(job.at("created_by") == "e2e");
  CHECK(job.at("steps").size() == 2);
  CHECK(job.at("steps")[1].at("parameters").at("reason") == "maintenance window");
  CHECK(job.at("transitions").size() == 1);

  const auto cancelled = run_govjobd({"cancel", job_id, "--reason", "window moved", "--by", "alice"}, db.url());
  CHECK(cancelled.exit_code == 0);
  CHECK(cancelled.out == "job " + job_id + " CANCELLED\n");
  const auto after = nlohmann::json::parse(run_govjobd({"jobs", "show", "--json", job_id}, db.url()).out);
  CHECK(after.at("status") == "CANCELLED");
  CHECK(after.at("status_reason") == "cancelled by alice: window moved");
  CHECK(after.at("transitions").size() == 2);
  const auto twice = run_govjobd({"cancel", job_id}, db.url());
  CHECK(twice.exit_code == 65);
  CHECK(twice.err == "govjobd: error: job " + job_id + " is CANCELLED, a terminal state; nothing to cancel\n");
}

TEST_CASE("bad input exits 65 with one line naming what is wrong", "[cli]") {
  TestDatabase db;
  const auto steps = write_temp("ok.yaml", kStepsYaml);
  const std::string contract = "20000000-0000-0000-0000-000000000002";
  REQUIRE(run_govjobd({"enqueue", "--contract", contract, "--steps", steps}, db.url()).exit_code == 0);

  const auto duplicate = run_govjobd({"enqueue", "--contract", contract, "--steps", steps}, db.url());
  CHECK(duplicate.exit_code == 65);
  CHECK_THAT(duplicate.err, Catch::Contains("contract " + contract + " already has a job"));

  const auto bad_steps = write_temp("bad.json", R"([{"step_index":0,"step_type":"noop","timeout_seconds":0},
                                                    {"step_index":0,"step_type":""}])");
  const auto invalid = run_govjobd({"enqueue", "--contract", "20000000-0000-0000-0000-000000000003", "--steps", bad_steps},
                               db.url());
  CHECK(invalid.exit_code == 65);
  CHECK(invalid.err == "govjobd: error: " + bad_steps +
                           ": steps[0].timeout_seconds: expected a positive integer no larger than 604800, got 0; "
                           "steps[1].step_type: must not be empty; "
                           "steps[1].step_index: duplicate step_index 0 (also at steps[0])\n");

  const auto not_uuid = run_govjobd({"enqueue", "--contract", "contract-7", "--steps", steps}, db.url());
  CHECK(not_uuid.exit_code == 65);
  CHECK(not_uuid.err == "govjobd: error: contract 'contract-7' is not a UUID\n");
  CHECK(run_govjobd({"jobs", "show", "20000000-0000-0000-0000-0000000000ff"}, db.url()).exit_code == 65);
  const auto broken_yaml = write_temp("broken.yaml", "- step_index: [0\n");
  const auto yaml = run_govjobd({"enqueue", "--contract", "20000000-0000-0000-0000-000000000004", "--steps", broken_yaml},
                            db.url());
  CHECK(yaml.exit_code == 65);
  CHECK_THAT(yaml.err, Catch::StartsWith("govjobd: error: " + broken_yaml + ":2:1: invalid YAML"));
}

TEST_CASE("an unreachable database exits 69", "[cli]") {
  const auto r = run_govjobd({"jobs", "list"}, "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
  CHECK(r.exit_code == 69);
  CHECK_THAT(r.err, Catch::StartsWith("govjobd: error: database unreachable: "));
}

TEST_CASE("a job inserted by plain SQL with only the documented columns appears in jobs list", "[cli]") {
  TestDatabase db;
  db.exec("INSERT INTO governance_jobs (job_id, contract_id, status, status_reason, steps, current_step_index, "
          "total_steps, step_results, execution_evidence, health_snapshot_before, health_snapshot_after, created_at, "
          "started_at, completed_at, timeout_at, created_by) VALUES ('30000000-0000-0000-0000-000000000001', "
          "'30000000-0000-0000-0000-0000000000c1', 'PENDING', NULL, "
          "'[{\"step_index\":0,\"step_type\":\"noop\",\"target\":\"x\",\"parameters\":{},\"timeout_seconds\":10}]', "
          "0, 1, '[]', NULL, NULL, NULL, now() AT TIME ZONE 'UTC', NULL, NULL, "
          "(now() AT TIME ZONE 'UTC') + interval '1 hour', 'contract-service')");
  const auto listed = run_govjobd({"jobs", "list", "--status", "PENDING"}, db.url());
  CHECK(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::Contains("30000000  PENDING  0/1"));
}

TEST_CASE("govjobd health prints a HealthSnapshot and exits as a monitoring plugin: 0 HEALTHY, 1 DEGRADED, 2 BLOCKED",
          "[cli]") {
  // `govjobd health` on a config of these probes (no system checks): its exit code and snapshot
  const auto health = [](const std::string& name, const std::string& probes) {
    return run_govjobd({"health", "-c", write_temp(name, "health:\n  system: {enabled: false}\n  capabilities:\n" + probes)});
  };
  const std::string closed = "{kind: tcp, host: 127.0.0.1, port: 1";  // nothing listens on port 1
  const auto r = health("health-blocked.yaml", "    payments: " + closed + "}\n    ledger: " + closed + ", on_error: DEGRADED}\n");
  CHECK(r.exit_code == 2);
  const auto snapshot = nlohmann::json::parse(r.out);
  CHECK(snapshot.size() == 3);
  CHECK(snapshot.at("capabilities").at("payments").at("state") == "BLOCKED");
  CHECK(health("health-fine.yaml", "    root: {kind: file, path: /}\n").exit_code == 0);
  const auto d = health("health-degraded.yaml", "    root: {kind: file, path: /}\n    ledger: " + closed + ", on_error: DEGRADED}\n");
  CHECK(d.exit_code == 1);
  CHECK(nlohmann::json::parse(d.out).at("capabilities").at("ledger").at("state") == "DEGRADED");
}
