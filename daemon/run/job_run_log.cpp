// JobRun's log lines: each with the job's fields (daemon/log), built only when their level is logged.
#include <utility>  // before any Asio header (STACK_NOTES: Boost 1.74's awaitable.hpp)

#include "daemon/run/job_run.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/log/logging.hpp"

namespace govjobd::run {

void JobRun::log_step(const model::JobStep& step, const model::StepResult& result, long long ms) const {
  say(result.status == model::StepStatus::Completed ? spdlog::level::info : spdlog::level::warn, step.step_index, step.step_type,
      [&] {
        return fmt::format("job {} step {} {} ({} {}) in {}ms{}", job_.job_id, step.step_index,
                           model::to_string(result.status), log::shown(step.step_type), log::shown(step.target), ms,
                           result.error ? ": " + *result.error : std::string());
      });
}

bool JobRun::logs(int level) { return spdlog::should_log(static_cast<spdlog::level::level_enum>(level)); }

void JobRun::say_now(int level, std::optional<int> step_index, const std::string& step_type,
                     const std::string& message, Move move) const {
  log::ScopedJob scope({job_.job_id, job_.contract_id.value_or(""), step_index, step_type, std::move(move.from),
                        std::move(move.to)});
  spdlog::log(static_cast<spdlog::level::level_enum>(level), "{}", message);
}

}  // namespace govjobd::run
