#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include "executors/builtin_executors.hpp"
#include "executors/executor_registry.hpp"
#include "executors/step_output.hpp"
#include "tests/support/step_runner.hpp"

using namespace govjobd;
using executors::StepOutcome;
using namespace std::chrono_literals;

namespace {

executors::StepExecution run(executors::StepExecutor& executor, boost::asio::io_context& io, const model::JobStep& step,
                             executors::StepContext context = {}) {
  std::optional<executors::StepExecution> result;
  bool inline_call = true;
  executor.start(step, context, [&](executors::StepExecution r) {
    CHECK_FALSE(inline_call);  // done never runs inside start()
    result = std::move(r);
  });
  inline_call = false;
  io.restart();
  io.run_for(30s);
  REQUIRE(result);
  return *result;
}

}  // namespace

TEST_CASE("a job deadline centuries away or before year 1 bounds a step as it should, not wrapped", "[builtin]") {
  const auto step = testing::make_step(30);
  executors::StepContext context;
  for (const char* far : {"9999-12-31 23:59:59.999999", "2400-01-01 00:00:00"}) {
    INFO(far);
    context.job_deadline = model::parse_timestamp(far);
    const auto d = executors::step_deadline(step, context);
    CHECK_FALSE(d.is_job_deadline);  // the step's own 30 s
    CHECK(d.at > std::chrono::steady_clock::now() + 20s);
  }
  context.job_deadline = model::parse_timestamp("0001-01-01 00:00:00");
  const auto past = executors::step_deadline(step, context);
  CHECK(past.is_job_deadline);
  CHECK(past.at <= std::chrono::steady_clock::now());
  context.job_deadline = model::now_utc() + 5s;
  const auto soon = executors::step_deadline(step, context);
  CHECK(soon.is_job_deadline);
  CHECK(soon.at < std::chrono::steady_clock::now() + 6s);
}

TEST_CASE("noop completes at once, never inside start", "[builtin]") {
  boost::asio::io_context io;
  executors::NoopExecutor noop(io);
  auto r = run(noop, io, testing::make_step());
  CHECK(r.outcome == StepOutcome::Completed);
  CHECK(r.output == nlohmann::json::object());
}

TEST_CASE("sleep waits parameters.seconds, honours its deadline and cancel", "[builtin]") {
  boost::asio::io_context io;
  executors::SleepExecutor sleep(io);
  auto done = run(sleep, io, testing::make_step(30, {{"seconds", 0.2}}));
  CHECK(done.outcome == StepOutcome::Completed);
  CHECK(done.duration >= 190ms);

  auto timed_out = run(sleep, io, testing::make_step(1, {{"seconds", 30}}));
  CHECK(timed_out.outcome == StepOutcome::TimedOut);
  CHECK(timed_out.error == "step timeout of 1s exceeded");
  CHECK(timed_out.duration < 5s);

  executors::StepContext context;
  context.cancel = std::make_shared<executors::CancelSignal>();
  boost::asio::steady_timer timer(io, 100ms);
  timer.async_wait([&](auto) { context.cancel->request("enough"); });
  auto cancelled = run(sleep, io, testing::make_step(30, {{"seconds", 30}}), context);
  CHECK(cancelled.outcome == StepOutcome::Cancelled);
  CHECK(cancelled.error == "cancelled: enough");

  auto already = std::make_shared<executors::CancelSignal>();
  already->request("before start");
  executors::StepContext early;
  early.cancel = already;
  CHECK(run(sleep, io, testing::make_step(30, {{"seconds", 30}}), early).outcome == StepOutcome::Cancelled);

  // more seconds than the clock's nanoseconds hold still wait for the deadline, not for a wrapped-around time
  for (const double seconds : {1e10, 9223372037.0, 1e300}) {
    auto huge = run(sleep, io, testing::make_step(1, {{"seconds", seconds}}));
    CHECK(huge.outcome == StepOutcome::TimedOut);
    CHECK(huge.duration >= 900ms);
  }

  auto bad = run(sleep, io, testing::make_step(30, {{"seconds", "ten"}}));
  CHECK(bad.outcome == StepOutcome::Failed);
  CHECK(bad.error == "parameters.seconds: expected a non-negative number");
}

TEST_CASE("the registry maps step types to executors and names a missing one", "[builtin]") {
  boost::asio::io_context io;
  std::map<std::string, config::ExecutorSettings> settings;
  settings["noop"].kind = "noop";
  settings["pause"].kind = "sleep";
  settings["run"] = testing::process_settings({"/bin/true"});
  executors::ExecutorRegistry registry(io, settings, nullptr, testing::test_reaper());
  CHECK(registry.find("noop") != nullptr);
  CHECK(registry.find("pause") != nullptr);
  CHECK(registry.find("run") != nullptr);
  CHECK(registry.find("capability_disable") == nullptr);
  CHECK(executors::ExecutorRegistry::missing_message("capability_disable") ==
        "No handler registered for step type: capability_disable");
  CHECK_FALSE(registry.handler("capability_disable"));
  REQUIRE(registry.handler("run"));
  CHECK(registry.handler("run")->kind == "process");
  settings["record"].kind = "signal_record";
  CHECK_THROWS_WITH(executors::ExecutorRegistry(io, settings, nullptr, testing::test_reaper()),
                    "executors.record: signal_record needs the database");
}

