#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/test_database.hpp"

namespace govjobd::testing {

// A file that process steps append "<job_id> <step_index>" to: the side effects, counted.
struct SideEffects {
  SideEffects();
  ~SideEffects();
  SideEffects(const SideEffects&) = delete;
  SideEffects& operator=(const SideEffects&) = delete;

  std::string path;
  // line -> how many times it was written
  std::map<std::string, int> counts() const;
  // An executor named `name` (YAML under executors:) that appends the line through /bin/sh.
  std::string executor(const std::string& name) const;
  // The same through the small govjobd_test_effect program (no shell; cheap to start), which first sleeps
  // `sleep_ms` when given.
  std::string fast_executor(const std::string& name, int sleep_ms = 0) const;
};

// The creating system's own governance_signals table in `schema`, as UPSTREAM_CONTRACT.md describes it, and
// one row of its: govjobd must never touch it.
std::string creator_signals_ddl(const std::string& schema);

// Inserts a PENDING job by plain SQL, as the creating system does; returns its job_id.
std::string insert_job(TestDatabase& db, const nlohmann::json& steps, const std::string& timeout = "1 hour");

// `count` PENDING jobs of one step of `step_type` (target "payments"), inserted by plain SQL in one statement.
void insert_one_step_jobs(TestDatabase& db, int count, const std::string& step_type, int timeout_seconds = 60);

// Jobs by status, e.g. {{"COMPLETED", 98}, {"FAILED", 2}}.
std::map<std::string, int> jobs_by_status(TestDatabase& db);

nlohmann::json step(int index, const std::string& type, nlohmann::json parameters = nlohmann::json::object(),
                    int timeout = 30, const std::string& target = "payments");

nlohmann::json job_of(TestDatabase& db, const std::string& id);
std::string status_of(TestDatabase& db, const std::string& id);
// "FROM->TO@step_index" per transition, in order.
std::vector<std::string> transitions_of(TestDatabase& db, const std::string& id);
std::vector<std::string> step_statuses(const nlohmann::json& job);

// `govjobd verify`'s stdout against the database.
std::string verify_output(const std::string& url);

}  // namespace govjobd::testing
