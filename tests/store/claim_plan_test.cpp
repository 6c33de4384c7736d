// How the claim is planned (store_claim.cpp): one generic plan per connection that walks the PENDING index
// whatever the statistics say, a custom plan for a claim of one job by its id, and no JIT on any session.
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "daemon/store/store.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::store;
using govjobd::testing::end_write;
using govjobd::testing::TestDatabase;

namespace {

constexpr const char* kSettingsSeen = R"SQL(
CREATE TABLE settings_seen (seen_id bigserial PRIMARY KEY, to_status text, jit text, plan_cache_mode text,
                            enable_sort text, enable_seqscan text);
CREATE FUNCTION record_settings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.settings_seen (to_status, jit, plan_cache_mode, enable_sort, enable_seqscan)
  VALUES (NEW.to_status, current_setting('jit'), current_setting('plan_cache_mode'), current_setting('enable_sort'),
          current_setting('enable_seqscan'));
  RETURN NEW;
END $$;
CREATE TRIGGER record_settings AFTER INSERT ON govjobd.governance_job_transitions
  FOR EACH ROW EXECUTE FUNCTION record_settings();
)SQL";

// The settings the statement that wrote each transition ran with, in order: "to_status jit mode sort seqscan".
std::vector<std::string> settings_seen(TestDatabase& db) {
  std::vector<std::string> out;
  pqxx::nontransaction n(db.sql());
  for (const auto& r : n.exec("SELECT concat_ws(' ', to_status, jit, plan_cache_mode, enable_sort, enable_seqscan) "
                              "FROM settings_seen ORDER BY seen_id"))
    out.emplace_back(r[0].c_str());
  return out;
}

void enqueue(TestDatabase& db, int count, const std::string& target_sql) {
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps) SELECT gen_random_uuid(), "
          "jsonb_build_array(jsonb_build_object('step_index', 0, 'step_type', 'noop', 'target', " +
          target_sql + ", 'parameters', '{}'::jsonb)), 1 FROM generate_series(1, " + std::to_string(count) + ") g");
}

JobClaimParams claim_of(int limit) { return govjobd::testing::noop_claim("worker-a", limit); }

// The jobs table's statistics as the cluster has them: heap blocks read or hit, rows inserted and updated.
struct TableStats {
  long long blocks = 0, inserted = 0, updated = 0;
};
TableStats table_stats(TestDatabase& db) {
  pqxx::nontransaction n(db.sql());
  n.exec("SELECT pg_stat_clear_snapshot()");
  const auto r = n.exec1(
      "SELECT coalesce(io.heap_blks_read, 0) + coalesce(io.heap_blks_hit, 0), t.n_tup_ins, t.n_tup_upd "
      "FROM pg_statio_user_tables io JOIN pg_stat_user_tables t USING (relid) WHERE io.relname = 'governance_jobs'");
  return {r[0].as<long long>(), r[1].as<long long>(), r[2].as<long long>()};
}

// Waits (at most 30 s) until the jobs table's counts show `ready`: a session's counts reach the views when it ends.
template <typename Ready>
TableStats stats_once(TestDatabase& db, Ready ready) {
  for (int i = 0; i < 300; ++i) {
    const auto s = table_stats(db);
    if (ready(s)) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("the jobs table's statistics did not arrive within 30 s");
  return {};
}

// Index entries read on the jobs table so far, all its indexes (counted with the table's statistics).
long long index_entries_read(TestDatabase& db) {
  return std::stoll(db.scalar("SELECT sum(idx_tup_read) FROM pg_stat_user_indexes WHERE relname = 'governance_jobs'"));
}

// A fleet as an ANALYZE of a fresh queue leaves it: `queued` jobs analysed while all PENDING, so the statistics
// count no RUNNING row, then `running` of them claimed by another daemon (worker-b). Autovacuum off: nothing
// analyses the table again.
void others_running(TestDatabase& db, int queued, int running) {
  db.exec("ALTER TABLE governance_jobs SET (autovacuum_enabled = false)");
  enqueue(db, queued, "'t' || g");
  db.exec("ANALYZE governance_jobs");
  auto store = Store::connect(db.url());
  REQUIRE(store->job_claim(govjobd::testing::noop_claim("worker-b", running)).jobs.size() == static_cast<std::size_t>(running));
}

}  // namespace

