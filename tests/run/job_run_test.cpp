// JobRun against fakes: no PostgreSQL, no executors, no probes. What each test asserts is what the job's
// row would hold: the writes in order, the end's status, reason and results.
#include <utility>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "daemon/run/evidence.hpp"
#include "daemon/run/job_run.hpp"
#include "daemon/run/metrics.hpp"
#include "health/health_gate.hpp"
#include "tests/run/job_run_fakes.hpp"

using namespace govjobd;
using namespace govjobd::testing;
using nlohmann::json;

namespace {

struct Harness {
  asio::io_context io;
  std::shared_ptr<FakeSteps> steps = std::make_shared<FakeSteps>();
  std::shared_ptr<FakeHealth> health = std::make_shared<FakeHealth>();
  std::shared_ptr<FakeWriter> writer = std::make_shared<FakeWriter>();
  run::Metrics metrics;
  std::shared_ptr<run::JobRun> job;
  bool finished = false;

  // Steps 0..n-1 of type "noop", target "t<i>", in the given JSON order.
  void start(int n, std::optional<model::Timestamp> timeout_at = std::nullopt, const std::string& fault = "") {
    json list = json::array();
    for (int i = n - 1; i >= 0; --i)  // reversed: the run orders them by step_index
      list.push_back({{"step_index", i}, {"step_type", "noop"}, {"target", "t" + std::to_string(i)}, {"parameters", json::object()}});
    start_with(list.dump(), timeout_at, fault);
  }

  void start_with(const std::string& steps_json, std::optional<model::Timestamp> timeout_at = std::nullopt,
                  const std::string& fault = "", bool forced = false) {
    store::ClaimedJob claimed;
    claimed.forced = forced;
    claimed.job_id = "00000000-0000-0000-0000-000000000001";
    claimed.contract_id = "00000000-0000-0000-0000-0000000000c1";
    claimed.steps_json = steps_json;
    claimed.current_step_index = 0;
    claimed.timeout_at = timeout_at;
    run::RunEnv env{steps, health, writer, {"BLOCKED"}, "w1", "host1", &metrics, nullptr, 8 << 20, nullptr, fault};
    job = std::make_shared<run::JobRun>(std::move(env), std::move(claimed), [this](const run::JobRun&) { finished = true; });
    job->start(io);
    io.run();
    REQUIRE(finished);
  }

  const store::JobWrite& end() const { return writer->end(); }
  std::vector<std::string> statuses_in_end() const {
    std::vector<std::string> out;
    for (const auto& r : end().append_results) out.push_back(r["status"].get<std::string>());
    return out;
  }
  bool counted(const std::string& status, const std::string& reason) const {
    return metrics.render().find(fmt::format("govjobd_jobs_finished_total{{status=\"{}\",reason=\"{}\"}} 1", status,
                                             reason)) != std::string::npos;
  }
};

}  // namespace

TEST_CASE("JobRun runs the steps in step_index order, each result written before the next step", "[jobrun]") {
  Harness h;
  h.start(3);
  CHECK(h.steps->ran == std::vector<int>{0, 1, 2});
  // step 0's result with step 1's start (current_step_index) and the health before, step 1's result with step
  // 2's start, the end: a step's result and the next step's start share a commit
  REQUIRE(h.writer->writes.size() == 3);
  CHECK(h.writer->writes[0].append_results.size() == 1);
  CHECK(h.writer->writes[0].health_before.has_value());
  CHECK(h.writer->writes[0].current_step_index == 1);
  CHECK(h.writer->writes[1].append_results.size() == 1);
  CHECK(h.writer->writes[1].current_step_index == 2);
  CHECK_FALSE(h.writer->writes[1].health_before.has_value());
  CHECK(h.end().terminal_status == "COMPLETED");
  CHECK(h.end().status_reason == "All steps completed successfully");
  CHECK(h.end().health_after.has_value());
  CHECK(h.end().evidence->at("execution_summary").at("steps_executed") == 3);
  CHECK(h.end().evidence->at("step_results").size() == 3);
  CHECK(h.health->snapshots == 4);  // before the job, after each step
  CHECK(h.counted("COMPLETED", "completed"));
}

