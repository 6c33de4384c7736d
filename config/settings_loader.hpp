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

// True for a schema name govjobd accepts for the jobs table (database.jobs_schema): lower-case letters,
// digits and '_', not starting with a digit, at most 63 characters, so that it needs quoting nowhere.
bool valid_schema_name(std::string_view schema);

}  // namespace govjobd::config
