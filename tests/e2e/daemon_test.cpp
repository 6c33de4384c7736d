#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "process/child_reaper.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kExecutors = R"(  noop: {kind: noop}
  sleep: {kind: sleep}
  fail: {kind: process, command: [/bin/sh, -c, "echo 'disk full' >&2; exit 4"]}
)";

}  // namespace

TEST_CASE("a multi-step job runs in step_index order and ends COMPLETED with its evidence", "[daemon]") {
  TestDatabase db;
  SideEffects effects;
  const auto config = write_daemon_config("multi", std::string(kExecutors) + effects.executor("touch"));
  // JSON order differs from step_index order
  const auto id = insert_job(db, json::array({step(2, "touch"), step(0, "touch"), step(1, "noop")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  const json job = job_of(db, id);
  CHECK(job.at("status") == "COMPLETED");
  CHECK(step_statuses(job) == std::vector<std::string>{"COMPLETED", "COMPLETED", "COMPLETED"});
  CHECK(job.at("step_results")[0].at("step_index") == 0);
  CHECK(job.at("step_results")[2].at("step_index") == 2);
  CHECK(job.at("step_results")[1].at("health_after").contains("captured_at"));
  CHECK(job.at("completed_at").is_string());
  CHECK(job.at("current_step_index") == 2);
  CHECK(job.at("health_snapshot_before").contains("system_health"));
  CHECK(job.at("health_snapshot_after").contains("capabilities"));
  const json& evidence = job.at("execution_evidence");
  CHECK(evidence.at("execution_summary").at("steps_executed") == 3);
  CHECK(evidence.at("execution_summary").at("steps_succeeded") == 3);
  CHECK(evidence.at("govjobd").at("steps_skipped") == 0);
  CHECK(evidence.at("govjobd").at("gate_decisions").size() == 3);
  for (const char* key : {"daemon_version", "worker_id", "host", "pid", "step_durations_ms"})
    CHECK(evidence.at("govjobd").contains(key));
  for (const char* key : {"started_at", "completed_at", "duration_seconds"}) CHECK(evidence.at("timing").contains(key));
  CHECK(transitions_of(db, id) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->COMPLETED@-"});
  CHECK(effects.counts() == std::map<std::string, int>{{id + " 0", 1}, {id + " 2", 1}});
  CHECK_THAT(daemon.log(), Catch::Contains("job " + id + " step - RUNNING -> COMPLETED: All steps completed successfully"));
}

TEST_CASE("a failing step ends the job FAILED and the remaining steps are SKIPPED, not run", "[daemon]") {
  TestDatabase db;
  SideEffects effects;
  const auto config = write_daemon_config("fail", std::string(kExecutors) + effects.executor("touch"));
  const auto id = insert_job(db, json::array({step(0, "touch"), step(1, "fail"), step(2, "touch"), step(3, "touch")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  const json job = job_of(db, id);
  CHECK(job.at("status") == "FAILED");
  CHECK(job.at("status_reason") == "Step 1 failed: exit code 4: disk full");
  CHECK(step_statuses(job) == std::vector<std::string>{"COMPLETED", "FAILED", "SKIPPED", "SKIPPED"});
  CHECK(job.at("step_results")[1].at("error") == "exit code 4: disk full");
  CHECK(transitions_of(db, id) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->FAILED@1"});
  CHECK(effects.counts() == std::map<std::string, int>{{id + " 0", 1}});
  CHECK(job.at("execution_evidence").at("govjobd").at("steps_skipped") == 2);
}

TEST_CASE("step timeout and job timeout", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("timeouts", "  hang: {kind: process, command: [/bin/sleep, '60'], kill_grace: 200ms}\n");
  const auto step_timeout = insert_job(db, json::array({step(0, "hang", json::object(), 1), step(1, "hang")}));
  const auto job_timeout = insert_job(db, json::array({step(0, "hang", json::object(), 600)}), "2 seconds");
  const auto expired = insert_job(db, json::array({step(0, "hang")}), "-1 minute");
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  const json a = job_of(db, step_timeout);
  CHECK(a.at("status") == "FAILED");
  CHECK(a.at("status_reason") == "Step 0 failed: step timeout of 1s exceeded (SIGTERM)");
  CHECK(step_statuses(a) == std::vector<std::string>{"FAILED", "SKIPPED"});
  const json b = job_of(db, job_timeout);
  CHECK(b.at("status") == "FAILED");
  CHECK(b.at("status_reason") == "Step 0 failed: job timeout exceeded (SIGTERM)");
  const json c = job_of(db, expired);
  CHECK(c.at("status") == "FAILED");
  CHECK_THAT(c.at("status_reason").get<std::string>(), Catch::StartsWith("job timeout exceeded before it started"));
  CHECK(step_statuses(c) == std::vector<std::string>{"SKIPPED"});
  CHECK(transitions_of(db, expired) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->FAILED@-"});
}

TEST_CASE("cancel while PENDING and while RUNNING", "[daemon]") {
  TestDatabase db;
  const std::string started = (std::filesystem::temp_directory_path() / ("govjobd-started-" + unique_marker())).string();
  const auto config = write_daemon_config(
      "cancel", "  hang: {kind: process, command: [/bin/sh, -c, 'touch " + started + "; exec sleep 60'], kill_grace: 200ms}\n");
  const auto pending = insert_job(db, json::array({step(0, "hang")}));
  const auto cancelled = run_process({GOVJOBD_BINARY, "cancel", pending, "--reason", "not today", "--by", "alice"},
                                     {{"GOVJOBD_DATABASE_URL", db.url()}});
  CHECK(cancelled.exit_code == 0);
  CHECK(status_of(db, pending) == "CANCELLED");

  const auto running = insert_job(db, json::array({step(0, "hang"), step(1, "hang")}));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return std::filesystem::exists(started); }));  // step 0 is running
  std::filesystem::remove(started);
  const auto requested_at = std::chrono::steady_clock::now();
  const auto request = run_process({GOVJOBD_BINARY, "cancel", running, "--reason", "wrong window", "--by", "bob"},
                                   {{"GOVJOBD_DATABASE_URL", db.url()}});
  INFO(request.err);
  CHECK(request.exit_code == 0);
  REQUIRE(eventually([&] { return status_of(db, running) == "CANCELLED"; }, 10s));
  CHECK(std::chrono::steady_clock::now() - requested_at < 5s);  // the issue asks for 1 s; the bench measures it
  const json job = job_of(db, running);
  CHECK(job.at("status_reason") == "Step 0 failed: cancelled by bob: wrong window");
  CHECK(step_statuses(job) == std::vector<std::string>{"FAILED", "SKIPPED"});
  CHECK(job.at("step_results")[0].at("error") == "cancelled by bob: wrong window");
  CHECK(transitions_of(db, running) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->CANCELLED@0"});
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("a bad job among good ones ends FAILED naming the step and field - the others run", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("bad", kExecutors);
  const auto good1 = insert_job(db, json::array({step(0, "noop")}));
  const auto bad_timeout = insert_job(db, json::array({step(0, "noop"), step(1, "noop", json::object(), -5)}));
  const auto no_executor = insert_job(db, json::array({step(0, "noop"), step(1, "capability_disable")}));
  const auto not_array = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), "
                                   "'{\"step_index\": 0}') RETURNING job_id");
  const auto good2 = insert_job(db, json::array({step(0, "noop")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  CHECK(status_of(db, good1) == "COMPLETED");
  CHECK(status_of(db, good2) == "COMPLETED");
  CHECK(job_of(db, bad_timeout).at("status_reason") ==
        "invalid steps: steps[1].timeout_seconds: expected a positive integer no larger than 604800, got -5");
  CHECK(job_of(db, no_executor).at("status_reason") ==
        "Step 1 failed: No handler registered for step type: capability_disable");
  CHECK(step_statuses(job_of(db, no_executor)) == std::vector<std::string>{"SKIPPED", "FAILED"});  // nothing ran
  CHECK(job_of(db, not_array).at("status_reason") == "invalid steps: steps: expected an array of steps, got an object");
}

TEST_CASE("a step whose target or timeout its executor's config does not allow fails the job before any step runs", "[daemon]") {
  TestDatabase db;
  SideEffects effects;
  const auto config = write_daemon_config("limits", effects.executor("touch") + "  short: {kind: noop, max_timeout: 1m}\n");
  const auto bad_target = insert_job(db, json::array({step(0, "touch"), step(1, "touch", json::object(), 30, "--help")}));
  const auto bad_timeout = insert_job(db, json::array({step(0, "touch"), step(1, "short", json::object(), 61)}));
  const auto good = insert_job(db, json::array({step(0, "touch"), step(1, "short", json::object(), 60)}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  CHECK(job_of(db, bad_target).at("status_reason") ==
        "invalid steps: step 1.target: '--help' does not match the pattern ^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$ of "
        "executors.touch.target_pattern");
  CHECK(step_statuses(job_of(db, bad_target)) == std::vector<std::string>{"SKIPPED", "SKIPPED"});
  CHECK(job_of(db, bad_timeout).at("status_reason") ==
        "invalid steps: step 1.timeout_seconds: 61 is more than executors.short.max_timeout (1m)");
  CHECK(step_statuses(job_of(db, bad_timeout)) == std::vector<std::string>{"SKIPPED", "SKIPPED"});
  CHECK(status_of(db, good) == "COMPLETED");
  CHECK(effects.counts() == std::map<std::string, int>{{good + " 0", 1}});  // nothing of the refused jobs ran
}

TEST_CASE("a record the database refuses fails that job alone, with the database's message - the others complete", "[daemon]") {
  TestDatabase db;
  // A rule of the database refuses any record that holds this word (as it refuses what jsonb cannot hold)
  db.exec("CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "RAISE EXCEPTION 'the test refuses this record'; END $$");
  db.exec("CREATE TRIGGER test_refuse BEFORE UPDATE ON governance_jobs FOR EACH ROW "
          "WHEN (NEW.step_results::text LIKE '%refuse-me%') EXECUTE FUNCTION test_refuse()");
  // the step's output is its parameters (stdin), so a parameter puts the word into the step's result
  const auto config = write_daemon_config("refused", "  echo: {kind: process, command: [/bin/cat], output: json}\n",
                                          "  concurrency: 10\n");
  const auto good1 = insert_job(db, json::array({step(0, "echo", {{"word", "fine"}})}));
  const auto at_end = insert_job(db, json::array({step(0, "echo", {{"word", "refuse-me"}})}));
  const auto mid_job = insert_job(db, json::array({step(0, "echo", {{"word", "refuse-me"}}), step(1, "echo")}));
  const auto good2 = insert_job(db, json::array({step(0, "echo", {{"word", "fine"}}), step(1, "echo")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  CHECK(status_of(db, good1) == "COMPLETED");
  CHECK(status_of(db, good2) == "COMPLETED");
  const json end_refused = job_of(db, at_end);
  CHECK(end_refused.at("status") == "FAILED");
  CHECK_THAT(end_refused.at("status_reason").get<std::string>(),
             Catch::StartsWith("the database refused the job's record: ") && Catch::Contains("the test refuses this record"));
  CHECK(transitions_of(db, at_end) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->FAILED@-"});
  const json mid_refused = job_of(db, mid_job);
  CHECK(mid_refused.at("status") == "FAILED");
  CHECK_THAT(mid_refused.at("status_reason").get<std::string>(),
             Catch::StartsWith("step 0: the database refused the job's record: ") && Catch::Contains("the test refuses this record"));
  CHECK(step_statuses(mid_refused) == std::vector<std::string>{"SKIPPED"});  // step 1 never ran
  CHECK_THAT(daemon.log(), Catch::Contains("job " + at_end + " step -: the database refused its end"));
  CHECK_THAT(daemon.log(), Catch::Contains("job " + mid_job + " step 0 RUNNING -> FAILED: step 0: the database refused"));
}

TEST_CASE("step output JSON that jsonb cannot hold: a NUL character is replaced, nesting past 100 levels fails the step", "[daemon]") {
  TestDatabase db;
  const auto dir = std::filesystem::temp_directory_path() / ("govjobd-jsonb-" + unique_marker());
  std::filesystem::create_directories(dir);
  const auto script = [&dir](const std::string& name, const std::string& body) {
    const auto path = dir / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path.string();
  };
  const auto nul = script("nul.sh", R"(printf '%s\n' '{"text": "a\u0000b", "k\u0000": 1}')");
  const auto deep = script("deep.sh", R"(s=1; i=0; while [ $i -lt 150 ]; do s="[$s]"; i=$((i+1)); done; echo "{\"a\": $s}")");
  const auto config = write_daemon_config("jsonb", "  nul: {kind: process, command: [" + nul + "], output: json}\n"
                                                   "  deep: {kind: process, command: [" + deep + "], output: json}\n");
  const auto with_nul = insert_job(db, json::array({step(0, "nul")}));
  const auto too_deep = insert_job(db, json::array({step(0, "deep")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  const json kept = job_of(db, with_nul);
  CHECK(kept.at("status") == "COMPLETED");
  const json kept_output = kept.at("step_results")[0].at("output");
  CHECK(kept_output.at("text") == "a\xef\xbf\xbd" "b");
  CHECK(kept_output.at("k\xef\xbf\xbd") == 1);
  CHECK(kept_output.size() == 6);  // and govjobd's target, step_type, handler, executed_at
  const json failed = job_of(db, too_deep);
  CHECK(failed.at("status") == "FAILED");
  CHECK(failed.at("status_reason") ==
        "Step 0 failed: output: the JSON object on the last line of stdout nests deeper than 100 levels");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a step into a capability that went BLOCKED mid-job does not run, and a job into it waits PENDING until it is healthy", "[daemon]") {
  TestDatabase db;
  SideEffects effects;
  const auto marker = std::filesystem::temp_directory_path() / ("govjobd-payments-up-" + unique_marker());
  std::ofstream(marker) << "up\n";
  const auto config = write_daemon_config(
      "gate", effects.executor("touch") + "  unhealthy: {kind: process, command: [/bin/rm, -f, " + marker.string() + "]}\n",
      "  concurrency: 2\n  poll_interval: 200ms\n",
      "  capabilities:\n    payments: {kind: file, path: " + marker.string() + "}\n");
  // step 0 takes payments down: the job was claimed while it was healthy, its step 1 is stopped by the gate
  const auto id = insert_job(db, json::array({step(0, "unhealthy", json::object(), 30, "ledger"), step(1, "touch"),
                                              step(2, "touch", json::object(), 30, "ledger")}));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, id) == "FAILED"; }, 30s));
  const json job = job_of(db, id);
  CHECK_THAT(job.at("status_reason").get<std::string>(), Catch::StartsWith("Step 1 failed: blocked by health: payments BLOCKED ("));
  CHECK(step_statuses(job) == std::vector<std::string>{"COMPLETED", "FAILED", "SKIPPED"});
  CHECK(effects.counts().empty());  // step 1 never executed
  CHECK(job.at("execution_evidence").at("govjobd").at("gate_decisions")[1].at("decision") == "blocked");
  // health-aware claiming: a job into payments is not claimed while this daemon sees it BLOCKED
  const auto waiting = insert_job(db, json::array({step(0, "touch")}));
  REQUIRE(eventually([&] {  // the heartbeat records what the claims avoid
    return db.scalar("SELECT coalesce(array_to_string(blocked_targets, ','), '') FROM govjobd.govjobd_workers") == "payments";
  }));
  // an absence is seen by waiting: several poll intervals (200ms) and snapshots later it is still PENDING
  std::this_thread::sleep_for(1500ms);
  CHECK(status_of(db, waiting) == "PENDING");
  std::ofstream(marker) << "up\n";  // healthy again: the next snapshot lets the claim take it
  REQUIRE(eventually([&] { return status_of(db, waiting) == "COMPLETED"; }, 30s));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
  std::filesystem::remove(marker);
}

TEST_CASE("two daemons and 1,000 jobs: each step runs exactly once", "[daemon]") {
  TestDatabase db;
  SideEffects effects;
  const auto config = write_daemon_config("pair", effects.executor("touch"), std::string("  concurrency: 16\n") + kLoadedMachineLease);
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps) SELECT gen_random_uuid(), "
          "'[{\"step_index\":0,\"step_type\":\"touch\",\"target\":\"a\"},{\"step_index\":1,\"step_type\":\"touch\",\"target\":\"b\"}]', 2 "
          "FROM generate_series(1, 1000)");
  DaemonProcess a(config, db.url(), {"--exit-when-idle"});
  DaemonProcess b(config, db.url(), {"--exit-when-idle"});
  REQUIRE(a.wait_exit(240s) == 0);
  REQUIRE(b.wait_exit(60s) == 0);
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'") == "1000");
  const auto counts = effects.counts();
  CHECK(counts.size() == 2000);
  int twice = 0;
  for (const auto& [line, n] : counts) twice += n != 1;
  CHECK(twice == 0);
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions WHERE to_status = 'RUNNING'") == "1000");
  // both took part (SKIP LOCKED shares the work)
  CHECK(db.scalar("SELECT count(DISTINCT claimed_by) FROM governance_jobs") == "2");
  CHECK(verify_output(db.url()) == "verify: clean\n");
}

TEST_CASE("kill -9 of a daemon mid-step: another daemon reaps the job, FAILED, no retry", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("reap", "  hang: {kind: process, command: [/bin/sleep, '60']}\n  noop: {kind: noop}\n");
  const auto id = insert_job(db, json::array({step(0, "noop"), step(1, "hang"), step(2, "noop")}));
  auto victim = std::make_unique<DaemonProcess>(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT current_step_index FROM governance_jobs WHERE job_id = '" + id + "'") == "1"; }));
  const std::string victim_id = db.scalar("SELECT claimed_by FROM governance_jobs WHERE job_id = '" + id + "'");
  victim->signal(SIGKILL);
  victim.reset();
  DaemonProcess rescuer(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, id) == "FAILED"; }, 20s));
  const json job = job_of(db, id);
  CHECK_THAT(job.at("status_reason").get<std::string>(), Catch::StartsWith("Step 1 failed: worker " + victim_id + " lost (last heartbeat "));
  CHECK(step_statuses(job) == std::vector<std::string>{"COMPLETED", "FAILED", "SKIPPED"});
  CHECK(transitions_of(db, id).back() == "RUNNING->FAILED@1");
  CHECK_THAT(db.scalar("SELECT transitioned_by FROM governance_job_transitions WHERE job_id = '" + id +
                       "' ORDER BY transition_id DESC LIMIT 1"),
             Catch::StartsWith("reaper:"));
  rescuer.signal(SIGTERM);
  CHECK(rescuer.wait_exit() == 0);
}

TEST_CASE("a cancel requested while its daemon is dead ends the job CANCELLED when the reaper takes it", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("reap-cancel", "  hang: {kind: process, command: [/bin/sleep, '60']}\n  noop: {kind: noop}\n");
  const auto id = insert_job(db, json::array({step(0, "hang"), step(1, "noop")}));
  auto victim = std::make_unique<DaemonProcess>(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, id) == "RUNNING"; }));
  victim->signal(SIGKILL);
  victim.reset();
  const auto request = run_process({GOVJOBD_BINARY, "cancel", id, "--reason", "change window closed", "--by", "dave"},
                                   {{"GOVJOBD_DATABASE_URL", db.url()}});
  INFO(request.out << request.err);
  REQUIRE(request.exit_code == 0);
  DaemonProcess rescuer(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, id) == "CANCELLED"; }, 20s));
  const json job = job_of(db, id);
  CHECK(job.at("status_reason") == "Step 0 failed: cancelled by dave: change window closed");
  CHECK(step_statuses(job) == std::vector<std::string>{"FAILED", "SKIPPED"});
  CHECK(transitions_of(db, id).back() == "RUNNING->CANCELLED@0");
  rescuer.signal(SIGTERM);
  CHECK(rescuer.wait_exit() == 0);
  CHECK(verify_output(db.url()) == "verify: clean\n");
}

TEST_CASE("SIGTERM drains running jobs - a job past the grace is cancelled with 'daemon shutdown'", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("drain", kExecutors, "  concurrency: 4\n  shutdown_grace: 1500ms\n");
  const auto quick = insert_job(db, json::array({step(0, "sleep", {{"seconds", 0.5}})}));
  const auto slow = insert_job(db, json::array({step(0, "sleep", {{"seconds", 60}}), step(1, "noop")}));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'RUNNING'") == "2"; }));
  daemon.signal(SIGTERM);
  REQUIRE(daemon.wait_exit(30s) == 0);
  CHECK(status_of(db, quick) == "COMPLETED");
  const json job = job_of(db, slow);
  CHECK(job.at("status") == "CANCELLED");
  CHECK_THAT(job.at("status_reason").get<std::string>(), Catch::EndsWith(": daemon shutdown"));
  CHECK(step_statuses(job) == std::vector<std::string>{"FAILED", "SKIPPED"});
  CHECK(db.scalar("SELECT count(*) FROM govjobd_workers WHERE stopped_at IS NOT NULL") == "1");
}

TEST_CASE("SIGHUP with a broken file keeps the daemon on its old config - a good one is swapped in", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("reload", kExecutors);
  DaemonProcess daemon(config, db.url());
  REQUIRE(daemon.wait_for_log("ready"));
  std::ofstream(config, std::ios::app) << "  extra: {kind: nope}\n";
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("reload refused, keeping the running configuration"));
  CHECK_THAT(daemon.log(), Catch::Contains("executors.extra.kind: expected one of"));
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  REQUIRE(eventually([&] { return status_of(db, id) == "COMPLETED"; }));
  // a valid file with a new step type: later claims use it
  std::ofstream(config) << "worker: {poll_interval: 500ms, heartbeat_interval: 300ms, lease_timeout: 2s}\n"
                           "health: {system: {enabled: false}}\nexecutors:\n  fresh: {kind: noop}\n";
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("configuration reloaded"));
  const auto fresh = insert_job(db, json::array({step(0, "fresh")}));
  REQUIRE(eventually([&] { return status_of(db, fresh) == "COMPLETED"; }));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("a newer database schema stops the daemon with exit 78", "[daemon]") {
  TestDatabase db;
  db.exec("INSERT INTO govjobd_schema_migrations (version, name, govjobd_version) VALUES (999, 'x', '99')");
  DaemonProcess daemon(write_daemon_config("newer", kExecutors), db.url());
  CHECK(daemon.wait_exit() == 78);
  CHECK_THAT(daemon.log(), Catch::Contains("newer than this govjobd"));
}

TEST_CASE("signal_record writes its signal to govjobd_signals", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("signal", "  signal_record: {kind: signal_record}\n");
  const auto id = insert_job(db, json::array({step(0, "signal_record", {{"signal_type", "maintenance"}, {"decision", "approve"}, {"reason", "upgrade"}}),
                                               step(1, "signal_record", {{"signal_type", "maintenance"}})}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  CHECK(db.scalar("SELECT scope || ' ' || signal_type || ' ' || decision || ' ' || reason || ' ' || step_index FROM govjobd.govjobd_signals "
                  "WHERE job_id = '" + id + "'") == "payments maintenance approve upgrade 0");
  const json job = job_of(db, id);
  CHECK(job.at("status_reason") ==
        "Step 1 failed: parameters.decision: expected a non-empty string; parameters.reason: expected a non-empty string");
  CHECK(job.at("step_results")[0].at("output").at("signal_id").is_number());
}

TEST_CASE("a process that escapes its step's group with setsid is still reaped by the daemon", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config(
      "setsid", "  escape: {kind: process, command: [/bin/sh, -c, 'setsid sh -c \"sleep 0.3\" > /dev/null 2>&1 < /dev/null & sleep 0.2; exit 0']}\n");
  const auto id = insert_job(db, json::array({step(0, "escape")}));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, id) == "COMPLETED"; }));
  auto zombies_of_daemon = [&] { return govjobd::process::zombie_children(daemon.pid()).size(); };
  // The escapee became the daemon's child (its subreaper) when the step's leader exited; it ends after 0.3 s
  // and the daemon reaps it within a heartbeat: then the daemon has no child at all, running or zombie.
  auto children_of_daemon = [&] { return run_process({"/usr/bin/pgrep", "-P", std::to_string(daemon.pid())}).out; };
  CHECK(eventually([&] { return children_of_daemon().empty(); }, 10s));
  CHECK(zombies_of_daemon() == 0);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("govjobd verify: clean after daemons ran jobs - lists a RUNNING job without a live lease", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("verify", kExecutors);
  insert_job(db, json::array({step(0, "noop"), step(1, "fail"), step(2, "noop")}));
  insert_job(db, json::array({step(0, "noop"), step(1, "noop")}));
  insert_job(db, json::array({step(0, "noop"), step(1, "nothing-runs-this")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  const auto clean = run_process({GOVJOBD_BINARY, "verify"}, {{"GOVJOBD_DATABASE_URL", db.url()}});
  CHECK(clean.exit_code == 0);
  CHECK(clean.out == "verify: clean\n");

  const auto stuck = insert_job(db, json::array({step(0, "noop")}));
  db.exec("UPDATE governance_jobs SET status = 'RUNNING', claimed_by = 'ghost' WHERE job_id = '" + stuck + "'");
  db.exec("INSERT INTO govjobd.governance_job_transitions (job_id, from_status, to_status, transitioned_by) VALUES ('" +
          stuck + "', 'PENDING', 'RUNNING', 'ghost')");
  const auto broken = run_process({GOVJOBD_BINARY, "verify"}, {{"GOVJOBD_DATABASE_URL", db.url()}});
  CHECK(broken.exit_code == 1);
  CHECK(broken.out == stuck + "  RUNNING with no live lease (claimed_by ghost, lease until never)\n");
  CHECK(broken.err == "verify: 1 problems\n");
  CHECK(run_process({GOVJOBD_BINARY, "verify", "--since", "2999-01-01T00:00:00Z"}, {{"GOVJOBD_DATABASE_URL", db.url()}}).exit_code == 0);
  CHECK(run_process({GOVJOBD_BINARY, "verify", "--since", "yesterday"}, {{"GOVJOBD_DATABASE_URL", db.url()}}).exit_code == 65);
}
