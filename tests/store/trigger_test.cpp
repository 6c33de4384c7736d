#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon/model/job_status.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/test_database.hpp"

using govjobd::testing::TestDatabase;
using namespace govjobd::model;

namespace {

const char* kJob = "00000000-0000-0000-0000-0000000000a1";

// A job inserted the way the creating system does it: only the documented columns.
void insert_job(TestDatabase& db, const char* job_id, const char* status) {
  db.exec(std::string("INSERT INTO governance_jobs (job_id, contract_id, status, steps, total_steps) VALUES ('") +
          job_id + "', gen_random_uuid(), '" + status + "', '[]', 0)");
}

// The SQLSTATE and message of a statement that must fail.
std::pair<std::string, std::string> refusal(TestDatabase& db, const std::string& sql) {
  try {
    db.exec(sql);
  } catch (const pqxx::sql_error& e) {
    return {e.sqlstate(), e.what()};
  }
  return {"", "statement succeeded"};
}

// How many times the PL/pgSQL function `name` ran during `statement` on `conn`, whose session has
// track_functions = 'pl': this transaction's calls (pg_stat_xact_user_functions) before and after it.
long calls_during(pqxx::connection& conn, const std::string& name, const std::string& statement) {
  pqxx::work w(conn);
  const std::string calls =
      "SELECT coalesce((SELECT sum(calls) FROM pg_stat_xact_user_functions WHERE funcname = " + w.quote(name) + "), 0)";
  const long before = w.exec1(calls)[0].as<long>();
  w.exec0(statement);
  const long after = w.exec1(calls)[0].as<long>();
  w.commit();
  return after - before;
}

std::string set_status(const char* status) {
  return std::string("UPDATE governance_jobs SET status = '") + status + "' WHERE job_id = '" + kJob + "'";
}

// The statuses a new PENDING job is moved through to reach `status`, each a valid transition: a status
// PENDING cannot reach directly is reached through RUNNING.
std::vector<JobStatus> path_to(JobStatus status) {
  if (status == JobStatus::Pending) return {};
  if (is_valid_transition(JobStatus::Pending, status)) return {status};
  REQUIRE(is_valid_transition(JobStatus::Running, status));
  return {JobStatus::Running, status};
}

}  // namespace

TEST_CASE("plain SQL cannot move a COMPLETED job back to RUNNING", "[trigger]") {
  TestDatabase db;
  insert_job(db, kJob, "PENDING");
  db.exec(set_status("RUNNING"));
  db.exec(set_status("COMPLETED"));
  const auto [state, message] = refusal(db, "UPDATE governance_jobs SET status='RUNNING' WHERE status='COMPLETED'");
  CHECK(state == "GJ001");
  CHECK_THAT(message, Catch::Contains(std::string("governance job ") + kJob +
                                      " is COMPLETED (terminal) and cannot be changed (attempted status RUNNING)"));
  CHECK(db.scalar(std::string("SELECT status FROM governance_jobs WHERE job_id = '") + kJob + "'") == "COMPLETED");
}

// The expected answers come from the C++ state machine (daemon/model/job_status.hpp): one definition of the
// transitions, which the database's trigger is tested against pair by pair.
TEST_CASE("the trigger allows exactly the transitions of the state machine", "[trigger]") {
  TestDatabase db;
  for (const JobStatus from : kAllJobStatuses) {
    for (const JobStatus to : kAllJobStatuses) {
      if (from == to) continue;  // not a transition: an update that keeps the status (see the terminal test below)
      const std::string from_name(to_string(from)), to_name(to_string(to));
      INFO(from_name << " -> " << to_name);
      db.exec(std::string("DELETE FROM governance_jobs"));
      insert_job(db, kJob, "PENDING");
      for (const JobStatus step : path_to(from)) db.exec(set_status(std::string(to_string(step)).c_str()));
      const auto [state, message] = refusal(db, set_status(to_name.c_str()));
      if (is_valid_transition(from, to)) {
        CHECK(state.empty());
      } else if (is_terminal(from)) {
        CHECK(state == "GJ001");
        CHECK_THAT(message, Catch::Contains("is " + from_name + " (terminal) and cannot be changed"));
      } else {
        CHECK(state == "GJ002");
        CHECK_THAT(message, Catch::Contains("invalid status transition " + from_name + " -> " + to_name));
      }
    }
  }
}

