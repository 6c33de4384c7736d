#include "daemon/model/job_types.hpp"

#include <cctype>

#include <fmt/format.h>

#include "daemon/model/steps_parser.hpp"

namespace govjobd::model {

using nlohmann::json;

namespace {

[[noreturn]] void fail(std::string_view type, std::string_view field, std::string_view expected,
                       const json& got) {
  throw std::invalid_argument(fmt::format("{}.{}: expected {}, got {}", type, field, expected,
                                          describe_json_value(got)));
}

const json& member(const json& j, std::string_view type, std::string_view field) {
  if (!j.is_object()) fail(type, "", "an object", j);
  const auto it = j.find(field);
  if (it == j.end()) throw std::invalid_argument(fmt::format("{}.{}: missing", type, field));
  return *it;
}

Timestamp timestamp_member(const json& j, std::string_view type, std::string_view field) {
  const json& v = member(j, type, field);
  if (v.is_string())
    if (auto t = parse_timestamp(v.get_ref<const std::string&>())) return *t;
  fail(type, field, "an ISO-8601 UTC timestamp", v);
}

std::optional<Timestamp> optional_timestamp_member(const json& j, std::string_view type, std::string_view field) {
  if (!j.contains(field) || j.at(field).is_null()) return std::nullopt;
  return timestamp_member(j, type, field);
}

std::string string_member(const json& j, std::string_view type, std::string_view field) {
  const json& v = member(j, type, field);
  if (!v.is_string()) fail(type, field, "a string", v);
  return v.get<std::string>();
}

int int_member(const json& j, std::string_view type, std::string_view field) {
  const json& v = member(j, type, field);
  if (!v.is_number_integer() || v.get<long long>() != static_cast<int>(v.get<long long>()))
    fail(type, field, "an integer", v);
  return v.get<int>();
}

std::optional<int> optional_int_member(const json& j, std::string_view type, std::string_view field) {
  if (!j.contains(field) || j.at(field).is_null()) return std::nullopt;
  return int_member(j, type, field);
}

}  // namespace

json optional_to_json(const std::optional<Timestamp>& t) { return t ? json(format_timestamp(*t)) : json(); }

void to_json(json& j, const JobStep& v) {
  j = json{{"step_index", v.step_index},
           {"step_type", v.step_type},
           {"target", v.target},
           {"parameters", v.parameters},
           {"timeout_seconds", v.timeout_seconds}};
}

void from_json(const json& j, JobStep& v) {
  StepsParse parsed;
  auto step = parse_step(j, 0, parsed.problems);
  if (!step) throw std::invalid_argument(parsed.problems_text());
  v = std::move(*step);
}

void to_json(json& j, const HealthSnapshot& v) {
  j = json{{"captured_at", format_timestamp(v.captured_at)},
           {"capabilities", v.capabilities},
           {"system_health", v.system_health}};
}

void from_json(const json& j, HealthSnapshot& v) {
  constexpr std::string_view type = "HealthSnapshot";
  v.captured_at = timestamp_member(j, type, "captured_at");
  const json& caps = member(j, type, "capabilities");
  if (!caps.is_object()) fail(type, "capabilities", "an object", caps);
  v.capabilities.clear();
  for (const auto& [name, state] : caps.items()) v.capabilities.emplace(name, state);
  const json& system = member(j, type, "system_health");
  if (!system.is_object()) fail(type, "system_health", "an object", system);
  v.system_health = system;
}

void to_json(json& j, const StepResult& v) {
  j = json{{"step_index", v.step_index},
           {"status", to_string(v.status)},
           {"started_at", optional_to_json(v.started_at)},
           {"completed_at", optional_to_json(v.completed_at)},
           {"output", v.output.value_or(json())},
           {"error", v.error ? json(*v.error) : json()},
           {"health_after", v.health_after ? json(*v.health_after) : json()}};
}

void from_json(const json& j, StepResult& v) {
  constexpr std::string_view type = "StepResult";
  v.step_index = int_member(j, type, "step_index");
  const json& status = member(j, type, "status");
  auto parsed = status.is_string() ? parse_step_status(status.get_ref<const std::string&>()) : std::nullopt;
  if (!parsed) fail(type, "status", "a step status", status);
  v.status = *parsed;
  v.started_at = optional_timestamp_member(j, type, "started_at");
  v.completed_at = optional_timestamp_member(j, type, "completed_at");
  v.output.reset();
  if (j.contains("output") && !j.at("output").is_null()) {
    if (!j.at("output").is_object()) fail(type, "output", "an object or null", j.at("output"));
    v.output = j.at("output");
  }
  v.error.reset();
  if (j.contains("error") && !j.at("error").is_null()) v.error = string_member(j, type, "error");
  v.health_after.reset();
  if (j.contains("health_after") && !j.at("health_after").is_null())
    v.health_after = j.at("health_after").get<HealthSnapshot>();
}

void to_json(json& j, const JobTransitionRecord& v) {
  j = json{{"from_status", v.from_status ? json(to_string(*v.from_status)) : json()},
           {"to_status", to_string(v.to_status)},
           {"step_index", v.step_index ? json(*v.step_index) : json()},
           {"reason", v.reason},
           {"transitioned_by", v.transitioned_by},
           {"transitioned_at", format_timestamp(v.transitioned_at)}};
}

void from_json(const json& j, JobTransitionRecord& v) {
  constexpr std::string_view type = "JobTransitionRecord";
  auto status_member = [&](std::string_view field) -> std::optional<JobStatus> {
    const json& s = member(j, type, field);
    if (s.is_null()) return std::nullopt;
    auto parsed = s.is_string() ? parse_job_status(s.get_ref<const std::string&>()) : std::nullopt;
    if (!parsed) fail(type, field, "a job status", s);
    return parsed;
  };
  v.from_status = status_member("from_status");
  auto to = status_member("to_status");
  if (!to) fail(type, "to_status", "a job status", nullptr);
  v.to_status = *to;
  v.step_index = optional_int_member(j, type, "step_index");
  v.reason = string_member(j, type, "reason");
  v.transitioned_by = string_member(j, type, "transitioned_by");
  v.transitioned_at = timestamp_member(j, type, "transitioned_at");
}

}  // namespace govjobd::model

namespace govjobd::model {

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace govjobd::model
