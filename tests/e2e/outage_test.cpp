// Tests that restart the shared PostgreSQL: ctest runs them alone (RUN_SERIAL).
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using namespace std::chrono_literals;

TEST_CASE("PostgreSQL restarted mid-run: nothing lost, no step run twice", "[outage]") {
  const char* outage = std::getenv("GOVJOBD_TEST_PG_OUTAGE");
  REQUIRE(outage != nullptr);  // set by scripts/test
  TestDatabase db;
  const std::string effects = (std::filesystem::temp_directory_path() / ("govjobd-outage-" + unique_marker())).string();
  const auto config = write_daemon_config(
      "outage", "  touch:\n    kind: process\n    command: [/bin/sh, -c, 'sleep 0.05; echo \"$GOVJOBD_JOB_ID $GOVJOBD_STEP_INDEX\" >> " + effects + "']\n",
      "  concurrency: 8\n");
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps) SELECT gen_random_uuid(), "
          "'[{\"step_index\":0,\"step_type\":\"touch\",\"target\":\"a\"},{\"step_index\":1,\"step_type\":\"touch\",\"target\":\"b\"}]', 2 "
          "FROM generate_series(1, 200)");
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return std::stoi(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'")) >= 20; }));
  db.reset_connection();
  const auto restarted = run_process({outage, "1"}, {}, 120s);
  REQUIRE(restarted.exit_code == 0);
  REQUIRE(daemon.wait_for_log("database connection restored", 30s));
  REQUIRE(eventually([&] {
    try {
      return db.scalar("SELECT count(*) FROM governance_jobs WHERE status IN ('PENDING', 'RUNNING')") == "0";
    } catch (const std::exception&) {
      db.reset_connection();
      return false;
    }
  }, 120s));
  std::map<std::string, int> counts;
  std::ifstream in(effects);
  for (std::string line; std::getline(in, line);) ++counts[line];
  int twice = 0;
  for (const auto& [line, n] : counts) twice += n > 1;
  CHECK(twice == 0);
  // A claim whose commit was in doubt when the server went away is reaped FAILED, never run twice.
  const auto failed_other = db.scalar("SELECT count(*) FROM governance_jobs WHERE status <> 'COMPLETED' AND status_reason NOT LIKE 'worker % lost%'");
  CHECK(failed_other == "0");
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'") != "0");
  std::filesystem::remove(effects);
  const auto verify = run_process({GOVJOBD_BINARY, "verify"}, {{"GOVJOBD_DATABASE_URL", db.url()}});
  CHECK(verify.out == "verify: clean\n");
  daemon.signal(SIGTERM);
  const auto code = daemon.wait_exit();
  INFO("exit " << code.value_or(-99) << "; log ends: " << daemon.log_tail());
  CHECK(code == 0);
}
