#include "daemon/cli/command_support.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "config/settings_loader.hpp"

namespace govjobd::cli {

config::Settings load_config(const CommonOptions& common) {
  if (!common.config_path.empty()) return config::load_settings(common.config_path);
  std::error_code ec;
  if (std::filesystem::exists(config::kDefaultConfigPath, ec)) return config::load_settings(config::kDefaultConfigPath);
  return config::parse_settings("", "<built-in defaults>");
}

std::unique_ptr<store::Store> open_store(const config::Settings& settings) {
  return store::Store::connect(settings.database.url, settings.database.jobs_schema, settings.contract);
}

std::unique_ptr<store::Store> open_store(const CommonOptions& common) { return open_store(load_config(common)); }

std::string os_user() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : std::to_string(::geteuid());
}

}  // namespace govjobd::cli
