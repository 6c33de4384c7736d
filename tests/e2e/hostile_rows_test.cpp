// Rows the job writer controls, at the head of the queue: each ends FAILED alone, naming what is wrong, and
// the valid jobs behind them run (issue 14, "no poison row").
#include <signal.h>

#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/hostile_rows.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/occurrences.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kNoopExecutor = "  noop: {kind: noop}\n";

// Inserts `n` valid one-step jobs created after every row already there; their ids.
std::vector<std::string> valid_jobs_behind(TestDatabase& db, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(insert_job(db, json::array({step(0, "noop")})));
  return ids;
}

// Runs a daemon until nothing is left to do; every job of `valid` must end COMPLETED. The daemon's log.
std::string run_until_idle(TestDatabase& db, const std::string& name, const std::string& worker_yaml,
                           const std::vector<std::string>& valid) {
  const auto config = write_daemon_config(name, kNoopExecutor, worker_yaml);
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  const auto exit_code = daemon.wait_exit(90s);
  INFO(daemon.log_tail(200000));
  REQUIRE(exit_code == 0);
  for (const auto& id : valid) CHECK(status_of(db, id) == "COMPLETED");
  return daemon.log();
}

}  // namespace

TEST_CASE("every malformed shape of steps at the head of the queue fails alone and the jobs behind it run",
          "[hostile]") {
  TestDatabase db;
  const auto poison = insert_poison_matrix(db);
  REQUIRE(poison.size() > 60);
  const auto valid = valid_jobs_behind(db, 5);
  run_until_idle(db, "poison", "  concurrency: 4\n", valid);
  for (const auto& p : poison) {
    INFO(p.label << " -> job " << p.job_id);
    // read as text: a number like -1e400 is valid JSON that not every parser takes
    const std::string status = db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + p.job_id + "'");
    const std::string reason = db.scalar("SELECT status_reason FROM governance_jobs WHERE job_id = '" + p.job_id + "'");
    INFO(reason);
    CHECK(status == "FAILED");
    CHECK(p.named_in(reason));
  }
  CHECK_THAT(verify_output(db.url()), Catch::Contains("clean"));
}

TEST_CASE("a step's target or type written to read as more of its log line is quoted: no forged event reads as "
          "another job's", "[hostile]") {
  TestDatabase db;
  const std::string forged = "pay) in 0ms; job 11111111-1111-1111-1111-111111111111 step 0 COMPLETED (noop x";
  const auto id = insert_job(db, json::array({step(0, "noop", json::object(), 30, forged)}));
  const auto plain = insert_job(db, json::array({step(0, "noop", json::object(), 30, "db-1.eu")}));
  const auto log = run_until_idle(db, "forged-target", "", {id, plain});
  CHECK_THAT(log, Catch::Contains("job " + id + " step 0 COMPLETED (noop \"" + forged + "\") in "));
  CHECK_THAT(log, !Catch::Contains("(noop pay) in"));
  // a plain word stays as it was (what operators and the journal tests grep for)
  CHECK_THAT(log, Catch::Contains("job " + plain + " step 0 COMPLETED (noop db-1.eu) in "));
}

TEST_CASE("a row that makes the claim statement fail is isolated, failed with the database's message, and not retried",
          "[hostile]") {
  TestDatabase db;
  // Stands in for any data error a claim may still meet: the claim's update of this one row fails.
  const std::string bad = insert_job(db, json::array({step(0, "noop")}));
  db.exec("UPDATE governance_jobs SET current_step_index = 7 WHERE job_id = '" + bad + "'");
  db.exec("CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF NEW.job_id = '" + bad + "' AND NEW.current_step_index IS DISTINCT FROM OLD.current_step_index THEN "
          "RAISE EXCEPTION 'value out of range for this row' USING ERRCODE = '22003'; END IF; RETURN NEW; END $$; "
          "CREATE TRIGGER test_poison BEFORE UPDATE ON governance_jobs FOR EACH ROW EXECUTE FUNCTION test_poison()");
  const auto valid = valid_jobs_behind(db, 5);
  const std::string log = run_until_idle(db, "isolate", "  concurrency: 4\n", valid);
  const json job = job_of(db, bad);
  CHECK(job.at("status") == "FAILED");
  CHECK_THAT(job.at("status_reason").get<std::string>(), Catch::Contains("value out of range for this row"));
  CHECK(occurrences(log, "isolated by claim") == 1);
}

