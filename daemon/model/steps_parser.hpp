#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/model/job_types.hpp"

namespace govjobd::model {

// Bounds a job's steps must stay within; beyond them the job is malformed, never truncated.
inline constexpr std::size_t kMaxSteps = 1000;
inline constexpr std::size_t kMaxStepTypeLength = 100;
inline constexpr std::size_t kMaxTargetLength = 1024;
inline constexpr std::size_t kMaxParametersBytes = 1024 * 1024;
inline constexpr int kMaxTimeoutSeconds = 7 * 24 * 3600;
inline constexpr std::size_t kMaxReportedProblems = 50;

struct StepProblem {
  std::optional<std::size_t> position;  // index in the steps array; none for problems of the whole list
  std::string field;                    // empty for the step itself
  std::string message;

  // "steps[2].timeout_seconds: expected a positive integer ..., got -5"
  std::string text() const;
};

struct StepsParse {
  std::vector<JobStep> steps;  // sorted by step_index; complete only when ok()
  std::vector<StepProblem> problems;

  bool ok() const { return problems.empty(); }
  // Every problem, "; "-separated (at most kMaxReportedProblems, then how many more).
  std::string problems_text() const;
};

// One step at `position`; its problems are appended. Index uniqueness is checked by parse_steps.
std::optional<JobStep> parse_step(const nlohmann::json& step, std::size_t position, std::vector<StepProblem>& problems);

// Validates all of a job's `steps` and reports every problem with its position and field.
// Indexes must be unique and run without gaps from 0 or from 1; the result is in step_index order.
StepsParse parse_steps(const nlohmann::json& steps);

// The same for JSON text (a jsonb column, a file); a syntax error is one problem naming its byte offset.
StepsParse parse_steps_text(std::string_view text);

// A short, printable rendering of a JSON value for error messages: 'ten', -5, an array, ...
std::string describe_json_value(const nlohmann::json& value);

// True when text is valid UTF-8 with no control characters (NUL included).
bool is_clean_text(std::string_view text);

}  // namespace govjobd::model
