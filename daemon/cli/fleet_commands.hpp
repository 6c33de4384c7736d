#pragma once

// The fleet's operator commands (docs/fleet.md): pause, resume, pauses, status, workers.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/cli/commands.hpp"
#include "daemon/store/fleet.hpp"

namespace govjobd::cli {

struct PauseOptions {
  std::optional<std::string> step_type;
  std::optional<std::string> target;  // a glob
  std::optional<std::string> pool;
  std::optional<std::string> until;  // a duration from now (30m) or an ISO-8601 UTC time
  std::string reason;
  std::optional<std::string> by;  // none: the OS user
};

struct ResumeOptions {
  std::optional<long long> pause_id;  // none: with `all`, every active pause
  bool all = false;
  std::optional<std::string> by;
};

struct PausesOptions {
  bool all = false;  // the ended ones too
  bool json = false;
};

int command_pause(const CommonOptions& common, const PauseOptions& options);
int command_resume(const CommonOptions& common, const ResumeOptions& options);
int command_pauses(const CommonOptions& common, const PausesOptions& options);
int command_status(const CommonOptions& common, bool json);
int command_workers(const CommonOptions& common, bool json);

// A pause as `pauses --json` and `status --json` write it, and as their text tables.
nlohmann::json pause_json(const store::Pause& pause);
std::string pause_table(const std::vector<store::Pause>& pauses, bool with_state, std::size_t indent = 0);

}  // namespace govjobd::cli