TEST_CASE("JobRun stops at the first failure: the rest SKIPPED, never run", "[jobrun]") {
  Harness h;
  h.steps->outcomes[1] = executors::StepExecution::ended(executors::StepOutcome::Failed, "exit code 3");
  h.start(4);
  CHECK(h.steps->ran == std::vector<int>{0, 1});
  CHECK(h.end().terminal_status == "FAILED");
  CHECK(h.end().status_reason == "Step 1 failed: exit code 3");
  CHECK(h.end().transition_step_index == 1);
  CHECK(h.statuses_in_end() == std::vector<std::string>{"FAILED", "SKIPPED", "SKIPPED"});
  CHECK(h.end().evidence->at("govjobd").at("steps_skipped") == 2);
  CHECK(h.counted("FAILED", "step_failed"));
}

TEST_CASE("JobRun tells the job's deadline from the step's by the typed deadline, not by the text", "[jobrun]") {
  SECTION("the job's timeout_at") {
    Harness h;
    auto r = executors::StepExecution::ended(executors::StepOutcome::TimedOut, "job timeout exceeded (SIGTERM)");
    r.deadline = executors::DeadlineKind::Job;
    h.steps->outcomes[0] = r;
    h.start(2);
    CHECK(h.end().status_reason == "Step 0 failed: job timeout exceeded (SIGTERM)");  // the creator's frame
    CHECK(h.end().transition_step_index == 0);
    CHECK(h.counted("FAILED", "job_timeout"));
  }
  SECTION("the step's timeout_seconds") {
    Harness h;
    auto r = executors::StepExecution::ended(executors::StepOutcome::TimedOut, "job timeout exceeded (SIGTERM)");
    r.deadline = executors::DeadlineKind::Step;
    h.steps->outcomes[0] = r;
    h.start(2);
    CHECK(h.end().status_reason == "Step 0 failed: job timeout exceeded (SIGTERM)");
    CHECK(h.counted("FAILED", "step_failed"));
  }
  SECTION("timeout_at already past when claimed: no step runs") {
    Harness h;
    h.start(2, model::now_utc() - std::chrono::seconds(1));
    CHECK(h.steps->ran.empty());
    CHECK(h.end().status_reason.value().starts_with("job timeout exceeded before it started (timeout_at "));
    CHECK(h.counted("FAILED", "job_timeout"));
  }
}

TEST_CASE("JobRun cancelled during a step: the step is stopped, the job CANCELLED, the rest SKIPPED", "[jobrun]") {
  Harness h;
  h.steps->hang = {1};
  h.steps->started = [&h](int i) {
    if (i == 1)
      asio::post(h.io, [&h] { h.job->stop(run::EndReason::of(run::EndReason::Kind::Cancelled, std::nullopt, "not needed", "alice")); });
  };
  h.start(3);
  CHECK(h.steps->ran == std::vector<int>{0, 1});
  CHECK(h.end().terminal_status == "CANCELLED");
  CHECK(h.end().status_reason == "Step 1 failed: cancelled by alice: not needed");
  CHECK(h.end().transition_step_index == 1);
  REQUIRE(h.end().append_results.size() == 2);
  CHECK(h.end().append_results[0]["error"] == "cancelled by alice: not needed");
  CHECK(h.statuses_in_end() == std::vector<std::string>{"FAILED", "SKIPPED"});
  CHECK(h.counted("CANCELLED", "cancelled"));
}

TEST_CASE("JobRun at shutdown: a running step is stopped and the job ends CANCELLED by the daemon", "[jobrun]") {
  Harness h;
  h.steps->hang = {0};
  h.steps->started = [&h](int) {
    asio::post(h.io, [&h] { h.job->stop(run::EndReason::of(run::EndReason::Kind::Shutdown, std::nullopt, {}, "govjobd w1")); });
  };
  h.start(2);
  CHECK(h.end().status_reason == "Step 0 failed: cancelled by govjobd w1: daemon shutdown");
  CHECK(h.counted("CANCELLED", "shutdown"));
}

TEST_CASE("JobRun whose step's record is refused ends FAILED with the database's message, nothing more runs", "[jobrun]") {
  Harness h;
  h.writer->refuse_at = 0;  // step 0's result
  h.start(3);
  CHECK(h.steps->ran == std::vector<int>{0});
  CHECK(h.end().terminal_status == "FAILED");
  CHECK(h.end().status_reason == "step 0: the database refused the job's record: new row violates check constraint");
  CHECK(h.statuses_in_end() == std::vector<std::string>{"SKIPPED", "SKIPPED"});
}

TEST_CASE("JobRun whose end is refused records FAILED without what was refused", "[jobrun]") {
  Harness h;
  h.writer->refuse_at = 1;  // the end of a 2-step job: result 0 with current_step_index 1, end
  h.start(2);
  REQUIRE(h.writer->writes.size() == 3);
  CHECK(h.end().terminal_status == "FAILED");
  CHECK(h.end().status_reason == "the database refused the job's record: new row violates check constraint");
  CHECK(h.end().append_results.empty());
}