TEST_CASE("no column of a terminal job can change, whoever writes it", "[trigger]") {
  TestDatabase db;
  for (const char* terminal : {"COMPLETED", "FAILED", "CANCELLED"}) {
    INFO(terminal);
    db.exec("DELETE FROM governance_jobs");
    insert_job(db, kJob, "PENDING");
    db.exec(set_status("RUNNING"));
    db.exec(set_status(terminal));
    for (const char* change : {"status_reason = 'rewritten'", "step_results = '[]'", "completed_at = NULL",
                               "status = status", "status = 'PENDING'"}) {
      INFO(change);
      const auto [state, message] =
          refusal(db, std::string("UPDATE governance_jobs SET ") + change + " WHERE job_id = '" + kJob + "'");
      CHECK(state == "GJ001");
      CHECK_THAT(message, Catch::Contains(std::string("is ") + terminal + " (terminal)"));
    }
  }
}

TEST_CASE("the state machine's guard calls nothing for an allowed move, its function decides every other one, "
          "and its WHEN clause, read again for every statement, is short", "[trigger]") {
  TestDatabase db;
  const auto update = [](const std::string& job, const std::string& status) {
    return "UPDATE governance_jobs SET status = " + status + ", status_reason = 'r' WHERE job_id = '" + job + "'";
  };
  insert_job(db, kJob, "PENDING");
  db.exec("SET track_functions = 'pl'");
  for (const char* to : {"'PENDING'", "'RUNNING'", "'RUNNING'", "'COMPLETED'"}) {
    INFO(to);
    CHECK(calls_during(db.sql(), "govjobd_guard_job_status", update(kJob, to)) == 0);
  }
  // rows of an adopted table, statuses the insert guard refuses today (the column is NOT NULL): each update
  // reaches the function
  db.exec("ALTER TABLE governance_jobs DISABLE TRIGGER govjobd_guard_job_status_insert");
  for (const char* status : {"''", "'X'", "'PENDING>'", "'pending'"}) {
    INFO(status);
    db.exec("DELETE FROM governance_jobs");
    db.exec(std::string("INSERT INTO governance_jobs (job_id, contract_id, status) VALUES ('") + kJob + "', gen_random_uuid(), " +
            status + ")");
    CHECK(calls_during(db.sql(), "govjobd_guard_job_status", update(kJob, status)) == 1);  // kept: let through
    CHECK(refusal(db, update(kJob, "'RUNNING'")).first == "GJ002");
  }
  db.exec("ALTER TABLE governance_jobs ENABLE TRIGGER govjobd_guard_job_status_insert");
  // migration 14's clause, stored by this server beside the one in force: planned again by every claim and write
  db.exec("CREATE TRIGGER old_clause BEFORE UPDATE ON governance_jobs FOR EACH ROW WHEN ("
          "OLD.status IN ('COMPLETED', 'FAILED', 'CANCELLED') OR (NEW.status IS DISTINCT FROM OLD.status AND NOT coalesce("
          "(OLD.status = 'PENDING' AND NEW.status IN ('RUNNING', 'CANCELLED')) OR "
          "(OLD.status = 'RUNNING' AND NEW.status IN ('COMPLETED', 'FAILED', 'CANCELLED')), false))) "
          "EXECUTE FUNCTION govjobd.govjobd_guard_job_status()");
  const auto length = [&](const std::string& trigger) {
    return std::stoi(db.scalar("SELECT length(tgqual::text) FROM pg_trigger WHERE tgname = '" + trigger + "'"));
  };
  CHECK(2 * length("govjobd_guard_job_status") < length("old_clause"));
}

