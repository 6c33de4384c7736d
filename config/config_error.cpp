#include "config/config_error.hpp"

#include <fmt/format.h>

namespace govjobd::config {

std::string ConfigIssue::text() const {
  std::string where = file;
  if (line > 0) where += fmt::format(":{}:{}", line, column);
  return key.empty() ? fmt::format("{}: {}", where, message) : fmt::format("{}: {}: {}", where, key, message);
}

namespace {
std::string join(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const auto& issue : issues) {
    if (!out.empty()) out += '\n';
    out += issue.text();
  }
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<ConfigIssue> issues) : std::runtime_error(join(issues)), issues_(std::move(issues)) {}

}  // namespace govjobd::config
