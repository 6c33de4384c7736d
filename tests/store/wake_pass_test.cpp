// The pass of a new job's wake (queries/job_wake_pass.sql) and the release's NOTIFY (migration 0013), with
// the rows a hostile writer may leave: a malformed job has no route and is passed on as before. A NOTIFY queue
// that a session which listens and does not read holds: how full it is, as the status and the heartbeat read it.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "daemon/store/store.hpp"
#include "tests/support/test_database.hpp"

using govjobd::testing::HeldNotifyQueue;
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

constexpr const char* kLedger = R"([{"step_index":0,"step_type":"noop","target":"ledger"}])";

// A RUNNING job of worker "w" that holds target "ledger": its job_id.
std::string ledger_holder(TestDatabase& db) {
  const auto holder = insert(db, kLedger);
  db.exec("UPDATE governance_jobs SET status = 'RUNNING', claimed_by = 'w' WHERE job_id = '" + holder + "'");
  db.exec("INSERT INTO govjobd.target_holds (target, job_id, held_by) VALUES ('ledger', '" + holder + "', 'w')");
  return holder;
}

// A database where one job holds "ledger" and another, inserted after it, waits for it.
struct HeldLedger {
  TestDatabase db;
  std::unique_ptr<govjobd::store::Store> store = govjobd::store::Store::connect(db.url());
  std::string holder = ledger_holder(db);
  std::string waiting = insert(db, kLedger);
};

}  // namespace

TEST_CASE("a wake's pass records a job whose target is held on the hold and the release NOTIFYs it - a malformed "
          "job and a free one are passed on, a taken one wakes nobody", "[fleet]") {
  HeldLedger held;
  auto& [db, store, holder, waiting] = held;
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

TEST_CASE("a hold whose RUNNING job a superuser deleted is released by the sweep, which wakes the job it kept "
          "waiting (migration 0019)", "[fleet]") {
  HeldLedger held;
  auto& [db, store, holder, waiting] = held;
  pqxx::connection listener(db.url());
  Payloads payloads(listener, "govjobd_jobs");
  arrived(listener, payloads);
  store->job_wake_pass(waiting, waiting + " 1");  // recorded on the hold: no NOTIFY
  CHECK(arrived(listener, payloads).empty());

  // the test database's role is a superuser: the writer's guard lets it delete a RUNNING job
  db.exec("DELETE FROM governance_jobs WHERE job_id = '" + holder + "'");
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE job_id = '" + holder + "'") == "0");
  CHECK(store->target_holds_release() == 1);
  CHECK(db.scalar("SELECT count(*) FROM govjobd.target_holds") == "0");
  CHECK(arrived(listener, payloads) == std::vector<std::string>{waiting});
}

TEST_CASE("the queue's status reads how full PostgreSQL's NOTIFY queue is: a session that listens and stays in a "
          "transaction holds it, and so does the heartbeat", "[store]") {
  TestDatabase db;
  auto store = govjobd::store::Store::connect(db.login_as("notify_gauge", "govjobd_daemon"));
  HeldNotifyQueue queue(db.url());
  // `govjobd status`'s reading, and the heartbeat's (the daemon's gauge)
  const double usage = store->fleet_status({}).notify_queue_usage;
  INFO("usage " << usage);
  CHECK(usage > 0.0015);
  CHECK(usage < 0.01);
  store->worker_register("gauge", "h", 1, "v");
  govjobd::store::WorkerHeartbeatParams beat_params;
  beat_params.worker_id = "gauge";
  const double beat = store->worker_heartbeat(beat_params).notify_queue_usage;
  CHECK(beat > 0.0015);
  CHECK(beat < 0.01);
}
