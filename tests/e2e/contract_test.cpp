// The contract gate (issue 17 item 6, docs/contract.md) with the real daemon: the creator's contracts table
// decides which jobs run, when, and on which targets; it is read, never written; with the gate off it is
// never touched.
#include <signal.h>

#include <fstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// The creator's table, as its model declares it.
void create_contracts(TestDatabase& db) {
  db.exec("CREATE TABLE public.system_contracts (contract_id uuid PRIMARY KEY, status varchar(20) NOT NULL, "
          "affected_capabilities varchar[] NOT NULL, activation_window_start timestamp, activation_window_end timestamp, "
          "job_id uuid)");
}

// A contract row for `job`'s contract_id. `start` and `end` are SQL expressions (NULL: open).
void contract_for(TestDatabase& db, const std::string& job, const std::string& status, const std::string& capabilities,
                  const std::string& start = "NULL", const std::string& end = "NULL") {
  db.exec("INSERT INTO public.system_contracts SELECT contract_id, '" + status + "', '" + capabilities + "', " + start +
          ", " + end + ", job_id FROM governance_jobs WHERE job_id = '" + job + "'");
}

std::string contracts_digest(TestDatabase& db) {
  return db.scalar("SELECT md5(string_agg(c::text, ',' ORDER BY contract_id)) FROM public.system_contracts c");
}

// A daemon config with the contract gate on (or off).
std::string gate_config(const std::string& name, const std::string& executors, bool enabled = true,
                        const std::string& extra = "") {
  const auto path = write_daemon_config(name, executors);
  std::ofstream(path, std::ios::app) << "contract:\n  enabled: " << (enabled ? "true" : "false") << "\n" << extra;
  return path;
}

std::string reason_of(TestDatabase& db, const std::string& id) {
  return db.scalar("SELECT status_reason FROM governance_jobs WHERE job_id = '" + id + "'");
}

std::string contract_of(TestDatabase& db, const std::string& id) {
  return db.scalar("SELECT contract_id FROM governance_jobs WHERE job_id = '" + id + "'");
}

const std::string kNow = "(now() AT TIME ZONE 'UTC')";

}  // namespace

