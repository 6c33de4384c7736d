// The writer and the daemon under their own roles (issue 14, "roles, enforced by the database"): the writer
// inserts PENDING jobs, reads them and requests cancels; every forgery of statuses, results, evidence,
// transitions, leases or worker rows is refused by the database, and `govjobd verify` reports rows it
// cannot vouch for.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/hostile_rows.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kRolesExecutors = "  noop: {kind: noop}\n";

TEST_CASE("the writer role may insert PENDING jobs, read them and request cancels, and the daemon role runs them",
          "[roles]") {
  TestDatabase db;
  const std::string writer_url = db.login_as("writer", "govjobd_writer");
  const std::string daemon_url = db.login_as("daemon", "govjobd_daemon");
  pqxx::connection writer(writer_url);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(insert_as(writer, "[" + valid_step_text(0) + "]"));
  // as an ORM writes None for the columns that hold nothing yet: JSON null (migration 22: read as none)
  ids.push_back(scalar_as(writer, "INSERT INTO governance_jobs (contract_id, steps, step_results, execution_evidence, "
                                  "health_snapshot_before, health_snapshot_after) VALUES (gen_random_uuid(), '[" +
                                  valid_step_text(0) + "]', 'null', 'null', 'null', 'null') RETURNING job_id"));
  const std::string cancelled = insert_as(writer, "[" + valid_step_text(0) + "]");
  CHECK(scalar_as(writer, "SELECT govjobd.job_cancel('" + cancelled + "', 'creator', 'contract revoked')") == "CANCELLED");
  CHECK(scalar_as(writer, "SELECT count(*) FROM governance_jobs") == "5");

  const auto config = write_daemon_config("roles", kRolesExecutors, "  concurrency: 2\n");
  DaemonProcess daemon(config, daemon_url, {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit(60s) == 0);
  for (const auto& id : ids) CHECK(status_of(db, id) == "COMPLETED");
  CHECK(job_of(db, ids.back()).at("health_snapshot_before").contains("captured_at"));  // govjobd's, not JSON null
  CHECK(status_of(db, cancelled) == "CANCELLED");
  // retention as the daemon role deletes terminal jobs
  pqxx::connection as_daemon(daemon_url);
  CHECK(scalar_as(as_daemon, "WITH d AS (DELETE FROM governance_jobs WHERE job_id = '" + ids[0] +
                                 "' RETURNING 1) SELECT count(*) FROM d") == "1");
  CHECK_THAT(verify_output(db.url()), Catch::Contains("clean"));
}

TEST_CASE("every forgery the writer role tries is refused by the database", "[roles]") {
  TestDatabase db;
  const std::string done = insert_job(db, json::array({step(0, "noop")}));
  const std::string running = insert_job(db, json::array({step(0, "noop")}));
  const std::string pending = insert_job(db, json::array({step(0, "noop")}));
  db.exec("INSERT INTO govjobd.govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at, alive_since) "
          "VALUES ('w1', 'h', 1, 'v', now(), now(), now())");
  // `done` and `running` moved by the daemon's role (a superuser here)
  db.exec("UPDATE governance_jobs SET status = 'RUNNING', claimed_by = 'w1', started_at = now(), "
          "lease_expires_at = now() + interval '1 hour' WHERE job_id IN ('" + done + "', '" + running + "')");
  db.exec("UPDATE governance_jobs SET status = 'COMPLETED', completed_at = now() WHERE job_id = '" + done + "'");
  pqxx::connection writer(db.login_as("writer", "govjobd_writer"));

  const auto forgeries = writer_forgeries(done, running, pending);
  REQUIRE(forgeries.size() >= 15);
  for (const auto& sql : forgeries) {
    INFO(sql);
    CHECK_THROWS_AS(exec_as(writer, sql), pqxx::sql_error);
  }
  CHECK(status_of(db, done) == "COMPLETED");
  CHECK(status_of(db, running) == "RUNNING");
  CHECK(status_of(db, pending) == "PENDING");
  CHECK(db.scalar("SELECT count(*) FROM govjobd.governance_job_transitions") == "0");
  CHECK(db.scalar("SELECT heartbeat_at > now() - interval '1 minute' FROM govjobd.govjobd_workers") == "t");
}

TEST_CASE("govjobd verify reports a row security policy on the jobs table that applies to it, and runs none of its code",
          "[roles]") {
  TestDatabase db;
  insert_job(db, json::array({step(0, "noop")}));
  db.exec("CREATE TABLE public.hook_calls (by_role text); GRANT INSERT ON public.hook_calls TO PUBLIC; "
          "CREATE FUNCTION public.audit_hook() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
          "INSERT INTO public.hook_calls VALUES (current_user); RETURN true; END $$; "
          "CREATE POLICY hook ON governance_jobs FOR SELECT USING (public.audit_hook()); "
          "ALTER TABLE governance_jobs ENABLE ROW LEVEL SECURITY");
  const std::string out = verify_output(db.login_as("auditor", "govjobd_daemon"));
  CHECK_THAT(out, Catch::Contains("governance_jobs  not read: ") && Catch::Contains("row-level security"));
  CHECK(db.scalar("SELECT count(*) FROM public.hook_calls") == "0");
}

TEST_CASE("govjobd verify reports rows it cannot vouch for", "[roles]") {
  TestDatabase db;
  // the writer's table may hold columns of its own, of any name
  db.exec("ALTER TABLE governance_jobs ADD COLUMN recorded text, ADD COLUMN preset text");
  // What a table owner who switched the triggers off, or a role given rights it should not have, can write.
  db.exec("ALTER TABLE governance_jobs DISABLE TRIGGER USER");
  const std::string forged = db.scalar(
      "INSERT INTO governance_jobs (contract_id, status, steps, step_results, completed_at) VALUES (gen_random_uuid(), "
      "'COMPLETED', '[]', '[]', now()) RETURNING job_id");
  const std::string primed = db.scalar(
      "INSERT INTO governance_jobs (contract_id, status, steps, execution_evidence) VALUES (gen_random_uuid(), "
      "'PENDING', '[]', '{}') RETURNING job_id");
  db.exec("ALTER TABLE governance_jobs ENABLE TRIGGER USER");
  // results a role the trigger trusts left in a PENDING job (a claim would fail it), then a cancel
  const std::string cancelled = insert_job(db, json::array({step(0, "noop")}));
  db.exec("UPDATE governance_jobs SET step_results = '[{\"step_index\": 0, \"status\": \"COMPLETED\"}]' "
          "WHERE job_id = '" + cancelled + "'");
  REQUIRE(db.scalar("SELECT govjobd.job_cancel('" + cancelled + "', 'tester', 'test')") == "CANCELLED");
  // a health snapshot after is the daemon's too: alone, in a PENDING job and in one cancelled before it ran
  const std::string after_pending = insert_job(db, json::array({step(0, "noop")}));
  const std::string after_cancelled = insert_job(db, json::array({step(0, "noop")}));
  db.exec("UPDATE governance_jobs SET health_snapshot_after = '{\"system_health\": {\"state\": \"HEALTHY\"}}' "
          "WHERE job_id IN ('" + after_pending + "', '" + after_cancelled + "')");
  REQUIRE(db.scalar("SELECT govjobd.job_cancel('" + after_cancelled + "', 'tester', 'test')") == "CANCELLED");
  const std::string job = insert_job(db, json::array({step(0, "noop")}));
  db.exec("CREATE ROLE " + db.name() + "_rogue; GRANT USAGE ON SCHEMA govjobd TO " + db.name() +
          "_rogue; GRANT INSERT ON govjobd.governance_job_transitions TO " + db.name() + "_rogue; SET ROLE " +
          db.name() + "_rogue; INSERT INTO govjobd.governance_job_transitions (job_id, from_status, to_status, transitioned_by) "
          "VALUES ('" + job + "', NULL, 'PENDING', 'govjobd-worker-1'); RESET ROLE");
  // code the table's owner attaches runs with a daemon's rights when a daemon writes a job
  db.exec("CREATE FUNCTION public.owner_hook() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; "
          "CREATE TRIGGER owner_hook BEFORE UPDATE ON governance_jobs FOR EACH ROW EXECUTE FUNCTION public.owner_hook(); "
          // named to rewrite the terminal's line as a clean run
          "CREATE TRIGGER U&\"zz\\000d\\001b[2Kverify: clean\" BEFORE UPDATE ON governance_jobs FOR EACH ROW "
          "EXECUTE FUNCTION public.owner_hook(); "
          "ALTER TABLE governance_jobs DISABLE TRIGGER govjobd_guard_writer; "
          // off as well for every session that is not a replication one; and one gone
          "ALTER TABLE governance_jobs ENABLE REPLICA TRIGGER govjobd_route_job; "
          "DROP TRIGGER govjobd_guard_window ON governance_jobs; "
          // made again under its name, with another of govjobd's functions and a WHEN that never holds
          "DROP TRIGGER govjobd_guard_job_status ON governance_jobs; CREATE TRIGGER govjobd_guard_job_status BEFORE "
          "UPDATE ON governance_jobs FOR EACH ROW WHEN (false) EXECUTE FUNCTION govjobd.govjobd_route_job()");
  // JSON null where nothing is yet (an ORM's None, written by an UPDATE): nothing to report
  db.exec("UPDATE governance_jobs SET execution_evidence = 'null', health_snapshot_after = 'null' WHERE job_id = '" + job + "'");
  const std::string out = verify_output(db.url());
  CHECK_THAT(out, Catch::Contains("governance_jobs  trigger owner_hook runs public.owner_hook, which is not govjobd's"));
  CHECK_THAT(out, Catch::Contains("governance_jobs  trigger zz\\r\\x1b[2Kverify: clean runs public.owner_hook"));
  CHECK(out.find('\r') == std::string::npos);
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK_THAT(out, Catch::Contains("governance_jobs  govjobd's trigger govjobd_guard_writer is disabled"));
  CHECK_THAT(out, Catch::Contains("governance_jobs  govjobd's trigger govjobd_route_job is enabled for replication sessions only"));
  CHECK_THAT(out, Catch::Contains("governance_jobs  govjobd's trigger govjobd_guard_window is missing: dropped by the table's owner"));
  CHECK_THAT(out, !Catch::Contains(job + "  PENDING with results"));
  CHECK_THAT(out, Catch::Contains("governance_jobs  govjobd's trigger govjobd_guard_job_status is not as govjobd made it"));
  CHECK_THAT(out, Catch::Contains(forged) && Catch::Contains("COMPLETED with no transition recorded"));
  CHECK_THAT(out, Catch::Contains(primed + "  PENDING with results, evidence, a snapshot after"));
  CHECK_THAT(out, Catch::Contains(after_pending + "  PENDING with results, evidence, a snapshot after"));
  CHECK_THAT(out, Catch::Contains(cancelled + "  CANCELLED before it ran, with results, evidence or a snapshot after"));
  CHECK_THAT(out, Catch::Contains(after_cancelled + "  CANCELLED before it ran, with results, evidence or a snapshot after"));
  CHECK_THAT(out, Catch::Contains(job) && Catch::Contains("_rogue, which is not a govjobd daemon's"));
}

}  // namespace
