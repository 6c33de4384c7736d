// A daemon cut off from the database while the others are not: their reapers end its jobs once the leases run
// out and free their targets for other jobs. Its steps must be stopped by then, or they run on unrecorded.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
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
          "daemon reaps runs nothing after its end, and the daemon serves again once it is back", "[daemon]") {
  TestDatabase db;
  const std::string ticks = (std::filesystem::temp_directory_path() / ("govjobd-lease-" + db.name())).string();
  std::filesystem::remove(ticks);
  // the cut-off daemon's own login, so that it alone can be cut off
  const std::string role = db.name() + "_cut";
  const std::string cut_url = db.login_as("cut", "govjobd_daemon");
  const auto config = write_daemon_config(
      "lease-cut",
      "  tick: {kind: process, kill_grace: 200ms, command: [/bin/sh, -c, 'while :; do echo tick >> " + ticks +
          "; sleep 0.1; done']}\n  mark: {kind: noop}\n",
      "  id: host-cut\n  poll_interval: 200ms\n  heartbeat_interval: 300ms\n  lease_timeout: 3s\n");
  const auto other_config = write_daemon_config(
      "lease-other", "  noop: {kind: noop}\n",
      "  id: host-other\n  poll_interval: 200ms\n  heartbeat_interval: 300ms\n  lease_timeout: 3s\n");
  DaemonProcess other(other_config, db.url());  // runs none of these jobs; reaps the cut-off daemon's
  REQUIRE(other.wait_for_log("ready"));
  DaemonProcess cut(config, cut_url);
  REQUIRE(cut.wait_for_log("ready"));
  const auto job = insert_job(db, json::array({step(0, "tick", json::object(), 600, "t1"), step(1, "mark", json::object(), 60, "t1")}));
  REQUIRE(eventually([&] { return status_of(db, job) == "RUNNING" && modified_at(ticks) > 0; }));

  db.exec("ALTER ROLE " + db.sql().quote_name(role) + " NOLOGIN");
  db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = " + db.sql().quote(role));
  REQUIRE(eventually([&] { return status_of(db, job) == "FAILED"; }, 30s));
  const double ended = std::stod(db.scalar("SELECT extract(epoch FROM completed_at) FROM governance_jobs WHERE job_id = '" + job + "'"));
  std::this_thread::sleep_for(1s);
  INFO(cut.log_tail());
  // the step's last tick came before the reaper's end (one clock: the host's), and none since
  CHECK(modified_at(ticks) < ended);
  CHECK_THAT(cut.log(), Catch::Contains("the lease is lapsing") && Catch::Contains("job " + job + " cancel requested: worker host-cut lost"));
  CHECK(transitions_of(db, job) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->FAILED@0"});
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
