// The maintenance services (heartbeat, reaper, retention), the periodic timer and the back-off, without
// PostgreSQL: each run_once() against a fake store.
#include <memory>
#include <sstream>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/run/maintenance.hpp"
#include "daemon/run/periodic.hpp"
#include "daemon/run/upkeep.hpp"
#include "daemon/store/store_errors.hpp"
#include "tests/support/occurrences.hpp"

using namespace govjobd;
using namespace std::chrono_literals;
using run::MaintenanceStore;
using nlohmann::json;

namespace {

struct FakeStore : MaintenanceStore {
  bool worker_known = true;
  bool fail = false, unavailable = false;
  std::vector<std::string> renewed;
  int registered = 0;
  std::vector<store::LostJob> lost;
  std::vector<store::ReapDecision> decided;
  int terminal = 0, gone_workers = 0;
  bool workers_fail = false;
  bool lose_commit = false;  // job_reap decides every job, then its commit is lost
  std::vector<int> batches, worker_batches;
  store::WorkersDeleteGoneParams gone_params;

  store::HeartbeatResult worker_heartbeat(const store::WorkerHeartbeatParams& p) override {
    if (unavailable) throw store::DatabaseUnavailable("connection lost");
    if (fail) throw std::runtime_error("permission denied for table workers");
    renewed = p.job_ids;
    return {worker_known, {}, {}};
  }
  void worker_register(const std::string&, const std::string&, int, const std::string&, const store::WorkerServes&) override {
    ++registered;
  }
  int job_reap(const store::JobReapParams& p, const Decide& decide) override {
    int n = 0;
    for (const auto& job : lost) {
      if (n == p.limit) break;
      decided.push_back(decide(job));
      ++n;
    }
    if (lose_commit) throw store::DatabaseUnavailable("database connection lost during commit");
    return n;
  }
  int jobs_delete_terminal(const store::JobsDeleteTerminalParams& p) override {
    const int n = std::min(p.batch_size, terminal);
    terminal -= n;
    batches.push_back(n);
    return n;
  }
  int workers_delete_gone(const store::WorkersDeleteGoneParams& p) override {
    if (workers_fail) throw store::DatabaseUnavailable("connection lost");
    const int n = std::min(p.batch_size, gone_workers);
    gone_workers -= n;
    worker_batches.push_back(n);
    gone_params = p;
    return n;
  }
};

const run::WorkerIdentity kWho{"w1", "host1", 42, "0.1.0"};

// What spdlog's default logger writes while it lives.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("captured", std::make_shared<spdlog::sinks::ostream_sink_st>(text_)));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::size_t count(const std::string& needle) const { return testing::occurrences(text_.str(), needle); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

TEST_CASE("heartbeat: renews the running jobs' leases, registers a worker row that was deleted", "[maintenance]") {
  FakeStore store;
  const run::Heartbeat beat(kWho, 30s);
  auto out = beat.run_once(store, {"a", "b"});
  CHECK(out.ok);
  CHECK_FALSE(out.registered);
  CHECK(store.renewed == std::vector<std::string>{"a", "b"});
  store.worker_known = false;
  out = beat.run_once(store, {});
  CHECK(out.ok);
  CHECK(out.registered);
  CHECK(store.registered == 1);
}

TEST_CASE("heartbeat: a refused beat is reported, a lost connection goes through to be run again", "[maintenance]") {
  FakeStore store;
  const run::Heartbeat beat(kWho, 30s);
  store.fail = true;
  const auto out = beat.run_once(store, {"a"});
  CHECK_FALSE(out.ok);
  CHECK(out.error == "permission denied for table workers");
  store.fail = false;
  store.unavailable = true;
  CHECK_THROWS_AS(beat.run_once(store, {"a"}), store::DatabaseUnavailable);
}

TEST_CASE("lease fence: a daemon without heartbeats stops its steps the longest process kill_grace and 1 s before "
          "its lease runs out, never sooner than three quarters of it", "[maintenance]") {
  config::Settings s;  // lease 30 s, heartbeat 5 s
  CHECK(run::lease_fence_after(s) == 29s);  // no process executor: the margin alone
  s.executors["work"].kind = "process";  // kill_grace 5 s
  s.executors["idle"].kind = "sleep";
  s.executors["idle"].kill_grace = 60s;  // only a process is killed with a grace
  CHECK(run::lease_fence_after(s) == 24s);
  CHECK(run::lease_fence_fits(s));
  s.worker.lease_timeout = 2s;  // the margin is a quarter lease at most; a kill_grace past the lease: 3/4 of it
  s.worker.heartbeat_interval = 300ms;
  CHECK(run::lease_fence_after(s) == 1500ms);
  CHECK_FALSE(run::lease_fence_fits(s));
  s.executors["work"].kill_grace = 200ms;
  s.worker.lease_timeout = 10s;
  CHECK(run::lease_fence_after(s) == 8800ms);
  CHECK(run::lease_fence_fits(s));
  s.worker.heartbeat_interval = 4500ms;  // two heartbeats at least: one late beat is not a lost lease
  CHECK(run::lease_fence_after(s) == 9s);
}

TEST_CASE("reaper: the step in flight FAILED as worker lost, recorded steps left alone, the rest SKIPPED", "[maintenance]") {
  FakeStore store;
  store::LostJob job;
  job.job_id = "j1";
  job.claimed_by = "w9";
  job.steps_json = R"([{"step_index":0,"step_type":"a","target":"x"},{"step_index":1,"step_type":"a","target":"x"},
                       {"step_index":2,"step_type":"a","target":"x"}])";
  job.step_results_json = R"([{"step_index":0,"status":"COMPLETED"}])";
  job.current_step_index = 1;
  store.lost = {job, job};
  const run::Reaper reaper("w1", 30s, 40s);
  CHECK(reaper.run_once(store).reaped == 2);
  REQUIRE(store.decided.size() == 2);
  const auto& d = store.decided[0];
  CHECK(d.reason == "Step 1 failed: worker w9 lost (last heartbeat never)");  // the creator's frame
  CHECK(d.step_index == 1);
  REQUIRE(d.append_results.size() == 2);
  CHECK(d.append_results[0]["status"] == "FAILED");
  CHECK(d.append_results[0]["error"] == "worker w9 lost (last heartbeat never)");
  CHECK(d.append_results[1]["status"] == "SKIPPED");
  // the creator's evidence format, what the row holds and the reaper's facts under govjobd
  CHECK(d.evidence.at("final_status") == "FAILED");
  CHECK(d.evidence.at("final_reason") == d.reason);
  CHECK(d.evidence.at("step_results").size() == 3);
  CHECK(d.evidence.at("execution_summary").at("steps_executed") == 2);
  CHECK(d.evidence.at("execution_summary").at("steps_failed") == 1);
  CHECK(d.evidence.at("govjobd").at("reaped").at("worker_id") == "w9");
}

