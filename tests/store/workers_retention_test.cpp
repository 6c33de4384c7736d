// The rows of daemons gone longer than retention keeps jobs (queries/workers_delete_gone.sql), deleted by the
// daemon's role (migration 0015): never a row that still owns a RUNNING job or a target hold.
#include <string>

#include <catch2/catch.hpp>

#include "daemon/store/store.hpp"
#include "tests/support/test_database.hpp"

using govjobd::testing::TestDatabase;
using namespace std::chrono_literals;

namespace {

void gone_worker(TestDatabase& db, const std::string& id, const std::string& last_seen_ago, bool stopped) {
  const std::string at = "(now() AT TIME ZONE 'UTC') - interval '" + last_seen_ago + "'";
  db.exec("INSERT INTO govjobd.govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at, stopped_at) "
          "VALUES ('" + id + "', 'h', 1, 'v', " + at + ", " + at + ", " + (stopped ? at : "NULL") + ")");
}

}  // namespace

TEST_CASE("retention deletes worker rows gone longer than keep and a lease, one batch at a time, and never one that "
          "owns a RUNNING job or a target hold", "[retention]") {
  TestDatabase db;
  gone_worker(db, "stopped", "100 days", true);
  gone_worker(db, "lost", "100 days", false);
  gone_worker(db, "lost, running a job", "100 days", false);
  gone_worker(db, "lost, holding a target", "100 days", false);
  gone_worker(db, "stopped within keep", "89 days", true);
  gone_worker(db, "silent within the lease", "90 days", false);  // keep is 90 days, the lease an hour
  const auto running = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '[]') RETURNING job_id");
  db.exec("UPDATE governance_jobs SET status = 'RUNNING', claimed_by = 'lost, running a job' WHERE job_id = '" + running + "'");
  const auto held = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '[]') RETURNING job_id");
  db.exec("INSERT INTO govjobd.target_holds (target, job_id, held_by) VALUES ('ledger', '" + held + "', 'lost, holding a target')");

  auto store = govjobd::store::Store::connect(db.login_as("retaining", "govjobd_daemon"));
  const govjobd::store::WorkersDeleteGoneParams params{std::chrono::hours(24 * 90), 1h, 1};
  CHECK(store->workers_delete_gone(params) == 1);
  CHECK(store->workers_delete_gone(params) == 1);
  CHECK(store->workers_delete_gone(params) == 0);
  CHECK(db.scalar("SELECT string_agg(worker_id, ' / ' ORDER BY worker_id) FROM govjobd.govjobd_workers") ==
        "lost, holding a target / lost, running a job / silent within the lease / stopped within keep");
}

TEST_CASE("a grant the daemon's role lacks reads as a missing grant, run again until it is back, not as a lost "
          "connection", "[retention]") {
  TestDatabase db;
  gone_worker(db, "stopped", "100 days", true);
  const std::string url = db.login_as("ungranted", "govjobd_daemon");
  db.exec("REVOKE DELETE ON govjobd.govjobd_workers FROM govjobd_daemon");
  auto store = govjobd::store::Store::connect(url);
  const govjobd::store::WorkersDeleteGoneParams params{std::chrono::hours(24 * 90), 1h, 10};
  // libpqxx 6.4 gives this error no SQLSTATE: it was called "database unreachable"
  CHECK_THROWS_MATCHES(store->workers_delete_gone(params), govjobd::store::DatabaseUnavailable,
                       Catch::Matchers::Message("a grant is missing, to be run again: permission denied for table "
                                                "govjobd_workers"));
  db.exec("GRANT DELETE ON govjobd.govjobd_workers TO govjobd_daemon");
  CHECK(store->workers_delete_gone(params) == 1);
}
