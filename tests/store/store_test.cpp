#include <cstdlib>

#include <catch2/catch.hpp>

#include "config/database_url.hpp"
#include "daemon/store/pg_errors.hpp"
#include "daemon/store/store.hpp"
#include "tests/support/store_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::store;
using govjobd::config::redact_database_url;
using govjobd::testing::end_write;
using govjobd::testing::outcomes;
using govjobd::testing::TestDatabase;
using nlohmann::json;

namespace {

// A claim by `worker` of at most `limit` jobs, with a 30 s lease.
govjobd::store::JobClaimParams claim_of(const std::string& worker, int limit) {
  govjobd::store::JobClaimParams p;
  p.worker_id = worker;
  p.limit = limit;
  p.lease = std::chrono::seconds(30);
  p.step_types = {"noop", "sleep", "process", "signal_record", "config_update"};
  p.exclusive_targets = false;  // the jobs here share a target
  return p;
}

const json kSteps = json::parse(R"([{"step_index":0,"step_type":"noop","target":"a","parameters":{},"timeout_seconds":30},
                                    {"step_index":1,"step_type":"noop","target":"b","parameters":{},"timeout_seconds":30}])");

std::string enqueue(Store& store, const std::string& contract, int timeout_minutes = 60) {
  return store.job_enqueue({contract, kSteps, timeout_minutes, "tester"});
}

// Three jobs enqueued (contracts `prefix` + 0, 1, 2) and claimed by worker-a, in that order.
std::vector<ClaimedJob> three_claimed(Store& store, const std::string& prefix) {
  for (int i = 0; i < 3; ++i) enqueue(store, prefix + std::to_string(i));
  auto jobs = store.job_claim(claim_of("worker-a", 3)).jobs;
  REQUIRE(jobs.size() == 3);
  return jobs;
}

}  // namespace

TEST_CASE("enqueue writes the job and its first transition together", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const std::string id = enqueue(*store, "10000000-0000-0000-0000-000000000001", 15);
  CHECK(db.scalar("SELECT status || ' ' || total_steps || ' ' || current_step_index || ' ' || created_by || ' ' || "
                  "(timeout_at - created_at) FROM governance_jobs WHERE job_id = '" + id + "'") ==
        "PENDING 2 0 tester 00:15:00");
  CHECK(db.scalar("SELECT coalesce(from_status, 'NULL') || ' -> ' || to_status || ' by ' || transitioned_by || ' ' || "
                  "(step_index IS NULL) FROM governance_job_transitions WHERE job_id = '" + id + "'") ==
        "NULL -> PENDING by tester true");
  CHECK(json::parse(db.scalar("SELECT steps::text FROM governance_jobs WHERE job_id = '" + id + "'")) == kSteps);
}

TEST_CASE("a second job for the same contract is refused with a clear error", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const std::string first = enqueue(*store, "10000000-0000-0000-0000-000000000002");
  CHECK_THROWS_WITH(enqueue(*store, "10000000-0000-0000-0000-000000000002"),
                    "contract 10000000-0000-0000-0000-000000000002 already has a job (" + first +
                        "); one job per contract");
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions") == "1");  // nothing half-written
}

TEST_CASE("list filters by status, limits, and shows newest first", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const std::string a = enqueue(*store, "10000000-0000-0000-0000-00000000000a");
  const std::string b = enqueue(*store, "10000000-0000-0000-0000-00000000000b");
  const std::string c = enqueue(*store, "10000000-0000-0000-0000-00000000000c");
  store->job_cancel({b, "not needed", "tester"});
  const auto all = store->job_list({});
  REQUIRE(all.size() == 3);
  CHECK(all[0].job_id == c);
  CHECK(all[2].job_id == a);
  CHECK(all[0].total_steps == 2);
  CHECK(all[0].created_at.has_value());
  CHECK(all[0].timeout_at.has_value());
  const auto cancelled = store->job_list([] {
    JobListParams p;
    p.status = "CANCELLED";
    p.limit = 10;
    return p;
  }());
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0].job_id == b);
  CHECK(cancelled[0].status_reason == "cancelled by tester: not needed");
  CHECK(store->job_list([] {
    JobListParams p;
    p.limit = 1;
    return p;
  }()).size() == 1);
}

