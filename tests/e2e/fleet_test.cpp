// The fleet (issue 18, docs/fleet.md): several daemons of different configs on one database.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A daemon whose worker id is `id`, serving `executors` (YAML), with extra worker keys.
std::unique_ptr<DaemonProcess> daemon_named(TestDatabase& db, const std::string& id, const std::string& executors,
                                            const std::string& worker = "", const std::string& health = "") {
  const auto config = write_daemon_config("fleet-" + id, executors,
                                          "  id: " + id + "\n  poll_interval: 200ms\n  concurrency: 4\n" + worker, health);
  return std::make_unique<DaemonProcess>(config, db.url());
}

std::string claimed_by(TestDatabase& db, const std::string& job) {
  return db.scalar("SELECT coalesce(claimed_by, '') FROM governance_jobs WHERE job_id = '" + job + "'");
}

bool all_ended(TestDatabase& db, std::chrono::milliseconds timeout = 60s) {
  return eventually([&] { return db.scalar("SELECT count(*) FROM governance_jobs WHERE status IN ('PENDING', 'RUNNING')") == "0"; },
                    timeout);
}

// [started_at, completed_at] of each executed step of the jobs whose one target is `target`, as epoch seconds.
std::vector<std::pair<double, double>> step_intervals(TestDatabase& db, const std::string& target) {
  const std::string rows = db.scalar(
      "SELECT coalesce(string_agg(extract(epoch FROM (r ->> 'started_at')::timestamptz)::text || ' ' || "
      "extract(epoch FROM (r ->> 'completed_at')::timestamptz)::text, ' '), '') "
      "FROM governance_jobs j, jsonb_array_elements(j.step_results) r "
      "WHERE j.route_targets = ARRAY['" + target + "'] AND r ->> 'started_at' IS NOT NULL");
  std::vector<std::pair<double, double>> out;
  std::istringstream in(rows);
  double a = 0, b = 0;
  while (in >> a >> b) out.emplace_back(a, b);
  std::sort(out.begin(), out.end());
  return out;
}

const char* kNoop = "  noop: {kind: noop}\n";
const char* kSleep = "  sleep: {kind: sleep}\n";

}  // namespace

TEST_CASE("fleet: each job runs only on a daemon that serves its step types, targets and pool", "[fleet]") {
  TestDatabase db;
  auto a = daemon_named(db, "host-a", std::string(kNoop) + "  capability_disable: {kind: noop}\n", "  pools: [blue]\n");
  auto b = daemon_named(db, "host-b", std::string(kNoop) + "  config_push: {kind: noop}\n", "  targets: ['web-*']\n");
  const auto disable = insert_job(db, json::array({step(0, "capability_disable", json::object(), 30, "db-1")}));
  const auto push = insert_job(db, json::array({step(0, "config_push", json::object(), 30, "web-7")}));
  const auto both = insert_job(db, json::array({step(0, "noop", json::object(), 30, "web-1")}));
  const auto blue = db.scalar("INSERT INTO governance_jobs (contract_id, steps, pool) VALUES (gen_random_uuid(), '" +
                              json::array({step(0, "noop", json::object(), 30, "web-2")}).dump() + "', 'blue') RETURNING job_id");
  REQUIRE(all_ended(db));
  CHECK(status_of(db, disable) == "COMPLETED");
  CHECK(claimed_by(db, disable) == "host-a");
  CHECK(status_of(db, push) == "COMPLETED");
  CHECK(claimed_by(db, push) == "host-b");
  CHECK(status_of(db, both) == "COMPLETED");
  CHECK(status_of(db, blue) == "COMPLETED");
  CHECK(claimed_by(db, blue) == "host-a");  // only host-a serves the pool blue
  // each worker row records what it serves
  CHECK(db.scalar("SELECT array_to_string(serves_step_types, ',') || ' ' || array_to_string(serves_targets, ',') || ' ' || "
                  "array_to_string(serves_pools, ',') FROM govjobd.govjobd_workers WHERE worker_id = 'host-a'") ==
        "capability_disable,noop * blue");
  CHECK(db.scalar("SELECT array_to_string(serves_step_types, ',') || ' ' || array_to_string(serves_targets, ',') "
                  "FROM govjobd.govjobd_workers WHERE worker_id = 'host-b'") == "config_push,noop web-*");
  a->signal(SIGTERM);
  b->signal(SIGTERM);
  CHECK(a->wait_exit() == 0);
  CHECK(b->wait_exit() == 0);
  CHECK(verify_output(db.url()) == "verify: clean\n");
}

