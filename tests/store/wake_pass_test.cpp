// The pass of a new job's wake (queries/job_wake_pass.sql) and the release's NOTIFY (migration 0013), with
// the rows a hostile writer may leave: a malformed job has no route and is passed on as before.
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "daemon/store/store.hpp"
#include "tests/support/test_database.hpp"

using govjobd::testing::TestDatabase;

namespace {

struct Payloads : pqxx::notification_receiver {
  using notification_receiver::notification_receiver;
  std::vector<std::string> seen;
  void operator()(const std::string& payload, int) override { seen.push_back(payload); }
};

// What arrived on govjobd_jobs since the last call (waits up to 2 s for the first, then 200 ms for more).
std::vector<std::string> arrived(pqxx::connection& listener, Payloads& payloads) {
  for (int i = 0; i < 20 && payloads.seen.empty(); ++i) listener.await_notification(0, 100'000);
  listener.await_notification(0, 200'000);
  return std::exchange(payloads.seen, {});
}

std::string insert(TestDatabase& db, const std::string& steps) {
  return db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '" + steps + "') RETURNING job_id");
}

}  // namespace

TEST_CASE("a wake's pass records a job whose target is held on the hold and the release NOTIFYs it - a malformed "
          "job and a free one are passed on, a taken one wakes nobody", "[fleet]") {
  TestDatabase db;
  auto store = govjobd::store::Store::connect(db.url());
  const std::string ledger = R"([{"step_index":0,"step_type":"noop","target":"ledger"}])";
  const auto holder = insert(db, ledger);
  db.exec("UPDATE governance_jobs SET status = 'RUNNING', claimed_by = 'w' WHERE job_id = '" + holder + "'");
  db.exec("INSERT INTO govjobd.target_holds (target, job_id, held_by) VALUES ('ledger', '" + holder + "', 'w')");
  const auto waiting = insert(db, ledger);
  const auto free = insert(db, R"([{"step_index":0,"step_type":"noop","target":"other"}])");
  const auto malformed = insert(db, R"("oops")");
  pqxx::connection listener(db.url());
  Payloads payloads(listener, "govjobd_jobs");
  arrived(listener, payloads);  // the inserts' own NOTIFYs

  store->job_wake_pass(waiting, waiting + " 1");
  CHECK(arrived(listener, payloads).empty());
  CHECK(db.scalar("SELECT waiting_job::text FROM govjobd.target_holds WHERE target = 'ledger'") == waiting);
  store->job_wake_pass(free, free + " 1");
  CHECK(arrived(listener, payloads) == std::vector<std::string>{free + " 1"});
  store->job_wake_pass(malformed, malformed + " 1");
  CHECK(arrived(listener, payloads) == std::vector<std::string>{malformed + " 1"});
  db.exec("UPDATE governance_jobs SET status = 'RUNNING', claimed_by = 'w' WHERE job_id = '" + free + "'");
  store->job_wake_pass(free, free + " 1");
  CHECK(arrived(listener, payloads).empty());

  // the holder ends outside govjobd's end statement: the sweep of stray holds releases it and wakes the job
  db.exec("UPDATE governance_jobs SET status = 'FAILED', status_reason = 'x' WHERE job_id = '" + holder + "'");
  CHECK(store->target_holds_release() == 1);
  CHECK(arrived(listener, payloads) == std::vector<std::string>{waiting});
}
