#include "executors/signal_record_executor.hpp"

#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace govjobd::executors {

namespace {

// parameters.NAME as a non-empty string, or a problem appended to `problems`.
std::string required_text(const nlohmann::json& parameters, const char* name, std::string& problems) {
  const auto it = parameters.find(name);
  if (it != parameters.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
    return it->get<std::string>();
  problems += (problems.empty() ? "" : "; ") + std::string("parameters.") + name + ": expected a non-empty string";
  return {};
}

}  // namespace

void SignalRecordExecutor::start(const model::JobStep& step, const StepContext& context, StepDone done) {
  const auto started = std::chrono::steady_clock::now();
  std::string problems;
  GovernanceSignal signal{context.job_id, context.contract_id, step.step_index, step.target,
                          required_text(step.parameters, "signal_type", problems),
                          required_text(step.parameters, "decision", problems),
                          required_text(step.parameters, "reason", problems), context.worker_id};
  if (step.target.empty())
    problems = "target: the signal's scope must not be empty" + (problems.empty() ? "" : "; " + problems);
  if (!problems.empty()) {
    boost::asio::post(io_, [done = std::move(done), problems] {
      done(StepExecution::ended(StepOutcome::Failed, problems));
    });
    return;
  }
  sink_->record(signal, [done = std::move(done), signal, started](SignalSink::Outcome outcome) {
    StepExecution r;
    r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (outcome.signal_id) {
      r.outcome = StepOutcome::Completed;
      r.output = {{"signal_id", *outcome.signal_id}, {"scope", signal.scope}, {"signal_type", signal.signal_type},
                  {"decision", signal.decision}};
    } else {
      r.outcome = StepOutcome::Failed;
      r.error = "signal not recorded: " + outcome.error;
    }
    done(std::move(r));
  });
}

}  // namespace govjobd::executors