TEST_CASE("fleet: a job no live daemon serves ends FAILED naming what is missing, malformed ones still fail fast", "[fleet]") {
  TestDatabase db;
  auto a = daemon_named(db, "host-a", kNoop, "  targets: ['web-*']\n  unroutable_after: 1s\n");
  // (the creator's step_type is any string; the first unserved step in order fails, not the first by name)
  const auto type = insert_job(db, json::array({step(0, "noop", json::object(), 30, "web-1"),
                                                step(1, "zeta deploy", json::object(), 30, "web-1"),
                                                step(2, "alpha_check", json::object(), 30, "web-1")}));
  const auto target = insert_job(db, json::array({step(0, "noop", json::object(), 30, "db-1")}));
  const auto pool = db.scalar("INSERT INTO governance_jobs (contract_id, steps, pool) VALUES (gen_random_uuid(), '" +
                              json::array({step(0, "noop", json::object(), 30, "web-2")}).dump() + "', 'red') RETURNING job_id");
  const auto malformed = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), "
                                   "'[{\"step_index\": \"zero\", \"step_type\": \"format_disk\"}]') RETURNING job_id");
  // created_at is the writer's: one in the future or at infinity does not keep such a job waiting for good
  std::vector<std::string> undated;
  for (const char* when : {"'infinity'", "now() + interval '100 years'"})
    undated.push_back(db.scalar("INSERT INTO governance_jobs (contract_id, steps, created_at) VALUES (gen_random_uuid(), '" +
                                json::array({step(0, "noop", json::object(), 30, "db-2")}).dump() + "', " + when +
                                ") RETURNING job_id"));
  REQUIRE(all_ended(db));
  for (const auto& id : undated) CHECK(job_of(db, id).at("status_reason") == "no live daemon serves target db-2");
  // a step type: the creator's rule, that step FAILED and the others SKIPPED
  CHECK(job_of(db, type).at("status_reason") == "Step 1 failed: No handler registered for step type: zeta deploy");
  CHECK(step_statuses(job_of(db, type)) == std::vector<std::string>{"SKIPPED", "FAILED", "SKIPPED"});
  CHECK(job_of(db, target).at("status_reason") == "no live daemon serves target db-1");
  CHECK(step_statuses(job_of(db, target)) == std::vector<std::string>{"SKIPPED"});
  CHECK(job_of(db, pool).at("status_reason") == "no live daemon serves pool red");
  // what the creator's audit reads of such an end: its evidence in the creator's format, the reason the row's
  for (const auto& id : {type, target, pool}) {
    const json job = job_of(db, id);
    const json& e = job.at("execution_evidence");
    CHECK(e.at("job_id") == id);
    CHECK(e.at("final_status") == "FAILED");
    CHECK(e.at("final_reason") == job.at("status_reason"));
    CHECK(e.at("step_results").size() == job.at("step_results").size());
  }
  CHECK(status_of(db, malformed) == "FAILED");
  CHECK_THAT(job_of(db, malformed).at("status_reason").get<std::string>(), Catch::StartsWith("invalid steps: "));
  a->signal(SIGTERM);
  CHECK(a->wait_exit() == 0);
  CHECK(verify_output(db.url()) == "verify: clean\n");
}

TEST_CASE("fleet: 20 jobs on one target over 3 daemons never overlap, jobs on other targets run side by side", "[fleet]") {
  TestDatabase db;
  const std::string one = json::array({step(0, "sleep", {{"seconds", 0.15}}, 30, "ledger")}).dump();
  db.exec("INSERT INTO governance_jobs (contract_id, steps) SELECT gen_random_uuid(), '" + one + "' FROM generate_series(1, 20)");
  db.exec("INSERT INTO governance_jobs (contract_id, steps) SELECT gen_random_uuid(), jsonb_build_array(jsonb_build_object("
          "'step_index', 0, 'step_type', 'sleep', 'target', 'web-' || g, 'parameters', '{\"seconds\": 0.5}'::jsonb, "
          "'timeout_seconds', 30)) FROM generate_series(1, 8) g");
  std::vector<std::unique_ptr<DaemonProcess>> fleet;
  for (const char* id : {"host-a", "host-b", "host-c"})
    fleet.push_back(daemon_named(db, id, kSleep, "  exclusive_targets: true\n"));
  REQUIRE(all_ended(db, 90s));
  CHECK(jobs_by_status(db) == std::map<std::string, int>{{"COMPLETED", 28}});
  const auto ledger = step_intervals(db, "ledger");
  REQUIRE(ledger.size() == 20);
  for (std::size_t i = 1; i < ledger.size(); ++i) CHECK(ledger[i].first >= ledger[i - 1].second);  // disjoint
  // the eight 0.5 s jobs on their own targets overlapped each other (12 slots in the fleet)
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs a, governance_jobs b WHERE a.route_targets[1] LIKE 'web-%' AND "
                  "b.route_targets[1] LIKE 'web-%' AND a.job_id < b.job_id AND a.started_at < b.completed_at AND "
                  "b.started_at < a.completed_at") != "0");
  CHECK(db.scalar("SELECT count(*) FROM govjobd.target_holds") == "0");  // every hold released with its end
  for (auto& d : fleet) d->signal(SIGTERM);
  for (auto& d : fleet) CHECK(d->wait_exit() == 0);
  CHECK(verify_output(db.url()) == "verify: clean\n");
}