TEST_CASE("the registry refuses up front a step whose target or timeout its executor's config does not allow", "[builtin]") {
  boost::asio::io_context io;
  std::map<std::string, config::ExecutorSettings> settings;
  settings["noop"].kind = "noop";
  settings["run"] = testing::process_settings({"/bin/true"});
  settings["strict"].kind = "noop";
  settings["strict"].target_pattern = "^pay[a-z]*$";
  settings["strict"].max_timeout = 60s;
  settings["slow"].kind = "noop";
  settings["slow"].target_pattern = "^(a+)+$";  // exponential for a backtracking matcher
  executors::ExecutorRegistry registry(io, settings, nullptr, testing::test_reaper());
  auto step = [](std::string type, std::string target, int timeout = 30) {
    return model::JobStep{0, std::move(type), std::move(target), nlohmann::json::object(), timeout};
  };
  CHECK(registry.refusal(step("missing", "a")) == "step_type: No handler registered for step type: missing");
  // a process step's target reaches a program's argv and environment: the default pattern applies
  const std::string process_default = "^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$";
  for (const std::string& ok : std::vector<std::string>{"payments", "capability-7", "a.b:c_d", "0", std::string(200, 'x')}) {
    INFO(ok);
    CHECK(registry.refusal(step("run", ok)) == std::nullopt);
  }
  for (const std::string& bad : std::vector<std::string>{"", "-rf", "--help", "..", ".hidden", "a b", "a/b", "pay;id", "caf\xc3\xa9", std::string(201, 'x')}) {
    INFO(bad);
    CHECK(registry.refusal(step("run", bad)) ==
          "target: '" + bad + "' does not match the pattern " + process_default + " of executors.run.target_pattern");
  }
  // other kinds accept any target the steps parser accepted, unless their config sets a pattern
  CHECK(registry.refusal(step("noop", "a b/../c")) == std::nullopt);
  CHECK(registry.refusal(step("strict", "payments", 60)) == std::nullopt);
  CHECK(registry.refusal(step("strict", "ledger")) ==
        "target: 'ledger' does not match the pattern ^pay[a-z]*$ of executors.strict.target_pattern");
  CHECK(registry.refusal(step("strict", "payments", 61)) ==
        "timeout_seconds: 61 is more than executors.strict.max_timeout (1m)");
  CHECK(registry.refusal(step("noop", "a", 86400)) == std::nullopt);  // the default ceiling, 24h
  CHECK(registry.refusal(step("noop", "a", 86401)) == "timeout_seconds: 86401 is more than executors.noop.max_timeout (1d)");
  // the writer's target cannot make matching slow: polynomial-time matching
  const auto started = std::chrono::steady_clock::now();
  CHECK(registry.refusal(step("slow", std::string(1024, 'a') + "!")).has_value());
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}

namespace {

// Throws from start(), after calling done when `done_first` (it must still end once).
class ThrowingExecutor : public executors::StepExecutor {
 public:
  ThrowingExecutor(boost::asio::io_context& io, bool done_first, bool std_exception)
      : io_(io), done_first_(done_first), std_exception_(std_exception) {}
  void start(const model::JobStep&, const executors::StepContext&, executors::StepDone done) override {
    if (done_first_) boost::asio::post(io_, [done] { done(executors::StepExecution::completed()); });
    if (std_exception_) throw std::runtime_error("boom");
    throw 42;
  }

 private:
  boost::asio::io_context& io_;
  bool done_first_;
  bool std_exception_;
};

}  // namespace

TEST_CASE("an executor that throws ends its step FAILED once, and nothing reaches the loop", "[executors]") {
  for (const bool done_first : {false, true})
    for (const bool std_exception : {true, false}) {
      boost::asio::io_context io;
      ThrowingExecutor executor(io, done_first, std_exception);
      std::vector<executors::StepExecution> results;
      executors::start_guarded(io, executor, testing::make_step(), {},
                               [&](executors::StepExecution r) { results.push_back(std::move(r)); });
      io.run_for(30s);  // ends when the queue is empty; throws if an exception escaped
      REQUIRE(results.size() == 1);
      CHECK(results[0].outcome == StepOutcome::Failed);
      CHECK(results[0].error == (std_exception ? "Execution error: boom" : "Execution error: unknown exception"));
    }
  const auto r = executors::guarded([]() -> executors::StepExecution { throw std::bad_alloc(); });
  CHECK(r.outcome == StepOutcome::Failed);
  CHECK(r.error == "Execution error: std::bad_alloc");
}

TEST_CASE("audit_output: govjobd's keys over the executor's, rollback_action only on a completed step", "[executors]") {
  const model::JobStep step{2, "capability_disable", "payments", nlohmann::json::object(), 30};
  const executors::StepHandler handler{"process", nlohmann::json{{"step_type", "capability_enable"}}};
  const auto at = *model::parse_timestamp("2026-12-02T10:00:00.000000Z");
  const auto out = executors::audit_output({{"target", "ledger"}, {"handler", "x"}, {"exit_code", 0}}, step, handler, at, true);
  CHECK(out == nlohmann::json{{"target", "payments"}, {"step_type", "capability_disable"}, {"handler", "process"},
                              {"executed_at", "2026-12-02T10:00:00.000000Z"}, {"exit_code", 0},
                              {"rollback_action", {{"step_type", "capability_enable"}}}});
  CHECK_FALSE(executors::audit_output(nullptr, step, handler, at, false).contains("rollback_action"));
  // a step's own output (which may echo its parameters) cannot declare one
  CHECK_FALSE(executors::audit_output({{"rollback_action", "forged"}}, step, {"process", std::nullopt}, at, true).contains("rollback_action"));
  CHECK(executors::audit_output({{"rollback_action", "forged"}}, step, handler, at, true).at("rollback_action") ==
        nlohmann::json{{"step_type", "capability_enable"}});
  CHECK(executors::audit_output("text", step, handler, at, false).at("result") == "text");
  // the creator's own no-op handler writes exactly these four keys
  const auto noop = executors::audit_output(nlohmann::json::object(), step, {"noop", std::nullopt}, at, true);
  CHECK(noop.size() == 4);
  CHECK(noop.at("handler") == "noop");
}