TEST_CASE("reaper: a job's move is logged once its transaction commits, not when the commit is lost", "[maintenance]") {
  FakeStore store;
  store::LostJob job;
  job.job_id = "j1";
  job.claimed_by = "w9";
  store.lost = {job};
  store.lose_commit = true;
  const run::Reaper reaper("w1", 30s, 40s);
  CapturedLog log;
  CHECK_THROWS_AS(reaper.run_once(store), store::DatabaseUnavailable);  // the database thread runs it again
  CHECK(log.count("RUNNING -> FAILED:") == 0);
  // the commit may have been made all the same (its answer lost): said as such
  CHECK(log.count("job j1 step - RUNNING -> FAILED not confirmed (database connection lost during commit)") == 1);
  store.lose_commit = false;
  CHECK(reaper.run_once(store).reaped == 1);
  CHECK(log.count("job j1 step - RUNNING -> FAILED: worker w9 lost") == 1);
}

TEST_CASE("reaper: at most one batch per round", "[maintenance]") {
  FakeStore store;
  store::LostJob job;
  job.job_id = "j";
  job.claimed_by = "w9";
  store.lost.assign(run::Reaper::kBatch + 5, job);  // steps NULL: ended without results
  CHECK(run::Reaper("w1", 30s, 40s).run_once(store).reaped == run::Reaper::kBatch);
  CHECK(store.decided.front().append_results.empty());
}

TEST_CASE("retention: one batch per round, and says when another is due", "[maintenance]") {
  FakeStore store;
  store.terminal = 250;
  const run::Retention retention(24h, 100, 30s);
  auto out = retention.run_once(store);
  CHECK(out.deleted == 100);
  CHECK(out.more);
  out = retention.run_once(store);
  out = retention.run_once(store);
  CHECK(out.deleted == 50);
  CHECK_FALSE(out.more);
  CHECK(store.batches == std::vector<int>{100, 100, 50});
}

