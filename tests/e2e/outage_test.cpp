// Tests that restart the shared PostgreSQL: ctest runs them alone (RUN_SERIAL).
#include <signal.h>

#include <cstdlib>

#include <catch2/catch.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using namespace std::chrono_literals;

TEST_CASE("PostgreSQL restarted mid-run: nothing lost, no step run twice", "[outage]") {
  const char* outage = std::getenv("GOVJOBD_TEST_PG_OUTAGE");
  REQUIRE(outage != nullptr);  // set by scripts/test
  TestDatabase db;
  SideEffects effects;
  const auto config = write_daemon_config("outage", effects.fast_executor("touch", 50), "  concurrency: 8\n");
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
  int twice = 0;
  for (const auto& [line, n] : effects.counts()) twice += n > 1;
  CHECK(twice == 0);
  // A claim whose commit was in doubt when the server went away is reaped FAILED, never run twice.
  const auto failed_other = db.scalar("SELECT count(*) FROM governance_jobs WHERE status <> 'COMPLETED' AND status_reason NOT LIKE 'worker % lost%' AND status_reason NOT LIKE 'Step % failed: worker % lost%'");
  CHECK(failed_other == "0");
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'") != "0");
  CHECK(verify_output(db.url()) == "verify: clean\n");
  daemon.signal(SIGTERM);
  const auto code = daemon.wait_exit();
  INFO("exit " << code.value_or(-99) << "; log ends: " << daemon.log_tail());
  CHECK(code == 0);
}
