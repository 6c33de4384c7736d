#pragma once

// What a JobRun needs from the world, each behind a small interface that a test can fake: steps run, health
// observed, writes recorded. Every call is awaitable and resumes on the loop thread.

#include <utility>  // before any Asio header: Boost 1.74's awaitable.hpp uses std::exchange (STACK_NOTES)

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "daemon/model/job_types.hpp"
#include "daemon/store/run_store.hpp"
#include "executors/step_executor.hpp"
#include "executors/step_output.hpp"

namespace boost::asio {
class io_context;
}
namespace govjobd::executors {
class ExecutorRegistry;
}
namespace govjobd::health {
class HealthMonitor;
}

namespace govjobd::run {

class Recorder;

template <typename T>
using Task = boost::asio::awaitable<T>;

class StepRunner {
 public:
  virtual ~StepRunner() = default;
  // Why this step cannot run here (no executor for its type; a target or timeout its config refuses), or none.
  virtual std::optional<std::string> refusal(const model::JobStep& step) const = 0;
  // The executor that serves a step type (its kind and rollback_action), or none.
  virtual std::optional<executors::StepHandler> handler(const std::string& step_type) const = 0;
  // Runs the step to its end: by itself, by its deadline, or by context.cancel. Never throws for what the
  // step's data does (an executor's exception ends the step FAILED, "Execution error: ...").
  virtual Task<executors::StepExecution> run(const model::JobStep& step, executors::StepContext context) = 0;
};

// Why these steps cannot run here ("step 1.target: ..."; "; "-joined), at most model::kMaxStepsNamed named
// and then how many more (model::BoundedList), or "" when every step can run.
std::string refusals_of(const StepRunner& runner, const std::vector<model::JobStep>& steps);

class HealthObserver {
 public:
  virtual ~HealthObserver() = default;
  virtual Task<model::HealthSnapshot> snapshot() = 0;
};

class JobWriter {
 public:
  virtual ~JobWriter() = default;
  // One fenced write of the job, committed (or refused, or fenced) when it resumes.
  virtual Task<store::WriteResult> write(store::JobWrite w) = 0;
};

// The daemon's own: the executor registry, the health monitor and the recorder, as awaitables.
std::shared_ptr<StepRunner> step_runner(boost::asio::io_context& io, std::shared_ptr<executors::ExecutorRegistry> executors);
std::shared_ptr<HealthObserver> health_observer(std::shared_ptr<health::HealthMonitor> monitor);
std::shared_ptr<JobWriter> job_writer(Recorder& recorder);

}  // namespace govjobd::run
