#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon/store/store.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/test_database.hpp"

using govjobd::store::latest_schema_version;
using govjobd::store::SchemaMismatch;
using govjobd::store::Store;
using govjobd::testing::creator_signals_ddl;
using govjobd::testing::table_fingerprint;
using govjobd::testing::TestDatabase;

namespace {

// column -> "type|nullable|default" for a table, ordered by name.
std::string columns_of(TestDatabase& db, const std::string& table) {
  return db.scalar(
      "SELECT string_agg(column_name || ':' || data_type || '|' || is_nullable || '|' || coalesce(column_default, ''),"
      " ', ' ORDER BY column_name) FROM information_schema.columns WHERE table_name = '" + table + "'");
}

// The governance_jobs table as the job-creating system defines it: its columns only, its own defaults.
const char* kCreatorDdl = R"(
CREATE TABLE governance_jobs (
  job_id uuid PRIMARY KEY, contract_id uuid NOT NULL UNIQUE, status varchar(20), status_reason text,
  steps jsonb, current_step_index int, total_steps int, step_results jsonb, execution_evidence jsonb,
  health_snapshot_before jsonb, health_snapshot_after jsonb, created_at timestamp, started_at timestamp,
  completed_at timestamp, timeout_at timestamp, created_by varchar(100));
INSERT INTO governance_jobs (job_id, contract_id, status, steps, current_step_index, total_steps, step_results,
                             created_at, created_by)
VALUES ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000c1', 'PENDING',
        '[{"step_index":0,"step_type":"noop","target":"a"}]', 0, 1, '[]', '2026-01-01 00:00:00', 'creator'),
       ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-0000000000c2', 'COMPLETED',
        '[]', 0, 0, '[]', '2026-01-01 00:00:01', 'creator');
)";

// govjobd's signals table as migrations 3 to 9 made it (0003, moved into govjobd, then 0009's guards,
// owner and grants): the layout an older govjobd leaves behind.
const char* kOlderSignalsDdl = R"(
CREATE TABLE govjobd.governance_signals (
    signal_id   bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      uuid         NOT NULL,
    contract_id uuid,
    step_index  int          NOT NULL,
    scope       text         NOT NULL,
    signal_type text         NOT NULL,
    decision    text         NOT NULL,
    reason      text         NOT NULL,
    recorded_by varchar(200) NOT NULL,
    recorded_at timestamp    NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    UNIQUE (job_id, step_index)
);
CREATE INDEX governance_signals_scope_idx ON govjobd.governance_signals (scope, recorded_at);
CREATE TRIGGER govjobd_guard_signals BEFORE UPDATE OR DELETE ON govjobd.governance_signals
    FOR EACH ROW EXECUTE FUNCTION govjobd.govjobd_guard_append_only();
CREATE TRIGGER govjobd_guard_signals_truncate BEFORE TRUNCATE ON govjobd.governance_signals
    FOR EACH STATEMENT EXECUTE FUNCTION govjobd.govjobd_guard_append_only();
ALTER TABLE govjobd.governance_signals OWNER TO govjobd_owner;
GRANT SELECT, INSERT ON govjobd.governance_signals TO govjobd_daemon;
INSERT INTO govjobd.governance_signals (job_id, step_index, scope, signal_type, decision, reason, recorded_by)
VALUES ('10000000-0000-0000-0000-0000000000a1', 0, 'payments', 'maintenance', 'approve', 'upgrade', 'w1');
)";

// A migrated database put back into the layout before migration 8: govjobd's tables (plus `more`, already
// in the schema govjobd) and trigger functions in the jobs table's schema, migrations 8 and later not applied.
void to_layout_before_migration_8(TestDatabase& db, const std::vector<std::string>& more) {
  db.exec("DELETE FROM govjobd.govjobd_schema_migrations WHERE version >= 8");
  std::vector<std::string> tables = {"govjobd_schema_migrations", "governance_job_transitions", "govjobd_workers"};
  tables.insert(tables.end(), more.begin(), more.end());
  for (const auto& table : tables) db.exec("ALTER TABLE govjobd." + table + " SET SCHEMA public");
  for (const char* function : {"govjobd_guard_job_status", "govjobd_guard_transitions", "govjobd_notify_pending",
                               "govjobd_notify_cancel"})
    db.exec(std::string("ALTER FUNCTION govjobd.") + function + "() SET SCHEMA public");
  db.exec("DROP SCHEMA govjobd CASCADE");  // what migration 9 added: made again
}

}  // namespace

