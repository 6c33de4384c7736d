#include "daemon/cli/command_support.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "config/duration.hpp"
#include "config/settings_loader.hpp"
#include "daemon/model/job_types.hpp"

namespace govjobd::cli {

namespace {

config::Settings load_file_or_defaults(const CommonOptions& common) {
  if (!common.config_path.empty()) return config::load_settings(common.config_path);
  std::error_code ec;
  if (std::filesystem::exists(config::kDefaultConfigPath, ec)) return config::load_settings(config::kDefaultConfigPath);
  return config::parse_settings("", "<built-in defaults>");
}

}  // namespace

config::Settings load_config(const CommonOptions& common) {
  auto settings = load_file_or_defaults(common);
  if (common.database_url) settings.database.url = *common.database_url;
  return settings;
}

std::unique_ptr<store::Store> open_store(const config::Settings& settings) {
  auto store = open_store_unbounded(settings);
  // every command's statement ends within these (a lock another session holds, a LOCK TABLE of the writer's,
  // names itself instead of hanging the command); migrate's DDL waits as long as it must
  store->set_timeouts({std::chrono::seconds(60), std::chrono::seconds(10)});
  return store;
}

std::unique_ptr<store::Store> open_store_unbounded(const config::Settings& settings) {
  return store::Store::connect(settings.database.url, settings.database.jobs_schema, settings.contract);
}

std::unique_ptr<store::Store> open_store(const CommonOptions& common) { return open_store(load_config(common)); }

void require_uuid(const std::string& what, const std::string& text) {
  if (!model::is_uuid(text)) throw InputError(fmt::format("{} '{}' is not a UUID", what, text));
}

std::string resolve_job_id(store::Store& store, const std::string& text) {
  if (model::is_uuid(text)) return text;
  constexpr std::string_view kLow = "00000000-0000-0000-0000-000000000000";
  constexpr std::string_view kHigh = "ffffffff-ffff-ffff-ffff-ffffffffffff";
  const std::string low = text + std::string(kLow.substr(std::min(text.size(), kLow.size())));
  const std::string high = text + std::string(kHigh.substr(std::min(text.size(), kHigh.size())));
  if (text.size() < 8 || !model::is_uuid(low) || !model::is_uuid(high))
    throw InputError(fmt::format("job '{}' is neither a UUID nor the first 8 or more characters of one", text));
  const auto ids = store.job_ids_between(low, high);
  if (ids.empty()) throw InputError(fmt::format("no job id starts with {}", text));
  if (ids.size() > 1) throw InputError(fmt::format("several job ids start with {} ({}, {}, ...): give more of it", text, ids[0], ids[1]));
  return ids[0];
}

std::string json_text(const nlohmann::json& j, int indent) {
  // every character past ASCII as \uXXXX: a writer's text (bidi controls, U+2028, C1 codes) reaches a terminal
  // or a line-by-line reader as it is written, never as what it would do there
  return j.dump(indent, ' ', true, nlohmann::json::error_handler_t::replace);
}

std::optional<std::chrono::milliseconds> since_duration(const std::string& text) {
  constexpr auto kLongest = std::chrono::hours(24 * 36500);
  const auto d = config::parse_duration(text);
  if (d && *d <= kLongest) return d;
  return std::nullopt;
}

std::string os_user() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : std::to_string(::geteuid());
}

}  // namespace govjobd::cli
