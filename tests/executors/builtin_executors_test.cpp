#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include "executors/builtin_executors.hpp"
#include "executors/executor_registry.hpp"
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
  executors::ExecutorRegistry registry(io, settings, nullptr);
  CHECK(registry.find("noop") != nullptr);
  CHECK(registry.find("pause") != nullptr);
  CHECK(registry.find("run") != nullptr);
  CHECK(registry.find("capability_disable") == nullptr);
  CHECK(executors::ExecutorRegistry::missing_message("capability_disable") ==
        "no executor configured for step type 'capability_disable'");
  settings["record"].kind = "signal_record";
  CHECK_THROWS_WITH(executors::ExecutorRegistry(io, settings, nullptr),
                    "executors.record: signal_record needs the database");
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
