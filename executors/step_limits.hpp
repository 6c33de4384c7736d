#pragma once

#include <optional>
#include <regex>
#include <string>

#include "config/settings.hpp"
#include "daemon/model/job_types.hpp"

namespace govjobd::executors {

// What one executor's config allows a step to ask for: a target that matches its target_pattern (the kind's
// default when unset) and a timeout_seconds within its max_timeout. Checked before a job's first step.
class StepLimits {
 public:
  // Throws std::regex_error for a pattern that does not compile (the config loader refuses those first).
  StepLimits(const std::string& step_type, const config::ExecutorSettings& settings);

  // "target: ..." or "timeout_seconds: ...", naming the field and what the config allows; nullopt when allowed.
  std::optional<std::string> refusal(const model::JobStep& step) const;

 private:
  std::string step_type_;
  std::optional<std::string> pattern_text_;
  std::optional<std::regex> pattern_;
  config::Duration max_timeout_;
};

}  // namespace govjobd::executors
