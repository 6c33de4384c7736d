// What a claim and a write cost PostgreSQL beyond their rows (migration 0014): no function body planned per
// statement, no guard function called for a daemon's own rows, and the same rules as before.
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "daemon/store/store.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::store;
using govjobd::testing::end_write;
using govjobd::testing::outcomes;
using govjobd::testing::TestDatabase;

namespace {

// The calls of a PL/pgSQL function of the schema govjobd recorded so far (track_functions = pl).
long long function_calls(TestDatabase& db, const std::string& name) {
  pqxx::nontransaction n(db.sql());
  n.exec("SELECT pg_stat_clear_snapshot()");
  return n.exec1("SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE schemaname = 'govjobd' AND funcname = " +
                 n.quote(name))[0]
      .as<long long>();
}

// Waits (at most 30 s) until `name` has been called `at_least` times: a session's counts reach the view when
// it ends.
bool calls_reach(TestDatabase& db, const std::string& name, long long at_least) {
  for (int i = 0; i < 300; ++i) {
    if (function_calls(db, name) >= at_least) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string plan_of(TestDatabase& db, const std::string& query) {
  pqxx::nontransaction n(db.sql());
  std::string out;
  for (const auto& row : n.exec("EXPLAIN (VERBOSE, COSTS OFF) " + query)) out += std::string(row[0].c_str()) + "\n";
  return out;
}

}  // namespace

TEST_CASE("the routing rules are inlined where they are used and decide as before", "[store]") {
  TestDatabase db;
  const std::string jobs = "FROM governance_jobs j WHERE ";
  const std::string serves = "govjobd.serves(j.route_step_types, j.route_targets, j.pool, ARRAY['noop'], ARRAY['web-*'], ARRAY['p'])";
  const std::string pause = "govjobd.pause_matches('noop', 'web-?', NULL, j.route_step_types, j.route_targets, j.pool)";
  // a function call left in the plan is a body planned again by every statement that runs it
  CHECK_THAT(plan_of(db, "SELECT 1 " + jobs + serves), !Catch::Contains("serves("));
  CHECK_THAT(plan_of(db, "SELECT 1 " + jobs + pause), !Catch::Contains("pause_matches("));

  const auto decides = [&](const std::string& call) { return db.scalar("SELECT " + call); };
  // serves: every step type served, every target matching a glob ('*' any), the pool served or none
  CHECK(decides("govjobd.serves('{noop}', '{web-1,web-22}', NULL, '{noop,sleep}', '{web-*}', '{}')") == "t");
  CHECK(decides("govjobd.serves('{noop}', '{web-1,db-1}', NULL, '{noop}', '{web-*}', '{}')") == "f");
  CHECK(decides("govjobd.serves('{noop}', '{web-1,db-1}', NULL, '{noop}', '{web-*,db-?}', '{}')") == "t");
  CHECK(decides("govjobd.serves('{noop}', '{anything}', NULL, '{noop}', '{*}', '{}')") == "t");
  CHECK(decides("govjobd.serves('{noop,exec}', '{web-1}', NULL, '{noop}', '{*}', '{}')") == "f");
  CHECK(decides("govjobd.serves('{noop}', '{web-1}', 'p', '{noop}', '{*}', '{}')") == "f");
  CHECK(decides("govjobd.serves('{noop}', '{web-1}', 'p', '{noop}', '{*}', '{p}')") == "t");
  CHECK(decides("govjobd.serves('{noop}', '{}', NULL, '{noop}', '{web-*}', '{}')") == "t");
  // one target and one glob, decided without a call
  CHECK(decides("govjobd.serves('{noop}', '{web-1}', NULL, '{noop}', '{web-*}', '{}')") == "t");
  CHECK(decides("govjobd.serves('{noop}', '{db-1}', NULL, '{noop}', '{web-*}', '{}')") == "f");
  CHECK(decides("govjobd.serves('{noop}', '[2:2]={web-1}', NULL, '{noop}', '[5:5]={web-?}', '{}')") == "t");
  CHECK(decides("govjobd.serves('{noop}', '{web-1}', NULL, '{noop}', '{NULL}', '{}')") == "f");
  CHECK(decides("govjobd.serves('{noop}', '{NULL}', NULL, '{noop}', '{web-*}', '{}')") == "f");
  CHECK(decides("govjobd.serves('{noop}', '{web%1}', NULL, '{noop}', '{web_1}', '{}')") == "f");  // LIKE's own are literal
  CHECK(decides("govjobd.serves(NULL, '{web-1}', NULL, '{noop}', '{*}', '{}')") == "f");
  // pause_matches: each filter NULL (any) or matching; a target filter matches when one target matches
  CHECK(decides("govjobd.pause_matches(NULL, NULL, NULL, '{noop}', '{web-1}', NULL)") == "t");
  CHECK(decides("govjobd.pause_matches(NULL, 'db-*', NULL, '{noop}', '{web-1,db-2}', NULL)") == "t");
  CHECK(decides("govjobd.pause_matches(NULL, 'db-*', NULL, '{noop}', '{web-1}', NULL)") == "f");
  CHECK(decides("govjobd.pause_matches(NULL, 'db-*', NULL, NULL, NULL, NULL)") == "f");  // a malformed job
  CHECK(decides("govjobd.pause_matches('exec', NULL, NULL, '{noop}', '{web-1}', NULL)") == "f");
  CHECK(decides("govjobd.pause_matches(NULL, NULL, 'p', '{noop}', '{web-1}', 'p')") == "t");
}

TEST_CASE("a daemon's claims and writes call no guard function, a writer's rows still go through them", "[store]") {
  TestDatabase db;
  db.exec("ALTER DATABASE " + db.name() + " SET track_functions = 'pl'");
  {
    pqxx::connection writer(db.login_as("writer", "govjobd_writer"));
    pqxx::nontransaction(writer).exec(
        "INSERT INTO governance_jobs (contract_id, steps, total_steps) SELECT gen_random_uuid(), "
        "'[{\"step_index\":0,\"step_type\":\"noop\",\"target\":\"web-1\",\"parameters\":{}}]', 1 FROM generate_series(1, 2)");
  }
  {
    auto store = Store::connect(db.login_as("daemon", "govjobd_daemon"));
    JobClaimParams claim;
    claim.worker_id = "worker-a";
    claim.limit = 2;
    claim.step_types = {"noop"};
    claim.exclusive_targets = false;  // the two share a target
    claim.targets = {"web-*", "db-*"};  // two globs: the claim calls targets_all_match, which shows this session's counts arrived
    const auto claimed = store->job_claim(claim).jobs;
    REQUIRE(claimed.size() == 2);
    std::vector<JobWrite> ends;
    for (const auto& job : claimed) ends.push_back(end_write(job.job_id, "worker-a", "COMPLETED", "All steps completed successfully"));
    const auto out = store->job_write_and_claim(ends, claim);
    REQUIRE(out.writes.size() == 2);
    CHECK(outcomes(out.writes) == std::vector<WriteOutcome>{WriteOutcome::Applied, WriteOutcome::Applied});
  }
  REQUIRE(calls_reach(db, "targets_all_match", 2));
  REQUIRE(calls_reach(db, "govjobd_guard_writer", 2));  // the writer's two rows
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(function_calls(db, "govjobd_guard_writer") == 2);
  CHECK(function_calls(db, "govjobd_guard_job_status") == 0);  // two claims and two ends, all valid moves
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'") == "2");

  // the guards' WHEN clauses let through nothing the functions refused: a writer's update of a RUNNING job, and
  // anyone's change of a terminal one
  db.exec("INSERT INTO governance_jobs (contract_id, status, steps, total_steps) VALUES (gen_random_uuid(), 'PENDING', '[]', 0)");
  // the creating system's own role, which may update its table (govjobd_writer may not)
  pqxx::connection writer(db.login_as("creator", "govjobd_writer"));
  db.exec("GRANT UPDATE ON governance_jobs TO " + db.name() + "_creator");
  CHECK_THROWS_WITH(pqxx::nontransaction(writer).exec("UPDATE governance_jobs SET status_reason = 'x' WHERE status = 'COMPLETED'"),
                    Catch::Contains("(terminal) and cannot be changed"));
  CHECK_THROWS_WITH(pqxx::nontransaction(writer).exec("UPDATE governance_jobs SET status = 'RUNNING' WHERE status = 'PENDING'"),
                    Catch::Contains("may change only a PENDING job's own description"));
  CHECK_THROWS_WITH(db.exec("UPDATE governance_jobs SET status = 'COMPLETED' WHERE status = 'PENDING'"),
                    Catch::Contains("invalid status transition PENDING -> COMPLETED"));
  CHECK_THROWS_WITH(db.exec("INSERT INTO governance_jobs (contract_id, status) VALUES (gen_random_uuid(), 'DONE')"),
                    Catch::Contains("unknown status"));
}

TEST_CASE("what a daemon writes that PostgreSQL compresses is compressed with lz4 when the server has it", "[store]") {
  TestDatabase db;
  REQUIRE(db.scalar("SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'") == "t");
  auto store = Store::connect(db.url());
  store->job_enqueue({"60000000-0000-0000-0000-000000000001",
                      nlohmann::json::parse(R"([{"step_index":0,"step_type":"noop","target":"a","parameters":{}}])"), 60,
                      "tester"});
  JobClaimParams claim;
  claim.worker_id = "worker-a";
  claim.limit = 1;
  claim.step_types = {"noop"};
  const auto claimed = store->job_claim(claim).jobs;
  REQUIRE(claimed.size() == 1);
  JobWrite end = end_write(claimed[0].job_id, "worker-a", "COMPLETED", "All steps completed successfully");
  end.evidence = nlohmann::json{{"final_status", "COMPLETED"}, {"notes", std::string(8000, 'x')}};  // past the row's 2 kB
  REQUIRE(store->job_write_batch({end}).at(0).outcome == WriteOutcome::Applied);
  CHECK(db.scalar("SELECT pg_column_compression(execution_evidence) FROM governance_jobs WHERE job_id = '" + end.job_id + "'") ==
        "lz4");
  CHECK(db.scalar("SELECT execution_evidence ->> 'final_status' FROM governance_jobs WHERE job_id = '" + end.job_id + "'") ==
        "COMPLETED");
}
