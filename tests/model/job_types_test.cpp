#include <catch2/catch.hpp>

#include "daemon/model/job_types.hpp"
#include "daemon/model/jsonb_safe.hpp"

using namespace govjobd::model;
using nlohmann::json;

namespace {
Timestamp at(const char* text) { return *parse_timestamp(text); }
}  // namespace

TEST_CASE("timestamps are ISO-8601 UTC to the microsecond", "[model]") {
  const Timestamp t = at("2026-11-28T16:19:50.123456Z");
  CHECK(format_timestamp(t) == "2026-11-28T16:19:50.123456Z");
  CHECK(parse_timestamp("2026-11-28 16:19:50.123456") == t);  // PostgreSQL's text form
  CHECK(parse_timestamp("2026-11-28T16:19:50.123456+00:00") == t);
  CHECK(format_timestamp(at("2026-01-02T03:04:05Z")) == "2026-01-02T03:04:05.000000Z");
  CHECK(format_timestamp(at("2026-01-02T03:04:05.5Z")) == "2026-01-02T03:04:05.500000Z");
  CHECK(format_timestamp(at("1969-12-31T23:59:59.999999Z")) == "1969-12-31T23:59:59.999999Z");  // before the epoch
  CHECK(format_timestamp(at("0001-01-01T00:00:00Z")) == "0001-01-01T00:00:00.000000Z");
  CHECK(format_timestamp(at("9999-12-31T23:59:59.999999Z")) == "9999-12-31T23:59:59.999999Z");
  CHECK_FALSE(parse_timestamp("2026-11-28T16:19:50+02:00"));  // only UTC
  CHECK_FALSE(parse_timestamp("2026-13-28T16:19:50Z"));
  CHECK_FALSE(parse_timestamp("2026-02-30T16:19:50Z"));
  CHECK_FALSE(parse_timestamp("yesterday"));
  CHECK_FALSE(parse_timestamp("2026-11-28T16:19:50.Z"));
  const Timestamp now = now_utc();
  CHECK(parse_timestamp(format_timestamp(now)) == now);
}

TEST_CASE("a bound PostgreSQL writes past the years a timestamp holds reads as the first or last instant, never none",
          "[model]") {
  const auto first = format_timestamp(*parse_bound("-infinity"));
  CHECK(first == "0001-01-01T00:00:00.000000Z");
  CHECK(format_timestamp(*parse_bound("0044-03-15 00:00:00 BC")) == first);
  CHECK(format_timestamp(*parse_bound("infinity")) == "9999-12-31T23:59:59.999999Z");
  CHECK(format_timestamp(*parse_bound("12000-01-01 00:00:00")) == "9999-12-31T23:59:59.999999Z");
  CHECK(format_timestamp(*parse_bound("2026-11-28 16:19:50.5")) == "2026-11-28T16:19:50.500000Z");
  CHECK_FALSE(parse_bound("soon"));
  CHECK_FALSE(parse_bound(""));
}

TEST_CASE("JobStep JSON uses exactly the model's field names and round-trips", "[model]") {
  const JobStep step{3, "config_update", "payments", json{{"key", "limits.max"}, {"new_value", 5}}, 90};
  const json j = step;
  CHECK(j == json::parse(R"({"step_index":3,"step_type":"config_update","target":"payments",
                             "parameters":{"key":"limits.max","new_value":5},"timeout_seconds":90})"));
  CHECK(j.get<JobStep>() == step);
}

TEST_CASE("JobStep defaults: timeout_seconds 300, parameters {}", "[model]") {
  const auto step = json::parse(R"({"step_index":0,"step_type":"noop","target":"x"})").get<JobStep>();
  CHECK(step.timeout_seconds == 300);
  CHECK(step.parameters == json::object());
  CHECK_THROWS_WITH(json::parse(R"({"step_type":"noop"})").get<JobStep>(), "steps[0].step_index: missing");
}

TEST_CASE("HealthSnapshot JSON round-trips", "[model]") {
  HealthSnapshot h;
  h.captured_at = at("2026-11-28T10:00:00.000001Z");
  h.capabilities["payments"] = json{{"state", "HEALTHY"}, {"details", json::object()}};
  h.system_health = json{{"state", "DEGRADED"}, {"load_per_cpu", 1.5}};
  const json j = h;
  CHECK(j.size() == 3);
  CHECK(j.at("captured_at") == "2026-11-28T10:00:00.000001Z");
  CHECK(j.at("capabilities").at("payments").at("state") == "HEALTHY");
  CHECK(j.get<HealthSnapshot>() == h);
  CHECK_THROWS_WITH(json::parse(R"({"captured_at":"2026-11-28T10:00:00Z","capabilities":[],"system_health":{}})")
                        .get<HealthSnapshot>(),
                    "HealthSnapshot.capabilities: expected an object, got an array");
}