TEST_CASE("an unknown status cannot be inserted or set", "[trigger]") {
  TestDatabase db;
  CHECK(refusal(db, "INSERT INTO governance_jobs (contract_id, status) VALUES (gen_random_uuid(), 'DONE')").first ==
        "GJ002");
  insert_job(db, kJob, "PENDING");
  CHECK(refusal(db, set_status("DONE")).first == "GJ002");
}

TEST_CASE("transitions are append-only: no update, no delete while the job exists, no truncate", "[trigger]") {
  TestDatabase db;
  insert_job(db, kJob, "PENDING");
  db.exec(std::string("INSERT INTO governance_job_transitions (job_id, to_status, reason, transitioned_by) VALUES ('") +
          kJob + "', 'PENDING', 'created', 'creator')");
  auto [u_state, u_message] = refusal(db, "UPDATE governance_job_transitions SET reason = 'forged'");
  CHECK(u_state == "GJ003");
  CHECK_THAT(u_message, Catch::Contains("append-only"));
  CHECK(refusal(db, "DELETE FROM governance_job_transitions").first == "GJ003");
  CHECK(refusal(db, "TRUNCATE governance_job_transitions").first == "GJ003");
  CHECK(refusal(db, std::string("INSERT INTO governance_job_transitions (job_id, to_status, transitioned_by) VALUES ('") +
                        kJob + "', 'DONE', 'x')")
            .first == "23514");  // check constraint
  CHECK(db.scalar("SELECT reason FROM governance_job_transitions") == "created");
  // deleting the job itself (retention) takes its transitions with it
  db.exec(std::string("DELETE FROM governance_jobs WHERE job_id = '") + kJob + "'");
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions") == "0");
}

TEST_CASE("a transition row that claims a move outside the state machine is refused", "[trigger]") {
  TestDatabase db;
  insert_job(db, kJob, "PENDING");
  auto transition = [&](const std::string& from, const std::string& to) {
    return refusal(db, std::string("INSERT INTO governance_job_transitions (job_id, from_status, to_status, transitioned_by) "
                                   "VALUES ('") + kJob + "', " + from + ", '" + to + "', 'hand')").first;
  };
  CHECK(transition("NULL", "PENDING").empty());
  CHECK(transition("'PENDING'", "RUNNING").empty());
  CHECK(transition("'RUNNING'", "COMPLETED").empty());
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"'COMPLETED'", "RUNNING"}, {"'FAILED'", "PENDING"}, {"'CANCELLED'", "COMPLETED"}, {"'PENDING'", "COMPLETED"},
           {"'PENDING'", "FAILED"}, {"'RUNNING'", "PENDING"}, {"NULL", "RUNNING"}, {"'RUNNING'", "RUNNING"},
           {"''", "PENDING"}, {"'DONE'", "PENDING"}, {"'PENDING'", "DONE"}}) {
    INFO(from << " -> " << to);
    CHECK(transition(from, to) == "23514");
  }
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions") == "3");
}

