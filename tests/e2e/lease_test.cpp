// A daemon cut off from the database while the others are not: their reapers end its jobs once the leases run
// out and free their targets for other jobs. Its steps must be stopped by then, or they run on unrecorded.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <signal.h>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/occurrences.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// The file's last change, in seconds since the epoch (0 when it does not exist).
double modified_at(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
}

}  // namespace

TEST_CASE("a daemon cut off from the database stops its running step before its lease runs out: the job another "
          "daemon reaps runs nothing after its lease, and the daemon serves again once it is back", "[daemon]") {
  TestDatabase db;
  const std::string ticks = (std::filesystem::temp_directory_path() / ("govjobd-lease-" + db.name())).string();
  std::filesystem::remove(ticks);
  // the cut-off daemon's own login, so that it alone can be cut off
  const std::string role = db.name() + "_cut";
  const std::string cut_url = db.login_as("cut", "govjobd_daemon");
  // lease 6 s: stopped 4.5 s after the last heartbeat; the step ignores SIGTERM, so its kill_grace (500 ms)
  // runs out before the SIGKILL, 1 s before the lease's end
  const std::string timing = "  poll_interval: 200ms\n  heartbeat_interval: 300ms\n  lease_timeout: 6s\n";
  const auto config = write_daemon_config(
      "lease-cut",
      "  tick: {kind: process, kill_grace: 500ms, command: [/bin/sh, -c, \"trap '' TERM; while :; do echo tick >> " +
          ticks + "; sleep 0.1; done\"]}\n  mark: {kind: noop}\n",
      "  id: host-cut\n" + timing);
  DaemonProcess other(write_daemon_config("lease-other", "  noop: {kind: noop}\n", "  id: host-other\n" + timing),
                      db.url());  // runs none of these jobs; reaps the cut-off daemon's
  REQUIRE(other.wait_for_log("ready"));
  DaemonProcess cut(config, cut_url);
  REQUIRE(cut.wait_for_log("ready"));
  const auto job = insert_job(db, json::array({step(0, "tick", json::object(), 600, "t1"), step(1, "mark", json::object(), 60, "t1")}));
  REQUIRE(eventually([&] { return status_of(db, job) == "RUNNING" && modified_at(ticks) > 0; }));

  db.exec("ALTER ROLE " + db.sql().quote_name(role) + " NOLOGIN");
  db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = " + db.sql().quote(role));
  // no heartbeat of the cut-off daemon renews it from here
  const double lease_end =
      std::stod(db.scalar("SELECT extract(epoch FROM lease_expires_at) FROM governance_jobs WHERE job_id = '" + job + "'"));
  REQUIRE(eventually([&] { return status_of(db, job) == "FAILED"; }, 30s));
  std::this_thread::sleep_for(1s);
  INFO(cut.log_tail());
  // the step's last tick came before its lease ran out (one clock: the host's), and none since
  CHECK(modified_at(ticks) < lease_end);
  CHECK_THAT(cut.log(), Catch::Contains("the lease is lapsing") && Catch::Contains("job " + job + " stopping: worker host-cut lost"));
  CHECK(transitions_of(db, job) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->FAILED@0"});
  CHECK(db.scalar("SELECT transitioned_by FROM governance_job_transitions WHERE job_id = '" + job +
                  "' AND to_status = 'FAILED'") == "reaper:host-other");
  const json reaped = job_of(db, job);
  CHECK_THAT(reaped.at("status_reason").get<std::string>(), Catch::StartsWith("Step 0 failed: worker host-cut lost (last heartbeat "));
  CHECK(reaped.at("execution_evidence").at("final_reason") == reaped.at("status_reason"));

  db.exec("ALTER ROLE " + db.sql().quote_name(role) + " LOGIN");
  REQUIRE(cut.wait_for_log("heartbeat recorded again: lease renewed", 30s));
  // only the cut-off daemon serves "mark": it claims again
  const auto next = insert_job(db, json::array({step(0, "mark", json::object(), 60, "t1")}));
  CHECK(eventually([&] { return status_of(db, next) == "COMPLETED"; }, 30s));
  CHECK(db.scalar("SELECT claimed_by FROM governance_jobs WHERE job_id = '" + next + "'") == "host-cut");
  CHECK(status_of(db, job) == "FAILED");  // its own end, written once back, was fenced
  cut.signal(SIGTERM);
  other.signal(SIGTERM);
  CHECK(cut.wait_exit() == 0);
  CHECK(other.wait_exit() == 0);
  std::filesystem::remove(ticks);
}

TEST_CASE("a heartbeat that hangs (another session holds the worker's row) lapses the lease as a failed one does: "
          "the running job stops, nothing new is claimed, and both go on once the heartbeat commits", "[daemon]") {
  TestDatabase db;
  const int port = free_port();
  const auto config = write_daemon_config("lease-hung", "  sleep: {kind: sleep}\n  noop: {kind: noop}\n",
                                          "  id: host-hung\n  poll_interval: 200ms\n  heartbeat_interval: 300ms\n"
                                          "  lease_timeout: 6s\n");
  serve_metrics_on(config, port);
  DaemonProcess daemon(config, db.url());
  REQUIRE(daemon.wait_for_log("ready"));
  const auto running = insert_job(db, json::array({step(0, "sleep", {{"seconds", 120}}, 600, "t1")}));
  REQUIRE(eventually([&] { return status_of(db, running) == "RUNNING"; }));
  pqxx::connection other(db.url());
  {
    pqxx::work hold(other);
    hold.exec("SELECT 1 FROM govjobd.govjobd_workers WHERE worker_id = 'host-hung' FOR UPDATE");
    REQUIRE(daemon.wait_for_log("the lease is lapsing", 20s));
    CHECK(metric_sum(metrics_body(port), "govjobd_lease_lapses_total") == 1);  // GovjobdLeaseLapsed fires on it
    // the heartbeat neither failed nor committed: the claims' own connection works, yet nothing is claimed
    const auto waiting = insert_job(db, json::array({step(0, "noop", json::object(), 60, "t2")}));
    std::this_thread::sleep_for(2s);
    CHECK(status_of(db, waiting) == "PENDING");
    CHECK_THAT(daemon.log(), Catch::Contains("job " + running + " stopping: worker host-hung lost"));
    hold.commit();
    REQUIRE(daemon.wait_for_log("heartbeat recorded again: lease renewed", 30s));
    const bool completed = eventually([&] { return status_of(db, waiting) == "COMPLETED"; }, 30s);
    INFO(daemon.log_tail());
    CHECK(completed);
    // the heartbeat that waited on the lock renewed leases from its start, already past: the lapse held until
    // the next one, so the renewal came once and the lease lapsed once (a job claimed between two lapses ran
    // into the second, and ended as a lost worker's)
    CHECK_THAT(daemon.log(), Catch::Contains("at or near the lease's fence: the lease stays lapsed until the next one"));
    CHECK(occurrences(daemon.log(), "the lease is lapsing") == 1);
    CHECK(occurrences(daemon.log(), "heartbeat recorded again: lease renewed") == 1);
    CHECK(metric_sum(metrics_body(port), "govjobd_lease_lapses_total") == 1);
  }
  // its end waited behind the heartbeat on the writes' connection, and reads as a lost worker's
  CHECK(eventually([&] { return status_of(db, running) == "FAILED"; }, 30s));
  const json ended = job_of(db, running);
  CHECK_THAT(ended.at("status_reason").get<std::string>(), Catch::StartsWith("Step 0 failed: worker host-hung lost (last heartbeat "));
  // the daemon's own end, in the creator's evidence format (../shared/UPSTREAM_CONTRACT.md)
  CHECK(step_statuses(ended) == std::vector<std::string>{"FAILED"});
  CHECK(ended.at("step_results").at(0).at("output").at("target") == "t1");
  CHECK(ended.at("execution_evidence").at("final_reason") == ended.at("status_reason"));
  CHECK(ended.at("execution_evidence").at("final_status") == "FAILED");
  INFO(daemon.log_tail());
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("with worker.stop_steps_without_lease off, a lapsed lease stops claims but not the running step",
          "[daemon]") {
  TestDatabase db;
  DaemonProcess daemon(write_daemon_config("lease-on", "  sleep: {kind: sleep}\n",
                                           "  id: host-on\n  poll_interval: 200ms\n  heartbeat_interval: 300ms\n"
                                           "  lease_timeout: 6s\n  stop_steps_without_lease: false\n"),
                       db.url());
  REQUIRE(daemon.wait_for_log("ready"));
  const auto running = insert_job(db, json::array({step(0, "sleep", {{"seconds", 8}}, 600, "t1")}));
  REQUIRE(eventually([&] { return status_of(db, running) == "RUNNING"; }));
  pqxx::connection other(db.url());
  {
    pqxx::work hold(other);
    hold.exec("SELECT 1 FROM govjobd.govjobd_workers WHERE worker_id = 'host-on' FOR UPDATE");
    REQUIRE(daemon.wait_for_log("run on (worker.stop_steps_without_lease is off)", 20s));
    hold.commit();
  }
  CHECK(eventually([&] { return status_of(db, running) == "COMPLETED"; }, 30s));
  INFO(daemon.log_tail());
  CHECK(daemon.log().find(" stopping: ") == std::string::npos);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}
