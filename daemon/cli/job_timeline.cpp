#include "daemon/cli/job_timeline.hpp"

#include <fmt/format.h>

#include "daemon/cli/text_table.hpp"
#include "daemon/model/timestamp.hpp"

namespace govjobd::cli {

namespace {

using nlohmann::json;

const json& member(const json& object, const std::string& key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

// A value as text: a string as it is, null as "-", anything else as JSON. Not yet escaped.
std::string text_of(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string text_at(const json& object, const std::string& key) { return text_of(member(object, key)); }

std::string time_at(const json& object, const std::string& key) {
  const json& v = member(object, key);
  return v.is_string() ? second_time(v.get<std::string>()) : one_line(text_of(v), 30);
}

// Seconds from one recorded time to another; none when either is missing or not a time.
std::optional<double> seconds_between(const json& object, const std::string& from, const std::string& to) {
  const json& a = member(object, from);
  const json& b = member(object, to);
  if (!a.is_string() || !b.is_string()) return std::nullopt;
  const auto ta = model::parse_timestamp(a.get<std::string>());
  const auto tb = model::parse_timestamp(b.get<std::string>());
  if (!ta || !tb) return std::nullopt;
  return std::chrono::duration<double>(*tb - *ta).count();
}

std::string header(const json& job) {
  std::string out;
  auto line = [&out](std::string_view name, const std::string& value) {
    out += fmt::format("{:<10}{}\n", name, one_line(value, 1'000'000));
  };
  line("job", text_at(job, "job_id"));
  line("contract", text_at(job, "contract_id"));
  line("status", text_at(job, "status") + ": " + text_at(job, "status_reason"));
  line("created", time_at(job, "created_at") + " by " + text_at(job, "created_by"));
  const auto waited = seconds_between(job, "created_at", "started_at");
  line("started", time_at(job, "started_at") + (waited ? " (after " + duration_text(*waited) + " PENDING)" : ""));
  line("completed", time_at(job, "completed_at"));
  const auto took = seconds_between(job, "started_at", "completed_at");
  line("duration", took ? duration_text(*took) : "-");
  line("timeout", time_at(job, "timeout_at"));
  return out;
}

std::string transitions(const json& job) {
  const json& list = member(job, "transitions");
  TextTable table({{"TIME", 19}, {"FROM -> TO", 22}, {"STEP", 4}, {"BY", 24}, {"REASON", 1000}}, 2);
  if (list.is_array())
    for (const auto& t : list)
      table.add({time_at(t, "transitioned_at"), text_at(t, "from_status") + " -> " + text_at(t, "to_status"),
                 text_at(t, "step_index"), text_at(t, "transitioned_by"), text_at(t, "reason")});
  return "transitions:\n" + table.render();
}

// A snapshot's state of one capability, and of the system: "-" when not recorded.
std::string state_of(const json& snapshot, const std::string& target) {
  return text_at(member(member(snapshot, "capabilities"), target), "state");
}
std::string system_state_of(const json& snapshot) { return text_at(member(snapshot, "system_health"), "state"); }

const json& result_of(const json& job, const json& step_index) {
  static const json kNull;
  const json& results = member(job, "step_results");
  if (!results.is_array()) return kNull;
  for (const auto& r : results)
    if (member(r, "step_index") == step_index) return r;
  return kNull;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// One step: what it is and how it ended; health of its target and the system before (the previous step's
// after, the job's snapshot for the first) and after; its error's first line.
std::string step_text(const json& step, const json& result, const json& before) {
  const std::string target = text_at(step, "target");
  const auto took = seconds_between(result, "started_at", "completed_at");
  // what govjobd recorded first, the writer's texts after it, each cut: a long step type or target cannot push
  // the status out of sight, nor pass for one
  std::string out = one_line(fmt::format("  #{}  {}  {}  {}  {}", one_line(text_at(step, "step_index"), 12),
                                         result.is_null() ? "not run" : one_line(text_at(result, "status"), 12),
                                         took ? duration_text(*took) : "-", one_line(text_at(step, "step_type"), 40),
                                         one_line(target, 60))) + "\n";
  const json& after = member(result, "health_after");
  if (!after.is_null())
      out += one_line(fmt::format("      health  target {} -> {}  system {} -> {}", state_of(before, target),
                                state_of(after, target), system_state_of(before), system_state_of(after))) + "\n";
  if (const json& error = member(result, "error"); !error.is_null())
    out += one_line("      error   " + first_line(text_of(error))) + "\n";
  return out;
}

std::string steps(const json& job) {
  const json& list = member(job, "steps");
  if (!list.is_array()) return "steps: not a list: " + one_line(text_of(list)) + "\n";
  std::string out = fmt::format("steps ({}):\n", list.size());
  json before = member(job, "health_snapshot_before");
  for (const auto& step : list) {
    const json& result = result_of(job, member(step, "step_index"));
    out += step_text(step, result, before);
    if (!member(result, "health_after").is_null()) before = member(result, "health_after");
  }
  return out;
}

std::string waiting(const json& job) {
  const json& list = member(job, "waiting");
  if (!list.is_array() || list.empty()) return "";
  std::string out = "waiting:\n";
  for (auto reason : list) {
    const std::string name = text_at(reason, "reason");
    if (reason.is_object()) reason.erase("reason");
    out += one_line(fmt::format("  {}  {}", name, text_of(reason))) + "\n";
  }
  return out;
}

}  // namespace

std::string job_timeline(const json& job) { return header(job) + transitions(job) + steps(job) + waiting(job); }

}  // namespace govjobd::cli
