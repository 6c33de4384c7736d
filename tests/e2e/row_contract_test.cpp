// The conformance suite: every row shape govjobd writes, checked key by key against the creator's contract
// as docs/row-contract.md states it: the reason texts, the step outputs its audit reads, the evidence format,
// the snapshot columns, and the audit's checks that can be decided from the row.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

bool iso8601(const json& v) {
  static const std::regex iso(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$)");
  return v.is_string() && std::regex_match(v.get<std::string>(), iso);
}

bool executed(const json& r) {
  return r.at("status") == "COMPLETED" || (r.at("status") == "FAILED" && !r.at("started_at").is_null());
}

// HEALTHY ranks above DEGRADED, DEGRADED above anything else (the creator's health-preservation check).
int rank(const json& state) { return state == "HEALTHY" ? 2 : state == "DEGRADED" ? 1 : 0; }

// The step results: one per step, in step_index order, at most one FAILED and nothing COMPLETED after it
// or after a SKIPPED (EXEC-001, EXEC-003); each executed step's output names what it acted on.
void check_step_results(const json& job, const json& steps) {
  const json& results = job.at("step_results");
  REQUIRE(results.is_array());
  CHECK(results.size() == steps.size());
  bool stopped = false;
  int failed = 0;
  for (std::size_t i = 0; i < results.size() && i < steps.size(); ++i) {
    const json& r = results[i];
    INFO("step_results[" << i << "] = " << r.dump());
    CHECK(r.at("step_index") == steps[i].at("step_index"));
    CHECK(std::set<std::string>{"COMPLETED", "FAILED", "SKIPPED"}.count(r.at("status").get<std::string>()) == 1);
    if (r.at("status") == "COMPLETED") CHECK_FALSE(stopped);
    if (r.at("status") != "COMPLETED") stopped = true;
    failed += r.at("status") == "FAILED";
    for (const char* key : {"started_at", "completed_at"}) CHECK((r.at(key).is_null() || iso8601(r.at(key))));
    if (!executed(r)) continue;
    const json& out = r.at("output");
    REQUIRE(out.is_object());
    CHECK(out.at("target") == steps[i].at("target"));
    CHECK(out.at("step_type") == steps[i].at("step_type"));
    CHECK(out.at("handler").is_string());
    CHECK(iso8601(out.at("executed_at")));
  }
  CHECK(failed <= 1);
}

// The reason in the creator's words: its texts where it has them, the failed step's error in its frame.
void check_reason(const json& job) {
  const std::string reason = job.at("status_reason").get<std::string>();
  if (job.at("status") == "COMPLETED") CHECK(reason == "All steps completed successfully");
  bool framed = false;
  for (const json& r : job.at("step_results"))
    if (r.at("status") == "FAILED") {
      CHECK(reason == "Step " + std::to_string(r.at("step_index").get<int>()) + " failed: " + r.at("error").get<std::string>());
      framed = true;
    }
  if (!framed) CHECK_FALSE(reason.starts_with("Step "));
}