TEST_CASE("migrate creates governance_jobs with exactly the documented columns on an empty database", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  auto store = Store::connect(db.url());
  CHECK(store->schema_version() == 0);
  const auto report = store->migrate();
  CHECK(report.previous_version == 0);
  CHECK(report.current_version == latest_schema_version());
  CHECK(report.applied.size() == static_cast<std::size_t>(latest_schema_version()));
  CHECK(store->schema_version() == latest_schema_version());
  CHECK_NOTHROW(store->check_schema_version());

  const std::string documented =
      "job_id contract_id status status_reason steps current_step_index total_steps step_results "
      "execution_evidence health_snapshot_before health_snapshot_after created_at started_at completed_at "
      "timeout_at created_by";
  const std::string ours = "claimed_by lease_expires_at cancel_requested_at cancel_requested_by cancel_reason pool "
                           "route_step_types route_targets window_opens_at";
  CHECK(db.scalar("SELECT string_agg(column_name, ' ' ORDER BY ordinal_position) FROM information_schema.columns "
                  "WHERE table_name = 'governance_jobs'") == documented + " " + ours);
  // govjobd's own columns are nullable without defaults, so the creating system's inserts are unaffected
  CHECK(db.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'governance_jobs' AND "
                  "column_name IN ('claimed_by','lease_expires_at','cancel_requested_at','cancel_requested_by',"
                  "'cancel_reason','pool','route_step_types','route_targets','window_opens_at') AND "
                  "is_nullable = 'YES' AND column_default IS NULL") == "9");
  // the documented defaults
  db.exec("INSERT INTO governance_jobs (contract_id) VALUES ('00000000-0000-0000-0000-000000000001')");
  CHECK(db.scalar("SELECT status || ' ' || steps::text || ' ' || step_results::text || ' ' || current_step_index || "
                  "' ' || total_steps || ' ' || created_by || ' ' || (job_id IS NOT NULL) || ' ' || "
                  "(abs(extract(epoch FROM created_at - (now() AT TIME ZONE 'UTC'))) < 60) FROM governance_jobs") ==
        "PENDING [] [] 0 0 system true true");
  for (const char* index : {"governance_jobs_status_created_at_idx", "governance_jobs_status_timeout_at_idx",
                            "governance_jobs_pending_ready_idx", "governance_jobs_pending_parked_idx",
                            "governance_jobs_running_lease_idx",
                            "governance_jobs_contract_id_key"})
    CHECK(db.scalar(std::string("SELECT count(*) FROM pg_indexes WHERE indexname = '") + index + "'") == "1");
  CHECK(db.scalar("SELECT to_regclass('governance_job_transitions') IS NOT NULL AND "
                  "to_regclass('govjobd_workers') IS NOT NULL") == "t");
}

TEST_CASE("migrate twice in a row changes nothing the second time", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  auto store = Store::connect(db.url());
  store->migrate();
  const std::string jobs_before = columns_of(db, "governance_jobs");
  const std::string transitions_before = columns_of(db, "governance_job_transitions");
  const auto second = store->migrate();
  CHECK(second.applied.empty());
  CHECK(second.previous_version == latest_schema_version());
  CHECK(columns_of(db, "governance_jobs") == jobs_before);
  CHECK(columns_of(db, "governance_job_transitions") == transitions_before);
  CHECK(db.scalar("SELECT count(*) FROM govjobd_schema_migrations") == std::to_string(latest_schema_version()));
}

TEST_CASE("migrate adopts a governance_jobs table that the creating system made, rows and all", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  db.exec(kCreatorDdl);
  const std::string before = columns_of(db, "governance_jobs");
  Store::connect(db.url())->migrate();

  CHECK(db.scalar("SELECT count(*) FROM governance_jobs") == "2");
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '00000000-0000-0000-0000-00000000000b'") ==
        "COMPLETED");
  // the creator's columns keep their types, nullability and defaults
  const std::string after = columns_of(db, "governance_jobs");
  for (const char* ours : {"cancel_reason:", "cancel_requested_at:", "cancel_requested_by:", "claimed_by:",
                           "lease_expires_at:"})
    CHECK(after.find(ours) != std::string::npos);
  for (std::size_t start = 0; start < after.size();) {
    const auto end = std::min(after.find(", ", start), after.size());
    const std::string column = after.substr(start, end - start);
    if (before.find(column) == std::string::npos) CHECK(column.find("|YES|") != std::string::npos);  // ours
    start = end + 2;
  }
  // the creator's own insert, with only its columns, still works, and its reads see the same rows
  db.exec("INSERT INTO governance_jobs (job_id, contract_id, status, steps, current_step_index, total_steps, "
          "step_results, created_at, created_by) VALUES (gen_random_uuid(), gen_random_uuid(), 'PENDING', '[]', 0, 0, "
          "'[]', now() AT TIME ZONE 'UTC', 'creator')");
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE created_by = 'creator'") == "3");
}

