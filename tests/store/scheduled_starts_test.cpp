// Scheduled starts (migration 21, queries/jobs_window_pass.sql, docs/contract.md): a window pass parks the jobs
// whose contract window opens later, the claim of the oldest jobs walks only the others, and a parked job comes
// back when its opening comes, its window moves earlier or its contract stops being ACTIVE.
#include <chrono>
#include <thread>

#include <pqxx/pqxx>

#include <catch2/catch.hpp>

#include "config/settings.hpp"
#include "daemon/store/store.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::store;
using govjobd::testing::TestDatabase;

namespace {

const std::string kNow = "(now() AT TIME ZONE 'UTC')";

govjobd::config::ContractSettings gate(bool enabled = true) {
  govjobd::config::ContractSettings c;
  c.enabled = enabled;
  return c;
}

std::unique_ptr<Store> gated_store(TestDatabase& db, bool enabled = true) {
  return Store::connect(db.url(), "public", gate(enabled));
}

// `count` jobs created `age` ago, each with its contract row, ACTIVE, opening at `start` (an SQL expression).
void jobs_opening(TestDatabase& db, int count, const std::string& age, const std::string& start) {
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps, created_at) SELECT gen_random_uuid(), "
          "'[{\"step_index\": 0, \"step_type\": \"noop\", \"target\": \"payments\", \"parameters\": {}}]', 1, " +
          kNow + " - interval '" + age + "' FROM generate_series(1, " + std::to_string(count) + ")");
  db.exec("INSERT INTO public.system_contracts SELECT j.contract_id, 'ACTIVE', '{payments}', " + start +
          ", NULL FROM governance_jobs j WHERE NOT EXISTS (SELECT 1 FROM public.system_contracts c "
          "WHERE c.contract_id = j.contract_id)");
}

void create_contracts(TestDatabase& db) {
  db.exec("CREATE TABLE public.system_contracts (contract_id uuid PRIMARY KEY, status varchar(20) NOT NULL, "
          "affected_capabilities varchar[] NOT NULL, activation_window_start timestamp, activation_window_end timestamp)");
}

// Lookups of contract rows by their key so far, every session's (a session's counts reach the view when it ends).
long long contract_lookups(TestDatabase& db) {
  db.exec("SELECT pg_stat_clear_snapshot()");
  return std::stoll(db.scalar("SELECT coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'system_contracts'"));
}

// Waits (at most 30 s) until the lookups counted pass `at_least`.
long long lookups_past(TestDatabase& db, long long at_least) {
  for (int i = 0; i < 300; ++i) {
    if (const long long n = contract_lookups(db); n >= at_least) return n;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("the contracts table's statistics did not arrive within 30 s");
  return 0;
}

// Window passes until the list of jobs not parked was read to its end; the jobs parked in all.
long long pass_to_end(Store& store) {
  WindowPassParams p;
  long long parked = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto out = store.jobs_window_pass(p);
    parked += out.parked;
    p.ready = out.ready;
    p.parked = out.parked_next;
    if (!out.ready_full) return parked;
  }
  FAIL("the window passes never reached the end of the queue");
  return parked;
}

// The jobs all change one target: claimed side by side here (exclusive targets would take one at a time).
JobClaimParams claim_of(int limit) {
  auto claim = govjobd::testing::noop_claim("worker-a", limit);
  claim.exclusive_targets = false;
  return claim;
}

long long parked_count(TestDatabase& db) {
  return std::stoll(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'PENDING' AND window_opens_at IS NOT NULL"));
}

}  // namespace

TEST_CASE("scheduled starts a window pass parked are not walked by the claims of the oldest jobs", "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  constexpr int kScheduled = 3'000;
  jobs_opening(db, kScheduled, "1 hour", kNow + " + interval '1 day'");
  jobs_opening(db, 4, "1 minute", "NULL");
  db.exec("ANALYZE governance_jobs; ANALYZE public.system_contracts");
  const long long start = contract_lookups(db);

  // before any pass, a claim reads the contract of every scheduled job ahead of the one it takes
  gated_store(db)->job_claim(claim_of(1));
  const long long walked = lookups_past(db, start + kScheduled) - start;
  CHECK(walked >= kScheduled);

  {
    auto store = gated_store(db);
    CHECK(pass_to_end(*store) == kScheduled);
    CHECK(pass_to_end(*store) == 0);  // a pass parks a job once
  }
  CHECK(parked_count(db) == kScheduled);
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs j JOIN public.system_contracts c USING (contract_id) "
                  "WHERE j.window_opens_at = c.activation_window_start") == std::to_string(kScheduled));
  const long long after_passes = lookups_past(db, start + walked + kScheduled);

  // now a claim reads the contracts of the jobs it takes, and of none of the parked ones
  const auto claimed = gated_store(db)->job_claim(claim_of(4));
  CHECK(claimed.jobs.size() == 3);
  REQUIRE(claimed.window_opens_in);  // it says when the first parked job's window opens: in about a day
  CHECK(*claimed.window_opens_in > std::chrono::hours(23));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(contract_lookups(db) - after_passes < 100);
  CHECK(parked_count(db) == kScheduled);
}