// execution_evidence: exactly the creator's keys, consistent with the row, govjobd's own under "govjobd".
void check_evidence(const json& job) {
  const json& e = job.at("execution_evidence");
  std::set<std::string> keys;
  for (const auto& [k, v] : e.items()) keys.insert(k);
  CHECK(keys == std::set<std::string>{"job_id", "final_status", "final_reason", "execution_summary", "step_results",
                                      "health_observations", "timing", "executor_version", "govjobd"});
  CHECK(e.at("job_id") == job.at("job_id"));
  CHECK(e.at("final_status") == job.at("status"));
  CHECK(e.at("final_reason") == job.at("status_reason"));
  int succeeded = 0, failed = 0;
  REQUIRE(e.at("step_results").size() == job.at("step_results").size());
  for (std::size_t i = 0; i < e.at("step_results").size(); ++i) {
    const json& s = e.at("step_results")[i];
    const json& r = job.at("step_results")[i];
    CHECK(s.size() == 6);
    for (const char* key : {"step_index", "status", "started_at", "completed_at", "error"})
      CHECK(s.at(key) == (r.contains(key) ? r.at(key) : json(nullptr)));
    if (r.at("output").is_object())  // what the audit reads of each output, as the row has it
      for (const auto& [k, v] : s.at("output").items()) CHECK(r.at("output").at(k) == v);
    succeeded += s.at("status") == "COMPLETED";
    failed += s.at("status") == "FAILED";
  }
  CHECK(e.at("execution_summary") ==
        json{{"steps_executed", succeeded + failed}, {"steps_succeeded", succeeded}, {"steps_failed", failed}});
  for (const char* side : {"before", "after"}) {
    const json& states = e.at("health_observations").at(side);
    REQUIRE(states.is_object());
    for (const auto& [name, state] : states.items()) CHECK(state.is_string());
  }
  CHECK(iso8601(e.at("timing").at("started_at")));
  CHECK(iso8601(e.at("timing").at("completed_at")));
  CHECK(e.at("timing").at("duration_seconds").get<double>() >= 0);
  CHECK(e.at("executor_version").get<std::string>().starts_with("govjobd "));
}

// The creator's audit of a successful job, each check that can be decided from the row.
void check_audit(const json& job, const std::set<std::string>& affected) {
  for (const json& r : job.at("step_results")) {
    if (!executed(r)) continue;
    const json& out = r.at("output");
    CHECK(affected.count(out.at("target").get<std::string>()) == 1);  // scope
    if (r.at("status") != "COMPLETED") continue;
    CHECK(!out.at("target").get<std::string>().empty());  // fidelity: the change happened
    const bool exempt = std::set<std::string>{"noop", "configuration_change", "unknown"}.count(out.at("step_type").get<std::string>()) ||
                        std::set<std::string>{"noop", "configuration_change", "unknown"}.count(out.at("handler").get<std::string>());
    if (!exempt) CHECK(out.contains("rollback_action"));  // rollback availability
  }
  const json& before = job.at("execution_evidence").at("health_observations").at("before");
  const json& after = job.at("execution_evidence").at("health_observations").at("after");
  for (const auto& [name, state] : before.items()) {
    const json now = after.contains(name) ? after.at(name) : json(nullptr);
    if (now.is_string()) CHECK(rank(now) >= rank(state));        // health preservation
    if (now != state) CHECK(affected.count(name) == 1);          // no unauthorized mutations
  }
  for (const auto& [name, state] : after.items())
    if (!before.contains(name)) CHECK(affected.count(name) == 1);
}

void check_row(TestDatabase& db, const std::string& id, const json& steps) {
  const json job = job_of(db, id);
  INFO("job " << id << ": " << job.at("status") << " " << job.at("status_reason"));
  check_step_results(job, steps);
  check_reason(job);
  check_evidence(job);
  if (job.at("status") == "COMPLETED") check_audit(job, {"payments", "ledger"});
}

const char* kExecutors = R"(  noop: {kind: noop}
  ok:
    kind: process
    command: [/bin/true]
    rollback_action: {step_type: ok, note: "run again with the previous parameters"}
  fail: {kind: process, command: [/bin/sh, -c, "echo 'disk full' >&2; exit 4"]}
  hang: {kind: process, command: [/bin/sleep, '60'], kill_grace: 200ms}
)";

}  // namespace