TEST_CASE("get returns every column plus the transitions, timestamps in UTC", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const std::string id = enqueue(*store, "10000000-0000-0000-0000-000000000003");
  store->job_cancel({id, "changed plans", "ops"});
  const auto job = store->job_get(id);
  REQUIRE(job);
  for (const char* column : {"job_id", "contract_id", "status", "status_reason", "steps", "current_step_index",
                             "total_steps", "step_results", "execution_evidence", "health_snapshot_before",
                             "health_snapshot_after", "created_at", "started_at", "completed_at", "timeout_at",
                             "created_by", "transitions"})
    CHECK(job->contains(column));
  CHECK(job->at("status") == "CANCELLED");
  CHECK(job->at("created_at").get<std::string>().ends_with("Z"));
  const auto& transitions = job->at("transitions");
  REQUIRE(transitions.size() == 2);
  CHECK(transitions[0].at("to_status") == "PENDING");
  CHECK(transitions[1].at("from_status") == "PENDING");
  CHECK(transitions[1].at("to_status") == "CANCELLED");
  CHECK(transitions[1].at("reason") == "cancelled by ops: changed plans");
  CHECK(transitions[1].at("transitioned_by") == "ops");
  CHECK(transitions[1].at("transitioned_at").get<std::string>().ends_with("Z"));
  CHECK_FALSE(store->job_get("10000000-0000-0000-0000-0000000000ff"));
}