// Reads of the parked jobs' index so far, every session's (a session's counts reach the view when it ends).
static long long parked_index_reads(TestDatabase& db) {
  db.exec("SELECT pg_stat_clear_snapshot()");
  return std::stoll(db.scalar("SELECT coalesce(idx_tup_read, 0) FROM pg_stat_user_indexes "
                              "WHERE indexrelname = 'governance_jobs_pending_parked_idx'"));
}

TEST_CASE("jobs parked for good (a window at infinity) are never read by a claim of the oldest jobs", "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  constexpr int kForGood = 100'000;
  jobs_opening(db, kForGood, "1 hour", "'infinity'");
  db.exec("UPDATE governance_jobs SET window_opens_at = 'infinity'");  // as a daemon's window pass parks them
  jobs_opening(db, 4, "1 minute", "NULL");
  db.exec("ANALYZE governance_jobs");
  const long long before = parked_index_reads(db);
  {
    const auto claimed = gated_store(db)->job_claim(claim_of(8));  // fewer than asked: it looks for an opening
    CHECK(claimed.jobs.size() == 4);
    CHECK_FALSE(claimed.window_opens_in);  // infinity never opens
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(parked_index_reads(db) - before < 1000);  // an index condition, not a filter over every entry
  CHECK(parked_count(db) == kForGood);
}

TEST_CASE("a parked job comes back when its window opens or moves earlier, or its contract stops being ACTIVE",
          "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  jobs_opening(db, 3, "1 hour", kNow + " + interval '1 day'");
  jobs_opening(db, 1, "1 minute", kNow + " + interval '2 seconds'");
  auto store = gated_store(db);
  REQUIRE(pass_to_end(*store) == 4);
  CHECK(store->job_claim(claim_of(4)).jobs.empty());

  // one window moved earlier (opened), one contract SUSPENDED: the next pass unparks both, and claims take them
  db.exec("UPDATE public.system_contracts SET activation_window_start = " + kNow + " - interval '1 second' WHERE "
          "contract_id = (SELECT contract_id FROM governance_jobs ORDER BY created_at, job_id LIMIT 1)");
  db.exec("UPDATE public.system_contracts SET status = 'SUSPENDED' WHERE contract_id = (SELECT contract_id FROM "
          "governance_jobs ORDER BY created_at, job_id OFFSET 1 LIMIT 1)");
  // a third window moved later: still parked, at its new opening
  db.exec("UPDATE public.system_contracts SET activation_window_start = activation_window_start + interval '1 day' "
          "WHERE contract_id = (SELECT contract_id FROM governance_jobs ORDER BY created_at, job_id OFFSET 2 LIMIT 1)");
  WindowPassParams p;
  const auto pass = store->jobs_window_pass(p);
  CHECK(pass.unparked == 2);
  CHECK(pass.parked == 1);  // its opening written again
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs j JOIN public.system_contracts c USING (contract_id) "
                  "WHERE j.window_opens_at = c.activation_window_start") == "2");
  const auto claimed = store->job_claim(claim_of(4));
  CHECK(claimed.jobs.size() == 2);

  // the last one's opening comes: the claim then unparks it and says to claim again at once; the next takes it
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  const auto first = store->job_claim(claim_of(4));
  CHECK(first.jobs.empty());
  REQUIRE(first.window_opens_in);
  CHECK(first.window_opens_in->count() == 0);
  CHECK(store->job_claim(claim_of(4)).jobs.size() == 1);
  CHECK(parked_count(db) == 1);
}

