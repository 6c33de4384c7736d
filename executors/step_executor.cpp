#include "executors/step_executor.hpp"

#include <algorithm>
#include <exception>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

namespace govjobd::executors {

void CancelSignal::request(std::string reason) {
  if (requested_) return;
  requested_ = true;
  reason_ = std::move(reason);
  if (handler_) handler_();
}

void CancelSignal::on_request(std::function<void()> handler) {
  handler_ = std::move(handler);
  if (requested_ && handler_) handler_();
}

std::string Deadline::exceeded_message() const {
  return is_job_deadline ? std::string("job timeout exceeded")
                         : fmt::format("step timeout of {}s exceeded", step_timeout_seconds);
}

StepExecution Deadline::timed_out(const std::string& more) const {
  StepExecution r = StepExecution::ended(StepOutcome::TimedOut, exceeded_message() + more);
  r.deadline = kind();
  return r;
}

Deadline step_deadline(const model::JobStep& step, const StepContext& context) {
  const auto now = std::chrono::steady_clock::now();
  Deadline d{now + std::chrono::seconds(step.timeout_seconds), false, step.timeout_seconds};
  if (context.job_deadline) {
    // compared in the timestamp's microseconds: a deadline some centuries away (or before year 1, or the
    // writer's infinity) does not fit the steady clock's nanoseconds, and would wrap
    const auto left = std::max(*context.job_deadline - model::now_utc(), model::Timestamp::duration::zero());
    if (left < std::chrono::seconds(step.timeout_seconds)) {
      d.at = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
      d.is_job_deadline = true;
    }
  }
  return d;
}

namespace {

StepExecution execution_error(std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& ex) {
    return StepExecution::ended(StepOutcome::Failed, fmt::format("Execution error: {}", ex.what()));
  } catch (...) {
    return StepExecution::ended(StepOutcome::Failed, "Execution error: unknown exception");
  }
}

}  // namespace

void start_guarded(boost::asio::io_context& io, StepExecutor& executor, const model::JobStep& step,
                   const StepContext& context, StepDone done) {
  struct Once {
    bool delivered = false;
    std::optional<StepExecution> thrown;  // wins over an end the executor delivered before throwing
  };
  auto state = std::make_shared<Once>();
  auto once = [state, done = std::move(done)](StepExecution r) {
    if (state->delivered) return;
    state->delivered = true;
    done(state->thrown ? std::move(*state->thrown) : std::move(r));
  };
  try {
    executor.start(step, context, once);
  } catch (...) {
    state->thrown = execution_error(std::current_exception());
    boost::asio::post(io, [once] { once(StepExecution{}); });
  }
}

StepExecution guarded(const std::function<StepExecution()>& work) {
  try {
    return work();
  } catch (...) {
    return execution_error(std::current_exception());
  }
}

}  // namespace govjobd::executors
