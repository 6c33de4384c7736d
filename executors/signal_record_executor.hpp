#pragma once

#include <memory>

#include "executors/signal_sink.hpp"
#include "executors/step_executor.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::executors {

// Records a governance signal: scope = target, parameters.signal_type, .decision, .reason.
class SignalRecordExecutor : public StepExecutor {
 public:
  SignalRecordExecutor(boost::asio::io_context& io, std::shared_ptr<SignalSink> sink)
      : io_(io), sink_(std::move(sink)) {}
  void start(const model::JobStep& step, const StepContext& context, StepDone done) override;

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<SignalSink> sink_;
};

}  // namespace govjobd::executors
