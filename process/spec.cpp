#include "process/spec.hpp"

#include <cstdlib>

namespace govjobd::process {

std::map<std::string, std::string> inherited_environment(const std::vector<std::string>& names) {
  std::map<std::string, std::string> env;
  for (const auto& name : names)
    if (const char* value = std::getenv(name.c_str())) env[name] = value;
  return env;
}

}  // namespace govjobd::process
