// The claim with exclusive targets (queries/job_claim.sql, docs/fleet.md): jobs picked together that share a
// target, and the rows a hostile writer may leave in the queue.
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon/store/store.hpp"
#include "tests/support/hostile_rows.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::store;
using govjobd::testing::end_write;
using govjobd::testing::TestDatabase;

namespace {

JobClaimParams exclusive_claim(int limit) { return govjobd::testing::noop_claim("worker-x", limit); }

// The job's row as its writer left it: PENDING, never started or claimed, no transition recorded for it.
bool untouched(TestDatabase& db, const std::string& id) {
  return db.scalar("SELECT status = 'PENDING' AND started_at IS NULL AND claimed_by IS NULL AND lease_expires_at IS NULL "
                   "AND NOT EXISTS (SELECT 1 FROM govjobd.governance_job_transitions t WHERE t.job_id = j.job_id "
                   "AND t.to_status <> 'PENDING') FROM governance_jobs j WHERE job_id = '" + id + "'") == "t";
}

}  // namespace

TEST_CASE("exclusive targets: a claim whose oldest jobs share a target takes the next jobs in their place - the "
          "job left behind stays PENDING and holds nothing", "[store][fleet]") {
  TestDatabase db;
  // in age order: a and b share t1, then five jobs of targets of their own
  const std::vector<std::string> targets = {"t1", "t1", "t2", "t3", "t4", "t5", "t6"};
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < targets.size(); ++i)
    ids.push_back(db.scalar(
        "INSERT INTO governance_jobs (contract_id, steps, total_steps, created_at) VALUES (gen_random_uuid(), "
        "jsonb_build_array(jsonb_build_object('step_index', 0, 'step_type', 'noop', 'target', '" + targets[i] +
        "')), 1, (now() AT TIME ZONE 'UTC') + interval '1 ms' * " + std::to_string(i) + ") RETURNING job_id"));
  auto store = Store::connect(db.url());
  const auto result = store->job_claim(exclusive_claim(5));
  std::vector<std::string> claimed;
  for (const auto& job : result.jobs) claimed.push_back(job.job_id);
  CHECK(claimed == std::vector<std::string>{ids[0], ids[2], ids[3], ids[4], ids[5]});
  CHECK(result.dropped == 0);  // every slot asked for was filled
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + ids[1] + "'") == "PENDING");
  // locked by the claim and let go: its row reads as its writer left it, with no transition of govjobd's
  CHECK(untouched(db, ids[1]));
  CHECK(db.scalar("SELECT string_agg(target || '=' || (job_id = ANY ('{" + ids[0] + "," + ids[2] + "," + ids[3] + "," +
                  ids[4] + "," + ids[5] + "}'::uuid[]))::text, ' ' ORDER BY target) FROM govjobd.target_holds") ==
        "t1=true t2=true t3=true t4=true t5=true");
  // the next claim: t1 is held, so b waits; t6 is free
  const auto next = store->job_claim(exclusive_claim(5));
  REQUIRE(next.jobs.size() == 1);
  CHECK(next.jobs[0].job_id == ids[6]);
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + ids[1] + "'") == "PENDING");
}

TEST_CASE("exclusive targets with hostile rows - the poison matrix, a job of 1,000 targets of 1 kB, jobs of one "
          "target with NULL or equal created_at: every claim returns, no running job lacks a hold, each job is "
          "claimed once and none that the worker serves is left", "[store][fleet][hostile]") {
  TestDatabase db;
  db.exec("ALTER TABLE governance_jobs ALTER COLUMN created_at DROP NOT NULL");  // an adopted table may allow it
  const auto poison = govjobd::testing::insert_poison_matrix(db);
  // the route's limits: 1,000 steps, targets of 1,024 bytes; the next job shares its first target
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps) SELECT gen_random_uuid(), "
          "jsonb_agg(jsonb_build_object('step_index', g - 1, 'step_type', 'noop', 'target', rpad('big' || g, 1024, 'x'))), "
          "1000 FROM generate_series(1, 1000) g");
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps) VALUES (gen_random_uuid(), "
          "jsonb_build_array(jsonb_build_object('step_index', 0, 'step_type', 'noop', 'target', rpad('big1', 1024, 'x'))), 1)");
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps, created_at) SELECT gen_random_uuid(), "
          "'[{\"step_index\":0,\"step_type\":\"noop\",\"target\":\"same\"}]', 1, "
          "CASE WHEN g <= 2 THEN NULL ELSE timestamp '2020-01-01' END FROM generate_series(1, 5) g");
  REQUIRE(poison.size() > 50);

  auto store = Store::connect(db.url());
  JobClaimParams claim = exclusive_claim(7);
  std::set<std::string> claimed;
  bool drained = false;
  for (int round = 0; round < 500 && !drained; ++round) {
    const auto result = store->job_claim(claim);
    for (const auto& [id, message] : result.unclaimable) claim.excluded.push_back(id);
    CHECK(static_cast<int>(result.jobs.size()) <= 7);
    // every target of every RUNNING job is held by that job (the key allows one holder)
    CHECK(db.scalar("SELECT count(*) FROM governance_jobs j CROSS JOIN LATERAL unnest(j.route_targets) t "
                    "WHERE j.status = 'RUNNING' AND NOT EXISTS (SELECT 1 FROM govjobd.target_holds h "
                    "WHERE h.target = t AND h.job_id = j.job_id)") == "0");
    std::vector<JobWrite> ends;
    for (const auto& job : result.jobs) {
      CHECK(claimed.insert(job.job_id).second);
      ends.push_back(end_write(job.job_id, "worker-x", "FAILED", "Step 0 failed: ended by the test"));
    }
    if (!ends.empty()) store->job_write_batch(ends);
    drained = result.jobs.empty() && result.unclaimable.empty();
  }
  CHECK(drained);
  CHECK(db.scalar("SELECT count(*) FROM govjobd.target_holds") == "0");
  // what is left PENDING is what this worker does not serve (another step type), or a row it failed on alone
  std::string excluded = "{";
  for (const auto& id : claim.excluded) excluded += (excluded.size() > 1 ? "," : "") + id;
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'PENDING' AND (route_step_types IS NULL "
                  "OR route_step_types <@ ARRAY['noop']) AND job_id <> ALL ('" + excluded + "}'::uuid[])") == "0");
  CHECK(claimed.size() > 50);
}
