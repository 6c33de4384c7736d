#pragma once

#include "executors/step_executor.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::executors {

// Completes at once with {} (tests, benchmarks).
class NoopExecutor : public StepExecutor {
 public:
  explicit NoopExecutor(boost::asio::io_context& io) : io_(io) {}
  void start(const model::JobStep& step, const StepContext& context, StepDone done) override;

 private:
  boost::asio::io_context& io_;
};

// Waits parameters.seconds (a non-negative number), ending early on its deadline or a cancel.
class SleepExecutor : public StepExecutor {
 public:
  explicit SleepExecutor(boost::asio::io_context& io) : io_(io) {}
  void start(const model::JobStep& step, const StepContext& context, StepDone done) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace govjobd::executors