TEST_CASE("a claim statement that fails whichever job it claims fails no job: they stay PENDING, and run once it passes",
          "[hostile]") {
  TestDatabase db;
  // Stands in for an error of the statement, not of a row it claims (an infinite activation window's
  // subtraction was one): a statement trigger, which fires whether or not the claim takes a row.
  db.exec("CREATE FUNCTION test_claims_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF current_query() LIKE '%EXECUTE job_claim(%' OR current_query() LIKE '%EXECUTE job_claim_by_id(%' THEN "
          "RAISE EXCEPTION 'the claim statement breaks' USING ERRCODE = '22003'; END IF; RETURN NULL; END $$; "
          "CREATE TRIGGER test_claims_fail BEFORE UPDATE ON governance_jobs FOR EACH STATEMENT "
          "EXECUTE FUNCTION test_claims_fail()");
  const auto valid = valid_jobs_behind(db, 3);
  const auto elsewhere = db.scalar("INSERT INTO governance_jobs (contract_id, steps, pool) VALUES (gen_random_uuid(), '" +
                                   json::array({step(0, "noop")}).dump() + "', 'elsewhere') RETURNING job_id");
  DaemonProcess daemon(write_daemon_config("anyway", kNoopExecutor, "  concurrency: 8\n  unroutable_after: 1h\n"), db.url());
  REQUIRE(daemon.wait_for_log("the claim fails whichever job it claims (the claim statement breaks)"));
  std::this_thread::sleep_for(1s);
  CHECK(jobs_by_status(db) == std::map<std::string, int>{{"PENDING", 4}});
  db.exec("DROP TRIGGER test_claims_fail ON governance_jobs");
  REQUIRE(eventually([&] { return jobs_by_status(db) == std::map<std::string, int>{{"COMPLETED", 3}, {"PENDING", 1}}; }));
  CHECK(status_of(db, elsewhere) == "PENDING");
  CHECK(occurrences(daemon.log(), "isolated") == 0);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("functions and operators the writer makes in its schema, named like built-ins, are never used", "[hostile]") {
  TestDatabase db;
  // Each resolves better than the built-in for the daemon's own calls, were the writer's schema searched.
  db.exec("CREATE FUNCTION public.make_interval(secs numeric) RETURNS interval LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: make_interval'; END $$; "
          "CREATE FUNCTION public.jsonb_array_length(jsonb) RETURNS int LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: jsonb_array_length'; END $$; "
          "CREATE FUNCTION public.hijack_concat(text, varchar) RETURNS text LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: ||'; END $$; "
          "CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.hijack_concat); "
          // the claim's plan settings (queries/job_claim_plan.sql), the same signature as the built-in
          "CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: set_config'; END $$; "
          // the claim's description of what a writer left in a PENDING row (queries/job_claim.sql)
          "CREATE FUNCTION public.pg_column_size(jsonb) RETURNS int LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: pg_column_size'; END $$; "
          "CREATE FUNCTION public.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: jsonb_typeof'; END $$; "
          "CREATE FUNCTION public.concat_ws(text, text, text, text) RETURNS text LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: concat_ws'; END $$");
  // a job whose preset columns take that description's every call
  const std::string preset = insert_job(db, json::array({step(0, "noop")}));
  db.exec(R"(UPDATE governance_jobs SET step_results = '{"x": 1}', execution_evidence = '{}' WHERE job_id = ')" + preset + "'");
  const auto valid = valid_jobs_behind(db, 3);
  const std::string log = run_until_idle(db, "hijack", "  concurrency: 2\n", valid);
  CHECK_THAT(log, !Catch::Contains("hijacked"));
  CHECK_THAT(job_of(db, preset).at("status_reason").get<std::string>(),
             Catch::StartsWith("invalid job: written before it ran: step_results (a JSON object), execution_evidence; "));
  CHECK_THAT(verify_output(db.url()), Catch::Contains("clean"));
}

TEST_CASE("a job whose steps are larger than worker.max_job_bytes fails without being fetched", "[hostile]") {
  TestDatabase db;
  json big = json::array({step(0, "noop", {{"pad", std::string(20000, 'x')}})});
  const std::string id = insert_job(db, big);
  const auto valid = valid_jobs_behind(db, 2);
  run_until_idle(db, "oversized", "  concurrency: 2\n  max_job_bytes: 10000\n", valid);
  const json job = job_of(db, id);
  CHECK(job.at("status") == "FAILED");
  CHECK_THAT(job.at("status_reason").get<std::string>(),
             Catch::Contains("larger than worker.max_job_bytes (10000); not fetched"));
}

TEST_CASE("a job whose steps hold numbers that run to a gigabyte written out fails without being written out, "
          "and the jobs behind it run", "[hostile]") {
  TestDatabase db;
  // 9,000 numbers of 131,072 digits each, kept by jsonb in about 2.5 kB (the claim once wrote them out: a
  // gigabyte, out of memory, seconds for every claim that took it); and one below 1e-300
  const std::string huge = db.scalar(
      "INSERT INTO governance_jobs (contract_id, steps) SELECT gen_random_uuid(), jsonb_build_array(jsonb_build_object("
      "'step_index', 0, 'step_type', 'noop', 'target', 't', 'parameters', jsonb_build_object('n', "
      "(SELECT jsonb_agg(('1e131071')::numeric) FROM generate_series(1, 9000))))) RETURNING job_id");
  const std::string tiny = db.scalar(
      "INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), "
      "'[{\"step_index\": 0, \"step_type\": \"noop\", \"parameters\": {\"x\": 1e-400}}]') RETURNING job_id");
  const auto valid = valid_jobs_behind(db, 2);
  const auto started = std::chrono::steady_clock::now();
  run_until_idle(db, "numbers", "  concurrency: 2\n", valid);
  CHECK(std::chrono::steady_clock::now() - started < 30s);
  for (const auto& id : {huge, tiny})  // its row read without its steps (written out, they are the gigabyte)
    CHECK(db.scalar("SELECT status || ': ' || status_reason FROM governance_jobs WHERE job_id = '" + id + "'") ==
          "FAILED: invalid steps: steps[0].parameters is nested deeper than 100 levels or holds a number past 1e300 or "
          "within 1e-300 of 0; not fetched");
  const auto shown = run_process({GOVJOBD_BINARY, "jobs", "show", "--json", huge},
                                 {{"GOVJOBD_DATABASE_URL", db.url()}, {"GOVJOBD_CONFIG", ""}});
  CHECK(shown.exit_code == 0);
  CHECK_THAT(shown.out, Catch::Contains("(not shown: nested deeper than 100 levels or holds a number past 1e300 or within 1e-300 of 0)"));
}

TEST_CASE("a job that arrives with step_results, evidence or a snapshot after is failed before its first step, "
          "and what it held is not kept", "[hostile]") {
  TestDatabase db;
  // As a role the writer's trigger trusts (the test's superuser): a forged result for step 0 with a forged
  // snapshot after, an object, a scalar; JSON null holds no result, evidence or snapshot, and runs.
  const std::vector<std::pair<std::string, std::string>> preset = {
      {R"(step_results = '[{"step_index": 0, "status": "FORGED", "output": {"target": "t"}}]',
          health_snapshot_after = '{"forged": true}')",
       "step_results (an array of 1 entry), health_snapshot_after"},
      {R"(step_results = '{"x": 1}')", "step_results (a JSON object)"},
      {R"(step_results = '"text"', execution_evidence = '{"forged": true}')",
       "step_results (a JSON string), execution_evidence"}};
  std::vector<std::string> ids;
  for (const auto& [set, said] : preset) {
    ids.push_back(insert_job(db, json::array({step(0, "noop"), step(1, "noop")})));
    db.exec("UPDATE governance_jobs SET " + set + " WHERE job_id = '" + ids.back() + "'");
  }
  const std::string null_results = insert_job(db, json::array({step(0, "noop")}));
  // (an UPDATE: no insert trigger turns them into SQL NULL first)
  db.exec("UPDATE governance_jobs SET step_results = 'null', execution_evidence = 'null', health_snapshot_after = 'null', "
          "health_snapshot_before = 'null' WHERE job_id = '" + null_results + "'");
  auto valid = valid_jobs_behind(db, 2);
  valid.push_back(null_results);
  run_until_idle(db, "preset", "  concurrency: 2\n", valid);
  for (std::size_t i = 0; i < preset.size(); ++i) {
    const json job = job_of(db, ids[i]);
    INFO(preset[i].first << " -> " << job.dump());
    CHECK(job.at("status") == "FAILED");
    CHECK_THAT(job.at("status_reason").get<std::string>(),
               Catch::StartsWith("invalid job: written before it ran: " + preset[i].second + "; "));
    CHECK(step_statuses(job) == std::vector<std::string>{"SKIPPED", "SKIPPED"});  // no step ran, none forged
    CHECK(job.at("execution_evidence").at("step_results").size() == 2);
    CHECK_FALSE(job.at("execution_evidence").contains("forged"));
    CHECK(job.at("health_snapshot_after").is_null());
  }
  CHECK(job_of(db, null_results).at("status") == "COMPLETED");
  CHECK(job_of(db, null_results).at("step_results").size() == 1);
  CHECK(job_of(db, null_results).at("health_snapshot_before").contains("captured_at"));
  CHECK_THAT(verify_output(db.url()), Catch::Contains("clean"));
}
