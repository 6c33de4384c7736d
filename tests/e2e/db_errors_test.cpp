// Errors from the database that are no row's doing and no lost connection (a table renamed under the daemon by
// someone with the rights to): the daemon says so and carries on, or exits; it never stalls.
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/occurrences.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("a failed read of the cancel requests is logged and read again at the next poll: a later cancel still "
          "ends the job", "[daemon]") {
  TestDatabase db;
  const std::string started = (std::filesystem::temp_directory_path() / ("govjobd-started-" + unique_marker())).string();
  const auto config = write_daemon_config(
      "cancel-read", "  hang: {kind: process, command: [/bin/sh, -c, 'touch " + started + "; exec sleep 60'], kill_grace: 200ms}\n",
      "  poll_interval: 200ms\n");
  const auto running = insert_job(db, json::array({step(0, "hang")}));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return std::filesystem::exists(started); }));  // step 0 is running
  std::filesystem::remove(started);
  db.exec("ALTER TABLE govjobd.cancel_requests RENAME TO cancel_requests_away");
  REQUIRE(daemon.wait_for_log("reading the cancel requests of running jobs failed"));
  db.exec("ALTER TABLE govjobd.cancel_requests_away RENAME TO cancel_requests");
  const auto request = run_process({GOVJOBD_BINARY, "cancel", running, "--reason", "wrong window", "--by", "bob"},
                                   {{"GOVJOBD_DATABASE_URL", db.url()}});
  INFO(request.err);
  CHECK(request.exit_code == 0);
  CHECK(eventually([&] { return status_of(db, running) == "CANCELLED"; }, 10s));
  // the creator's audit reads the same end as after any cancel (../shared/UPSTREAM_CONTRACT.md)
  const json job = job_of(db, running);
  CHECK(job.at("status_reason") == "Step 0 failed: cancelled by bob: wrong window");
  CHECK(job.at("execution_evidence").at("final_reason") == job.at("status_reason"));
  CHECK(transitions_of(db, running) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->CANCELLED@0"});
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("a start-up the database refuses for no lost connection exits 70 naming the error, instead of never "
          "becoming ready", "[daemon]") {
  TestDatabase db;
  db.exec("ALTER TABLE govjobd.govjobd_workers RENAME TO govjobd_workers_away");
  DaemonProcess daemon(write_daemon_config("startup", "  noop: {kind: noop}\n"), db.url());
  CHECK(daemon.wait_exit(20s) == 70);
  CHECK_THAT(daemon.log(), Catch::Contains("start-up failed: ") && Catch::Contains("govjobd_workers"));
}

TEST_CASE("a statement refused on every new connection (a grant revoked) runs again after a wait that grows, not "
          "in a loop of reconnects - the job runs once granted, and SIGTERM ends an idle daemon while it is refused",
          "[daemon]") {
  TestDatabase db;
  DaemonProcess daemon(write_daemon_config("refused-again", "  noop: {kind: noop}\n", "  poll_interval: 200ms\n"),
                       db.login_as("daemon", "govjobd_daemon"));
  REQUIRE(daemon.wait_for_log("ready"));
  // the claim's update and the heartbeat's are refused: both database threads run their task again and again
  db.exec("REVOKE UPDATE ON governance_jobs FROM govjobd_daemon");
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  REQUIRE(daemon.wait_for_log("a grant is missing"));
  const auto sessions = [&] {
    return std::stoll(db.scalar("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"));
  };
  const long long sessions_before = sessions();
  const std::size_t lines_before = occurrences(daemon.log(), "a grant is missing");
  std::this_thread::sleep_for(3s);
  // per thread, waits of 0, 0.1, 0.2, 0.4, 0.8 and 1.6 s: about 6 in 3 s each (a loop of reconnects made about
  // 700 in all)
  const std::size_t lines = occurrences(daemon.log(), "a grant is missing") - lines_before;
  INFO(lines << " lines");
  CHECK(lines <= 24);
  CHECK(sessions() - sessions_before <= 24);
  CHECK_THAT(daemon.log(), Catch::Contains("a grant is missing, to be run again: permission denied for table "
                                           "governance_jobs; reconnecting in "));
  CHECK(status_of(db, id) == "PENDING");
  // nothing was dropped: granted again, the job runs within the longest wait
  db.exec("GRANT UPDATE ON governance_jobs TO govjobd_daemon");
  CHECK(eventually([&] { return status_of(db, id) == "COMPLETED"; }, 15s));
  // refused again while the daemon is idle: SIGTERM gives up on the claim after the stop's patience
  db.exec("REVOKE UPDATE ON governance_jobs FROM govjobd_daemon");
  const std::size_t refused = occurrences(daemon.log(), "a grant is missing");
  insert_job(db, json::array({step(0, "noop")}));
  REQUIRE(eventually([&] { return occurrences(daemon.log(), "a grant is missing") > refused; }, 10s));
  const auto stopped_at = std::chrono::steady_clock::now();
  daemon.signal(SIGTERM);
  const auto exit = daemon.wait_exit(60s);
  CHECK(exit == 0);
  CHECK(std::chrono::steady_clock::now() - stopped_at < 30s);
  CHECK_THAT(daemon.log(), Catch::Contains("queued database tasks (writes, claims, the worker's stop) were not "
                                           "recorded"));
  db.exec("GRANT UPDATE ON governance_jobs TO govjobd_daemon");
}

TEST_CASE("a SIGTERM while the database refuses a running job's writes (a grant revoked) ends the daemon once the "
          "cancelled job's end had its time: exit 69, the job left RUNNING for the reaper", "[daemon]") {
  TestDatabase db;
  DaemonProcess daemon(write_daemon_config("refused-end", "  sleep: {kind: sleep}\n",
                                           "  poll_interval: 200ms\n  shutdown_grace: 1s\n"),
                       db.login_as("daemon", "govjobd_daemon"));
  const auto id = insert_job(db, json::array({step(0, "sleep", {{"seconds", 60}})}));
  REQUIRE(eventually([&] { return status_of(db, id) == "RUNNING"; }));
  db.exec("REVOKE UPDATE ON governance_jobs FROM govjobd_daemon");
  const auto stopped_at = std::chrono::steady_clock::now();
  daemon.signal(SIGTERM);
  // grace 1 s, then 17 s for the cancelled job's end (kill_grace 5 s by default, probe timeout 2 s, 10 s),
  // 5 s for the worker's stop, 5 s for the threads
  const auto exit = daemon.wait_exit(60s);
  INFO(daemon.log_tail());
  CHECK(exit == 69);
  CHECK(std::chrono::steady_clock::now() - stopped_at < 50s);
  CHECK_THAT(daemon.log(), Catch::Contains("shutdown: 1 cancelled jobs did not record their end within 17000ms"));
  CHECK(status_of(db, id) == "RUNNING");
  db.exec("GRANT UPDATE ON governance_jobs TO govjobd_daemon");
}
