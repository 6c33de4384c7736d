#pragma once

// Rows a hostile or careless job writer can produce, generated as a matrix: every JSON type at every field of
// a step, at the first and at a later position, and every type for a step and for the whole list.

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "tests/support/test_database.hpp"

namespace govjobd::testing {

struct PoisonJob {
  std::string job_id;
  std::string label;  // "steps[1].step_index = \"x\""
  std::string field;  // what the job's reason must name ("" when only FAILED is required)

  // Whether `reason` names what is wrong: the field, or for a step_type that is text with no executor the
  // creator's "Step N failed: No handler registered for step type: x", exactly.
  bool named_in(const std::string& reason) const {
    if (field.empty() || reason.find(field) != std::string::npos) return true;
    // only for the one wrong value that is a well-formed type: "x", at steps[N] -> "Step N failed: ..."
    for (const char n : {'0', '1'})
      if (label == std::string("steps[") + n + "].step_type = \"x\"")
        return reason == std::string("Step ") + n + " failed: No handler registered for step type: x";
    return false;
  }
};

// Inserts the matrix as PENDING jobs with plain SQL (steps as JSON text, so duplicate keys reach jsonb as
// written); oldest first, so they are at the head of the queue. Step type of the valid steps: noop.
std::vector<PoisonJob> insert_poison_matrix(pqxx::connection& writer);
inline std::vector<PoisonJob> insert_poison_matrix(TestDatabase& db) { return insert_poison_matrix(db.sql()); }

// A valid noop step at `index`, as JSON text.
std::string valid_step_text(int index);
// Inserts a PENDING job with these steps (JSON text) through `conn`, created an hour ago; its job_id.
std::string insert_as(pqxx::connection& conn, const std::string& steps_text);
// Runs SQL through `conn` in a transaction of its own; the first column of the first row ("" when none).
std::string scalar_as(pqxx::connection& conn, const std::string& sql);
void exec_as(pqxx::connection& conn, const std::string& sql);

// What a job writer might try beyond inserting PENDING jobs, reading and cancelling through
// govjobd.job_cancel: forge statuses, results, evidence, transitions, leases and worker rows, delete
// evidence, or plant objects in govjobd's schema. Each must be refused. `done` is COMPLETED, `running`
// RUNNING under worker w1, `pending` PENDING.
std::vector<std::string> writer_forgeries(const std::string& done, const std::string& running, const std::string& pending);


}  // namespace govjobd::testing
