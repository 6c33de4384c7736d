#pragma once

// What the commands share: their config, their store, who runs them.

#include <memory>
#include <string>

#include "config/settings.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/store/store.hpp"

namespace govjobd::cli {

// -c FILE, else /etc/govjobd/govjobd.yaml when it exists, else the built-in defaults.
config::Settings load_config(const CommonOptions& common);

// A store on the config's database, the contract gate as configured (why a job waits reads it).
std::unique_ptr<store::Store> open_store(const config::Settings& settings);
std::unique_ptr<store::Store> open_store(const CommonOptions& common);

// The OS user running the command: $USER, else the effective uid's name, else the uid.
std::string os_user();

}  // namespace govjobd::cli