TEST_CASE("with the contract gate off a window pass unparks every parked job, and a claim by id takes a parked one",
          "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  jobs_opening(db, 3, "1 hour", kNow + " + interval '1 day'");
  REQUIRE(pass_to_end(*gated_store(db)) == 3);

  // a claim to end one (its deadline passed) takes it parked as it is
  auto gated = gated_store(db);
  auto forced = claim_of(1);
  forced.only = db.scalar("SELECT job_id FROM governance_jobs ORDER BY created_at, job_id LIMIT 1");
  forced.force = true;
  const auto ended = gated->job_claim(forced);
  REQUIRE(ended.jobs.size() == 1);
  CHECK(db.scalar("SELECT window_opens_at IS NULL FROM governance_jobs WHERE job_id = '" + *forced.only + "'") == "t");
  CHECK(parked_count(db) == 2);

  // the gate turned off: its claims leave parked jobs alone (no UPDATE in their plan); its window pass, which
  // reads only parked jobs, unparks them, and the next claim takes them
  auto open = gated_store(db, false);
  CHECK(open->job_claim(claim_of(4)).jobs.empty());
  CHECK(parked_count(db) == 2);
  WindowPassParams parked_only;
  parked_only.head_limit = parked_only.ready_limit = 0;
  parked_only.parked_limit = 1;  // a thousand a pass in the daemon: another pass at once while more follow
  const auto first = open->jobs_window_pass(parked_only);
  CHECK(first.unparked == 1);
  CHECK_FALSE(first.ready_full);
  REQUIRE(first.parked_next.after_id);
  parked_only.parked = first.parked_next;
  CHECK(open->jobs_window_pass(parked_only).unparked == 1);
  CHECK(parked_count(db) == 0);
  CHECK(open->job_claim(claim_of(4)).jobs.size() == 2);
}