TEST_CASE("JobRun: a BLOCKED target's step never runs and the job ends FAILED by the gate", "[jobrun]") {
  Harness h;
  h.health->states["t1"] = "BLOCKED";
  h.start(3);
  CHECK(h.steps->ran == std::vector<int>{0});
  // step 0's result moved current_step_index to step 1, the step the end names (what the creator's audit reads)
  CHECK(h.writer->writes.front().current_step_index == 1);
  CHECK(h.end().transition_step_index == 1);
  CHECK(h.end().status_reason.value().starts_with("Step 1 failed: blocked by health: "));
  CHECK(h.statuses_in_end() == std::vector<std::string>{"FAILED", "SKIPPED"});
  CHECK(h.end().evidence->at("govjobd").at("gate_decisions").size() == 2);
  CHECK(h.counted("FAILED", "health_blocked"));
}

TEST_CASE("JobRun: invalid steps and refused steps end the job before any step runs", "[jobrun]") {
  SECTION("not a list") {
    Harness h;
    h.start_with("{}");
    CHECK(h.steps->ran.empty());
    CHECK(h.end().status_reason.value().starts_with("invalid steps: "));
    CHECK(h.counted("FAILED", "invalid_job"));
  }
  SECTION("a step its executor refuses") {
    Harness h;
    h.steps->refusals["noop"] = "target: not allowed";
    h.start(2);
    CHECK(h.steps->ran.empty());
    CHECK(h.end().status_reason == "invalid steps: step 0.target: not allowed; step 1.target: not allowed");
  }
  SECTION("a thousand steps refused: ten named, then how many more (not a megabyte of reason and log line)") {
    Harness h;
    h.steps->refusals["noop"] = "target: not allowed";
    h.start(1000);
    const std::string reason = h.end().status_reason.value();
    CHECK(reason.starts_with("invalid steps: step 0.target: not allowed; step 1.target"));
    CHECK(reason.ends_with("step 9.target: not allowed; and 990 more steps refused"));
  }
}

TEST_CASE("JobRun contains an error of its own handling: the job ends FAILED, Execution error", "[jobrun]") {
  Harness h;
  h.start(3, std::nullopt, "noop");  // the test hook throws after the first noop step
  CHECK(h.steps->ran == std::vector<int>{0});
  CHECK(h.end().terminal_status == "FAILED");
  CHECK(h.end().status_reason.value().starts_with("Step 0 failed: Execution error: fault injected after a step of type 'noop'"));
  CHECK(h.end().transition_step_index == 0);
  CHECK(h.statuses_in_end() == std::vector<std::string>{"FAILED", "SKIPPED", "SKIPPED"});
  CHECK(h.metrics.render().find("reason=\"other\"") != std::string::npos);
}

TEST_CASE("JobRun stopped by an internal error of the daemon mid-step ends FAILED with it", "[jobrun]") {
  Harness h;
  h.steps->hang = {0};
  h.steps->started = [&h](int) {
    asio::post(h.io, [&h] { h.job->stop(run::EndReason::of(run::EndReason::Kind::InternalError, std::nullopt, "boom")); });
  };
  h.start(2);
  CHECK(h.end().status_reason == "Step 0 failed: govjobd internal error: boom");
  CHECK(h.statuses_in_end() == std::vector<std::string>{"FAILED", "SKIPPED"});
  CHECK(h.end().append_results[0]["error"] == "govjobd internal error: boom");
}

TEST_CASE("JobRun: a step type with no handler fails that step in the creator's words before any step runs", "[jobrun]") {
  Harness h;
  h.steps->unhandled = {"missing"};
  h.start_with(R"([{"step_index":0,"step_type":"noop","target":"a","parameters":{}},
                   {"step_index":1,"step_type":"missing","target":"b","parameters":{}},
                   {"step_index":2,"step_type":"noop","target":"c","parameters":{}}])");
  CHECK(h.steps->ran.empty());
  CHECK(h.end().terminal_status == "FAILED");
  CHECK(h.end().status_reason == "Step 1 failed: No handler registered for step type: missing");
  CHECK(h.end().transition_step_index == 1);
  CHECK(h.statuses_in_end() == std::vector<std::string>{"SKIPPED", "FAILED", "SKIPPED"});
  CHECK(h.end().append_results[1]["error"] == "No handler registered for step type: missing");
  CHECK(h.counted("FAILED", "invalid_job"));
}

