// libFuzzer target: the steps parser, fed the raw text of a job's `steps` column (any bytes: a SQL_ASCII
// database hands over invalid UTF-8). It must never crash, hang or leak, and what it accepts must hold the
// invariants the run loop relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/model/job_types.hpp"
#include "daemon/model/steps_parser.hpp"

using namespace govjobd::model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const StepsParse parsed = parse_steps_text(text);
  const std::string problems = parsed.problems_text();
  if (!parsed.ok()) {
    if (problems.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  if (parsed.steps.empty() || parsed.steps.size() > kMaxSteps) std::abort();
  const int first = parsed.steps.front().step_index;
  if (first != 0 && first != 1) std::abort();
  for (std::size_t i = 0; i < parsed.steps.size(); ++i) {
    const JobStep& s = parsed.steps[i];
    if (s.step_index != first + static_cast<int>(i)) std::abort();  // sorted, no gaps, no duplicates
    if (s.step_type.empty() || s.step_type.size() > kMaxStepTypeLength) std::abort();
    if (!is_clean_text(s.step_type) || !is_clean_text(s.target) || s.target.size() > kMaxTargetLength) std::abort();
    if (!s.parameters.is_object()) std::abort();
    if (s.timeout_seconds < 1 || s.timeout_seconds > kMaxTimeoutSeconds) std::abort();
    const nlohmann::json as_json = s;  // the model's JSON round-trips
    if (!(as_json.get<JobStep>() == s)) std::abort();
    (void)as_json.dump();
  }
  return 0;
}
