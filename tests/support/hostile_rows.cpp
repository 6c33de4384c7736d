#include "tests/support/hostile_rows.hpp"

#include <fmt/format.h>

namespace govjobd::testing {

namespace {

const char* kValidStep = R"({"step_index": %I, "step_type": "noop", "target": "payments", "parameters": {}, "timeout_seconds": 30})";

// A valid step at index `index`, with `field` replaced by the JSON text `value`.
std::string step_with(int index, const std::string& field, const std::string& value) {
  std::string step = kValidStep;
  step.replace(step.find("%I"), 2, std::to_string(index));
  const std::string key = "\"" + field + "\": ";
  const auto at = step.find(key);
  const auto value_at = at + key.size();
  const auto end = step[value_at] == '{' ? step.find('}', value_at) + 1 : step.find_first_of(",}", value_at);
  return step.substr(0, at + key.size()) + value + step.substr(end);
}

}  // namespace

std::string valid_step_text(int index) { return step_with(index, "step_type", "\"noop\""); }

std::string insert_as(pqxx::connection& conn, const std::string& steps_text) {
  pqxx::work w(conn);
  const auto row = w.exec_params1(
      "INSERT INTO governance_jobs (contract_id, steps, created_at, timeout_at) "
      "VALUES (gen_random_uuid(), $1::jsonb, (now() AT TIME ZONE 'UTC') - interval '1 hour', "
      "(now() AT TIME ZONE 'UTC') + interval '1 hour') RETURNING job_id",
      steps_text);
  w.commit();
  return row[0].c_str();
}

std::string scalar_as(pqxx::connection& conn, const std::string& sql) {
  pqxx::work w(conn);
  const auto r = w.exec(sql);
  w.commit();
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

void exec_as(pqxx::connection& conn, const std::string& sql) {
  pqxx::work w(conn);
  w.exec(sql);
  w.commit();
}

std::vector<std::string> writer_forgeries(const std::string& done, const std::string& running, const std::string& pending) {
  const auto job = [](const std::string& id) { return "WHERE job_id = '" + id + "'"; };
  const std::string insert = "INSERT INTO governance_jobs (contract_id, steps, status, step_results, execution_evidence, "
                             "claimed_by, lease_expires_at, completed_at) VALUES (gen_random_uuid(), '[]', ";
  const std::string result = R"('[{"step_index": 0, "status": "COMPLETED"}]')";
  return {
      insert + "'COMPLETED', " + result + R"(, '{"final_status": "COMPLETED"}', NULL, NULL, now()))",
      insert + "'RUNNING', '[]', NULL, 'w1', now() + interval '1 hour', NULL)",
      insert + "'PENDING', " + result + ", NULL, NULL, NULL, NULL)",
      insert + R"('PENDING', '[]', '{"forged": true}', NULL, NULL, NULL))",
      insert + "'PENDING', '[]', NULL, 'w1', now() + interval '1 hour', NULL)",
      // a job parked far ahead, as a window pass parks a scheduled start: no claim of the oldest would walk it
      "INSERT INTO governance_jobs (contract_id, window_opens_at) VALUES (gen_random_uuid(), 'infinity')",
      "UPDATE governance_jobs SET status = 'RUNNING' " + job(pending),
      "UPDATE governance_jobs SET status = 'CANCELLED' " + job(pending),
      "UPDATE governance_jobs SET status_reason = 'All steps completed successfully' " + job(pending),
      "UPDATE governance_jobs SET status = 'COMPLETED' " + job(running),
      "UPDATE governance_jobs SET step_results = " + result + " " + job(running),
      "UPDATE governance_jobs SET cancel_requested_at = now(), cancel_requested_by = 'x', cancel_reason = 'y' " + job(running),
      "UPDATE governance_jobs SET lease_expires_at = now() - interval '1 hour' " + job(running),
      "UPDATE governance_jobs SET execution_evidence = '{}' " + job(done),
      "DELETE FROM governance_jobs " + job(done),
      "DELETE FROM governance_jobs " + job(pending),
      "TRUNCATE governance_jobs CASCADE",
      "INSERT INTO govjobd.governance_job_transitions (job_id, from_status, to_status, transitioned_by) VALUES ('" +
          running + "', 'RUNNING', 'COMPLETED', 'govjobd-worker-1')",
      "DELETE FROM govjobd.governance_job_transitions",
      "UPDATE govjobd.govjobd_workers SET heartbeat_at = now() - interval '1 hour'",
      // a running job's row held locked would hold up its daemon's writes (docs/security.md, 12); a job listed
      // in a worker's running_jobs is kept from the reaper
      "SELECT 1 FROM governance_jobs " + job(running) + " FOR UPDATE",
      "SELECT 1 FROM governance_jobs " + job(running) + " FOR NO KEY UPDATE",
      "UPDATE govjobd.govjobd_workers SET running_jobs = ARRAY['" + running + "'::uuid]",
      // a worker's row held locked hangs its daemon's heartbeat, and past the lease fence the daemon stops its
      // own steps (docs/architecture.md): FOR SHARE is the weakest lock its heartbeat's UPDATE waits for
      "SELECT 1 FROM govjobd.govjobd_workers FOR SHARE",
      "DELETE FROM govjobd.govjobd_workers",
      "INSERT INTO govjobd.govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at) VALUES "
      "('w2', 'h', 1, 'v', now(), now())",
      "INSERT INTO govjobd.govjobd_signals (job_id, step_index, scope, signal_type, decision, reason, recorded_by) "
      "VALUES ('" + done + "', 0, 's', 't', 'd', 'r', 'x')",
      "INSERT INTO govjobd.cancel_requests (job_id, requested_by, reason) VALUES ('" + running + "', 'x', 'y')",
      "CREATE TABLE govjobd.planted (id int)",
      "CREATE FUNCTION govjobd.make_interval(secs numeric) RETURNS interval LANGUAGE sql AS $$SELECT interval '1 s'$$",
      "ALTER TABLE governance_jobs DISABLE TRIGGER USER",
      "DROP TRIGGER govjobd_guard_writer ON governance_jobs",
  };
}

std::vector<PoisonJob> insert_poison_matrix(pqxx::connection& writer) {
  // Every JSON type, huge and fractional numbers: values that are wrong for each field.
  const std::vector<std::string> any_wrong = {"null", "true", "false", "\"x\"", "{}", "[1]", "[]", "{\"a\": [1]}"};
  const std::vector<std::string> bad_numbers = {"-1", "1.5", "1e30", "-1e400", "123456789012345678901234567890",
                                                "0.0000001", "2147483648"};
  const std::vector<std::pair<std::string, std::vector<std::string>>> fields = {
      {"step_index", {}}, {"step_type", {"5", "\"\"", "1.5"}}, {"target", {"5", "1e30"}},
      {"parameters", {"5", "\"x\"", "1.5"}}, {"timeout_seconds", {"0"}}};
  std::vector<PoisonJob> out;
  const auto add = [&](const std::string& label, const std::string& field, const std::string& steps) {
    out.push_back({insert_as(writer, steps), label, field});
  };
  for (const auto& [field, extra] : fields) {
    std::vector<std::string> values = any_wrong;
    values.insert(values.end(), extra.begin(), extra.end());
    if (field == "step_index" || field == "timeout_seconds")
      values.insert(values.end(), bad_numbers.begin(), bad_numbers.end());
    for (const auto& value : values) {
      // null and {} are accepted for optional fields (target, parameters): only FAILED/COMPLETED matters there
      // values that are right for the field: null for optional ones, an object for parameters, text for target
      const bool right = (value == "null" && (field == "target" || field == "parameters" || field == "timeout_seconds")) ||
                         (field == "parameters" && value.front() == '{') || (field == "target" && value.front() == '"');
      if (right) continue;
      add(fmt::format("steps[0].{} = {}", field, value), field, "[" + step_with(0, field, value) + "]");
      add(fmt::format("steps[1].{} = {}", field, value), field,
          "[" + step_with(0, "step_type", "\"noop\"") + ", " + step_with(1, field, value) + "]");
    }
    // a duplicate key: jsonb keeps the last one, here the wrong one
    const std::string last_wrong = step_with(0, field, "[1]");
    add(fmt::format("steps[0] with {} twice", field), field,
        "[" + last_wrong.substr(0, 1) + "\"" + field + "\": 0, " + last_wrong.substr(1) + "]");
  }
  for (const auto& value : {"null", "5", "\"x\"", "[1]", "true", "[]"})
    add(fmt::format("steps[1] = {}", value), "", "[" + step_with(0, "step_type", "\"noop\"") + ", " + value + "]");
  for (const auto& value : {"null", "5", "\"x\"", "{}", "true", "[]", "{\"step_index\": 0}"})
    add(fmt::format("steps = {}", value), "", value);
  // a missing field, and an index far beyond the list
  add("steps[0] without step_index", "step_index", R"([{"step_type": "noop", "target": "a"}])");
  add("steps[0].step_index = 2147483647", "step_index", "[" + step_with(0, "step_index", "2147483647") + "]");
  return out;
}

}  // namespace govjobd::testing