TEST_CASE("row contract: every end govjobd writes reads as the creator's own", "[daemon][contract]") {
  TestDatabase db;
  // vault goes BLOCKED during the health-blocked job (its step 0 removes the file): a job into a target already
  // BLOCKED would not be claimed at all (health-aware claiming, docs/fleet.md)
  const auto vault = std::filesystem::temp_directory_path() / ("govjobd-vault-up-" + unique_marker());
  std::ofstream(vault) << "up\n";
  const auto config = write_daemon_config(
      "row-contract", std::string(kExecutors) + "  down: {kind: process, command: [/bin/rm, -f, " + vault.string() + "]}\n",
      "  concurrency: 8\n", "  capabilities:\n    vault: {kind: file, path: " + vault.string() + "}\n");
  std::map<std::string, json> jobs;  // name -> steps
  std::map<std::string, std::string> ids;
  auto add = [&](const std::string& name, json steps, const std::string& timeout = "1 hour") {
    ids[name] = insert_job(db, steps, timeout);
    jobs[name] = std::move(steps);
  };
  add("completed", json::array({step(0, "noop"), step(1, "ok", json::object(), 30, "ledger")}));
  add("failed step", json::array({step(0, "ok"), step(1, "fail"), step(2, "noop")}));
  add("step timeout", json::array({step(0, "hang", json::object(), 1), step(1, "noop")}));
  add("job timeout", json::array({step(0, "hang", json::object(), 600)}), "2 seconds");
  add("no handler", json::array({step(0, "noop"), step(1, "format_disk")}));
  add("cancelled", json::array({step(0, "hang", json::object(), 600), step(1, "noop")}));
  add("expired", json::array({step(0, "noop")}), "-1 minute");
  // a result for step 0 left in a PENDING row (by a role the writer's trigger trusts): never the daemon's
  add("preset results", json::array({step(0, "noop"), step(1, "noop")}));
  db.exec(R"(UPDATE governance_jobs SET step_results = '[{"step_index": 0, "status": "COMPLETED"}]' WHERE job_id = ')" +
          ids["preset results"] + "'");
  // steps never written out (a number past 1e300: 1e131071 is 131,072 digits as text, queries/job_claim.sql;
  // 1e305 here, which a reader of the row can still parse as a double)
  add("unwritable steps", json::array({step(0, "noop"), step(1, "noop")}));
  db.exec("UPDATE governance_jobs SET steps = jsonb_set(steps, '{1,parameters}', '{\"n\": 1e305}') WHERE job_id = '" +
          ids["unwritable steps"] + "'");
  jobs["unwritable steps"] = json::array();  // never fetched: no step is known, none has a result; the rest as any end
  const std::string invalid = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), "
                                        "'{\"step_index\": 0}') RETURNING job_id");
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT current_step_index || status FROM governance_jobs WHERE job_id = '" +
                                            ids["cancelled"] + "'") == "0RUNNING"; }, 20s));
  REQUIRE(run_process({GOVJOBD_BINARY, "cancel", ids["cancelled"], "--reason", "window moved", "--by", "carol"},
                      {{"GOVJOBD_DATABASE_URL", db.url()}}).exit_code == 0);
  const auto all_ended = [&] {
    return eventually([&] { return db.scalar("SELECT count(*) FROM governance_jobs WHERE status IN ('PENDING', 'RUNNING')") == "0"; }, 30s);
  };
  REQUIRE(all_ended());
  // after the others, whose audit would otherwise see vault change under them
  add("health-blocked", json::array({step(0, "down", json::object(), 30, "ledger"), step(1, "noop", json::object(), 30, "vault"),
                                     step(2, "noop")}));
  REQUIRE(all_ended());
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);

  for (const auto& [name, steps] : jobs) {
    SECTION(name) { check_row(db, ids[name], steps); }
  }
  SECTION("statuses and reasons") {
    CHECK(status_of(db, ids["completed"]) == "COMPLETED");
    CHECK(job_of(db, ids["failed step"]).at("status_reason") == "Step 1 failed: exit code 4: disk full");
    CHECK(job_of(db, ids["no handler"]).at("status_reason") == "Step 1 failed: No handler registered for step type: format_disk");
    CHECK(job_of(db, ids["no handler"]).at("current_step_index") == 1);  // the failed step's, as the creator's
    CHECK(job_of(db, ids["step timeout"]).at("status_reason") == "Step 0 failed: step timeout of 1s exceeded (SIGTERM)");
    CHECK(job_of(db, ids["job timeout"]).at("status_reason") == "Step 0 failed: job timeout exceeded (SIGTERM)");
    CHECK_THAT(job_of(db, ids["expired"]).at("status_reason").get<std::string>(), Catch::StartsWith("job timeout exceeded before it started (timeout_at "));
    CHECK_THAT(job_of(db, ids["health-blocked"]).at("status_reason").get<std::string>(), Catch::StartsWith("Step 1 failed: blocked by health: vault BLOCKED"));
    CHECK_THAT(job_of(db, ids["preset results"]).at("status_reason").get<std::string>(),
               Catch::StartsWith("invalid job: written before it ran: step_results (an array of 1 entry); "));
    CHECK(job_of(db, ids["unwritable steps"]).at("status_reason") ==
          "invalid steps: steps[1].parameters is nested deeper than 100 levels or holds a number past 1e300 or "
          "within 1e-300 of 0; not fetched");
    CHECK(job_of(db, ids["cancelled"]).at("status") == "CANCELLED");
    CHECK(job_of(db, ids["cancelled"]).at("status_reason") == "Step 0 failed: cancelled by carol: window moved");
  }
  SECTION("outputs the audit reads") {
    const json done = job_of(db, ids["completed"]);
    // the creator's no-op handler writes exactly these four keys
    const json noop = done.at("step_results")[0].at("output");
    CHECK(noop.size() == 4);
    CHECK(noop.at("handler") == "noop");
    CHECK(done.at("step_results")[1].at("output").at("rollback_action") ==
          json{{"step_type", "ok"}, {"note", "run again with the previous parameters"}});
    CHECK(done.at("execution_evidence").at("health_observations").at("before") == json{{"vault", "HEALTHY"}, {"system", "HEALTHY"}});
    // the evidence keeps of an output what the audit reads; the whole output stays in step_results
    CHECK(done.at("execution_evidence").at("step_results")[1].at("output").at("rollback_action") ==
          done.at("step_results")[1].at("output").at("rollback_action"));
  }
  SECTION("an invalid job") {
    const json job = job_of(db, invalid);
    CHECK(job.at("status") == "FAILED");
    check_step_results(job, json::array());
    check_reason(job);
    check_evidence(job);
  }
}

