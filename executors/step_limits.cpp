#include "executors/step_limits.hpp"

#include <fmt/format.h>

#include "config/duration.hpp"
#include "config/target_pattern.hpp"

namespace govjobd::executors {

StepLimits::StepLimits(const std::string& step_type, const config::ExecutorSettings& settings)
    : step_type_(step_type), max_timeout_(settings.max_timeout) {
  pattern_text_ = settings.target_pattern;
  if (!pattern_text_ && settings.kind == "process") pattern_text_ = config::kDefaultProcessTargetPattern;
  if (pattern_text_) pattern_ = config::compile_target_pattern(*pattern_text_);
}

std::optional<std::string> StepLimits::refusal(const model::JobStep& step) const {
  if (pattern_ && !std::regex_match(step.target, *pattern_))
    return fmt::format("target: '{}' does not match the pattern {} of executors.{}.target_pattern", step.target,
                       *pattern_text_, step_type_);
  if (std::chrono::seconds(step.timeout_seconds) > max_timeout_)
    return fmt::format("timeout_seconds: {} is more than executors.{}.max_timeout ({})", step.timeout_seconds,
                       step_type_, config::format_duration(max_timeout_));
  return std::nullopt;
}

}  // namespace govjobd::executors