TEST_CASE("cancel: PENDING ends CANCELLED, RUNNING gets a request, terminal and unknown are refused", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const std::string pending = enqueue(*store, "10000000-0000-0000-0000-000000000004");
  CHECK(store->job_cancel({pending, "no longer needed", "ops"}) == CancelOutcome::Cancelled);
  CHECK(db.scalar("SELECT status || ' ' || (completed_at IS NOT NULL) FROM governance_jobs WHERE job_id = '" +
                  pending + "'") == "CANCELLED true");
  CHECK_THROWS_WITH(store->job_cancel({pending, "again", "ops"}),
                    "job " + pending + " is CANCELLED, a terminal state; nothing to cancel");

  const std::string running = enqueue(*store, "10000000-0000-0000-0000-000000000005");
  db.exec("UPDATE governance_jobs SET status = 'RUNNING' WHERE job_id = '" + running + "'");
  pqxx::connection listener(db.url());
  struct Seen : pqxx::notification_receiver {
    using notification_receiver::notification_receiver;
    std::string payload;
    void operator()(const std::string& p, int) override { payload = p; }
  } seen(listener, "govjobd_cancel");
  CHECK(store->job_cancel({running, "wrong target", "ops"}) == CancelOutcome::Requested);
  // the request is a row of its own: the job's row is not touched (nor locked) by whoever asks
  CHECK(db.scalar("SELECT j.status || ' ' || r.requested_by || ' ' || r.reason FROM governance_jobs j JOIN "
                  "govjobd.cancel_requests r USING (job_id) WHERE job_id = '" + running + "'") == "RUNNING ops wrong target");
  for (int i = 0; i < 50 && seen.payload.empty(); ++i) listener.await_notification(0, 100'000);
  CHECK(seen.payload == running);
  CHECK_THROWS_WITH(store->job_cancel({running, "again", "ops"}),
                    "job " + running + " is RUNNING and already has a cancel request");
  CHECK_THROWS_WITH(store->job_cancel({"10000000-0000-0000-0000-0000000000ff", "x", "ops"}),
                    "job 10000000-0000-0000-0000-0000000000ff not found");
}

TEST_CASE("cancel: a request signed with a name govjobd signs its own ends with is refused, PENDING or RUNNING", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  db.exec("INSERT INTO govjobd.govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at, alive_since) "
          "VALUES ('vm:1790', 'vm', 1790, 'v', now(), now(), now())");
  const std::string pending = enqueue(*store, "10000000-0000-0000-0000-000000000006");
  const std::string running = enqueue(*store, "10000000-0000-0000-0000-000000000007");
  db.exec("UPDATE governance_jobs SET status = 'RUNNING' WHERE job_id = '" + running + "'");
  for (const std::string by : {"govjobd vm:1790", " GOVJOBD vm:1", "govjobd\tvm:1", "\ngovjobd", "govjobd", "reaper:vm:1790",
                               "vm:1790", "VM:1790 ",
                               // Unicode's blanks and invisible characters: no-break, narrow no-break, ideographic and
                               // Ogham spaces, a zero-width space, a soft hyphen (migration 23)
                               "govjobd\xc2\xa0vm:1790", "govjobd\xe2\x80\xafvm:1", "\xe3\x80\x80govjobd vm:1",
                               "govjobd\xe1\x9a\x80vm:1", "\xe2\x80\x8bvm:1790", "vm:1790\xc2\xad",
                               // a tag character (past U+FFFF), an Arabic number sign
                               "govjobd\xf3\xa0\x80\xa0vm:1", "govjobd\xd8\x80vm:1"}) {
    INFO(by);
    for (const auto& job : {pending, running})
      CHECK_THROWS_WITH(store->job_cancel({job, "daemon shutdown", by}),
                        "job " + job + " refused: requested_by may not be a name govjobd signs with (govjobd ..., "
                        "reaper:..., a worker id)");
  }
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + pending + "'") == "PENDING");
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + running + "'") == "RUNNING");
  CHECK(db.scalar("SELECT count(*) FROM govjobd.cancel_requests") == "0");
  CHECK(store->job_cancel({pending, "not needed", "govjobd-ops"}) == CancelOutcome::Cancelled);  // a name of its own
}

TEST_CASE("an unreachable database is DatabaseUnavailable", "[store]") {
  CHECK_THROWS_AS(Store::connect("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2"), DatabaseUnavailable);
}

TEST_CASE("a Store whose connection was cut stays down: it never reconnects behind its owner's back with its "
          "session settings (search_path, timeouts) gone", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  CHECK_FALSE(store->job_get("10000000-0000-0000-0000-0000000000ff"));
  CHECK(db.scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'govjobd' "
                  "AND datname = current_database()") == "1");
  // the daemon's database thread drops the Store and connects a new one, which sets its session up again
  CHECK_THROWS_AS(store->job_get("10000000-0000-0000-0000-0000000000ff"), DatabaseUnavailable);
  CHECK_THROWS_AS(store->job_get("10000000-0000-0000-0000-0000000000ff"), DatabaseUnavailable);
  CHECK(db.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'govjobd' AND datname = current_database()") ==
        "0");
}

TEST_CASE("a deadlock or serialization failure is DatabaseUnavailable - run again, not a refusal", "[store]") {
  // libpqxx 6.4 derives these from pqxx::failure, not pqxx::sql_error: they once escaped as plain errors
  // and the recorder reported a whole write batch as taken away.
  CHECK_THROWS_AS(detail::translate_errors([]() -> int { throw pqxx::deadlock_detected("ERROR:  deadlock detected"); }),
                  DatabaseUnavailable);
  CHECK_THROWS_AS(detail::translate_errors([]() -> int { throw pqxx::serialization_failure("ERROR:  could not serialize"); }),
                  DatabaseUnavailable);
}

