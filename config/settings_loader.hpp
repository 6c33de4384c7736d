#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.hpp"
#include "config/settings.hpp"

namespace govjobd::config {

// Loads and validates one YAML file. Throws ConfigError listing every problem with file, line and key.
// GOVJOBD_DATABASE_URL, when set, overrides database.url.
Settings load_settings(const std::string& path);

// The same for YAML text; `source` names it in error messages.
Settings parse_settings(std::string_view yaml, const std::string& source);

// Every key of the configuration schema as a dotted path; user-chosen names appear as NAME
// (executors.NAME.kind, health.capabilities.NAME.url).
std::vector<std::string> schema_keys();

}  // namespace govjobd::config
