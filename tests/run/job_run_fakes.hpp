#pragma once

// Fakes of what a JobRun needs (steps, health, writes), so that JobRun is tested without PostgreSQL,
// executors or probes.

#include <utility>  // before any Asio header (STACK_NOTES)

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "daemon/run/job_ports.hpp"

namespace govjobd::testing {

namespace asio = boost::asio;

// Each step ends as `outcomes` says (COMPLETED when absent); a step in `hang` runs until it is cancelled.
class FakeSteps : public run::StepRunner {
 public:
  std::map<int, executors::StepExecution> outcomes;
  std::vector<int> hang;
  std::map<std::string, std::string> refusals;  // step_type -> why
  std::set<std::string> unhandled;              // step types with no executor
  std::map<std::string, nlohmann::json> rollback_actions;  // step_type -> the config's rollback_action
  std::vector<int> ran;                         // step_index, in the order they ran
  std::function<void(int step_index)> started;  // when a step starts (after `ran` has it)

  std::optional<std::string> refusal(const model::JobStep& step) const override {
    if (auto it = refusals.find(step.step_type); it != refusals.end()) return it->second;
    return std::nullopt;
  }

  std::optional<executors::StepHandler> handler(const std::string& step_type) const override {
    if (unhandled.count(step_type)) return std::nullopt;
    auto it = rollback_actions.find(step_type);
    return executors::StepHandler{"fake", it == rollback_actions.end() ? std::nullopt : std::optional(it->second)};
  }

  run::Task<executors::StepExecution> run(const model::JobStep& step, executors::StepContext context) override {
    ran.push_back(step.step_index);
    if (started) started(step.step_index);
    if (std::find(hang.begin(), hang.end(), step.step_index) != hang.end()) {
      asio::steady_timer until_cancelled(co_await asio::this_coro::executor, std::chrono::hours(1));
      context.cancel->on_request([&until_cancelled] { until_cancelled.cancel(); });
      boost::system::error_code ec;
      co_await until_cancelled.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      context.cancel->clear_handler();
      co_return executors::StepExecution::ended(executors::StepOutcome::Cancelled, "cancelled: " + context.cancel->reason());
    }
    if (auto it = outcomes.find(step.step_index); it != outcomes.end()) co_return it->second;
    co_return executors::StepExecution::completed({{"step", step.step_index}});
  }
};

// Every capability as `states` says (HEALTHY when absent), the system HEALTHY.
class FakeHealth : public run::HealthObserver {
 public:
  std::map<std::string, std::string> states;
  int snapshots = 0;

  run::Task<model::HealthSnapshot> snapshot() override {
    ++snapshots;
    model::HealthSnapshot s;
    s.captured_at = model::now_utc();
    s.system_health = {{"state", "HEALTHY"}};
    for (const auto& [name, state] : states) s.capabilities[name] = {{"state", state}};
    co_return s;
  }
};

// Keeps every write; the write numbered `refuse_at` (from 0) is refused with `refusal`.
class FakeWriter : public run::JobWriter {
 public:
  std::vector<store::JobWrite> writes;
  int refuse_at = -1;
  std::string refusal = "new row violates check constraint";

  run::Task<store::WriteResult> write(store::JobWrite w) override {
    const int n = static_cast<int>(writes.size());
    writes.push_back(std::move(w));
    if (n == refuse_at) co_return store::WriteResult{store::WriteOutcome::Refused, refusal};
    co_return store::WriteResult{store::WriteOutcome::Applied, ""};
  }
  const store::JobWrite& end() const { return writes.back(); }
};

}  // namespace govjobd::testing