TEST_CASE("row contract: a health_snapshot_before the creator set is never overwritten", "[daemon][contract]") {
  TestDatabase db;
  const auto config = write_daemon_config("creator-snapshot", "  noop: {kind: noop}\n", "",
                                          "  capabilities:\n    vault: {kind: tcp, host: 127.0.0.1, port: 1}\n");
  const json creators = {{"captured_at", "2026-12-01T09:00:00Z"}, {"capabilities", {{"payments", {{"state", "HEALTHY"}}}}},
                         {"system_health", {{"state", "HEALTHY"}}}};
  const std::string kept = db.scalar("INSERT INTO governance_jobs (contract_id, steps, health_snapshot_before) VALUES "
                                     "(gen_random_uuid(), '" + json::array({step(0, "noop")}).dump() + "', '" +
                                     creators.dump() + "') RETURNING job_id");
  const std::string ours = insert_job(db, json::array({step(0, "noop")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  const json job = job_of(db, kept);
  CHECK(job.at("status") == "COMPLETED");
  CHECK(job.at("health_snapshot_before") == creators);
  // govjobd's own run-start snapshot goes to the evidence instead
  CHECK(job.at("execution_evidence").at("health_observations").at("before") == json{{"vault", "BLOCKED"}, {"system", "HEALTHY"}});
  // and to both when the creator set none
  const json other = job_of(db, ours);
  CHECK(other.at("health_snapshot_before").at("capabilities").at("vault").at("state") == "BLOCKED");
  CHECK(other.at("execution_evidence").at("health_observations").at("before") == json{{"vault", "BLOCKED"}, {"system", "HEALTHY"}});
}

TEST_CASE("row contract: a job whose worker was lost reads as the creator's own", "[daemon][contract]") {
  TestDatabase db;
  const auto config = write_daemon_config("row-contract-lost", "  hang: {kind: process, command: [/bin/sleep, '60']}\n  noop: {kind: noop}\n");
  const json steps = json::array({step(0, "noop"), step(1, "hang"), step(2, "noop")});
  const auto id = insert_job(db, steps);
  auto victim = std::make_unique<DaemonProcess>(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT current_step_index FROM governance_jobs WHERE job_id = '" + id + "'") == "1"; }));
  victim->signal(SIGKILL);
  victim.reset();
  DaemonProcess rescuer(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, id) == "FAILED"; }, 20s));
  rescuer.signal(SIGTERM);
  CHECK(rescuer.wait_exit() == 0);
  check_row(db, id, steps);
  const json job = job_of(db, id);
  CHECK_THAT(job.at("status_reason").get<std::string>(), Catch::StartsWith("Step 1 failed: worker "));
  CHECK(job.at("execution_evidence").at("govjobd").at("reaped").contains("worker_id"));
}

TEST_CASE("row contract: a job the contract gate refuses, and one it lets through, read as the creator's own", "[daemon][contract]") {
  TestDatabase db;
  db.exec("CREATE TABLE public.system_contracts (contract_id uuid PRIMARY KEY, status varchar(20) NOT NULL, "
          "affected_capabilities varchar[] NOT NULL, activation_window_start timestamp, activation_window_end timestamp, "
          "job_id uuid)");
  const auto config = write_daemon_config("row-contract-gate", kExecutors);
  std::ofstream(config, std::ios::app) << "contract:\n  enabled: true\n";
  const json steps = json::array({step(0, "noop"), step(1, "ok", json::object(), 30, "ledger")});
  const auto refused = insert_job(db, steps);
  const auto allowed = insert_job(db, steps);
  for (const auto& [id, capabilities] : {std::pair{refused, "{payments}"}, std::pair{allowed, "{payments,ledger}"}})
    db.exec("INSERT INTO public.system_contracts SELECT contract_id, 'ACTIVE', '" + std::string(capabilities) +
            "', NULL, NULL, job_id FROM governance_jobs WHERE job_id = '" + id + "'");
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  const json no = job_of(db, refused);
  CHECK(no.at("status") == "FAILED");
  CHECK_THAT(no.at("status_reason").get<std::string>(), Catch::StartsWith("step 1: target 'ledger' is not among contract "));
  check_step_results(no, steps);
  check_reason(no);
  check_evidence(no);
  CHECK(no.at("execution_evidence").at("govjobd").at("contract_gate").at("decision") == "refused");
  const json yes = job_of(db, allowed);
  CHECK(yes.at("status") == "COMPLETED");
  check_step_results(yes, steps);
  check_reason(yes);
  check_evidence(yes);
  check_audit(yes, {"payments", "ledger"});  // every check the audit can decide from the row, with its contract's scope
}

TEST_CASE("row contract: a job ended by shutdown, and one ended by an error of govjobd's own handling", "[daemon][contract]") {
  TestDatabase db;
  const auto config = write_daemon_config("row-contract-shutdown", std::string(kExecutors) + "  boom: {kind: noop}\n",
                                          "  concurrency: 2\n  shutdown_grace: 500ms\n");
  const json hung = json::array({step(0, "hang", json::object(), 600), step(1, "noop")});
  const json faulted = json::array({step(0, "noop"), step(1, "boom"), step(2, "noop")});
  const auto shut = insert_job(db, hung);
  const auto fault = insert_job(db, faulted);
  DaemonProcess daemon(config, db.url(), {}, {{"GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE", "boom"}});
  REQUIRE(eventually([&] { return status_of(db, fault) == "FAILED" && status_of(db, shut) == "RUNNING"; }, 20s));
  daemon.signal(SIGTERM);
  REQUIRE(daemon.wait_exit(30s) == 0);
  check_row(db, shut, hung);
  CHECK_THAT(job_of(db, shut).at("status_reason").get<std::string>(),
             Catch::StartsWith("Step 0 failed: cancelled by govjobd ") && Catch::EndsWith(": daemon shutdown"));
  check_row(db, fault, faulted);
  CHECK_THAT(job_of(db, fault).at("status_reason").get<std::string>(),
             Catch::StartsWith("Step 1 failed: Execution error: fault injected after a step of type 'boom'"));
}
