// Retention (retention.keep_terminal) run by the daemon: old terminal jobs with their transitions, and the rows
// of daemons gone longer than it keeps jobs.
#include <csignal>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using namespace std::chrono_literals;

TEST_CASE("retention deletes old terminal jobs and their transitions in small batches, nothing else", "[ops]") {
  TestDatabase db;
  // five jobs that ended 100 days ago, one that ended now, one still PENDING
  db.exec("INSERT INTO governance_jobs (job_id, contract_id, steps) SELECT ('00000000-0000-0000-0000-00000000000' || g)::uuid, "
          "gen_random_uuid(), '[]' FROM generate_series(1, 6) g");
  db.exec("INSERT INTO governance_job_transitions (job_id, to_status, transitioned_by) SELECT job_id, 'PENDING', 'x' FROM governance_jobs");
  db.exec("UPDATE governance_jobs SET status = 'RUNNING'");
  db.exec("UPDATE governance_jobs SET status = 'COMPLETED', completed_at = (now() AT TIME ZONE 'UTC') - "
          "CASE WHEN job_id = '00000000-0000-0000-0000-000000000006' THEN interval '0' ELSE interval '100 days' END");
  const auto pending = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '[]') RETURNING job_id");
  const auto config = write_daemon_config("retention", "  noop: {kind: noop}\n");
  std::ofstream(config, std::ios::app) << "retention: {keep_terminal: 90d, interval: 1s, batch_size: 2}\n";
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'") == "1"; }));
  CHECK(db.scalar("SELECT job_id FROM governance_jobs WHERE status = 'COMPLETED'") == "00000000-0000-0000-0000-000000000006");
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions WHERE job_id::text LIKE '00000000-0000-0000-0000-00000000000%' "
                  "AND job_id <> '00000000-0000-0000-0000-000000000006'") == "0");
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE job_id = '" + pending + "'") == "1");
  REQUIRE(daemon.wait_for_log("retention deleted 5 terminal jobs"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("retention deletes the rows of daemons stopped or silent for longer than it keeps jobs, nothing else", "[ops]") {
  TestDatabase db;
  auto worker = [&](const std::string& id, const std::string& beat_ago, const std::string& stopped_ago) {
    db.exec("INSERT INTO govjobd.govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at, stopped_at) "
            "VALUES ('" + id + "', 'h', 1, 'v', (now() AT TIME ZONE 'UTC') - interval '200 days', "
            "(now() AT TIME ZONE 'UTC') - interval '" + beat_ago + "', " +
            (stopped_ago.empty() ? std::string("NULL") : "(now() AT TIME ZONE 'UTC') - interval '" + stopped_ago + "'") + ")");
  };
  worker("stopped long ago", "100 days", "100 days");
  worker("lost long ago", "100 days", "");
  worker("stopped yesterday", "1 day", "1 day");
  worker("silent since yesterday", "1 day", "");
  const auto config = write_daemon_config("retention-workers", "  noop: {kind: noop}\n", "  id: retaining\n");
  std::ofstream(config, std::ios::app) << "retention: {keep_terminal: 90d, interval: 1s, batch_size: 1}\n";
  DaemonProcess daemon(config, db.url());
  REQUIRE(daemon.wait_for_log("retention deleted the rows of 2 daemons"));
  CHECK(db.scalar("SELECT string_agg(worker_id, ', ' ORDER BY worker_id) FROM govjobd.govjobd_workers") ==
        "retaining, silent since yesterday, stopped yesterday");
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}
