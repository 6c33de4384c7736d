#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/model/job_status.hpp"
#include "daemon/model/timestamp.hpp"

namespace govjobd::model {

inline constexpr int kDefaultStepTimeoutSeconds = 300;

struct JobStep {
  int step_index = 0;
  std::string step_type;
  std::string target;
  nlohmann::json parameters = nlohmann::json::object();
  int timeout_seconds = kDefaultStepTimeoutSeconds;

  bool operator==(const JobStep&) const = default;
};

struct HealthSnapshot {
  Timestamp captured_at{};
  std::map<std::string, nlohmann::json> capabilities;  // name -> {"state": ..., "details": ...}
  nlohmann::json system_health = nlohmann::json::object();

  bool operator==(const HealthSnapshot&) const = default;
};

struct StepResult {
  int step_index = 0;
  StepStatus status = StepStatus::Pending;
  std::optional<Timestamp> started_at;
  std::optional<Timestamp> completed_at;
  std::optional<nlohmann::json> output;  // an object, or null
  std::optional<std::string> error;
  std::optional<HealthSnapshot> health_after;

  bool operator==(const StepResult&) const = default;
};

struct JobTransitionRecord {
  std::optional<JobStatus> from_status;  // null for the row that records a job's creation
  JobStatus to_status = JobStatus::Pending;
  std::optional<int> step_index;
  std::string reason;
  std::string transitioned_by;
  Timestamp transitioned_at{};

  bool operator==(const JobTransitionRecord&) const = default;
};

// A timestamp as the job model's JSON writes it (ISO-8601, UTC), or null.
nlohmann::json optional_to_json(const std::optional<Timestamp>& t);

// JSON under exactly the field names of the job model. from_json throws std::invalid_argument naming the
// field; the steps of a job are parsed with parse_steps (steps_parser.hpp), which reports every problem.
void to_json(nlohmann::json& j, const JobStep& v);
void from_json(const nlohmann::json& j, JobStep& v);
void to_json(nlohmann::json& j, const HealthSnapshot& v);
void from_json(const nlohmann::json& j, HealthSnapshot& v);
void to_json(nlohmann::json& j, const StepResult& v);
void from_json(const nlohmann::json& j, StepResult& v);
void to_json(nlohmann::json& j, const JobTransitionRecord& v);
void from_json(const nlohmann::json& j, JobTransitionRecord& v);

}  // namespace govjobd::model

namespace govjobd::model {

// 8-4-4-4-12 hexadecimal digits, as PostgreSQL's uuid type writes them (either case).
bool is_uuid(std::string_view text);

}  // namespace govjobd::model
