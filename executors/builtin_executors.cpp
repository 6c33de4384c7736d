#include "executors/builtin_executors.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

namespace govjobd::executors {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

void NoopExecutor::start(const model::JobStep&, const StepContext&, StepDone done) {
  asio::post(io_, [done = std::move(done)] { done(StepExecution::completed()); });
}

namespace {

struct SleepRun : std::enable_shared_from_this<SleepRun> {
  SleepRun(asio::io_context& io, StepDone done) : timer(io), done(std::move(done)) {}
  asio::steady_timer timer;
  StepDone done;
  std::shared_ptr<CancelSignal> cancel;
  steady::time_point started = steady::now();
  std::optional<StepExecution> ending;  // set by a deadline or cancel before the timer completes

  void end(StepExecution r) {
    if (ending) return;
    r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started);
    ending = std::move(r);
    timer.cancel();
  }
};

}  // namespace

void SleepExecutor::start(const model::JobStep& step, const StepContext& context, StepDone done) {
  auto run = std::make_shared<SleepRun>(io_, std::move(done));
  const auto seconds = step.parameters.find("seconds");
  if (seconds == step.parameters.end() || !seconds->is_number() || seconds->get<double>() < 0) {
    run->ending = StepExecution::ended(StepOutcome::Failed, "parameters.seconds: expected a non-negative number");
    asio::post(io_, [run] { run->done(std::move(*run->ending)); });
    return;
  }
  const Deadline deadline = step_deadline(step, context);
  // at most a year: the deadline comes first anyway (a step's timeout is at most a week), and a larger count of
  // seconds (1e10) overflowed the clock's nanoseconds into the past: the step COMPLETED at once
  constexpr double kLongest = 365.0 * 24 * 3600;
  const auto wanted = steady::now() + std::chrono::duration_cast<steady::duration>(
                                          std::chrono::duration<double>(std::min(seconds->get<double>(), kLongest)));
  const bool deadline_first = deadline.at < wanted;
  run->timer.expires_at(deadline_first ? deadline.at : wanted);
  run->timer.async_wait([run, deadline, deadline_first](const boost::system::error_code&) {
    if (run->cancel) run->cancel->clear_handler();
    if (!run->ending) {
      StepExecution r = deadline_first ? deadline.timed_out()
                                       : StepExecution::completed();
      run->end(std::move(r));
    }
    if (run->ending->outcome == StepOutcome::Completed)
      run->ending->output = {{"slept_ms", run->ending->duration.count()}};
    run->done(std::move(*run->ending));
  });
  // after async_wait: a cancel that came before start must find a wait to end
  run->cancel = context.cancel;
  if (run->cancel) {
    std::weak_ptr<SleepRun> weak = run;
    run->cancel->on_request([weak] {
      if (auto r = weak.lock())
        r->end(StepExecution::ended(StepOutcome::Cancelled, "cancelled: " + r->cancel->reason()));
    });
  }
}

}  // namespace govjobd::executors
