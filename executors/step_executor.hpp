#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "daemon/model/job_types.hpp"
#include "executors/step_execution.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::executors {

// A cancel request for one running step. Loop-thread only: request() runs the handler at once.
class CancelSignal {
 public:
  void request(std::string reason);
  bool requested() const { return requested_; }
  const std::string& reason() const { return reason_; }
  // The executor's way to stop its step; runs at once when the request came before.
  void on_request(std::function<void()> handler);
  void clear_handler() { handler_ = nullptr; }

 private:
  bool requested_ = false;
  std::string reason_;
  std::function<void()> handler_;
};

struct StepContext {
  std::string job_id;
  std::string contract_id;
  std::string worker_id;
  std::optional<model::Timestamp> job_deadline;  // the job's timeout_at
  std::shared_ptr<CancelSignal> cancel;          // may be null: not cancellable
  std::function<void()> on_spawned;              // may be null; a process step calls it once its child runs
};

// The earlier of the step's timeout_seconds from now and the job's timeout_at.
struct Deadline {
  std::chrono::steady_clock::time_point at;
  bool is_job_deadline = false;
  int step_timeout_seconds = 0;

  // "step timeout of 30s exceeded" or "job timeout exceeded"
  std::string exceeded_message() const;
  DeadlineKind kind() const { return is_job_deadline ? DeadlineKind::Job : DeadlineKind::Step; }
  // TimedOut by this deadline: exceeded_message() and then `more`.
  StepExecution timed_out(const std::string& more = {}) const;
};
Deadline step_deadline(const model::JobStep& step, const StepContext& context);

using StepDone = std::function<void(StepExecution)>;

// Runs one step on the event loop. start() must be called on the loop thread; `done` runs exactly once, on
// the loop thread, after start() has returned. The step ends by its deadline and on context.cancel.
class StepExecutor {
 public:
  virtual ~StepExecutor() = default;
  virtual void start(const model::JobStep& step, const StepContext& context, StepDone done) = 0;
};

// The task boundary between the run loop and an executor: what the job's data makes an executor throw
// must end that step, not the daemon. An exception from start() ends the step FAILED with
// "Execution error: <what>" (the job creator's wording), and `done` runs exactly once either way (an
// executor that already delivered its end before throwing is not heard twice).
void start_guarded(boost::asio::io_context& io, StepExecutor& executor, const model::JobStep& step,
                   const StepContext& context, StepDone done);

// The same boundary for an executor's blocking part on a thread pool (an exception there would end the
// process): `work`'s result, or FAILED with "Execution error: <what>".
StepExecution guarded(const std::function<StepExecution()>& work);

}  // namespace govjobd::executors