TEST_CASE("database URLs are redacted before they are shown", "[store]") {
  CHECK(redact_database_url("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x");
  CHECK(redact_database_url("postgresql://app@db/x") == "postgresql://app@db/x");
  CHECK(redact_database_url("host=db password=s3cret dbname=x") == "host=db password=*** dbname=x");
  CHECK(redact_database_url("host=db password='s 3' dbname=x") == "host=db password=*** dbname=x");
}

TEST_CASE("every connection gets bounds on its network waits unless the URL sets them", "[store]") {
  ::unsetenv("PGCONNECT_TIMEOUT");
  CHECK(with_connection_bounds("postgresql://app@db/x") ==
        "postgresql://app@db/x?connect_timeout=10&keepalives=1&keepalives_idle=10&keepalives_interval=5"
        "&keepalives_count=3&tcp_user_timeout=30000");
  CHECK(with_connection_bounds("postgresql://app@db/x?sslmode=require&connect_timeout=3&keepalives_idle=60") ==
        "postgresql://app@db/x?sslmode=require&connect_timeout=3&keepalives_idle=60&keepalives=1"
        "&keepalives_interval=5&keepalives_count=3&tcp_user_timeout=30000");
  CHECK(with_connection_bounds("host=db dbname=x connect_timeout = 4") ==
        "host=db dbname=x connect_timeout = 4 keepalives=1 keepalives_idle=10 keepalives_interval=5 keepalives_count=3 "
        "tcp_user_timeout=30000");
  CHECK(with_connection_bounds("").starts_with("connect_timeout=10 keepalives=1"));
  ::setenv("PGCONNECT_TIMEOUT", "7", 1);
  CHECK(with_connection_bounds("").starts_with("keepalives=1"));
  ::unsetenv("PGCONNECT_TIMEOUT");
}

TEST_CASE("a terminal write retried after its commit was lost counts as applied - another worker's is fenced", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  store->job_enqueue({"10000000-0000-0000-0000-000000000009", kSteps, 60, "tester"});
  const auto claimed = store->job_claim(claim_of("worker-a", 1)).jobs;
  REQUIRE(claimed.size() == 1);
  const JobWrite end = end_write(claimed[0].job_id, "worker-a", "COMPLETED", "all steps completed");
  CHECK(outcomes(store->job_write_batch({end})) == std::vector<WriteOutcome>{WriteOutcome::Applied});
  CHECK(outcomes(store->job_write_batch({end})) == std::vector<WriteOutcome>{WriteOutcome::Applied});  // the retry
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions WHERE to_status = 'COMPLETED'") == "1");
  JobWrite other = end;
  other.worker_id = "worker-b";
  CHECK(outcomes(store->job_write_batch({other})) == std::vector<WriteOutcome>{WriteOutcome::Fenced});
  JobWrite different = end;
  different.terminal_status = "FAILED";
  different.status_reason = "step 0 failed: x";
  CHECK(outcomes(store->job_write_batch({different})) == std::vector<WriteOutcome>{WriteOutcome::Fenced});
}

TEST_CASE("a batch of writes: one statement for many jobs, a job written twice keeps its order, a fenced one is told apart", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  for (int i = 0; i < 4; ++i) store->job_enqueue({"20000000-0000-0000-0000-00000000000" + std::to_string(i), kSteps, 60, "tester"});
  const auto mine = store->job_claim(claim_of("worker-a", 3)).jobs;
  const auto theirs = store->job_claim(claim_of("worker-b", 1)).jobs;
  REQUIRE(mine.size() == 3);
  REQUIRE(theirs.size() == 1);
  auto end_of = [](const std::string& job_id, const std::string& status) {
    JobWrite w = end_write(job_id, "worker-a", status, "step 0: " + status);
    w.append_results = nlohmann::json::array({{{"step_index", 0}, {"status", status}}});
    w.transition_step_index = 0;
    return w;
  };
  JobWrite progress;  // the same job twice in one batch: the progress first, then its end
  progress.job_id = mine[2].job_id;
  progress.worker_id = "worker-a";
  progress.current_step_index = 7;
  progress.health_before = nlohmann::json{{"system_health", {{"state", "HEALTHY"}}}};
  CHECK(outcomes(store->job_write_batch({end_of(mine[0].job_id, "COMPLETED"), end_of(theirs[0].job_id, "COMPLETED"),
                                         end_of(mine[1].job_id, "FAILED"), progress, end_of(mine[2].job_id, "COMPLETED")})) ==
        std::vector<WriteOutcome>{WriteOutcome::Applied, WriteOutcome::Fenced, WriteOutcome::Applied,
                                  WriteOutcome::Applied, WriteOutcome::Applied});
  CHECK(db.scalar("SELECT string_agg(status || ':' || coalesce(claimed_by, '-'), ' ' ORDER BY contract_id) FROM governance_jobs") ==
        "COMPLETED:worker-a FAILED:worker-a COMPLETED:worker-a RUNNING:worker-b");
  CHECK(db.scalar("SELECT current_step_index || ' ' || (health_snapshot_before IS NOT NULL) || ' ' || "
                  "jsonb_array_length(step_results) FROM governance_jobs WHERE job_id = '" + mine[2].job_id + "'") == "7 true 1");
  CHECK(db.scalar("SELECT string_agg(from_status || '>' || to_status || ' ' || step_index || ' ' || reason, ', ' "
                  "ORDER BY transition_id) FROM governance_job_transitions WHERE from_status = 'RUNNING'") ==
        "RUNNING>COMPLETED 0 step 0: COMPLETED, RUNNING>FAILED 0 step 0: FAILED, RUNNING>COMPLETED 0 step 0: COMPLETED");
}

TEST_CASE("a write the database refuses is Refused with its message - the others of its batch land", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const auto jobs = three_claimed(*store, "30000000-0000-0000-0000-00000000000");
  auto end_of = [](const std::string& job_id, nlohmann::json output) {
    JobWrite w = end_write(job_id, "worker-a", "COMPLETED", "all steps completed");
    w.append_results = nlohmann::json::array({{{"step_index", 0}, {"status", "COMPLETED"}, {"output", std::move(output)}}});
    return w;
  };
  // jsonb cannot hold \u0000: a real refusal, not a lost connection
  std::vector<JobWrite> batch{end_of(jobs[0].job_id, {{"ok", 1}}), end_of(jobs[1].job_id, {{"bad", std::string("a\0b", 3)}}),
                              end_of(jobs[2].job_id, {{"ok", 2}})};
  for (auto& w : batch) {
    w.health_before = json{{"system_health", {{"state", "HEALTHY"}}}};
    w.health_after = json{{"system_health", {{"state", "DEGRADED"}}}};
    w.evidence = json{{"final_status", "COMPLETED"}, {"job_id", w.job_id}};
  }
  const auto results = store->job_write_batch(batch);
  CHECK(outcomes(results) ==
        std::vector<WriteOutcome>{WriteOutcome::Applied, WriteOutcome::Refused, WriteOutcome::Applied});
  // the writes sent again each alone after the batch's refusal carry all they held
  CHECK(db.scalar("SELECT string_agg(concat_ws(' ', step_results -> 0 -> 'output' ->> 'ok', health_snapshot_before #>> "
                  "'{system_health,state}', health_snapshot_after #>> '{system_health,state}', execution_evidence ->> "
                  "'final_status'), ', ' ORDER BY contract_id) FROM governance_jobs WHERE status = 'COMPLETED'") ==
        "1 HEALTHY DEGRADED COMPLETED, 2 HEALTHY DEGRADED COMPLETED");
  CHECK_THAT(results[1].refusal, Catch::Contains("unsupported Unicode escape sequence"));
  CHECK(db.scalar("SELECT string_agg(status, ' ' ORDER BY contract_id) FROM governance_jobs") ==
        "COMPLETED RUNNING COMPLETED");
  // alone in its batch, the same
  const auto alone = store->job_write_batch({end_of(jobs[1].job_id, {{"bad", std::string("\0", 1)}})});
  REQUIRE(alone.size() == 1);
  CHECK(alone[0].outcome == WriteOutcome::Refused);
  // and what the daemon writes next, the end without what was refused, lands
  JobWrite failed;
  failed.job_id = jobs[1].job_id;
  failed.worker_id = "worker-a";
  failed.terminal_status = "FAILED";
  failed.status_reason = "the database refused the job's record: " + alone[0].refusal;
  CHECK(outcomes(store->job_write_batch({failed})) == std::vector<WriteOutcome>{WriteOutcome::Applied});
  CHECK(db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + jobs[1].job_id + "'") == "FAILED");
}

