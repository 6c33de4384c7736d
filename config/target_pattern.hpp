#pragma once

#include <regex>
#include <string>

namespace govjobd::config {

// An executor's target_pattern, compiled for matching targets the job writer chose: ECMAScript, matched in
// polynomial time (libstdc++'s __polynomial mode: no back-references, no backtracking), so that no target
// can make a match slow. Throws std::regex_error for a pattern it cannot compile.
std::regex compile_target_pattern(const std::string& pattern);

}  // namespace govjobd::config
