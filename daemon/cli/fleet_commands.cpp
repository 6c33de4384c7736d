#include "daemon/cli/fleet_commands.hpp"

#include <fmt/format.h>

#include "config/duration.hpp"
#include "daemon/cli/command_support.hpp"
#include "daemon/cli/text_table.hpp"
#include "daemon/model/utf8.hpp"
#include "daemon/run/exit_codes.hpp"

namespace govjobd::cli {

namespace {

// The longest --until as a duration: later than that is "until resumed" in all but name.
constexpr auto kLongestPause = std::chrono::hours(24 * 3650);

// An operator's text as the pauses table takes it: valid UTF-8 of 1 to `max` characters (its varchar bound).
const std::string& bounded(std::string_view option, const std::string& text, std::size_t max) {
  if (!model::is_valid_utf8(text)) throw InputError(fmt::format("{}: contains invalid UTF-8", option));
  std::size_t n = 0;
  for (const char c : text) n += (c & 0xC0) != 0x80;
  if (n < 1 || n > max) throw InputError(fmt::format("{}: expected 1 to {} characters, got {}", option, max, n));
  return text;
}

std::optional<std::string> bounded(std::string_view option, const std::optional<std::string>& text, std::size_t max) {
  if (!text) return std::nullopt;
  return bounded(option, *text, max);
}

// --until: a duration from the database's now, or a UTC time.
void set_until(const std::string& text, store::PauseParams& params) {
  if (const auto in = config::parse_duration(text)) {
    if (*in > kLongestPause) throw InputError(fmt::format("--until {}: at most 3650d from now", text));
    params.until_in = *in;
  } else if (const auto at = model::parse_timestamp(text)) {
    params.until = *at;
  } else {
    throw InputError(fmt::format("--until '{}': expected a duration from now (30m, 2h, 1d) or an ISO-8601 UTC time "
                                 "(2026-11-28T16:00:00Z)", text));
  }
}

nlohmann::json text_or_null(const std::optional<std::string>& text) { return text ? nlohmann::json(*text) : nlohmann::json(); }

std::string time_or_empty(const std::optional<model::Timestamp>& t) { return t ? model::format_timestamp(*t) : ""; }

nlohmann::json time_or_null(const std::optional<model::Timestamp>& t) {
  return t ? nlohmann::json(model::format_timestamp(*t)) : nlohmann::json();
}

std::string filters_text(const store::Pause& p) {
  std::vector<std::string> parts;
  if (p.step_type) parts.push_back("step type " + *p.step_type);
  if (p.target_glob) parts.push_back("target " + *p.target_glob);
  if (p.pool) parts.push_back("pool " + *p.pool);
  return parts.empty() ? "all jobs" : fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

nlohmann::json pause_json(const store::Pause& p) {
  return {{"pause_id", p.pause_id},         {"step_type", text_or_null(p.step_type)},
          {"target_glob", text_or_null(p.target_glob)}, {"pool", text_or_null(p.pool)},
          {"until", time_or_null(p.until)}, {"reason", p.reason},
          {"paused_by", p.paused_by},       {"paused_at", time_or_null(p.paused_at)},
          {"resumed_by", text_or_null(p.resumed_by)}, {"resumed_at", time_or_null(p.resumed_at)},
          {"active", p.active}};
}

std::string pause_table(const std::vector<store::Pause>& pauses, bool with_state, std::size_t indent) {
  std::vector<TextTable::Column> columns{{"ID", 8}, {"FILTERS", 24}, {"BY", 12}, {"SINCE", 16}, {"UNTIL", 16},
                                         {"REASON", 100}};
  if (with_state) columns.insert(columns.begin() + 1, {"STATE", 7});
  TextTable table(columns, indent);
  for (const auto& p : pauses) {
    std::vector<std::string> row{std::to_string(p.pause_id), filters_text(p), p.paused_by,
                                 short_time(time_or_empty(p.paused_at)), short_time(time_or_empty(p.until)), p.reason};
    if (with_state) row.insert(row.begin() + 1, p.active ? "active" : p.resumed_at ? "resumed" : "expired");
    table.add(std::move(row));
  }
  return table.render();
}

int command_pause(const CommonOptions& common, const PauseOptions& o) {
  store::PauseParams params{bounded("--step-type", o.step_type, 100), bounded("--target", o.target, 1024),
                            bounded("--pool", o.pool, 100), std::nullopt, std::nullopt,
                            bounded("--reason", o.reason, 1000), bounded("--by", o.by.value_or(os_user()), 100)};
  if (o.until) set_until(*o.until, params);
  const auto pause_id = open_store(common)->pause_create(params);
  if (!pause_id) throw InputError(fmt::format("--until {} is not in the future", *o.until));
  fmt::print("{}\n", *pause_id);
  return run::kExitOk;
}

int command_resume(const CommonOptions& common, const ResumeOptions& o) {
  const auto resumed =
      open_store(common)->pause_resume({o.all ? std::nullopt : o.pause_id, bounded("--by", o.by.value_or(os_user()), 100)});
  if (resumed.empty())
    fmt::print("no active pause\n");
  else
    fmt::print("{} {} resumed\n", resumed.size() == 1 ? "pause" : "pauses", fmt::join(resumed, ", "));
  return run::kExitOk;
}

int command_pauses(const CommonOptions& common, const PausesOptions& o) {
  constexpr int kLimit = 1000;
  const auto pauses = open_store(common)->pause_list(o.all, kLimit);
  if (o.json) {
    for (const auto& p : pauses) fmt::print("{}\n", json_text(pause_json(p)));
    return run::kExitOk;
  }
  fmt::print("{}", pause_table(pauses, o.all));
  if (pauses.size() == static_cast<std::size_t>(kLimit)) fmt::print("(the newest {} shown)\n", kLimit);
  return run::kExitOk;
}

}  // namespace govjobd::cli