TEST_CASE("a write the database refuses at its commit (a deferred trigger another owner added) is Refused alone - "
          "each outcome stays with its own write", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const auto jobs = three_claimed(*store, "31000000-0000-0000-0000-00000000000");
  db.exec("CREATE FUNCTION public.refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF NEW.job_id = '" + jobs[1].job_id + "' AND NEW.status = 'COMPLETED' THEN RAISE EXCEPTION 'refused at commit'; "
          "END IF; RETURN NULL; END $$");
  db.exec("CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER UPDATE ON governance_jobs DEFERRABLE INITIALLY DEFERRED "
          "FOR EACH ROW EXECUTE FUNCTION public.refuse_at_commit()");
  std::vector<JobWrite> ends;
  for (const auto& job : jobs) ends.push_back(end_write(job.job_id, "worker-a", "COMPLETED", "all steps completed"));
  const auto results = store->job_write_batch(ends);
  // one outcome per write, in order: before, the refused write's was counted Applied and Refused both, and the
  // writes after it took their neighbours' (a healthy job failed for another's refusal, a refused one "ended")
  CHECK(outcomes(results) == std::vector<WriteOutcome>{WriteOutcome::Applied, WriteOutcome::Refused, WriteOutcome::Applied});
  REQUIRE(results.size() == 3);
  CHECK_THAT(results[1].refusal, Catch::Contains("refused at commit"));
  CHECK(db.scalar("SELECT string_agg(status, ' ' ORDER BY contract_id) FROM governance_jobs") == "COMPLETED RUNNING COMPLETED");
}