TEST_CASE("migrate refuses a governance_jobs table it cannot adopt, naming the column", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  db.exec("CREATE TABLE governance_jobs (job_id uuid PRIMARY KEY, contract_id uuid NOT NULL, steps text)");
  auto store = Store::connect(db.url());
  try {
    store->migrate();
    FAIL("migrate accepted an incompatible table");
  } catch (const SchemaMismatch& e) {
    const std::string message = e.what();
    CHECK(message.find("0001_governance_jobs.sql failed") != std::string::npos);
    CHECK(message.find("column status is missing") != std::string::npos);
    CHECK(message.find("column steps is text, expected jsonb") != std::string::npos);
  }
  CHECK(store->schema_version() == 0);  // nothing half-applied
}

TEST_CASE("migrate refuses a database migrated by a newer govjobd", "[migrate]") {
  TestDatabase db;
  db.exec("INSERT INTO govjobd_schema_migrations (version, name, govjobd_version) VALUES (999, '0999_future.sql', "
          "'99.0.0')");
  auto store = Store::connect(db.url());
  CHECK_THROWS_AS(store->migrate(), SchemaMismatch);
  CHECK_THROWS_WITH(store->check_schema_version(), Catch::Contains("version 999, newer than this govjobd"));
}

TEST_CASE("check_schema_version asks for migrate on an unmigrated database", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  CHECK_THROWS_WITH(Store::connect(db.url())->check_schema_version(), Catch::Contains("run govjobd migrate"));
}

TEST_CASE("two hosts migrating at once both succeed and apply each migration once", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      try {
        Store::connect(db.url())->migrate();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) CHECK(e.empty());
  CHECK(db.scalar("SELECT count(*) FROM govjobd_schema_migrations") == std::to_string(latest_schema_version()));
}

TEST_CASE("migrate refuses a schema govjobd that another role made in advance", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  db.exec("DROP ROLE IF EXISTS govjobd_test_squatter; CREATE ROLE govjobd_test_squatter; "
          "CREATE SCHEMA govjobd AUTHORIZATION govjobd_test_squatter");
  try {
    Store::connect(db.url())->migrate();
    FAIL("migrate accepted a schema govjobd owned by someone else");
  } catch (const std::exception& e) {
    CHECK_THAT(e.what(), Catch::Contains("schema govjobd exists and belongs to govjobd_test_squatter"));
  }
  db.exec("DROP SCHEMA govjobd; DROP ROLE govjobd_test_squatter");
}

TEST_CASE("migrate moves govjobd's objects of an older layout into the schema govjobd, and adopts no look-alike",
          "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  Store::connect(db.url())->migrate();
  db.exec("ALTER TABLE govjobd.govjobd_signals RENAME TO governance_signals");  // its name before migration 10
  to_layout_before_migration_8(db, {"governance_signals"});
  db.exec("INSERT INTO governance_jobs (job_id, contract_id, status) VALUES ('00000000-0000-0000-0000-0000000000c1', "
          "gen_random_uuid(), 'PENDING')");
  db.exec("INSERT INTO public.governance_signals (job_id, step_index, scope, signal_type, decision, reason, recorded_by) "
          "VALUES ('00000000-0000-0000-0000-0000000000c1', 0, 'payments', 'maintenance', 'approve', 'upgrade', 'w1')");
  const auto report = Store::connect(db.url())->migrate();
  CHECK(report.previous_version == 7);
  CHECK(report.current_version == latest_schema_version());
  CHECK(db.scalar("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname IN "
                  "('govjobd_schema_migrations', 'governance_job_transitions', 'govjobd_workers', 'governance_signals', "
                  "'govjobd_signals')") == "0");
  CHECK(db.scalar("SELECT count(*) FROM govjobd.govjobd_schema_migrations") == std::to_string(latest_schema_version()));
  CHECK(db.scalar("SELECT scope || ' ' || reason FROM govjobd.govjobd_signals") == "payments upgrade");
  // the triggers followed their functions
  CHECK_THROWS_WITH(db.exec("UPDATE governance_jobs SET status = 'COMPLETED'"), Catch::Contains("invalid status transition"));
}