TEST_CASE("a claim of the oldest jobs runs its generic plan, a claim of one job its own, and no session compiles JIT",
          "[store]") {
  TestDatabase db;
  db.exec(kSettingsSeen);
  // a database that would compile every statement: the daemon's sessions do not
  db.exec("ALTER DATABASE " + db.name() + " SET jit = on");
  db.exec("ALTER DATABASE " + db.name() + " SET jit_above_cost = 0");
  enqueue(db, 4, "'t' || g");
  auto store = Store::connect(db.url());
  const auto first = store->job_claim(claim_of(2)).jobs;
  REQUIRE(first.size() == 2);
  // the ends, then the next claim, in one message: the writes plan as they always did, the claim as a claim
  const auto joined = store->job_write_and_claim(
      {end_write(first[0].job_id, "worker-a", "COMPLETED", "All steps completed successfully")}, claim_of(1));
  REQUIRE(joined.claim.jobs.size() == 1);
  JobClaimParams one = claim_of(1);
  one.only = db.scalar("SELECT job_id FROM governance_jobs WHERE status = 'PENDING'");
  REQUIRE(store->job_claim(one).jobs.size() == 1);
  REQUIRE(store->job_write_batch({end_write(first[1].job_id, "worker-a", "COMPLETED", "All steps completed successfully")})
              .at(0)
              .outcome == WriteOutcome::Applied);
  CHECK(settings_seen(db) == std::vector<std::string>{
                                 "RUNNING off force_generic_plan off off", "RUNNING off force_generic_plan off off",
                                 "COMPLETED off auto on on", "RUNNING off force_generic_plan off off",
                                 "RUNNING off force_custom_plan on on", "COMPLETED off auto on on"});
}

TEST_CASE("claims read the queue through its index while the statistics still say the table is empty", "[store]") {
  TestDatabase db;
  // analysed empty, then 100,000 jobs before any ANALYZE (autovacuum's would come within a minute)
  db.exec("ANALYZE governance_jobs");
  db.exec("ALTER TABLE governance_jobs SET (autovacuum_enabled = false)");
  constexpr int kJobs = 100'000;
  enqueue(db, kJobs, "'t' || (g % 100)");
  db.reset_connection();  // its counts reach the views
  const auto before = stats_once(db, [](const TableStats& s) { return s.inserted >= kJobs; });
  const long long pages = std::stoll(db.scalar("SELECT pg_relation_size('governance_jobs') / 8192"));
  REQUIRE(pages > 1000);
  long long claimed = 0;
  {
    auto store = Store::connect(db.url());
    for (int i = 0; i < 10; ++i) claimed += static_cast<long long>(store->job_claim(claim_of(4)).jobs.size());
  }
  REQUIRE(claimed >= 30);  // two picked jobs may share a target: a claim may get fewer than it asked for
  const auto after = stats_once(db, [&](const TableStats& s) { return s.updated >= before.updated + claimed; });
  // A claim that sorted the PENDING jobs read every page of the table, ten times over; the index walk reads
  // the pages of the jobs it claims and a few more.
  CHECK(after.blocks - before.blocks < pages);
}

