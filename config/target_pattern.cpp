#include "config/target_pattern.hpp"

namespace govjobd::config {

std::regex compile_target_pattern(const std::string& pattern) {
  return std::regex(pattern, std::regex::ECMAScript | std::regex_constants::__polynomial);
}

}  // namespace govjobd::config