TEST_CASE("a transition records the role that inserted it, whatever the row names, and calls no function when it "
          "names none", "[trigger]") {
  TestDatabase db;
  insert_job(db, kJob, "PENDING");
  // a transition of kJob, naming `role` as its author (none: the column left out)
  const auto insert = [](const std::string& role) {
    return std::string("INSERT INTO govjobd.governance_job_transitions (job_id, to_status, transitioned_by") +
           (role.empty() ? "" : ", recorded_by_role") + ") VALUES ('" + kJob + "', 'PENDING', 'writer of the row'" +
           (role.empty() ? "" : ", " + role) + ")";
  };
  const auto stamp_calls = [&](pqxx::connection& conn, const std::string& role) {
    return calls_during(conn, "govjobd_stamp_transition", insert(role));
  };
  db.exec("SET track_functions = 'pl'");
  // a daemon's insert names no role: the column's default records it, no trigger function runs (before
  // migration 17, one call per transition, each setting and restoring its search_path)
  CHECK(stamp_calls(db.sql(), "") == 0);
  // a row that names another role, or none, is stamped with the inserting role all the same
  CHECK(stamp_calls(db.sql(), "'govjobd_daemon'") == 1);
  CHECK(stamp_calls(db.sql(), "NULL") == 1);
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions WHERE recorded_by_role = current_user") == "3");
  // a daemon's login (not a superuser): its own name, given or not, calls nothing; another is replaced
  const auto daemon_url = db.login_as("stamp", "govjobd_daemon");
  pqxx::connection first(daemon_url);
  const std::string login = pqxx::nontransaction(first).exec1("SELECT current_user")[0].c_str();
  db.exec("ALTER ROLE \"" + login + "\" SET track_functions = 'pl'");
  pqxx::connection daemon(daemon_url);  // opened after the ALTER ROLE: its session tracks the calls
  CHECK(stamp_calls(daemon, "") == 0);
  CHECK(stamp_calls(daemon, "'" + login + "'") == 0);
  CHECK(stamp_calls(daemon, "'postgres'") == 1);
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions WHERE recorded_by_role = '" + login + "'") == "3");
  // a cancel by the function that runs with govjobd_owner's rights records that role, as before
  const auto other = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '[]') RETURNING job_id");
  CHECK(db.scalar("SELECT govjobd.job_cancel('" + other + "', 'alice', 'not needed')") == "CANCELLED");
  CHECK(db.scalar("SELECT recorded_by_role FROM governance_job_transitions WHERE job_id = '" + other + "'") == "govjobd_owner");
}
TEST_CASE("inserting a PENDING job notifies govjobd_jobs once per statement", "[trigger]") {
  TestDatabase db;
  pqxx::connection listener(db.url());
  struct Counter : pqxx::notification_receiver {
    using notification_receiver::notification_receiver;
    int seen = 0;
    void operator()(const std::string&, int) override { ++seen; }
  } counter(listener, "govjobd_jobs");  // LISTENs
  db.exec("INSERT INTO governance_jobs (contract_id) SELECT gen_random_uuid() FROM generate_series(1, 100)");
  for (int i = 0; i < 20 && counter.seen == 0; ++i) listener.await_notification(0, 100'000);
  listener.await_notification(0, 200'000);  // any further notification would arrive with the first
  CHECK(counter.seen == 1);
}

TEST_CASE("a statement inserting one PENDING job names it in its NOTIFY, one of many names none, a terminal row wakes "
          "nobody, and no content of the row reaches the payload", "[trigger]") {
  TestDatabase db;
  pqxx::connection listener(db.url());
  govjobd::testing::Notifications payloads(listener, "govjobd_jobs");  // LISTENs
  auto next = [&] {
    for (int i = 0; i < 20 && payloads.seen.empty(); ++i) listener.await_notification(0, 100'000);
    listener.await_notification(0, 200'000);  // any further notification would arrive with the first
    auto out = payloads.seen;
    payloads.seen.clear();
    return out;
  };
  // a hostile row: steps of another shape, control characters and a quote in its text
  const auto one = db.scalar("INSERT INTO governance_jobs (contract_id, steps, created_by) VALUES (gen_random_uuid(), "
                             "'{\"x\": \"a\\nb\"}', E'x\\n'' \"y') RETURNING job_id");
  CHECK(next() == std::vector<std::string>{one});
  db.exec("INSERT INTO governance_jobs (contract_id) SELECT gen_random_uuid() FROM generate_series(1, 2)");
  CHECK(next() == std::vector<std::string>{""});
  db.exec("INSERT INTO governance_jobs (contract_id, status, status_reason) VALUES (gen_random_uuid(), 'CANCELLED', 'no')");
  CHECK(next().empty());
}

TEST_CASE("a session's temp table named governance_jobs does not let it delete a live job's transitions", "[trigger]") {
  TestDatabase db;
  insert_job(db, kJob, "PENDING");
  db.exec(set_status("RUNNING"));
  db.exec(std::string("INSERT INTO govjobd.governance_job_transitions (job_id, from_status, to_status, transitioned_by) "
                      "VALUES ('") + kJob + "', 'PENDING', 'RUNNING', 'test')");
  // pg_temp comes first in a default search_path: an unpinned trigger function would look here
  db.exec("CREATE TEMP TABLE governance_jobs (job_id uuid)");
  const auto [state, message] =
      refusal(db, std::string("DELETE FROM govjobd.governance_job_transitions WHERE job_id = '") + kJob + "'");
  CHECK(state == "GJ003");
  CHECK(db.scalar(std::string("SELECT count(*) FROM govjobd.governance_job_transitions WHERE job_id = '") + kJob + "'") != "0");
}

TEST_CASE("every govjobd function has a pinned search_path and lives in the schema govjobd", "[trigger]") {
  TestDatabase db;
  CHECK(db.scalar("SELECT count(*) FROM pg_proc WHERE proname LIKE 'govjobd%' AND pronamespace <> 'govjobd'::regnamespace") == "0");
  // a SQL-standard body (the routing functions) binds its names when it is created: no search_path applies
  CHECK(db.scalar("SELECT count(*) FROM pg_proc WHERE pronamespace = 'govjobd'::regnamespace AND prosqlbody IS NULL AND "
                  "NOT coalesce(proconfig::text LIKE '%search_path=pg_catalog, govjobd, pg_temp%', false)") == "0");
  CHECK(db.scalar("SELECT string_agg(proname, ' ' ORDER BY proname) FROM pg_proc "
                  "WHERE pronamespace = 'govjobd'::regnamespace AND prosqlbody IS NOT NULL") == "glob_like json_absent json_unwritable pause_active pause_matches serves worker_live");
  CHECK(db.scalar("SELECT count(*) FROM pg_class WHERE relname IN ('governance_job_transitions', 'govjobd_workers', "
                  "'govjobd_schema_migrations') AND relnamespace = 'govjobd'::regnamespace") == "3");
}

TEST_CASE("a job's route is the database's: computed from its steps, a writer's value replaced, malformed steps route nowhere", "[trigger]") {
  TestDatabase db;
  const auto route = [&](const std::string& id) {
    return db.scalar("SELECT coalesce(array_to_string(route_step_types, ','), 'NULL') || ' ' || "
                     "coalesce(array_to_string(route_targets, ','), 'NULL') FROM governance_jobs WHERE job_id = '" + id + "'");
  };
  const std::string id = "00000000-0000-0000-0000-0000000000b1";
  db.exec("INSERT INTO governance_jobs (job_id, contract_id, steps, route_step_types, route_targets) VALUES ('" + id +
          "', gen_random_uuid(), '[{\"step_index\": 1, \"step_type\": \"b\", \"target\": \"y\"}, "
          "{\"step_index\": 0, \"step_type\": \"a\", \"target\": \"y\"}, {\"step_index\": 2, \"step_type\": \"a\"}]', "
          "'{noop}', '{anything}')");
  CHECK(route(id) == "a,b y");  // sorted, distinct; the forged route is gone
  db.exec("UPDATE governance_jobs SET route_step_types = '{noop}' WHERE job_id = '" + id + "'");
  CHECK(route(id) == "a,b y");
  db.exec("UPDATE governance_jobs SET steps = '[{\"step_index\": 0, \"step_type\": \"c\", \"target\": \"z\"}]' WHERE job_id = '" + id + "'");
  CHECK(route(id) == "c z");
  // whatever the steps hold, the insert succeeds; what SQL sees as malformed routes nowhere (every daemon claims it)
  for (const char* steps : {"null", "{}", "[]", "[1]", "[{\"step_type\": 5, \"step_index\": 0}]", "[{\"step_type\": \"a\"}]",
                            "[{\"step_type\": \"a\", \"step_index\": 0, \"target\": [1]}]", "\"text\""}) {
    INFO(steps);
    const std::string job = db.scalar(std::string("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '") +
                                      steps + "') RETURNING job_id");
    CHECK(route(job) == "NULL NULL");
  }
}
