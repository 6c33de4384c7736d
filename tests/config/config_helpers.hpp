#pragma once

// Helpers of the config tests (config_test.cpp, config_libpq_test.cpp).

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/settings_loader.hpp"

namespace govjobd::testing {

// The text of each issue parse_settings reports for `yaml` (read as govjobd.yaml); none when it is valid.
inline std::vector<std::string> errors_of(const std::string& yaml) {
  try {
    config::parse_settings(yaml, "govjobd.yaml");
  } catch (const config::ConfigError& e) {
    std::vector<std::string> out;
    for (const auto& issue : e.issues()) out.push_back(issue.text());
    return out;
  }
  return {};
}

// A file holding `password` and a newline, with `perms`.
inline std::string password_file(const std::string& password, std::filesystem::perms perms = std::filesystem::perms::owner_read) {
  const auto path = std::filesystem::temp_directory_path() / ("govjobd-password-" + std::to_string(::getpid()));
  std::ofstream(path, std::ios::trunc) << password << "\n";
  std::filesystem::permissions(path, perms);
  return path.string();
}

}  // namespace govjobd::testing