TEST_CASE("a database whose governance_signals was the creator's when an older govjobd migrated it gets govjobd_signals",
          "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  Store::connect(db.url())->migrate();
  // An older migration 3 found the creator's table (CREATE TABLE IF NOT EXISTS) and made none of ours.
  db.exec("DROP TABLE IF EXISTS govjobd.govjobd_signals, govjobd.governance_signals");
  to_layout_before_migration_8(db, {});
  db.exec(creator_signals_ddl("public"));
  const std::string creator_before = table_fingerprint(db, "public.governance_signals");
  auto store = Store::connect(db.url());
  store->migrate();
  CHECK(table_fingerprint(db, "public.governance_signals") == creator_before);
  const long long id = Store::connect(db.login_as("daemon", "govjobd_daemon"))  // as a daemon's login
                           ->signal_record({"10000000-0000-0000-0000-0000000000a3", "", 0, "payments", "incident",
                                            "deny", "outage", "w1"});
  CHECK(db.scalar("SELECT signal_id || ' ' || reason FROM govjobd.govjobd_signals") == std::to_string(id) + " outage");
  CHECK(table_fingerprint(db, "public.governance_signals") == creator_before);
}

TEST_CASE("migrate never adopts a look-alike of its tables that another role made in the jobs schema", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  db.exec("DROP ROLE IF EXISTS govjobd_test_lookalike; CREATE ROLE govjobd_test_lookalike; "
          "GRANT CREATE ON SCHEMA public TO govjobd_test_lookalike; SET ROLE govjobd_test_lookalike; "
          "CREATE TABLE public.govjobd_schema_migrations (version int, name text, applied_at timestamp, govjobd_version text); "
          "INSERT INTO public.govjobd_schema_migrations VALUES (1, 'x', now(), 'x'), (2, 'x', now(), 'x'); "
          "CREATE TABLE public.governance_job_transitions (job_id uuid); RESET ROLE");
  const auto report = Store::connect(db.url())->migrate();
  CHECK(report.previous_version == 0);
  CHECK(db.scalar("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.governance_job_transitions'::regclass") ==
        "govjobd_test_lookalike");
  CHECK(db.scalar("SELECT count(*) FROM govjobd.governance_job_transitions") == "0");
  db.exec("DROP TABLE public.govjobd_schema_migrations, public.governance_job_transitions; "
          "REVOKE ALL ON SCHEMA public FROM govjobd_test_lookalike");
}