TEST_CASE("the contract gate fails a job before its first step when its contract is missing, not ACTIVE, past its "
          "window, or does not cover a step's target", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  SideEffects effects;
  const auto config = gate_config("gate", effects.executor("touch"));
  const auto two = [] { return json::array({step(0, "touch", {}, 30, "payments"), step(1, "touch", {}, 30, "ledger")}); };
  const auto allowed = insert_job(db, two());
  contract_for(db, allowed, "ACTIVE", "{payments,ledger}", kNow + " - interval '1 hour'", kNow + " + interval '1 hour'");
  const auto missing = insert_job(db, two());
  const auto draft = insert_job(db, two());
  contract_for(db, draft, "APPROVED", "{payments,ledger}");
  const auto closed = insert_job(db, two());
  contract_for(db, closed, "ACTIVE", "{payments,ledger}", "NULL", "'2026-01-02 03:04:05'");
  const auto outside = insert_job(db, two());
  contract_for(db, outside, "ACTIVE", "{payments}");
  const std::string before = contracts_digest(db);

  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  CHECK(status_of(db, allowed) == "COMPLETED");
  CHECK(reason_of(db, missing) == "contract " + contract_of(db, missing) + " not found in public.system_contracts");
  CHECK(reason_of(db, draft) == "contract " + contract_of(db, draft) + " is APPROVED, not ACTIVE");
  CHECK(reason_of(db, closed) == "contract " + contract_of(db, closed) + ": activation window closed at 2026-01-02T03:04:05.000000Z");
  CHECK(reason_of(db, outside) == "step 1: target 'ledger' is not among contract " + contract_of(db, outside) +
                                      "'s affected capabilities");
  for (const auto& id : {missing, draft, closed, outside}) {
    INFO(id);
    const json job = job_of(db, id);
    CHECK(job.at("status") == "FAILED");
    CHECK(step_statuses(job) == std::vector<std::string>{"SKIPPED", "SKIPPED"});
    CHECK(transitions_of(db, id) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->FAILED@-"});
    const json& gate = job.at("execution_evidence").at("govjobd").at("contract_gate");
    CHECK(gate.at("enabled") == true);
    CHECK(gate.at("decision") == "refused");
    CHECK(gate.at("reason") == job.at("status_reason"));
  }
  const json allowed_gate = job_of(db, allowed).at("execution_evidence").at("govjobd").at("contract_gate");
  CHECK(allowed_gate.at("decision") == "allowed");
  CHECK(allowed_gate.at("contract_status") == "ACTIVE");
  CHECK(allowed_gate.at("affected_capabilities") == json({"payments", "ledger"}));
  CHECK(allowed_gate.at("activation_window").at("start").is_string());
  CHECK(job_of(db, draft).at("execution_evidence").at("govjobd").at("contract_gate").at("contract_status") == "APPROVED");
  // only the allowed job ran anything; the contracts are as they were (read, never written: EXEC-005)
  CHECK(effects.counts() == std::map<std::string, int>{{allowed + " 0", 1}, {allowed + " 1", 1}});
  CHECK(contracts_digest(db) == before);
  CHECK_THAT(daemon.log(), Catch::Contains("job " + draft + " step - RUNNING -> FAILED: contract "));
}

TEST_CASE("a contract with two rows in a creator's table without a unique key fails its job, whichever row the "
          "claim reads first; the table's other jobs run", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  db.exec("ALTER TABLE public.system_contracts DROP CONSTRAINT system_contracts_pkey");
  SideEffects effects;
  const auto config = gate_config("twice", effects.executor("touch"));
  const auto twice = insert_job(db, json::array({step(0, "touch")}));
  contract_for(db, twice, "ACTIVE", "{payments}");  // first in the table: the row a claim's lookup reads
  contract_for(db, twice, "EXPIRED", "{payments}");
  const auto once = insert_job(db, json::array({step(0, "touch")}));
  contract_for(db, once, "ACTIVE", "{payments}");
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  CHECK(status_of(db, once) == "COMPLETED");
  CHECK(reason_of(db, twice) == "contract " + contract_of(db, twice) +
                                    " has more than one row in public.system_contracts: which of them governs the job is unknown");
  const json job = job_of(db, twice);
  CHECK(job.at("status") == "FAILED");
  CHECK(step_statuses(job) == std::vector<std::string>{"SKIPPED"});
  const json& gate = job.at("execution_evidence").at("govjobd").at("contract_gate");
  CHECK(gate.at("decision") == "refused");
  CHECK(gate.at("contract_rows") == "more than one");
  CHECK(effects.counts() == std::map<std::string, int>{{once + " 0", 1}});
}

TEST_CASE("a job whose contract window closes before it opens fails at once, not parked until an opening that "
          "opens nothing", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  SideEffects effects;
  const auto config = gate_config("empty-window", effects.executor("touch"));
  const auto past_end = insert_job(db, json::array({step(0, "touch")}));
  contract_for(db, past_end, "ACTIVE", "{payments}", kNow + " + interval '1 day'", kNow + " - interval '1 day'");
  const auto never = insert_job(db, json::array({step(0, "touch")}));
  contract_for(db, never, "ACTIVE", "{payments}", "'infinity'", kNow + " - interval '1 hour'");
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  for (const auto& id : {past_end, never}) {
    INFO(id);
    CHECK(status_of(db, id) == "FAILED");
    CHECK_THAT(reason_of(db, id), Catch::StartsWith("contract " + contract_of(db, id) + ": activation window is empty: it closes at "));
  }
  CHECK(effects.counts().empty());
}

TEST_CASE("a job before its contract's activation window stays PENDING, then runs once the window opens", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  const auto config = gate_config("window", "  noop: {kind: noop}\n");
  const auto waiting = insert_job(db, json::array({step(0, "noop")}));
  contract_for(db, waiting, "ACTIVE", "{payments}", kNow + " + interval '3 seconds'", kNow + " + interval '1 hour'");
  const std::string opens = db.scalar("SELECT activation_window_start FROM public.system_contracts");
  const auto now_job = insert_job(db, json::array({step(0, "noop")}));
  contract_for(db, now_job, "ACTIVE", "{payments}");
  const auto transactions = [&] {
    return std::stoll(db.scalar("SELECT pg_stat_force_next_flush(); SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"));
  };

  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(eventually([&] { return status_of(db, now_job) == "COMPLETED"; }));
  const long long at_first = transactions();
  CHECK(status_of(db, waiting) == "PENDING");  // claimed beside it, but not before its window
  REQUIRE(daemon.wait_exit(60s) == 0);         // --exit-when-idle waits for it: it is PENDING, not lost
  const json job = job_of(db, waiting);
  CHECK(job.at("status") == "COMPLETED");
  CHECK(db.scalar("SELECT started_at >= '" + opens + "' FROM governance_jobs WHERE job_id = '" + waiting + "'") == "t");
  // picked up within about a poll interval (500 ms here) of the opening, without spinning meanwhile
  CHECK(db.scalar("SELECT started_at < '" + opens + "'::timestamp + interval '1.5 seconds' FROM governance_jobs WHERE job_id = '" +
                  waiting + "'") == "t");
  CHECK(transactions() - at_first < 200);
  CHECK(job.at("execution_evidence").at("govjobd").at("contract_gate").at("decision") == "allowed");
}

TEST_CASE("with the contract gate off no contracts table is read, and with it on an unreadable one stops the daemon "
          "naming the key", "[contract]") {
  TestDatabase db;
  create_contracts(db);  // not readable by the daemon's role: it has no grant on it
  const std::string daemon_url = db.login_as("daemon", "govjobd_daemon");
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  contract_for(db, id, "DRAFT", "{}");
  DaemonProcess off(gate_config("off", "  noop: {kind: noop}\n", false), daemon_url, {"--exit-when-idle"});
  REQUIRE(off.wait_exit() == 0);
  CHECK(status_of(db, id) == "COMPLETED");
  CHECK(job_of(db, id).at("execution_evidence").at("govjobd").at("contract_gate") == json{{"enabled", false}});

  DaemonProcess on(gate_config("on", "  noop: {kind: noop}\n"), daemon_url, {"--exit-when-idle"});
  CHECK(on.wait_exit() == 78);
  CHECK_THAT(on.log(), Catch::Contains("contract.columns.id: column \"contract_id\" of public.system_contracts may not be "
                                       "read by role " + db.name() + "_daemon: GRANT SELECT ON public.system_contracts TO"));
  // a column that is not there, a type the claim cannot read, a table that is not there: each names its key
  db.exec("ALTER TABLE public.system_contracts ALTER COLUMN activation_window_end TYPE text");
  DaemonProcess columns(gate_config("columns", "  noop: {kind: noop}\n", true, "  columns: {status: state}\n"), db.url());
  CHECK(columns.wait_exit() == 78);
  CHECK_THAT(columns.log(), Catch::Contains("contract.columns.status: column \"state\" of public.system_contracts does not exist"));
  CHECK_THAT(columns.log(), Catch::Contains("contract.columns.window_end: column \"activation_window_end\" of "
                                            "public.system_contracts is text; expected timestamp"));
  DaemonProcess table(gate_config("table", "  noop: {kind: noop}\n", true, "  table: creator.contracts\n"), db.url());
  CHECK(table.wait_exit() == 78);
  CHECK_THAT(table.log(), Catch::Contains("contract.table: table creator.contracts does not exist"));
  // what would run code of the table's owner with the daemon's rights: a view, a type of its own (its casts)
  db.exec("CREATE VIEW public.contracts_view AS SELECT * FROM public.system_contracts; "
          "CREATE DOMAIN public.contract_state AS text; CREATE TABLE public.typed_contracts (contract_id uuid, "
          "status public.contract_state, affected_capabilities public.contract_state[], "
          "activation_window_start timestamp, activation_window_end timestamp)");
  DaemonProcess view(gate_config("view", "  noop: {kind: noop}\n", true, "  table: public.contracts_view\n"), db.url());
  CHECK(view.wait_exit() == 78);
  CHECK_THAT(view.log(), Catch::Contains("contract.table: public.contracts_view is a view, not a table: a daemon runs no "
                                         "code of its owner's"));
  DaemonProcess typed(gate_config("typed", "  noop: {kind: noop}\n", true, "  table: public.typed_contracts\n"), db.url());
  CHECK(typed.wait_exit() == 78);
  CHECK_THAT(typed.log(), Catch::Contains("contract.columns.status: column \"status\" of public.typed_contracts is "
                                          "public.contract_state; expected text or character varying"));
  CHECK_THAT(typed.log(), Catch::Contains("contract.columns.affected_capabilities: column \"affected_capabilities\" of "
                                          "public.typed_contracts is public.contract_state[]; expected an array of text"));
}

TEST_CASE("with the contract gate off a job parked while it was on runs: the window pass unparks it, the claims do not",
          "[contract]") {
  TestDatabase db;
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  db.exec("UPDATE governance_jobs SET window_opens_at = " + kNow + " + interval '1 day' WHERE job_id = '" + id + "'");
  DaemonProcess off(gate_config("parked-off", "  noop: {kind: noop}\n", false), db.url());
  CHECK(eventually([&] { return status_of(db, id) == "COMPLETED"; }, 30s));
  off.signal(SIGTERM);
  CHECK(off.wait_exit() == 0);
}

TEST_CASE("a row security policy on the contracts table never runs with a daemon's rights: refused at start, and "
          "turned on while it runs, jobs stay PENDING until it is off", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  const std::string daemon_url = db.login_as("daemon", "govjobd_daemon");
  db.exec("GRANT SELECT ON public.system_contracts TO " + db.name() + "_daemon");
  // the owner's hook: it records whoever reads the table under it
  db.exec("CREATE TABLE public.hook_calls (by_role text); GRANT INSERT ON public.hook_calls TO PUBLIC; "
          "CREATE FUNCTION public.audit_hook() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
          "INSERT INTO public.hook_calls VALUES (current_user); RETURN true; END $$; "
          "CREATE POLICY hook ON public.system_contracts FOR SELECT USING (public.audit_hook())");
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  contract_for(db, id, "ACTIVE", "{payments}");
  db.exec("ALTER TABLE public.system_contracts ENABLE ROW LEVEL SECURITY");
  DaemonProcess refused(gate_config("policy", "  noop: {kind: noop}\n"), daemon_url);
  CHECK(refused.wait_exit() == 78);
  CHECK_THAT(refused.log(), Catch::Contains("contract.table: public.system_contracts is a table with row level security enabled"));

  db.exec("ALTER TABLE public.system_contracts DISABLE ROW LEVEL SECURITY");
  DaemonProcess daemon(gate_config("policy_later", "  noop: {kind: noop}\n"), daemon_url);
  REQUIRE(daemon.wait_for_log("ready"));
  db.exec("ALTER TABLE public.system_contracts ENABLE ROW LEVEL SECURITY");
  const auto later = insert_job(db, json::array({step(0, "noop")}));
  contract_for(db, later, "ACTIVE", "{payments}");
  REQUIRE(daemon.wait_for_log("contract.table: public.system_contracts cannot be read"));
  CHECK(status_of(db, later) == "PENDING");
  CHECK(db.scalar("SELECT count(*) FROM public.hook_calls") == "0");
  db.exec("ALTER TABLE public.system_contracts DISABLE ROW LEVEL SECURITY");
  CHECK(eventually([&] { return status_of(db, later) == "COMPLETED" && status_of(db, id) == "COMPLETED"; }, 20s));
  CHECK(db.scalar("SELECT count(*) FROM public.hook_calls") == "0");
}

TEST_CASE("a contracts table that becomes unreadable while the daemon runs leaves jobs PENDING, and they run once it "
          "is back", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  const auto config = gate_config("dropped", "  noop: {kind: noop}\n");
  DaemonProcess daemon(config, db.url());
  REQUIRE(daemon.wait_for_log("ready"));
  db.exec("ALTER TABLE public.system_contracts RENAME TO system_contracts_old");
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  REQUIRE(daemon.wait_for_log("contract.table: public.system_contracts cannot be read"));
  CHECK(status_of(db, id) == "PENDING");
  db.exec("INSERT INTO public.system_contracts_old SELECT contract_id, 'ACTIVE', '{payments}' FROM governance_jobs; "
          "ALTER TABLE public.system_contracts_old RENAME TO system_contracts");
  CHECK(eventually([&] { return status_of(db, id) == "COMPLETED"; }, 20s));
}

TEST_CASE("a grant revoked while the daemon runs leaves the job PENDING, named by the table it is on and not as a "
          "lost connection - nothing failed or passed over, and the job runs once it is granted again", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  const std::string daemon_url = db.login_as("daemon", "govjobd_daemon");
  const std::string role = db.name() + "_daemon";
  db.exec("GRANT SELECT ON public.system_contracts TO " + role);
  struct Case {
    std::string revoke, grant, logged, not_logged;
  } c;
  SECTION("on the contracts table: the gate names it") {
    c = {"REVOKE SELECT ON public.system_contracts FROM " + role, "GRANT SELECT ON public.system_contracts TO " + role,
         "contract.table: public.system_contracts cannot be read (permission denied", "database unreachable"};
  }
  SECTION("on the jobs table (the creating system's grant, 0009): not blamed on the contracts table") {
    c = {"REVOKE UPDATE ON governance_jobs FROM govjobd_daemon", "GRANT UPDATE ON governance_jobs TO govjobd_daemon",
         "a grant is missing, to be run again: permission denied for table governance_jobs", "contract.table"};
  }
  DaemonProcess daemon(gate_config("revoked", "  noop: {kind: noop}\n"), daemon_url);
  REQUIRE(daemon.wait_for_log("ready"));
  db.exec(c.revoke);
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  contract_for(db, id, "ACTIVE", "{payments}");
  REQUIRE(daemon.wait_for_log(c.logged));
  CHECK(status_of(db, id) == "PENDING");
  CHECK_THAT(daemon.log(), !Catch::Contains(c.not_logged) && !Catch::Contains("database unreachable"));
  db.exec(c.grant);
  CHECK(eventually([&] { return status_of(db, id) == "COMPLETED"; }, 20s));
}

TEST_CASE("a contract section with a name that is not an SQL identifier is a config error", "[contract]") {
  const auto config = gate_config("bad-name", "  noop: {kind: noop}\n", true, "  columns:\n    status: \"status\\\"; DROP TABLE x; --\"\n");
  const auto checked = run_process({GOVJOBD_BINARY, "check-config", "-c", config}, {});
  CHECK(checked.exit_code == 78);
  CHECK_THAT(checked.err, Catch::Contains(config + ":") && Catch::Contains(": contract.columns.status: 'status\"; DROP TABLE x; --' "
                                                                            "is not a column name govjobd accepts"));
  const auto run = run_process({GOVJOBD_BINARY, "run", "-c", config}, {});
  CHECK(run.exit_code == 78);
}

TEST_CASE("contract windows and deadlines at infinity or past the years a daemon reads close what they bound, and a "
          "window that never opens stops no other job", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  const auto one = json::array({step(0, "noop")});
  const auto never = insert_job(db, one);  // activation_window_start infinity: waits for good
  contract_for(db, never, "ACTIVE", "{payments}", "'infinity'");
  const auto elsewhere = db.scalar("INSERT INTO governance_jobs (contract_id, steps, pool) VALUES (gen_random_uuid(), '" +
                                   one.dump() + "', 'elsewhere') RETURNING job_id");  // no daemon here serves its pool
  contract_for(db, elsewhere, "ACTIVE", "{payments}");
  const auto closed = insert_job(db, one);  // activation_window_end -infinity: closed for good
  contract_for(db, closed, "ACTIVE", "{payments}", "NULL", "'-infinity'");
  const auto ancient = insert_job(db, one);  // a deadline before year 1: passed
  contract_for(db, ancient, "ACTIVE", "{payments}");
  const auto endless = insert_job(db, one);  // no bound anywhere
  contract_for(db, endless, "ACTIVE", "{payments}", "'-infinity'", "'infinity'");
  const auto far = insert_job(db, one);  // bounds past 9999, or centuries away
  contract_for(db, far, "ACTIVE", "{payments}", "NULL", "'12000-01-01'");
  db.exec("UPDATE governance_jobs SET timeout_at = CASE job_id WHEN '" + ancient + "' THEN '0044-03-15 BC'::timestamp WHEN '" +
          endless + "' THEN 'infinity' WHEN '" + far + "' THEN '2400-01-01' END WHERE job_id IN ('" + ancient + "', '" +
          endless + "', '" + far + "')");

  // unroutable_after long: the job no daemon here serves stays PENDING rather than failed for that
  const auto config = write_daemon_config("bounds", "  noop: {kind: noop}\n", "  concurrency: 8\n  unroutable_after: 1h\n");
  std::ofstream(config, std::ios::app) << "contract:\n  enabled: true\n";
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] {
    for (const auto& id : {closed, ancient, endless, far})
      if (status_of(db, id) == "PENDING" || status_of(db, id) == "RUNNING") return false;
    return true;
  }));
  INFO(daemon.log_tail());
  CHECK(status_of(db, endless) == "COMPLETED");
  CHECK(status_of(db, far) == "COMPLETED");
  CHECK(status_of(db, closed) == "FAILED");
  CHECK(reason_of(db, closed) == "contract " + contract_of(db, closed) + ": activation window closed at 0001-01-01T00:00:00.000000Z");
  CHECK(status_of(db, ancient) == "FAILED");
  CHECK_THAT(reason_of(db, ancient), Catch::Contains("timeout_at 0001-01-01T00:00:00.000000Z"));
  std::this_thread::sleep_for(1500ms);  // polls more: the two left stay as they are, and no claim fails
  CHECK(status_of(db, never) == "PENDING");
  CHECK(status_of(db, elsewhere) == "PENDING");
  CHECK_THAT(daemon.log(), !Catch::Contains("claim failed"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("a date window past the years a timestamp holds reads as infinity: the job runs, the claims do not fail",
          "[contract]") {
  TestDatabase db;
  db.exec("CREATE TABLE public.dated_contracts (contract_id uuid PRIMARY KEY, status varchar(20) NOT NULL, "
          "affected_capabilities varchar[] NOT NULL, activation_window_start date, activation_window_end date)");
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  db.exec("INSERT INTO public.dated_contracts SELECT contract_id, 'ACTIVE', '{payments}', '2000-01-01', '300000-01-01' "
          "FROM governance_jobs WHERE job_id = '" + id + "'");
  DaemonProcess daemon(gate_config("dated", "  noop: {kind: noop}\n", true, "  table: public.dated_contracts\n"), db.url(),
                       {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  INFO(daemon.log_tail());
  CHECK(status_of(db, id) == "COMPLETED");
  CHECK(job_of(db, id).at("execution_evidence").at("govjobd").at("contract_gate").at("activation_window").at("end") ==
        "9999-12-31T23:59:59.999999Z");
  CHECK_THAT(daemon.log(), !Catch::Contains("claim failed"));
}

TEST_CASE("functions the writer makes in its schema, named like the ones the gate's window reading calls, are never "
          "used", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  // the same signatures as the built-ins: they would win, were the writer's schema searched first
  db.exec("CREATE FUNCTION public.isfinite(timestamp) RETURNS boolean LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: isfinite'; END $$; "
          "CREATE FUNCTION public.to_char(timestamp, text) RETURNS text LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: to_char'; END $$");  // jobs show's (tests/e2e/fleet_cli_test.cpp)
  const auto open = insert_job(db, json::array({step(0, "noop")}));
  contract_for(db, open, "ACTIVE", "{payments}", "NULL", "'infinity'");
  const auto later = insert_job(db, json::array({step(0, "noop")}));  // its window's opening is computed
  contract_for(db, later, "ACTIVE", "{payments}", kNow + " + interval '1 hour'");
  DaemonProcess daemon(gate_config("hijack_window", "  noop: {kind: noop}\n"), db.url());
  REQUIRE(eventually([&] { return status_of(db, open) == "COMPLETED"; }));
  std::this_thread::sleep_for(1s);  // polls more, each computing when the window opens
  CHECK(status_of(db, later) == "PENDING");
  CHECK_THAT(daemon.log(), !Catch::Contains("hijacked") && !Catch::Contains("claim failed"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("a writer's LOCK TABLE on its contracts table, or a grant it revokes, fails claims and holds up nothing "
          "else: the running jobs' ends are recorded and the heartbeat goes on while it lasts", "[contract]") {
  TestDatabase db;
  create_contracts(db);
  // the daemon's own login, granted the contract columns alone (as a creator may grant them)
  const std::string daemon_url = db.login_as("gate", "govjobd_daemon");
  const std::string grant = "GRANT SELECT (contract_id, status, affected_capabilities, activation_window_start, "
                            "activation_window_end) ON public.system_contracts TO " + db.name() + "_gate";
  db.exec(grant);
  SideEffects effects;
  // two slots for six jobs: a slot that frees claims with its job's end (one transaction), which the lock held
  // with it, and the heartbeat behind it on that connection, until the lock went (the lease lapsed meanwhile)
  const auto config = write_daemon_config("locked", effects.fast_executor("slow", 1500),
                                          "  concurrency: 2\n  lease_timeout: 6s\n  heartbeat_interval: 500ms\n");
  std::ofstream(config, std::ios::app) << "contract:\n  enabled: true\n";
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {  // each with its contract before a daemon runs
    ids.push_back(insert_job(db, json::array({step(0, "slow")})));
    contract_for(db, ids.back(), "ACTIVE", "{payments}");
  }
  DaemonProcess daemon(config, daemon_url);
  // the first two end, and the claim of the next two goes with their ends (on the writes' connection, which
  // prepares the claim there): the lock is taken, or the grant revoked, while those run
  REQUIRE(eventually([&] {
    auto by = jobs_by_status(db);
    return by["COMPLETED"] == 2 && by["RUNNING"] == 2;
  }, 15s));
  pqxx::connection locker(db.url());
  pqxx::work lock(locker);
  std::string logged;
  SECTION("a LOCK TABLE") {
    lock.exec("LOCK TABLE public.system_contracts IN ACCESS EXCLUSIVE MODE");
    logged = "claim failed: the contracts table public.system_contracts is locked by another session (a LOCK TABLE, "
             "a long transaction): no claim waits for it more than a second; no job claimed, jobs stay PENDING";
  }
  SECTION("a grant revoked") {
    db.exec("REVOKE SELECT ON public.system_contracts FROM " + db.name() + "_gate");
    logged = "claim failed: contract.table: public.system_contracts cannot be read (permission denied";
  }
  const auto locked_at = std::chrono::steady_clock::now();
  // the two running jobs end and are recorded with the lock held; no other job starts
  CHECK(eventually([&] { return jobs_by_status(db)["COMPLETED"] == 4; }, 6s));
  std::this_thread::sleep_for(locked_at + 9s - std::chrono::steady_clock::now());  // past the lease
  INFO(daemon.log_tail(20000));
  CHECK(jobs_by_status(db) == std::map<std::string, int>{{"COMPLETED", 4}, {"PENDING", 2}});
  CHECK_THAT(daemon.log(), Catch::Contains(logged));
  CHECK_THAT(daemon.log(), !Catch::Contains("no heartbeat recorded"));
  lock.abort();
  db.exec(grant);
  CHECK(eventually([&] { return jobs_by_status(db)["COMPLETED"] == 6; }, 30s));
}
