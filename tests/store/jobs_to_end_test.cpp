// queries/jobs_to_end.sql against a writer's route: what it returns for a job no live daemon serves is
// bounded by the operators' configs, never by the row.
#include <catch2/catch.hpp>

#include "daemon/store/store.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::store;
using govjobd::testing::TestDatabase;

TEST_CASE("a job whose 1,000 step types no live daemon serves comes back with the served types, not its own",
          "[store][fleet]") {
  TestDatabase db;
  const std::string now = "(now() AT TIME ZONE 'UTC')";
  // a live daemon, up for an hour, serving noop; a job of 1,000 distinct 100-byte step types, an hour old
  db.exec("INSERT INTO govjobd.govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at, alive_since, "
          "serves_step_types, serves_targets, serves_pools) VALUES ('w1', 'h', 1, 'v', " + now + " - interval '1 hour', " +
          now + ", " + now + " - interval '1 hour', '{noop}', '{*}', '{}')");
  db.exec("INSERT INTO governance_jobs (contract_id, steps, created_at) SELECT gen_random_uuid(), "
          "jsonb_agg(jsonb_build_object('step_index', i - 1, 'step_type', rpad(i::text || ' ', 100, 'x'))), " + now +
          " - interval '1 hour' FROM generate_series(1, 1000) i");
  auto store = Store::connect(db.url());
  const auto jobs = store->jobs_to_end(JobsToEndParams{"w1"});
  REQUIRE(jobs.size() == 1);
  REQUIRE(jobs[0].served_step_types);
  CHECK(*jobs[0].served_step_types == std::set<std::string>{"noop"});  // the daemons' names, a few bytes
  CHECK_THAT(jobs[0].unserved.value_or(""), Catch::StartsWith("no live daemon serves step type 1"));
}
