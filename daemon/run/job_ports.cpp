#include "daemon/run/job_ports.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "daemon/model/bounded_list.hpp"
#include "daemon/run/recorder.hpp"
#include "executors/executor_registry.hpp"
#include "health/health_monitor.hpp"

namespace govjobd::run {

namespace asio = boost::asio;

std::string refusals_of(const StepRunner& runner, const std::vector<model::JobStep>& steps) {
  model::BoundedList list(model::kMaxStepsNamed);
  for (const auto& step : steps)
    if (auto why = runner.refusal(step); why && list.count()) list.add(fmt::format("step {}.{}", step.step_index, *why));
  return list.text("steps refused");
}

namespace {

// Awaits an operation that reports once through a callback taking a T. Every callback here runs from a
// handler of its own (never inside the call that started the operation), so the coroutine resumes there.
template <typename T, typename Start>
Task<T> awaited(Start start) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
      [start = std::move(start)](auto handler) mutable {
        // the callbacks are std::function (copyable); the coroutine's handler is move-only
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared](T value) { std::move (*shared)(std::move(value)); });
      },
      asio::use_awaitable);
}

class RegistrySteps : public StepRunner {
 public:
  RegistrySteps(asio::io_context& io, std::shared_ptr<executors::ExecutorRegistry> executors)
      : io_(io), executors_(std::move(executors)) {}
  std::optional<std::string> refusal(const model::JobStep& step) const override { return executors_->refusal(step); }
  std::optional<executors::StepHandler> handler(const std::string& step_type) const override {
    return executors_->handler(step_type);
  }
  Task<executors::StepExecution> run(const model::JobStep& step, executors::StepContext context) override {
    executors::StepExecutor* executor = executors_->find(step.step_type);
    if (!executor)  // refusal() said so before the first step: only a bug gets here
      co_return executors::StepExecution::ended(executors::StepOutcome::Failed,
                                                executors::ExecutorRegistry::missing_message(step.step_type));
    co_return co_await awaited<executors::StepExecution>([&](auto done) {
      executors::start_guarded(io_, *executor, step, context, std::move(done));
    });
  }

 private:
  asio::io_context& io_;
  std::shared_ptr<executors::ExecutorRegistry> executors_;
};

class MonitorHealth : public HealthObserver {
 public:
  explicit MonitorHealth(std::shared_ptr<health::HealthMonitor> monitor) : monitor_(std::move(monitor)) {}
  Task<model::HealthSnapshot> snapshot() override {
    co_return co_await awaited<model::HealthSnapshot>([&](auto done) { monitor_->snapshot(std::move(done)); });
  }

 private:
  std::shared_ptr<health::HealthMonitor> monitor_;
};

class RecorderWriter : public JobWriter {
 public:
  explicit RecorderWriter(Recorder& recorder) : recorder_(recorder) {}
  Task<store::WriteResult> write(store::JobWrite w) override {
    co_return co_await awaited<store::WriteResult>([&](auto done) {
      recorder_.write(std::move(w), [done = std::move(done)](const store::WriteResult& r) mutable { done(r); });
    });
  }

 private:
  Recorder& recorder_;
};

}  // namespace

std::shared_ptr<StepRunner> step_runner(asio::io_context& io, std::shared_ptr<executors::ExecutorRegistry> executors) {
  return std::make_shared<RegistrySteps>(io, std::move(executors));
}

std::shared_ptr<HealthObserver> health_observer(std::shared_ptr<health::HealthMonitor> monitor) {
  return std::make_shared<MonitorHealth>(std::move(monitor));
}

std::shared_ptr<JobWriter> job_writer(Recorder& recorder) { return std::make_shared<RecorderWriter>(recorder); }

}  // namespace govjobd::run