TEST_CASE("a write batch reads each of its jobs by its key, however many RUNNING jobs the fleet has", "[store]") {
  TestDatabase db;
  constexpr int kOthers = 500;
  others_running(db, 5'000, kOthers);
  auto store = Store::connect(db.url());
  enqueue(db, 10, "'mine' || g");
  const auto mine = store->job_claim(claim_of(10)).jobs;
  REQUIRE(mine.size() == 10);
  db.reset_connection();
  store.reset();  // the sessions' counts reach the views when they end
  const auto before = stats_once(db, [](const TableStats& s) { return s.updated >= kOthers + 10; });
  const long long read_before = index_entries_read(db);
  {
    auto writer = Store::connect(db.url());
    std::vector<JobWrite> ends;
    for (const auto& job : mine) ends.push_back(end_write(job.job_id, "worker-a", "COMPLETED", "All steps completed successfully"));
    for (const auto& outcome : writer->job_write_batch(ends)) CHECK(outcome.outcome == WriteOutcome::Applied);
  }
  stats_once(db, [&](const TableStats& s) { return s.updated >= before.updated + 10; });
  // Ten rows by their key: a few entries each. The statistics counting no RUNNING row, the planner read all
  // 510 RUNNING entries into a hash join instead (or, told not to use that index, the whole table).
  CHECK(index_entries_read(db) - read_before < 100);
}

TEST_CASE("a reap reads each lost job by its key, however many RUNNING jobs the fleet has", "[store]") {
  TestDatabase db;
  others_running(db, 2'000, 500);
  Store::connect(db.url())->worker_register("reaper", "host", 2, "test");
  // eight of them lost with their daemon (more than the five custom plans a prepared statement starts with)
  db.exec("UPDATE govjobd_workers SET alive_since = (now() AT TIME ZONE 'UTC') - interval '60 s' WHERE worker_id = 'reaper'");
  db.exec("UPDATE governance_jobs SET lease_expires_at = (now() AT TIME ZONE 'UTC') - interval '5 s' "
          "WHERE job_id IN (SELECT job_id FROM governance_jobs WHERE claimed_by = 'worker-b' LIMIT 8)");
  db.reset_connection();
  const auto before = stats_once(db, [](const TableStats& s) { return s.updated >= 508; });
  const long long read_before = index_entries_read(db);
  {
    auto reaper = Store::connect(db.url());
    CHECK(reaper->job_reap({.worker_id = "reaper", .lease = std::chrono::seconds(30), .hold = std::chrono::seconds(60)},
                           [](const LostJob&) {
                             ReapDecision d;
                             d.reason = "worker worker-b lost";
                             return d;
                           }) == 8);
  }
  stats_once(db, [&](const TableStats& s) { return s.updated >= before.updated + 8; });
  // The candidates' one scan of the RUNNING rows (about 500 entries), then the eight through their key. With
  // `status = 'RUNNING'` an index on the status, the key a filter, each reap read all 500 again: 4,588 in all.
  CHECK(index_entries_read(db) - read_before < 1'500);
}

TEST_CASE("results a writer left in jobs another claim holds are never expanded by a claim", "[store]") {
  TestDatabase db;
  // three PENDING jobs whose step_results are large (stored out of line), held by another session's lock
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps, created_at, step_results) "
          "SELECT gen_random_uuid(), '[{\"step_index\": 0, \"step_type\": \"noop\", \"target\": \"t\", \"parameters\": {}}]', "
          "1, now() AT TIME ZONE 'UTC' - interval '1 hour', (SELECT jsonb_agg(jsonb_build_object('step_index', i, "
          "'pad', md5(i::text))) FROM generate_series(1, 20000) i) FROM generate_series(1, 3)");
  enqueue(db, 5, "'t' || g");
  const auto toast_blocks = [&] {
    return std::stoll(db.scalar("SELECT coalesce(toast_blks_read, 0) + coalesce(toast_blks_hit, 0) "
                                "FROM pg_statio_user_tables WHERE relname = 'governance_jobs'"));
  };
  pqxx::connection other(db.url());
  pqxx::work hold(other);
  REQUIRE(hold.exec("SELECT job_id FROM governance_jobs WHERE step_results <> '[]' FOR UPDATE").size() == 3);
  const auto before = stats_once(db, [](const TableStats&) { return true; });
  const long long toast_before = toast_blocks();
  {
    auto store = Store::connect(db.url());  // its counts reach the views when its session ends
    REQUIRE(store->job_claim(claim_of(10)).jobs.size() == 5);
  }
  stats_once(db, [&](const TableStats& s) { return s.updated >= before.updated + 5; });
  // the held rows were read for their stored size only; expanded, each would read its value's every chunk
  CHECK(toast_blocks() - toast_before < 10);
}