TEST_CASE("JobRun: a job claimed only to end it never runs a step, even when this host's clock says its deadline is ahead", "[jobrun]") {
  Harness h;
  // the database saw timeout_at pass; this host's clock is behind (or the writer moved it): still no step runs
  const auto ahead = model::now_utc() + std::chrono::minutes(5);
  h.start_with(R"([{"step_index":0,"step_type":"noop","target":"a","parameters":{}}])", ahead, "", true);
  CHECK(h.steps->ran.empty());
  CHECK(h.end().terminal_status == "FAILED");
  CHECK_THAT(h.end().status_reason.value_or(""), Catch::StartsWith("job timeout exceeded before it started"));
  CHECK(h.statuses_in_end() == std::vector<std::string>{"SKIPPED"});
}

TEST_CASE("JobRun: every executed step's output carries target, step_type, handler and executed_at, which the step cannot forge", "[jobrun]") {
  Harness h;
  h.steps->rollback_actions["noop"] = "restore the previous value";
  h.steps->outcomes[0] = executors::StepExecution::completed(
      {{"target", "forged"}, {"handler", "forged"}, {"step_type", "forged"}, {"executed_at", "forged"}, {"kept", 1}});
  h.steps->outcomes[1] = executors::StepExecution::ended(executors::StepOutcome::Failed, "exit code 1");
  h.start(3);
  const json& evidence = *h.end().evidence;
  const json& first = evidence.at("step_results")[0].at("output");
  CHECK(first.at("target") == "t0");
  CHECK(first.at("step_type") == "noop");
  CHECK(first.at("handler") == "fake");
  CHECK(first.at("executed_at").get<std::string>().starts_with("20"));
  CHECK_FALSE(first.contains("kept"));  // the evidence keeps what the audit reads
  CHECK(h.writer->writes[0].append_results[0].at("output").at("kept") == 1);  // the row keeps the whole output
  CHECK(h.writer->writes[0].append_results[0].at("output").at("target") == "t0");
  CHECK(first.at("rollback_action") == "restore the previous value");
  const json& failed = evidence.at("step_results")[1].at("output");
  CHECK(failed.at("target") == "t1");
  CHECK_FALSE(failed.contains("rollback_action"));  // only a completed step can be undone
  CHECK(evidence.at("step_results")[2].at("output").is_null());  // SKIPPED: never executed
}

TEST_CASE("JobRun's evidence holds exactly the creator's keys, its own under govjobd", "[jobrun]") {
  Harness h;
  h.health->states["t1"] = "DEGRADED";
  h.start(2);
  const json& e = *h.end().evidence;
  std::vector<std::string> keys;
  for (const auto& [k, v] : e.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"execution_summary", "executor_version", "final_reason", "final_status",
                                         "govjobd", "health_observations", "job_id", "step_results", "timing"});
  CHECK(e.at("job_id") == "00000000-0000-0000-0000-000000000001");
  CHECK(e.at("final_status") == "COMPLETED");
  CHECK(e.at("final_reason") == "All steps completed successfully");
  CHECK(e.at("execution_summary") == json{{"steps_executed", 2}, {"steps_succeeded", 2}, {"steps_failed", 0}});
  CHECK(e.at("health_observations").at("before") == json{{"t1", "DEGRADED"}, {"system", "HEALTHY"}});
  CHECK(e.at("health_observations").at("after") == e.at("health_observations").at("before"));
  CHECK(e.at("timing").at("duration_seconds").is_number());
  CHECK(e.at("executor_version").get<std::string>().starts_with("govjobd "));
  for (const char* k : {"worker_id", "host", "pid", "daemon_version", "steps_skipped", "step_durations_ms", "gate_decisions"})
    CHECK(e.at("govjobd").contains(k));
}

TEST_CASE("the evidence reads health states as the gate does: no state is BLOCKED for a capability, HEALTHY for the host", "[jobrun]") {
  model::HealthSnapshot s;
  s.capabilities["bare"] = json::object();
  s.capabilities["odd"] = {{"state", 5}};
  s.capabilities["ok"] = {{"state", "DEGRADED"}, {"latency_ms", 3}};
  s.system_health = {{"checks", json::object()}};
  CHECK(run::health_states(s) == json{{"bare", "BLOCKED"}, {"odd", "BLOCKED"}, {"ok", "DEGRADED"}, {"system", "HEALTHY"}});
  CHECK(health::capability_state(s.capabilities["odd"]) == "BLOCKED");  // the gate stops such a target
}