TEST_CASE("fleet: a target BLOCKED on one daemon and HEALTHY on another runs on the healthy one", "[fleet]") {
  TestDatabase db;
  const auto up = std::filesystem::temp_directory_path() / ("govjobd-fleet-up-" + unique_marker());
  std::ofstream(up) << "up\n";
  const auto probe = [](const std::string& path) { return "  capabilities:\n    payments: {kind: file, path: " + path + "}\n"; };
  auto sick = daemon_named(db, "host-sick", kNoop, "", probe("/nonexistent/govjobd-down"));
  REQUIRE(eventually([&] {
    return db.scalar("SELECT coalesce(array_to_string(blocked_targets, ','), '') FROM govjobd.govjobd_workers WHERE worker_id = 'host-sick'") == "payments";
  }));
  auto well = daemon_named(db, "host-well", kNoop, "", probe(up.string()));
  REQUIRE(sick->wait_for_log("ready"));
  REQUIRE(well->wait_for_log("ready"));
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(insert_job(db, json::array({step(0, "noop")})));
  REQUIRE(all_ended(db));
  for (const auto& id : ids) {
    CHECK(status_of(db, id) == "COMPLETED");
    CHECK(claimed_by(db, id) == "host-well");
  }
  sick->signal(SIGTERM);
  well->signal(SIGTERM);
  CHECK(sick->wait_exit() == 0);
  CHECK(well->wait_exit() == 0);
  std::filesystem::remove(up);
}

TEST_CASE("fleet: a pause stops claims within a poll interval, resume restarts them, running jobs finish", "[fleet]") {
  TestDatabase db;
  auto a = daemon_named(db, "host-a", std::string(kNoop) + kSleep);
  REQUIRE(a->wait_for_log("ready"));
  const auto running = insert_job(db, json::array({step(0, "sleep", {{"seconds", 1.5}})}));
  REQUIRE(eventually([&] { return status_of(db, running) == "RUNNING"; }));
  db.exec("INSERT INTO govjobd.pauses (reason, paused_by) VALUES ('incident 42', 'alice')");
  const auto other = insert_job(db, json::array({step(0, "noop", json::object(), 30, "ledger")}));
  const auto filtered = db.scalar("INSERT INTO govjobd.pauses (step_type, reason, paused_by) VALUES ('noop', 'noop freeze', 'bob') "
                                  "RETURNING pause_id");
  REQUIRE(eventually([&] { return status_of(db, running) == "COMPLETED"; }));  // a running job finishes
  std::this_thread::sleep_for(1s);  // an absence: five poll intervals later the job is still PENDING
  CHECK(status_of(db, other) == "PENDING");
  db.exec("UPDATE govjobd.pauses SET resumed_at = now() AT TIME ZONE 'UTC', resumed_by = 'alice' WHERE pause_id <> " + filtered);
  std::this_thread::sleep_for(1s);  // the filtered pause still holds noop jobs
  CHECK(status_of(db, other) == "PENDING");
  const auto sleeper = insert_job(db, json::array({step(0, "sleep", {{"seconds", 0}})}));
  REQUIRE(eventually([&] { return status_of(db, sleeper) == "COMPLETED"; }));  // a sleep job is not paused
  db.exec("UPDATE govjobd.pauses SET resumed_at = now() AT TIME ZONE 'UTC', resumed_by = 'bob' WHERE pause_id = " + filtered);
  REQUIRE(eventually([&] { return status_of(db, other) == "COMPLETED"; }, 5s));  // within the poll interval
  a->signal(SIGTERM);
  CHECK(a->wait_exit() == 0);
}

TEST_CASE("fleet: a reaped job's held target is released and the next job on it runs", "[fleet]") {
  TestDatabase db;
  const std::string executors = std::string(kNoop) + kSleep;
  auto doomed = daemon_named(db, "host-doomed", executors, "  exclusive_targets: true\n");
  const auto lost = insert_job(db, json::array({step(0, "sleep", {{"seconds", 60}}, 120, "ledger")}));
  REQUIRE(eventually([&] { return status_of(db, lost) == "RUNNING"; }));
  CHECK(db.scalar("SELECT target || ' ' || held_by FROM govjobd.target_holds") == "ledger host-doomed");
  doomed->signal(SIGKILL);
  REQUIRE(doomed->wait_exit() == -1);
  const auto next = insert_job(db, json::array({step(0, "noop", json::object(), 30, "ledger")}));
  auto heir = daemon_named(db, "host-heir", executors, "  exclusive_targets: true\n");
  REQUIRE(eventually([&] { return status_of(db, lost) == "FAILED"; }, 30s));
  REQUIRE(eventually([&] { return status_of(db, next) == "COMPLETED"; }, 30s));
  CHECK(claimed_by(db, next) == "host-heir");
  CHECK(db.scalar("SELECT count(*) FROM govjobd.target_holds") == "0");
  heir->signal(SIGTERM);
  CHECK(heir->wait_exit() == 0);
}