TEST_CASE("the reaper ends a job only when it witnessed its owner's silence, or after its hold", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  store->job_enqueue({"10000000-0000-0000-0000-00000000000a", kSteps, 60, "tester"});
  store->worker_register("gone", "host", 1, "test");
  store->worker_register("reaper", "host", 2, "test");
  REQUIRE(store->job_claim(claim_of("gone", 1)).jobs.size() == 1);
  // the owner's last beat 10 s ago, its lease ran out 5 s ago
  db.exec("UPDATE govjobd_workers SET heartbeat_at = (now() AT TIME ZONE 'UTC') - interval '10 s' WHERE worker_id = 'gone'");
  db.exec("UPDATE governance_jobs SET lease_expires_at = (now() AT TIME ZONE 'UTC') - interval '5 s'");
  auto reap = [&](std::chrono::milliseconds hold) {
    return store->job_reap({.worker_id = "reaper", .lease = std::chrono::seconds(30), .hold = hold, .limit = 10},
                           [](const LostJob&) {
      ReapDecision d;
      d.reason = "worker gone lost";
      return d;
    });
  };
  // The reaper's own heartbeats began again 2 s ago (an outage): the owner may be alive and about to beat.
  db.exec("UPDATE govjobd_workers SET alive_since = (now() AT TIME ZONE 'UTC') - interval '2 s' WHERE worker_id = 'reaper'");
  CHECK(reap(std::chrono::seconds(60)) == 0);
  // ...unless the hold has passed since.
  CHECK(reap(std::chrono::seconds(1)) == 1);
  CHECK(db.scalar("SELECT status FROM governance_jobs") == "FAILED");

  // A reaper that was beating all along, since before the owner's last beat, reaps at once.
  store->job_enqueue({"10000000-0000-0000-0000-00000000000b", kSteps, 60, "tester"});
  REQUIRE(store->job_claim(claim_of("gone", 1)).jobs.size() == 1);
  db.exec("UPDATE governance_jobs SET lease_expires_at = (now() AT TIME ZONE 'UTC') - interval '5 s' WHERE status = 'RUNNING'");
  db.exec("UPDATE govjobd_workers SET alive_since = (now() AT TIME ZONE 'UTC') - interval '60 s' WHERE worker_id = 'reaper'");
  // but not while its own last heartbeat is older than a lease: its view is no better than the owner's
  db.exec("UPDATE govjobd_workers SET heartbeat_at = (now() AT TIME ZONE 'UTC') - interval '40 s' WHERE worker_id = 'reaper'");
  CHECK(reap(std::chrono::seconds(60)) == 0);
  CHECK(store->worker_heartbeat({"reaper", {}, std::chrono::seconds(30), std::nullopt, false, std::nullopt, {}}).worker_known);
  CHECK(db.scalar("SELECT alive_since < (now() AT TIME ZONE 'UTC') - interval '1 s' FROM govjobd_workers WHERE worker_id = 'reaper'") == "f");
  // that late heartbeat started a new run: the hold applies again
  CHECK(reap(std::chrono::seconds(60)) == 0);
  db.exec("UPDATE govjobd_workers SET alive_since = (now() AT TIME ZONE 'UTC') - interval '60 s' WHERE worker_id = 'reaper'");
  CHECK(reap(std::chrono::seconds(60)) == 1);
}

