// A job row another session holds locked (the creating system's open transaction): the daemon's writes and
// heartbeat pass it over instead of waiting, and the reaper leaves it to its live owner.
#include <chrono>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "daemon/store/store.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::store;
using govjobd::testing::end_write;
using govjobd::testing::outcomes;
using govjobd::testing::TestDatabase;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const json kLockSteps = json::parse(R"([{"step_index":0,"step_type":"noop","target":"a","parameters":{},"timeout_seconds":30}])");

JobClaimParams claim_two() {
  JobClaimParams p;
  p.worker_id = "worker-a";
  p.limit = 2;
  p.lease = 30s;
  p.step_types = {"noop"};
  p.exclusive_targets = false;  // the jobs share a target
  return p;
}

std::string lease_left(TestDatabase& db, const std::string& job) {
  return db.scalar("SELECT lease_expires_at > (now() AT TIME ZONE 'UTC') + interval '50 s' FROM governance_jobs "
                   "WHERE job_id = '" + job + "'");
}

}  // namespace

TEST_CASE("a job row locked by another session: its write is told Locked at once and the others land, the "
          "heartbeat renews the other leases, and the reaper leaves the job to its live owner", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  store->set_timeouts({.statement = 20s, .lock = 2s});  // a wait for the lock: 55P03 after 2 s, not an answer
  store->worker_register("worker-a", "host", 1, "test", {});
  store->worker_register("reaper", "host", 2, "test", {});
  store->job_enqueue({"50000000-0000-0000-0000-000000000001", kLockSteps, 60, "tester"});
  store->job_enqueue({"50000000-0000-0000-0000-000000000002", kLockSteps, 60, "tester"});
  const auto claimed = store->job_claim(claim_two()).jobs;
  REQUIRE(claimed.size() == 2);
  const std::string locked = claimed[0].job_id, free = claimed[1].job_id;

  pqxx::connection creator(db.url());
  pqxx::work hold(creator);
  hold.exec("SELECT 1 FROM governance_jobs WHERE job_id = '" + locked + "' FOR UPDATE");

  const auto written = store->job_write_batch({end_write(locked, "worker-a", "COMPLETED", "All steps completed successfully"),
                                               end_write(free, "worker-a", "COMPLETED", "All steps completed successfully")});
  CHECK(outcomes(written) == std::vector<WriteOutcome>{WriteOutcome::Locked, WriteOutcome::Applied});
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + locked + "'") == "RUNNING");
  // a locked row that is not this worker's: fenced, as unlocked
  CHECK(outcomes(store->job_write_batch({end_write(locked, "worker-b", "COMPLETED", "All steps completed successfully")})) ==
        std::vector<WriteOutcome>{WriteOutcome::Fenced});

  // a heartbeat 60 s long renews what it can reach and records both as its own
  store->job_enqueue({"50000000-0000-0000-0000-000000000003", kLockSteps, 60, "tester"});
  const auto third = store->job_claim(claim_two()).jobs;
  REQUIRE(third.size() == 1);
  CHECK(store->worker_heartbeat({"worker-a", {locked, third[0].job_id}, 60s, std::nullopt, false, std::nullopt, {}}).worker_known);
  CHECK(lease_left(db, third[0].job_id) == "t");
  CHECK(lease_left(db, locked) == "f");
  CHECK(db.scalar("SELECT array_length(running_jobs, 1) FROM govjobd_workers WHERE worker_id = 'worker-a'") == "2");

  hold.commit();
  // the lease ran out while the row was locked; its owner's heartbeat is fresh and lists it: not lost
  db.exec("UPDATE governance_jobs SET lease_expires_at = (now() AT TIME ZONE 'UTC') - interval '5 s' WHERE job_id = '" +
          locked + "'");
  db.exec("UPDATE govjobd_workers SET alive_since = (now() AT TIME ZONE 'UTC') - interval '60 s' WHERE worker_id = 'reaper'");
  auto reap = [&] {
    return store->job_reap({.worker_id = "reaper", .lease = 30s, .hold = 60s, .limit = 10}, [](const LostJob&) {
      ReapDecision d;
      d.reason = "worker worker-a lost";
      return d;
    });
  };
  CHECK(reap() == 0);
  // an owner silent for a lease (killed): its list no longer protects the job
  db.exec("UPDATE govjobd_workers SET heartbeat_at = (now() AT TIME ZONE 'UTC') - interval '31 s' WHERE worker_id = 'worker-a'");
  CHECK(reap() == 1);
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + locked + "'") == "FAILED");
  // an owner that stopped: its list is cleared, and so is a restarted owner's
  db.exec("UPDATE governance_jobs SET lease_expires_at = (now() AT TIME ZONE 'UTC') - interval '5 s' WHERE job_id = '" +
          third[0].job_id + "'");
  store->worker_register("worker-a", "host", 3, "test", {});
  CHECK(db.scalar("SELECT running_jobs IS NULL FROM govjobd_workers WHERE worker_id = 'worker-a'") == "t");
  CHECK(reap() == 1);
  store->worker_stop("worker-a");
  CHECK(db.scalar("SELECT running_jobs IS NULL AND stopped_at IS NOT NULL FROM govjobd_workers WHERE worker_id = 'worker-a'") == "t");
}

TEST_CASE("a batch joined with the next claim passes a locked row over too: the claim is made", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  store->set_timeouts({.statement = 20s, .lock = 2s});
  store->job_enqueue({"50000000-0000-0000-0000-000000000011", kLockSteps, 60, "tester"});
  store->job_enqueue({"50000000-0000-0000-0000-000000000012", kLockSteps, 60, "tester"});
  store->job_enqueue({"50000000-0000-0000-0000-000000000013", kLockSteps, 60, "tester"});
  const auto claimed = store->job_claim(claim_two()).jobs;
  REQUIRE(claimed.size() == 2);
  pqxx::connection creator(db.url());
  pqxx::work hold(creator);
  hold.exec("SELECT 1 FROM governance_jobs WHERE job_id = '" + claimed[0].job_id + "' FOR UPDATE");
  JobClaimParams next = claim_two();
  next.limit = 1;
  const auto out = store->job_write_and_claim(
      {end_write(claimed[0].job_id, "worker-a", "COMPLETED", "All steps completed successfully"),
       end_write(claimed[1].job_id, "worker-a", "COMPLETED", "All steps completed successfully")}, next);
  CHECK(outcomes(out.writes) == std::vector<WriteOutcome>{WriteOutcome::Locked, WriteOutcome::Applied});
  CHECK_FALSE(out.claim_error);
  CHECK(out.claim.jobs.size() == 1);
  hold.commit();
  CHECK(outcomes(store->job_write_batch({end_write(claimed[0].job_id, "worker-a", "COMPLETED",
                                                   "All steps completed successfully")})) ==
        std::vector<WriteOutcome>{WriteOutcome::Applied});
}
