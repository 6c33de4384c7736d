#include "tests/support/job_helpers.hpp"

#include <filesystem>
#include <fstream>

#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"

namespace govjobd::testing {

using nlohmann::json;

SideEffects::SideEffects()
    : path((std::filesystem::temp_directory_path() / ("govjobd-effects-" + unique_marker())).string()) {}

SideEffects::~SideEffects() { std::filesystem::remove(path); }

std::map<std::string, int> SideEffects::counts() const {
  std::map<std::string, int> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) ++out[line];
  return out;
}

std::string SideEffects::executor(const std::string& name) const {
  return "  " + name + ":\n    kind: process\n    command: [/bin/sh, -c, 'echo \"$GOVJOBD_JOB_ID $GOVJOBD_STEP_INDEX\" >> " +
         path + "']\n";
}

std::string SideEffects::fast_executor(const std::string& name, int sleep_ms) const {
  return "  " + name + ":\n    kind: process\n    command: ['" GOVJOBD_TEST_EFFECT "', '" + path + "', '" +
         std::to_string(sleep_ms) + "']\n";
}

std::string creator_signals_ddl(const std::string& schema) {
  return "CREATE TABLE " + schema + R"(.governance_signals (
    id            uuid PRIMARY KEY,
    signal_type   varchar(50) CHECK (signal_type IN ('BLCA_STATUS', 'CI_STATUS', 'DEPLOYMENT_GATE', 'SESSION_BLOCK',
                                                     'MANUAL_OVERRIDE')),
    scope         varchar(500),
    decision      varchar(20) CHECK (decision IN ('CLEAN', 'BLOCKED', 'WARN', 'PENDING')),
    reason        text,
    constraints   jsonb,
    recorded_by   varchar(100),
    recorded_at   timestamptz DEFAULT now(),
    expires_at    timestamptz,
    superseded_by uuid,
    superseded_at timestamptz);
INSERT INTO )" + schema + R"(.governance_signals (id, signal_type, scope, decision, reason, constraints, recorded_by)
VALUES ('20000000-0000-0000-0000-000000000001', 'CI_STATUS', 'payments', 'CLEAN', 'green', '{"max": 1}', 'ci');)";
}

std::string insert_job(TestDatabase& db, const json& steps, const std::string& timeout) {
  return db.scalar("INSERT INTO governance_jobs (contract_id, steps, total_steps, timeout_at) VALUES (gen_random_uuid(), '" +
                   steps.dump() + "', " + std::to_string(steps.size()) + ", (now() AT TIME ZONE 'UTC') + interval '" +
                   timeout + "') RETURNING job_id");
}

void insert_one_step_jobs(TestDatabase& db, int count, const std::string& step_type, int timeout_seconds) {
  db.exec("INSERT INTO governance_jobs (contract_id, steps, total_steps, timeout_at) "
          "SELECT gen_random_uuid(), jsonb_build_array(jsonb_build_object('step_index', 0, 'step_type', '" + step_type +
          "', 'target', 'payments', 'parameters', '{}'::jsonb, 'timeout_seconds', " + std::to_string(timeout_seconds) +
          ")), 1, (now() AT TIME ZONE 'UTC') + interval '1 hour' FROM generate_series(1, " + std::to_string(count) + ")");
}

std::map<std::string, int> jobs_by_status(TestDatabase& db) {
  std::map<std::string, int> out;
  const auto rows = json::parse(db.scalar(
      "SELECT coalesce(json_object_agg(status, n), '{}')::text FROM (SELECT status, count(*) n FROM governance_jobs GROUP BY status) s"));
  for (const auto& [status, n] : rows.items()) out[status] = n.get<int>();
  return out;
}

json step(int index, const std::string& type, json parameters, int timeout, const std::string& target) {
  return {{"step_index", index}, {"step_type", type}, {"target", target}, {"parameters", parameters},
          {"timeout_seconds", timeout}};
}

json job_of(TestDatabase& db, const std::string& id) {
  return json::parse(db.scalar("SELECT row_to_json(j)::text FROM governance_jobs j WHERE job_id = '" + id + "'"));
}

std::string status_of(TestDatabase& db, const std::string& id) {
  return db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + id + "'");
}

std::vector<std::string> transitions_of(TestDatabase& db, const std::string& id) {
  std::vector<std::string> out;
  pqxx::work w(db.sql());
  for (const auto& r : w.exec("SELECT coalesce(from_status, 'NULL') || '->' || to_status || '@' || "
                              "coalesce(step_index::text, '-') FROM governance_job_transitions WHERE job_id = '" +
                              id + "' ORDER BY transition_id"))
    out.push_back(r[0].c_str());
  return out;
}

std::vector<std::string> step_statuses(const json& job) {
  std::vector<std::string> out;
  for (const auto& r : job.at("step_results")) out.push_back(r.at("status"));
  return out;
}

std::string verify_output(const std::string& url) {
  return run_process({GOVJOBD_BINARY, "verify"}, {{"GOVJOBD_DATABASE_URL", url}}, std::chrono::minutes(5)).out;
}

}  // namespace govjobd::testing
