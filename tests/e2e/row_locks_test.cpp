// A job row locked by another session (the creating system's: an open transaction that read a job FOR UPDATE
// and waits on its user, or a hostile one) holds up that job's own writes and nothing else: the daemon's
// heartbeat, its other jobs' writes and the fleet's reaper go on.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<DaemonProcess> locks_daemon(TestDatabase& db, const std::string& id, const std::string& targets) {
  const auto config = write_daemon_config("locks-" + id, "  noop: {kind: noop}\n  sleep: {kind: sleep}\n",
                                          "  id: " + id + "\n  poll_interval: 200ms\n  concurrency: 4\n  targets: [" +
                                              targets + "]\n");
  return std::make_unique<DaemonProcess>(config, db.url());
}

}  // namespace

TEST_CASE("a job row another session keeps locked holds up only that job: the daemon's heartbeat and its other "
          "jobs go on, no daemon reaps them, and the locked job ends once the lock is gone", "[daemon]") {
  TestDatabase db;
  // the owner serves targets a*, the other daemon only b*: it runs none of these jobs but reaps lost ones
  auto owner = locks_daemon(db, "host-owner", "'a*'");
  auto other = locks_daemon(db, "host-other", "'b*'");
  REQUIRE(owner->wait_for_log("ready"));
  REQUIRE(other->wait_for_log("ready"));
  const auto locked = insert_job(db, json::array({step(0, "sleep", {{"seconds", 1}}, 60, "a-locked"),
                                                  step(1, "noop", json::object(), 60, "a-locked")}));
  const auto free = insert_job(db, json::array({step(0, "sleep", {{"seconds", 6}}, 60, "a-free"),
                                                step(1, "noop", json::object(), 60, "a-free")}));
  REQUIRE(eventually([&] { return status_of(db, locked) == "RUNNING" && status_of(db, free) == "RUNNING"; }));
  // the creator's session: the row read FOR UPDATE in a transaction left open for 8 s (4 leases)
  pqxx::connection creator(db.url());
  {
    pqxx::work hold(creator);
    hold.exec("SELECT 1 FROM governance_jobs WHERE job_id = '" + locked + "' FOR UPDATE");
    // the free job's 6 s step ends while the lock is held: its results and end are written meanwhile
    CHECK(eventually([&] { return status_of(db, free) == "COMPLETED"; }, 7500ms));
    std::this_thread::sleep_for(500ms);
    CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + locked + "'") == "RUNNING");
    hold.commit();
  }
  CHECK(eventually([&] { return status_of(db, locked) == "COMPLETED"; }, 15s));
  for (const auto& id : {locked, free}) {
    INFO(id);
    CHECK(db.scalar("SELECT claimed_by FROM governance_jobs WHERE job_id = '" + id + "'") == "host-owner");
    CHECK(transitions_of(db, id) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->COMPLETED@-"});
    // what the creator's audit reads (../shared/UPSTREAM_CONTRACT.md): nothing of the held writes was lost
    const json job = job_of(db, id);
    CHECK(job.at("status_reason") == "All steps completed successfully");
    CHECK(step_statuses(job) == std::vector<std::string>{"COMPLETED", "COMPLETED"});
    for (const auto& r : job.at("step_results")) CHECK(r.at("output").contains("target"));
    CHECK(job.at("execution_evidence").at("final_reason") == job.at("status_reason"));
    CHECK(job.at("execution_evidence").at("execution_summary").at("steps_succeeded") == 2);
  }
  INFO(owner->log_tail());
  CHECK(owner->log().find("heartbeat failed") == std::string::npos);
  // one line when the job's write is first held up, one when it goes on
  CHECK_THAT(owner->log(), Catch::Contains("job " + locked + ": its row is locked by another session") &&
                               Catch::Contains("job " + locked + ": its row is no longer locked after"));
  CHECK(other->log().find("RUNNING -> FAILED") == std::string::npos);
  owner->signal(SIGTERM);
  other->signal(SIGTERM);
  CHECK(owner->wait_exit() == 0);
  CHECK(other->wait_exit() == 0);
}

TEST_CASE("a SIGTERM while a job's row stays locked ends the daemon after its grace: the job stays RUNNING for "
          "the reaper, which ends it once the lock is gone", "[daemon]") {
  TestDatabase db;
  const auto config = write_daemon_config("locks-stop", "  noop: {kind: noop}\n  sleep: {kind: sleep}\n",
                                          "  id: host-stopping\n  poll_interval: 200ms\n  shutdown_grace: 1s\n");
  auto owner = std::make_unique<DaemonProcess>(config, db.url());
  const auto job = insert_job(db, json::array({step(0, "sleep", {{"seconds", 1}}, 60, "a-locked"),
                                               step(1, "noop", json::object(), 60, "a-locked")}));
  REQUIRE(eventually([&] { return status_of(db, job) == "RUNNING"; }));
  pqxx::connection creator(db.url());
  pqxx::work hold(creator);
  hold.exec("SELECT 1 FROM governance_jobs WHERE job_id = '" + job + "' FOR UPDATE");
  REQUIRE(owner->wait_for_log("its row is locked by another session", 10s));  // a second after step 0's end
  owner->signal(SIGTERM);
  CHECK(owner->wait_exit(20s) == 0);
  CHECK_THAT(owner->log(), Catch::Contains("job " + job + ": its row stayed locked by another session into the shutdown"));
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + job + "'") == "RUNNING");
  hold.commit();
  auto heir = locks_daemon(db, "host-heir", "'b*'");
  CHECK(eventually([&] { return status_of(db, job) == "FAILED"; }, 30s));
  CHECK(transitions_of(db, job) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->FAILED@0"});
  // the audit reads a lost worker's end, in the creator's texts, with the evidence saying the same
  const json ended = job_of(db, job);
  CHECK_THAT(ended.at("status_reason").get<std::string>(), Catch::StartsWith("Step 0 failed: worker host-stopping lost"));
  CHECK(ended.at("execution_evidence").at("final_reason") == ended.at("status_reason"));
  heir->signal(SIGTERM);
  CHECK(heir->wait_exit() == 0);
}
