#include "executors/step_executor.hpp"

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

Deadline step_deadline(const model::JobStep& step, const StepContext& context) {
  const auto now = std::chrono::steady_clock::now();
  Deadline d{now + std::chrono::seconds(step.timeout_seconds), false, step.timeout_seconds};
  if (context.job_deadline) {
    const auto left = *context.job_deadline - model::now_utc();
    const auto job_at = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
    if (job_at < d.at) {
      d.at = job_at;
      d.is_job_deadline = true;
    }
  }
  return d;
}

}  // namespace govjobd::executors