TEST_CASE("a cancel request left in an open transaction locks nothing a daemon writes, and its texts are bounded",
          "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const std::string running = enqueue(*store, "10000000-0000-0000-0000-000000000006");
  db.exec("UPDATE governance_jobs SET status = 'RUNNING', claimed_by = 'w1' WHERE job_id = '" + running + "'");
  pqxx::connection writer(db.url());
  pqxx::work open(writer);  // never committed while the daemon writes
  CHECK(open.exec1("SELECT govjobd.job_cancel('" + running + "', 'creator', 'stop')")[0].as<std::string>() == "REQUESTED");
  // the daemon's heartbeat renews the job's lease without waiting on the writer's transaction
  pqxx::connection daemon(db.url());
  pqxx::work w(daemon);
  w.exec("SET LOCAL lock_timeout = '2s'");
  CHECK_NOTHROW(w.exec("UPDATE governance_jobs SET lease_expires_at = now() WHERE job_id = '" + running + "'"));
  w.commit();
  open.abort();
  CHECK_THROWS_WITH(store->job_cancel({running, std::string(1001, 'r'), "ops"}),
                    Catch::Contains("refused: requested_by (1 to 100 characters) and reason (at most 1000)"));
  CHECK_THROWS_WITH(store->job_cancel({running, "r", std::string(101, 'o')}), Catch::Contains("refused"));
}

TEST_CASE("a signal step recorded again returns its signal only when it is the same signal", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const govjobd::store::SignalRow first{"10000000-0000-0000-0000-0000000000a7", "", 0, "payments", "incident", "deny",
                                        "outage", "w1"};
  const long long id = store->signal_record(first);
  CHECK(store->signal_record(first) == id);  // a retry after a lost commit
  auto other = first;  // a job_id reused after retention deleted the first job
  other.decision = "approve";
  CHECK_THROWS_WITH(store->signal_record(other), Catch::Contains("another signal is already recorded"));
}

