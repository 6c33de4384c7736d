#pragma once

#include <map>
#include <string>

#include "config/settings.hpp"
#include "config/yaml_reader.hpp"

namespace govjobd::config {

// The `executors:` section: step_type -> ExecutorSettings, each checked for its kind.
void read_executors(MapReader& section, std::map<std::string, ExecutorSettings>& out);

}  // namespace govjobd::config
