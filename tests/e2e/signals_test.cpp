// govjobd's signals live in a table of its own: the creating system's governance_signals is never touched.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;

TEST_CASE("signal_record writes to govjobd.govjobd_signals and never touches the creating system's governance_signals",
          "[daemon]") {
  TestDatabase db(TestDatabase::Kind::Empty);
  db.exec(creator_signals_ddl("public"));
  db.exec("CREATE SCHEMA upstream; " + creator_signals_ddl("upstream"));
  const std::string public_before = table_fingerprint(db, "public.governance_signals");
  const std::string upstream_before = table_fingerprint(db, "upstream.governance_signals");
  REQUIRE_THAT(public_before, Catch::Contains("CI_STATUS") && Catch::Contains("decision"));
  for (int run = 0; run < 2; ++run) {  // migrate is idempotent, the second run included
    const auto migrated = run_process({GOVJOBD_BINARY, "migrate"}, {{"GOVJOBD_DATABASE_URL", db.url()}});
    REQUIRE(migrated.exit_code == 0);
    CHECK(table_fingerprint(db, "public.governance_signals") == public_before);
    CHECK(table_fingerprint(db, "upstream.governance_signals") == upstream_before);
  }

  const auto config = write_daemon_config("creator_signals", "  signal_record: {kind: signal_record}\n");
  const auto id = insert_job(db, json::array({step(0, "signal_record", {{"signal_type", "maintenance"},
                                                                        {"decision", "approve"}, {"reason", "upgrade"}})}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  INFO(daemon.log_tail());
  CHECK(status_of(db, id) == "COMPLETED");
  CHECK(db.scalar("SELECT scope || ' ' || signal_type || ' ' || decision || ' ' || reason || ' ' || step_index "
                  "FROM govjobd.govjobd_signals WHERE job_id = '" + id + "'") == "payments maintenance approve upgrade 0");
  CHECK(table_fingerprint(db, "public.governance_signals") == public_before);
  CHECK(table_fingerprint(db, "upstream.governance_signals") == upstream_before);
}