TEST_CASE("a write to a job whose row was left PENDING or with a NULL claimed_by is fenced, its row as it was",
          "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  for (int i = 0; i < 3; ++i) enqueue(*store, "30000000-0000-0000-0000-00000000000" + std::to_string(i));
  const auto jobs = store->job_claim(claim_of("worker-a", 3)).jobs;
  REQUIRE(jobs.size() == 3);
  // a superuser's hand, past every trigger: what no guard lets the creating system write
  db.exec("SET session_replication_role = replica; "
          "UPDATE governance_jobs SET status = 'PENDING' WHERE job_id = '" + jobs[0].job_id + "'; "
          "UPDATE governance_jobs SET claimed_by = NULL WHERE job_id = '" + jobs[1].job_id + "'; "
          "RESET session_replication_role");
  CHECK(outcomes(store->job_write_batch({end_write(jobs[0].job_id, "worker-a", "COMPLETED", "done"),
                                         end_write(jobs[1].job_id, "worker-a", "COMPLETED", "done"),
                                         end_write(jobs[2].job_id, "worker-a", "COMPLETED", "done")})) ==
        std::vector<WriteOutcome>{WriteOutcome::Fenced, WriteOutcome::Fenced, WriteOutcome::Applied});
  CHECK(db.scalar("SELECT string_agg(status || ':' || coalesce(claimed_by, '-') || ':' || (completed_at IS NULL), ' ' "
                  "ORDER BY contract_id) FROM governance_jobs") ==
        "PENDING:worker-a:true RUNNING:-:true COMPLETED:worker-a:false");
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions WHERE from_status = 'RUNNING'") == "1");
}

TEST_CASE("a step's result written again (a write retried after its commit was lost) is recorded once, in step "
          "order, whatever the creator left in step_results", "[store]") {
  TestDatabase db;
  auto store = Store::connect(db.url());
  const auto jobs = three_claimed(*store, "31000000-0000-0000-0000-00000000000");
  // what the creator left there: an array with an element that is no object, and one of step 5 as a decimal
  db.exec("UPDATE governance_jobs SET step_results = '[7, {\"step_index\": 5.0}]' WHERE job_id = '" + jobs[1].job_id + "'");
  auto result = [](const json& index) { return json{{"step_index", index}, {"status", "COMPLETED"}}; };
  auto progress = [&](const std::string& job_id, json results) {
    JobWrite w;
    w.job_id = job_id;
    w.worker_id = "worker-a";
    w.current_step_index = 1;
    w.append_results = std::move(results);
    return w;
  };
  const std::vector<JobWrite> batch{progress(jobs[0].job_id, json::array({result(0)})),
                                    progress(jobs[1].job_id, json::array({result(0)})),
                                    progress(jobs[2].job_id, json::array({result(1), result(0)}))};
  for (int attempt = 0; attempt < 2; ++attempt)  // the second: the same writes again
    CHECK(outcomes(store->job_write_batch(batch)) ==
          std::vector<WriteOutcome>{WriteOutcome::Applied, WriteOutcome::Applied, WriteOutcome::Applied});
  const auto results_of = [&](const std::string& id) {
    return db.scalar("SELECT step_results::text FROM governance_jobs WHERE job_id = '" + id + "'");
  };
  CHECK(json::parse(results_of(jobs[0].job_id)) == json::array({result(0)}));
  CHECK(json::parse(results_of(jobs[1].job_id)) == json::parse(R"([7, {"step_index": 5.0}, {"step_index": 0, "status": "COMPLETED"}])"));
  CHECK(json::parse(results_of(jobs[2].job_id)) == json::array({result(0), result(1)}));
  // a result of a step already recorded under the same number in another form (5 and 5.0) is not added
  CHECK(outcomes(store->job_write_batch({progress(jobs[1].job_id, json::array({result(5)}))})) ==
        std::vector<WriteOutcome>{WriteOutcome::Applied});
  CHECK(json::parse(results_of(jobs[1].job_id)).size() == 3);
}
