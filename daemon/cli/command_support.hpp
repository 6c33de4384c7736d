#pragma once

// What the commands share: their config, their store, who runs them.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/settings.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/store/store.hpp"

namespace govjobd::cli {

// -c FILE (or $GOVJOBD_CONFIG), else /etc/govjobd/govjobd.yaml when it exists, else the built-in defaults;
// --database-url replaces its database.url (after GOVJOBD_DATABASE_URL and database.password_file).
config::Settings load_config(const CommonOptions& common);

// A store on the config's database, the contract gate as configured (why a job waits reads it).
std::unique_ptr<store::Store> open_store(const config::Settings& settings);
std::unique_ptr<store::Store> open_store(const CommonOptions& common);
// The store without the commands' statement and lock timeouts (migrate: DDL waits as long as it must).
std::unique_ptr<store::Store> open_store_unbounded(const config::Settings& settings);

// InputError "WHAT 'TEXT' is not a UUID" unless it is one.
void require_uuid(const std::string& what, const std::string& text);

// A job's id from its full UUID or from a prefix of at least 8 characters (as `jobs list` prints it) that
// names one job; InputError when it names none or several.
std::string resolve_job_id(store::Store& store, const std::string& text);

// JSON as the commands print it: invalid UTF-8 from the writer replaced, never a throw.
std::string json_text(const nlohmann::json& j, int indent = -1);

// --since as a duration back from now (parse_duration's syntax), at most 36500d: older than any row, and
// beyond it the database's timestamps overflow. None when `text` is not such a duration.
std::optional<std::chrono::milliseconds> since_duration(const std::string& text);

// The OS user running the command: $USER, else the effective uid's name, else the uid.
std::string os_user();

}  // namespace govjobd::cli