TEST_CASE("migrate renames an older govjobd's govjobd.governance_signals to govjobd_signals, rows, guards and grants kept",
          "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  auto store = Store::connect(db.url());
  store->migrate();
  db.exec("DROP TABLE IF EXISTS govjobd.govjobd_signals, govjobd.governance_signals");
  db.exec("DELETE FROM govjobd.govjobd_schema_migrations WHERE version >= 10");
  db.exec(kOlderSignalsDdl);
  const auto report = store->migrate();
  CHECK(report.current_version == latest_schema_version());
  CHECK(db.scalar("SELECT to_regclass('govjobd.governance_signals') IS NULL") == "t");
  CHECK(db.scalar("SELECT job_id || ' ' || step_index || ' ' || scope || ' ' || signal_type || ' ' || decision || ' ' || "
                  "reason || ' ' || recorded_by FROM govjobd.govjobd_signals") ==
        "10000000-0000-0000-0000-0000000000a1 0 payments maintenance approve upgrade w1");
  // the append-only guards followed the table
  CHECK_THROWS_WITH(db.exec("UPDATE govjobd.govjobd_signals SET reason = 'x'"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(db.exec("DELETE FROM govjobd.govjobd_signals"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(db.exec("TRUNCATE govjobd.govjobd_signals"), Catch::Contains("append-only"));
  // and so did its owner and grants
  CHECK(db.scalar("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'govjobd.govjobd_signals'::regclass") ==
        "govjobd_owner");
  CHECK(db.scalar("SELECT has_table_privilege('govjobd_daemon', 'govjobd.govjobd_signals', 'SELECT') AND "
                  "has_table_privilege('govjobd_daemon', 'govjobd.govjobd_signals', 'INSERT') AND NOT "
                  "has_table_privilege('govjobd_daemon', 'govjobd.govjobd_signals', 'UPDATE') AND NOT "
                  "has_table_privilege('govjobd_writer', 'govjobd.govjobd_signals', 'SELECT')") == "t");
  // nothing of ours keeps the old name; the next signal continues the numbering
  CHECK(db.scalar("SELECT count(*) FROM pg_class WHERE relnamespace = 'govjobd'::regnamespace AND "
                  "relname LIKE 'governance\\_signals%'") == "0");
  const long long next = Store::connect(db.login_as("daemon", "govjobd_daemon"))  // as a daemon's login
                             ->signal_record({"10000000-0000-0000-0000-0000000000a2", "", 0, "payments", "incident",
                                              "deny", "outage", "w1"});
  CHECK(next > std::stoll(db.scalar("SELECT min(signal_id) FROM govjobd.govjobd_signals")));
  CHECK(store->migrate().applied.empty());
  CHECK(db.scalar("SELECT count(*) FROM govjobd.govjobd_signals") == "2");
  // the same table as a fresh database gets
  TestDatabase fresh(TestDatabase::Kind::Empty);
  Store::connect(fresh.url())->migrate();
  CHECK(table_fingerprint(db, "govjobd.govjobd_signals", false) == table_fingerprint(fresh, "govjobd.govjobd_signals", false));
}

TEST_CASE("a governance_jobs table made by migrate has created_by NOT NULL DEFAULT system, the creator's keeps its own",
          "[migrate]") {
  const std::string created_by = "SELECT is_nullable || ' ' || coalesce(column_default, '-') FROM information_schema.columns "
                                 "WHERE table_name = 'governance_jobs' AND column_name = 'created_by'";
  TestDatabase ours(TestDatabase::Kind::Empty);
  Store::connect(ours.url())->migrate();
  CHECK(ours.scalar(created_by) == "NO 'system'::character varying");
  CHECK_THROWS_WITH(ours.exec("INSERT INTO governance_jobs (contract_id, created_by) VALUES (gen_random_uuid(), NULL)"),
                    Catch::Contains("created_by"));
  TestDatabase theirs(TestDatabase::Kind::Empty);
  theirs.exec(kCreatorDdl);
  Store::connect(theirs.url())->migrate();
  CHECK(theirs.scalar(created_by) == "YES -");  // the creator's table is never altered
}

TEST_CASE("operators the writer made in its schema before migrate, named like built-ins, are bound by no trigger or "
          "check", "[migrate]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  // each an exact match for an operand pair of the guards' WHEN clauses and the transitions' CHECK, where the
  // built-in needs a cast: chosen over it, were the writer's schema searched when those are created
  db.exec("CREATE FUNCTION public.hijack(a text, b varchar) RETURNS text LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: text || varchar'; END $$; "
          "CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.hijack); "
          "CREATE FUNCTION public.hijack(a varchar, b text) RETURNS text LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: varchar || text'; END $$; "
          "CREATE OPERATOR public.|| (LEFTARG = varchar, RIGHTARG = text, FUNCTION = public.hijack); "
          "CREATE FUNCTION public.hijack(a name, b name) RETURNS boolean LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: name = name'; END $$; "
          "CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.hijack)");
  Store::connect(db.url())->migrate();
  const std::string job = "00000000-0000-0000-0000-0000000000d1";
  // the moves a daemon makes, and the transitions it records (its own role named, another, none)
  db.exec("INSERT INTO governance_jobs (job_id, contract_id, steps) VALUES ('" + job + "', gen_random_uuid(), '[]')");
  for (const char* status : {"RUNNING", "RUNNING", "COMPLETED"})
    db.exec(std::string("UPDATE governance_jobs SET status = '") + status + "' WHERE job_id = '" + job + "'");
  for (const char* role : {"DEFAULT", "current_user", "'someone'"})
    db.exec("INSERT INTO govjobd.governance_job_transitions (job_id, from_status, to_status, transitioned_by, "
            "recorded_by_role) VALUES ('" + job + "', 'RUNNING', 'COMPLETED', 'x', " + role + ")");
  CHECK(db.scalar("SELECT count(*) FROM govjobd.governance_job_transitions WHERE recorded_by_role = current_user") == "3");
  // a move the state machine refuses is still refused by the guard, not by the writer's function
  CHECK_THROWS_WITH(db.exec("UPDATE governance_jobs SET status = 'PENDING' WHERE job_id = '" + job + "'"),
                    Catch::Contains("terminal") && !Catch::Contains("hijacked"));
}
