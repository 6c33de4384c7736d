// The hostile writer (issue 14): everything the job writer controls, at once, with the writer and the daemon
// under their own database roles. Prints its figures to $GOVJOBD_RELIABILITY_REPORT.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/hostile_rows.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"
#include "tests/reliability/reliability_report.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// The daemon's peak resident set since it started (VmHWM), in KiB.
long long peak_rss_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

std::string one_step(const std::string& type, const std::string& target, const json& parameters) {
  return json::array({step(0, type, parameters, 30, target)}).dump();
}

}  // namespace

TEST_CASE("a hostile writer under its own role: poison rows, a 60 MB row, hijack objects, forged logs and evidence",
          "[reliability]") {
  TestDatabase db;
  const std::string writer_url = db.login_as("writer", "govjobd_writer");
  const std::string daemon_url = db.login_as("daemon", "govjobd_daemon");
  db.exec("GRANT CREATE ON SCHEMA public TO " + db.name() + "_writer");  // a writer that can create in its schema
  pqxx::connection writer(writer_url);

  // Objects named like built-ins in the writer's schema, and a temp table named like the jobs table.
  exec_as(writer,
          "CREATE FUNCTION public.make_interval(secs numeric) RETURNS interval LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked'; END $$; "
          "CREATE FUNCTION public.jsonb_array_length(jsonb) RETURNS int LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked'; END $$");
  pqxx::connection shadow(writer_url);  // a session of the writer's whose temp table shadows the jobs table
  exec_as(shadow, "CREATE TEMP TABLE governance_jobs (job_id uuid)");

  // At the head of the queue: every malformed shape, a 60 MB row, hostile config_update keys, a target that
  // reads as an option, and steps nested 2,000 levels deep.
  const auto poison = insert_poison_matrix(writer);
  const std::string big = insert_as(writer, one_step("noop", "payments", {{"pad", std::string(60 << 20, 'x')}}));
  std::string segments = "a";
  for (int i = 1; i < 100000; ++i) segments += ".a";
  const std::string deep = std::string(2000, '[') + std::string(2000, ']');  // jsonb stores ~2,000 levels, not 10,000
  const std::vector<std::pair<std::string, std::string>> refused = {
      {insert_as(writer, one_step("edit", "app", {{"key", segments}, {"new_value", 1}})), "more than 32 dotted segments"},
      {insert_as(writer, one_step("edit", "app", {{"key", "list.1000000000"}, {"new_value", 1}})), "arrays are not grown"},
      {insert_as(writer, one_step("touch", "--help", json::object())), "does not match the pattern"},
      {insert_as(writer, R"([{"step_index": 0, "step_type": "noop", "parameters": {"a": )" + deep + "}}]"),
       "nested deeper than"},
  };
  // A RUNNING job the writer cancels with a reason that would forge a journal line at priority 0 if it
  // reached the log unescaped.
  const std::string cancelled = insert_as(writer, one_step("sleep", "payments", {{"seconds", 60}}));
  std::vector<std::string> valid;
  for (int i = 0; i < 20; ++i) valid.push_back(insert_as(writer, one_step(i % 2 ? "touch" : "noop", "payments", json::object())));

  // A RUNNING 60 MB job of a worker that is gone: the reaper ends it without fetching its steps.
  const std::string lost = db.scalar(
      "INSERT INTO governance_jobs (contract_id, steps, status, started_at, claimed_by, lease_expires_at) VALUES "
      "(gen_random_uuid(), jsonb_build_array(jsonb_build_object('step_index', 0, 'step_type', 'noop', 'parameters', "
      "jsonb_build_object('pad', repeat('y', 60 << 20)))), 'RUNNING', now() AT TIME ZONE 'UTC', 'ghost', "
      "(now() AT TIME ZONE 'UTC') - interval '1 hour') RETURNING job_id");
  db.exec("INSERT INTO govjobd.governance_job_transitions (job_id, from_status, to_status, transitioned_by) VALUES ('" +
          lost + "', 'PENDING', 'RUNNING', 'ghost')");

  // Forgeries, as the writer, while the daemon runs.
  SideEffects effects;
  const std::string file = (std::filesystem::temp_directory_path() / ("govjobd-hostile-" + unique_marker() + ".yaml")).string();
  std::ofstream(file) << "# the app's settings\nlist: [1, 2]\na: 1\n";
  const auto config = write_daemon_config(
      "hostile-writer", "  noop: {kind: noop}\n  sleep: {kind: sleep}\n  edit: {kind: config_update, files: {app: '" + file + "'}}\n" +
                            effects.fast_executor("touch"),
      // a lease that a loaded machine (a 60 MB row is parsed to text twice) does not outrun
      "  concurrency: 8\n  heartbeat_interval: 1s\n  lease_timeout: 10s\n");
  DaemonProcess daemon(config, daemon_url);

  const std::string done = valid.front();
  REQUIRE(eventually([&] { return status_of(db, done) == "COMPLETED"; }, 60s));
  REQUIRE(eventually([&] { return status_of(db, cancelled) == "RUNNING"; }, 60s));
  CHECK(scalar_as(writer, "SELECT govjobd.job_cancel('" + cancelled + "', 'creator', E'x\\n<0>job " + cancelled +
                              " step - RUNNING -> COMPLETED: forged\\r')") == "REQUESTED");
  const std::string pending = insert_as(writer, one_step("noop", "payments", json::object()));
  const auto forgeries = writer_forgeries(done, lost, pending);
  int forgeries_refused = 0;
  for (const auto& sql : forgeries) {
    try {
      exec_as(writer, sql);
      INFO(sql);
      FAIL_CHECK("the writer's statement was not refused");
    } catch (const pqxx::sql_error&) {
      ++forgeries_refused;
    }
  }
  try {
    exec_as(shadow, "DELETE FROM govjobd.governance_job_transitions WHERE job_id = '" + done + "'");
    FAIL_CHECK("a session with a temp governance_jobs deleted a live job's transitions");
  } catch (const pqxx::sql_error&) {
    ++forgeries_refused;
  }
  valid.push_back(pending);

  REQUIRE(eventually([&] {
    return db.scalar("SELECT count(*) FROM governance_jobs WHERE status IN ('PENDING', 'RUNNING')") == "0";
  }, 120s));
  const long long peak_kb = peak_rss_kb(daemon.pid());
  int completed = 0;
  for (const auto& id : valid) completed += status_of(db, id) == "COMPLETED";
  CHECK(completed == static_cast<int>(valid.size()));
  int poison_failed = 0;
  for (const auto& p : poison) {
    const std::string reason = db.scalar("SELECT status_reason FROM governance_jobs WHERE job_id = '" + p.job_id + "'");
    INFO(p.label << ": " << reason);
    const bool ok = status_of(db, p.job_id) == "FAILED" && p.named_in(reason);
    CHECK(ok);
    poison_failed += ok;
  }
  CHECK_THAT(db.scalar("SELECT status_reason FROM governance_jobs WHERE job_id = '" + big + "'"),
             Catch::Contains("larger than worker.max_job_bytes"));
  CHECK_THAT(db.scalar("SELECT status_reason FROM governance_jobs WHERE job_id = '" + lost + "'"),
             Catch::Contains("worker ghost lost"));
  for (const auto& [id, why] : refused) {
    INFO(id);
    CHECK(status_of(db, id) == "FAILED");
    CHECK_THAT(db.scalar("SELECT status_reason FROM governance_jobs WHERE job_id = '" + id + "'"), Catch::Contains(why));
  }
  CHECK(peak_kb > 0);
  CHECK(peak_kb < 64 * 1024);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
  const std::string log = daemon.log();
  CHECK_THAT(log, !Catch::Contains("hijacked"));
  CHECK(status_of(db, cancelled) == "CANCELLED");
  CHECK_THAT(log, Catch::Contains("x\\n<0>job " + cancelled));  // the reason, escaped, inside its event's line
  std::size_t forged_lines = 0, lines = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line); ++lines) forged_lines += line.starts_with("<0>") || line.starts_with("job");
  CHECK(forged_lines == 0);
  CHECK(std::filesystem::file_size(file) > 0);
  CHECK(effects.counts().size() == 10);  // the valid touch steps, once each; the refused one never ran
  CHECK(verify_output(db.url()) == "verify: clean\n");
  std::filesystem::remove(file);

  report(fmt::format("hostile writer (writer and daemon under their own roles): {} poison shapes at the head of the queue, "
                     "{} ended FAILED naming the field; {} of {} valid jobs behind them COMPLETED; a 60 MB row PENDING "
                     "and one RUNNING of a lost worker failed unread; {} hostile steps refused before running; "
                     "{} of {} forgeries refused by the database; daemon peak RSS {:.1f} MB (limit 64); {} log lines, "
                     "{} forged; verify clean",
                     poison.size(), poison_failed, completed, valid.size(), refused.size(), forgeries_refused,
                     forgeries.size() + 1, peak_kb / 1024.0, lines, forged_lines));
}