TEST_CASE("retention: the rows of daemons gone longer than keep and a lease, once the jobs' batches are done",
          "[maintenance]") {
  FakeStore store;
  store.terminal = 150;
  store.gone_workers = 120;
  const run::Retention retention(24h, 100, 30s);
  auto out = retention.run_once(store);  // a full batch of jobs: the worker rows wait
  CHECK(out.deleted == 100);
  CHECK(out.workers_deleted == 0);
  CHECK(store.worker_batches.empty());
  out = retention.run_once(store);
  CHECK(out.deleted == 50);
  CHECK(out.workers_deleted == 100);
  CHECK(out.more);  // a full batch of worker rows
  CHECK(store.gone_params.keep == 24h);
  CHECK(store.gone_params.lease == 30s);
  out = retention.run_once(store);
  CHECK(out.deleted == 0);
  CHECK(out.workers_deleted == 20);
  CHECK_FALSE(out.more);
  // the jobs' batch committed before the worker rows failed: its count is still reported
  store.terminal = 7;
  store.workers_fail = true;
  out = retention.run_once(store);
  CHECK(out.deleted == 7);
  CHECK(out.workers_deleted == 0);
  CHECK_FALSE(out.more);
}

TEST_CASE("periodic timer: ticks at once and then every period until stopped", "[maintenance]") {
  boost::asio::io_context io;
  run::PeriodicTimer timer(io, [] { return 5ms; }, false);
  int ticks = 0;
  timer.start([&] {
    if (++ticks == 3) timer.stop();
  });
  CHECK(ticks == 1);  // at once
  io.run_for(10s);  // returns once the stopped timer leaves no work; the bound only catches a hang
  CHECK(ticks == 3);
  CHECK_FALSE(timer.running());
}

TEST_CASE("jitter stays within 20 % and the back-off doubles from 100 ms up to 5 s", "[maintenance]") {
  for (int i = 0; i < 1000; ++i) {
    const auto j = run::jittered(1000ms);
    REQUIRE(j >= 800ms);
    REQUIRE(j <= 1200ms);
  }
  run::Backoff b;
  std::vector<long long> waits;
  for (int i = 0; i < 8; ++i) waits.push_back(b.next().count());
  CHECK(waits == std::vector<long long>{100, 200, 400, 800, 1600, 3200, 5000, 5000});
  b.reset();
  CHECK(b.next() == 100ms);
}

TEST_CASE("reaper: results of any shape in the row still end the job, in the creator's evidence format", "[maintenance]") {
  store::LostJob job;
  job.job_id = "j1";
  job.claimed_by = "w9";
  job.steps_json = R"([{"step_index":0,"step_type":"a","target":"x"},{"step_index":1,"step_type":"a","target":"x"}])";
  job.step_results_json = R"([{"step_index":"zero","status":5,"output":[1]},7,"x",null,{"status":{"a":1}},
                              {"step_index":0,"status":"COMPLETED","output":{"target":"x","stdout":"big"}}])";
  job.current_step_index = 1;
  const auto d = run::decide_reap_contained(job);
  CHECK(d.reason == "Step 1 failed: worker w9 lost (last heartbeat never)");
  CHECK(d.evidence.at("execution_summary").at("steps_succeeded") == 1);
  CHECK(d.evidence.at("step_results").size() == 7);
  CHECK(d.evidence.at("step_results")[0].at("step_index") == 0);  // numbers first, in order
  CHECK(d.evidence.at("step_results")[0].at("output") == json{{"target", "x"}});  // what the audit reads
  CHECK(d.evidence.at("health_observations") == json{{"before", json::object()}, {"after", json::object()}});
}

TEST_CASE("reaper: a cancel requested before the worker was lost ends the job CANCELLED with its reason and requester", "[maintenance]") {
  FakeStore store;
  store::LostJob job;
  job.job_id = "j1";
  job.claimed_by = "w9";
  job.steps_json = R"([{"step_index":0,"step_type":"a","target":"x"},{"step_index":1,"step_type":"a","target":"x"}])";
  job.step_results_json = "[]";
  job.current_step_index = 0;
  job.cancel_requested_by = "alice";
  job.cancel_reason = "window moved";
  store.lost = {job};
  const auto out = run::Reaper("w1", 30s, 40s).run_once(store);
  CHECK(out.reaped == 1);
  CHECK(out.cancelled == 1);
  const auto& d = store.decided.at(0);
  CHECK(d.status == "CANCELLED");
  CHECK(d.reason == "Step 0 failed: cancelled by alice: window moved");
  CHECK(d.append_results[0]["error"] == "cancelled by alice: window moved");
  CHECK(d.evidence.at("final_status") == "CANCELLED");
  CHECK(d.evidence.at("govjobd").at("reaped").at("cancel_requested_by") == "alice");
}