TEST_CASE("a claim that unparks jobs wakes every daemon: another's claim beside it saw them parked", "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  jobs_opening(db, 1, "1 minute", kNow + " + interval '1 second'");
  auto store = gated_store(db);
  REQUIRE(pass_to_end(*store) == 1);
  pqxx::connection listener(db.url());
  govjobd::testing::Notifications payloads(listener, "govjobd_jobs");  // LISTENs
  CHECK(store->job_claim(claim_of(4)).jobs.empty());  // before the opening: nothing, no wake
  listener.await_notification(0, 200'000);
  CHECK(payloads.seen.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(store->job_claim(claim_of(4)).jobs.empty());  // unparks it
  for (int i = 0; i < 20 && payloads.seen.empty(); ++i) listener.await_notification(0, 100'000);
  CHECK(payloads.seen == std::vector<std::string>{""});
}

TEST_CASE("every window pass reads the head of the claim's order, behind the place its reading had reached",
          "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  jobs_opening(db, 5, "1 minute", "NULL");
  auto store = gated_store(db);
  WindowPassParams p;
  p.ready_limit = 2;
  const auto first = store->jobs_window_pass(p);
  REQUIRE(first.ready.after_at);  // its place: after the second job
  // a scheduled start the writer dates before every other job: behind that place
  jobs_opening(db, 1, "1 day", kNow + " + interval '1 day'");
  p.ready = first.ready;
  CHECK(store->jobs_window_pass(p).parked == 1);
  CHECK(parked_count(db) == 1);
}

// Each periodic round runs on the claims' database thread: one a grant or a policy refuses must not run again
// at once as after a lost connection (that held the thread, and the claim that names the problem never ran).
TEST_CASE("every periodic round a grant or a row security policy refuses skips its round instead of running again",
          "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  jobs_opening(db, 1, "1 minute", kNow + " + interval '1 day'");
  const auto refused = Catch::Contains("was refused, this round skipped: ");
  const auto denied = Catch::Contains("permission denied");
  const auto by_policy = Catch::Contains("row-level security");  // (a matcher combined keeps its parts' addresses)
  SECTION("a window pass that may not read the contracts table") {
    auto store = Store::connect(db.login_as("daemon", "govjobd_daemon"), "public", gate());  // no SELECT on it
    CHECK_THROWS_WITH(store->jobs_window_pass(WindowPassParams{}), refused && denied);
  }
  SECTION("every round, with a policy the writer put on its jobs table") {
    auto store = Store::connect(db.login_as("daemon", "govjobd_daemon"), "public", gate(false));
    db.exec("ALTER TABLE governance_jobs ENABLE ROW LEVEL SECURITY");
    CHECK_THROWS_WITH(store->jobs_window_pass(WindowPassParams{}), refused && by_policy);
    CHECK_THROWS_WITH(store->jobs_to_end(JobsToEndParams{"w1"}), refused && by_policy);
    CHECK_THROWS_WITH(store->target_holds_release(), refused && by_policy);
    CHECK_THROWS_WITH(store->fleet_status(FleetStatusParams{}), refused && by_policy);
  }
}

// Parked jobs wait for their contract windows: counted so, outside the age behind GovjobdBacklogOld (a start
// scheduled a week ahead fired it 30 minutes after its insert) and outside the jobs classified one by one (as
// many as the classification reads, parked ahead of the rest, hid a paused job behind them). One whose
// opening came waits like any other, since its opening. A job parked for a window still to open counts under
// contract_window whatever else holds it (here the pause too); `jobs show` lists each of its reasons.
TEST_CASE("the queue's status counts parked jobs as waiting for their windows and classifies the others",
          "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  auto store = gated_store(db);
  jobs_opening(db, 6, "3 days", kNow + " + interval '7 days'");
  REQUIRE(pass_to_end(*store) == 6);
  // one whose opening came two hours ago, not unparked yet (no claim or pass reached it)
  const std::string due = db.scalar("SELECT job_id FROM governance_jobs ORDER BY job_id LIMIT 1");
  db.exec("UPDATE governance_jobs SET window_opens_at = " + kNow + " - interval '2 hours' WHERE job_id = '" + due +
          "'");
  jobs_opening(db, 1, "1 hour", "NULL");  // ACTIVE, no window: it may run, but a pause holds it
  db.exec("INSERT INTO govjobd.pauses (reason, paused_by) VALUES ('incident', 'test')");
  FleetStatusParams p;
  p.classify_limit = 3;
  const FleetStatus status = store->fleet_status(p);
  CHECK(status.pending == 7);
  CHECK(status.parked == 5);
  CHECK(status.classified == 7);
  CHECK(status.pending_by_reason.at("contract_window") == 5);
  CHECK(status.pending_by_reason.at("paused") == 2);
  REQUIRE(status.oldest_pending_age_seconds);
  CHECK(*status.oldest_pending_age_seconds > 7000);  // the due job's two hours since its opening,
  CHECK(*status.oldest_pending_age_seconds < 7400);  // not the parked jobs' three days
  const std::string parked =
      db.scalar("SELECT job_id FROM governance_jobs WHERE window_opens_at > " + kNow + " LIMIT 1");
  std::vector<std::string> reasons;
  for (const auto& r : store->job_waiting(parked, std::chrono::seconds(30))) reasons.push_back(r.at("reason"));
  REQUIRE(reasons.size() >= 2);  // (no daemon is live here: unserved too)
  CHECK(reasons[0] == "paused");
  CHECK(reasons[1] == "contract_window");
}

// Nothing in a row makes the queue's status fail or lie about its age: an infinite created_at (the writer's),
// and openings an owner who disabled the guard wrote itself ('-infinity': due, no age; 'infinity': parked).
TEST_CASE("the queue's status takes infinite created_at and opening values", "[store][contract]") {
  TestDatabase db;
  create_contracts(db);
  auto store = gated_store(db);
  jobs_opening(db, 4, "1 hour", "NULL");
  db.exec("ALTER TABLE governance_jobs DISABLE TRIGGER USER");
  db.exec("UPDATE governance_jobs SET created_at = 'infinity' "
          "WHERE job_id = (SELECT min(job_id::text)::uuid FROM governance_jobs)");
  db.exec("UPDATE governance_jobs SET created_at = '-infinity', window_opens_at = '-infinity' "
          "WHERE job_id = (SELECT max(job_id::text)::uuid FROM governance_jobs)");
  db.exec("UPDATE governance_jobs SET window_opens_at = 'infinity' WHERE job_id = (SELECT job_id FROM governance_jobs "
          "WHERE isfinite(created_at) ORDER BY job_id LIMIT 1)");
  db.exec("ALTER TABLE governance_jobs ENABLE TRIGGER USER");
  const FleetStatus status = store->fleet_status(FleetStatusParams{});
  CHECK(status.pending == 4);
  CHECK(status.parked == 1);
  CHECK(status.classified == 4);
  CHECK(status.pending_by_reason.at("contract_window") == 1);
  REQUIRE(status.oldest_pending_age_seconds);  // the one finite job's hour; the infinite values are no age
  CHECK(*status.oldest_pending_age_seconds > 3500);
  CHECK(*status.oldest_pending_age_seconds < 3700);
}