TEST_CASE("StepResult JSON round-trips, with nulls where nothing happened", "[model]") {
  StepResult done;
  done.step_index = 2;
  done.status = StepStatus::Failed;
  done.started_at = at("2026-11-28T10:00:00Z");
  done.completed_at = at("2026-11-28T10:00:01.25Z");
  done.output = json{{"exit_code", 3}};
  done.error = "exit code 3";
  done.health_after = HealthSnapshot{at("2026-11-28T10:00:02Z"), {}, json{{"state", "HEALTHY"}}};
  const json j = done;
  for (const char* field : {"step_index", "status", "started_at", "completed_at", "output", "error", "health_after"})
    CHECK(j.contains(field));
  CHECK(j.size() == 7);
  CHECK(j.at("status") == "FAILED");
  CHECK(j.get<StepResult>() == done);

  StepResult skipped;
  skipped.step_index = 3;
  skipped.status = StepStatus::Skipped;
  const json s = skipped;
  CHECK(s.at("started_at").is_null());
  CHECK(s.at("output").is_null());
  CHECK(s.at("error").is_null());
  CHECK(s.at("health_after").is_null());
  CHECK(s.get<StepResult>() == skipped);

  CHECK_THROWS_WITH(json::parse(R"({"step_index":1,"status":"DONE"})").get<StepResult>(),
                    "StepResult.status: expected a step status, got 'DONE'");
  CHECK_THROWS_WITH(json::parse(R"({"step_index":1,"status":"FAILED","output":[1]})").get<StepResult>(),
                    "StepResult.output: expected an object or null, got an array");
}

TEST_CASE("JobTransitionRecord JSON round-trips", "[model]") {
  JobTransitionRecord t{JobStatus::Running, JobStatus::Failed, 1, "step 1 failed: exit code 2", "worker-a",
                        at("2026-11-28T10:00:00Z")};
  const json j = t;
  CHECK(j == json::parse(R"({"from_status":"RUNNING","to_status":"FAILED","step_index":1,
      "reason":"step 1 failed: exit code 2","transitioned_by":"worker-a","transitioned_at":"2026-11-28T10:00:00.000000Z"})"));
  CHECK(j.get<JobTransitionRecord>() == t);

  JobTransitionRecord created{std::nullopt, JobStatus::Pending, std::nullopt, "enqueued", "cli", t.transitioned_at};
  const json c = created;
  CHECK(c.at("from_status").is_null());
  CHECK(c.at("step_index").is_null());
  CHECK(c.get<JobTransitionRecord>() == created);
  CHECK_THROWS_WITH(json::parse(R"({"from_status":"PENDING","to_status":"RUNNING","step_index":null,
      "reason":"x","transitioned_by":"w","transitioned_at":"soon"})").get<JobTransitionRecord>(),
                    "JobTransitionRecord.transitioned_at: expected an ISO-8601 UTC timestamp, got 'soon'");
}

TEST_CASE("is_uuid accepts PostgreSQL's uuid text only", "[model]") {
  CHECK(is_uuid("7f0b7b59-8c6b-4431-a4d6-63b48f652426"));
  CHECK(is_uuid("7F0B7B59-8C6B-4431-A4D6-63B48F652426"));
  CHECK_FALSE(is_uuid("7f0b7b598c6b4431a4d663b48f652426"));
  CHECK_FALSE(is_uuid("7f0b7b59-8c6b-4431-a4d6-63b48f65242g"));
  CHECK_FALSE(is_uuid("'; DROP TABLE governance_jobs; --"));
}

TEST_CASE("JSON from outside is made storable as jsonb: NUL characters replaced, deep nesting not kept", "[model]") {
  using govjobd::model::json_depth;
  using govjobd::model::kMaxJsonDepth;
  using govjobd::model::make_jsonb_safe;
  nlohmann::json ok = {{"a", {1, {{"b", "text"}}}}};
  const auto before = ok;
  CHECK_FALSE(make_jsonb_safe(ok));
  CHECK(ok == before);
  CHECK(json_depth(ok) == 3);
  CHECK(json_depth(1) == 0);
  nlohmann::json nul = {{std::string("k\0", 2), std::string("a\0b", 3)}, {"list", {std::string("\0", 1)}}};
  CHECK(make_jsonb_safe(nul));
  CHECK(nul == nlohmann::json{{"k\xef\xbf\xbd", "a\xef\xbf\xbd" "b"}, {"list", {"\xef\xbf\xbd"}}});
  nlohmann::json deep = 1;
  for (int i = 0; i < 5000; ++i) deep = nlohmann::json::array({std::move(deep)});
  CHECK(json_depth(deep) == 5000);
  CHECK(make_jsonb_safe(deep));
  CHECK(json_depth(deep) == kMaxJsonDepth);  // the value at the limit became a string
  nlohmann::json at_limit = 1;
  for (int i = 0; i < kMaxJsonDepth; ++i) at_limit = nlohmann::json::array({std::move(at_limit)});
  CHECK_FALSE(make_jsonb_safe(at_limit));  // exactly kMaxJsonDepth levels are kept
}
