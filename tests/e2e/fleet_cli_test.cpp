// The fleet's operator commands (issue 18 items 5, 6 and 8; docs/fleet.md): pause, resume and pauses; why a
// PENDING job waits (`jobs show`); status and workers. No daemon runs: each situation is set up in the rows
// a daemon would write (worker rows, target holds), so that every waiting reason is seen on its own.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;

namespace {

ProcessResult cli(const std::vector<std::string>& args, const std::string& url,
                      std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv{GOVJOBD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  env["GOVJOBD_DATABASE_URL"] = url;
  return run_process(argv, env);
}

// The first line of stdout, trimmed.
std::string out_line(const ProcessResult& r) { return r.out.substr(0, r.out.find('\n')); }

// One JSON object per line.
std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string config_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("govjobd_fleet_cli_" + std::to_string(::getpid()) + name);
  std::ofstream(path) << text;
  return path.string();
}

// A worker row as a daemon writes it; `beat` is how long ago it last beat (SQL interval), `stopped` whether it
// stopped. Lists are SQL array literals.
void worker(TestDatabase& db, const std::string& id, const std::string& step_types, const std::string& targets,
            const std::string& blocked = "{}", bool host_blocked = false, const std::string& beat = "0 s",
            bool stopped = false, const std::string& pools = "{}") {
  db.exec("INSERT INTO govjobd.govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at, alive_since, "
          "stopped_at, serves_step_types, serves_targets, serves_pools, concurrency, blocked_targets, host_blocked, "
          "health_at) VALUES ('" + id + "', 'host-" + id + "', 1, '0.1.0', now() AT TIME ZONE 'UTC', "
          "(now() AT TIME ZONE 'UTC') - interval '" + beat + "', now() AT TIME ZONE 'UTC', " +
          (stopped ? "now() AT TIME ZONE 'UTC'" : "NULL") + ", '" + step_types + "', '" + targets + "', '" + pools +
          "', 4, '" + blocked + "', " + (host_blocked ? "true" : "false") + ", now() AT TIME ZONE 'UTC')");
}

// A RUNNING job of `worker_id` holding `target`, as a claim leaves it.
std::string running_holder(TestDatabase& db, const std::string& target, const std::string& worker_id) {
  const auto id = insert_job(db, json::array({step(0, "noop", json::object(), 30, target)}));
  db.exec("UPDATE governance_jobs SET status = 'RUNNING', claimed_by = '" + worker_id + "', started_at = now(), "
          "lease_expires_at = now() + interval '1 hour' WHERE job_id = '" + id + "'");
  db.exec("INSERT INTO govjobd.target_holds (target, job_id, held_by) VALUES ('" + target + "', '" + id + "', '" +
          worker_id + "')");
  return id;
}

json waiting_of(TestDatabase& db, const std::string& job, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"jobs", "show", "--json", job};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto shown = cli(args, db.url());
  REQUIRE(shown.exit_code == 0);
  return json::parse(shown.out).value("waiting", json());
}

std::vector<std::string> reasons_of(const json& waiting) {
  std::vector<std::string> out;
  for (const auto& w : waiting) out.push_back(w.at("reason"));
  return out;
}

void check_lines_fit(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::size_t columns = 0;
    for (unsigned char c : line) columns += (c & 0xC0) != 0x80;
    CHECK(columns <= 100);
  }
}

}  // namespace

TEST_CASE("pause records a pause with its filters, pauses lists it, resume ends one or all", "[cli][fleet]") {
  TestDatabase db;
  const auto all = cli({"pause", "--reason", "incident 42", "--by", "alice"}, db.url());
  REQUIRE(all.exit_code == 0);
  const std::string first = out_line(all);
  const auto filtered = cli({"pause", "--step-type", "capability_disable", "--target", "pay*", "--pool", "eu",
                                 "--until", "2h", "--reason", "freeze payments"},
                                db.url(), {{"USER", "ops-bob"}});
  REQUIRE(filtered.exit_code == 0);
  const std::string second = out_line(filtered);
  CHECK(db.scalar("SELECT count(*) FROM govjobd.pauses") == "2");
  CHECK(db.scalar("SELECT step_type || ' ' || target_glob || ' ' || pool || ' ' || paused_by || ' ' || "
                  "(until BETWEEN (now() AT TIME ZONE 'UTC') + interval '119 min' AND (now() AT TIME ZONE 'UTC') + "
                  "interval '121 min') FROM govjobd.pauses WHERE pause_id = " + second) ==
        "capability_disable pay* eu ops-bob true");
  const auto at = cli({"pause", "--until", "2099-01-01T00:00:00Z", "--reason", "later", "--by", "x"}, db.url());
  REQUIRE(at.exit_code == 0);
  CHECK(db.scalar("SELECT until FROM govjobd.pauses WHERE pause_id = " + out_line(at)) == "2099-01-01 00:00:00");

  const auto listed = json_lines(cli({"pauses", "--json"}, db.url()).out);
  REQUIRE(listed.size() == 3);
  const auto& p = listed[1];  // newest first
  CHECK(p.at("pause_id") == std::stoll(second));
  CHECK(p.at("step_type") == "capability_disable");
  CHECK(p.at("target_glob") == "pay*");
  CHECK(p.at("pool") == "eu");
  CHECK(p.at("reason") == "freeze payments");
  CHECK(p.at("paused_by") == "ops-bob");
  CHECK(p.at("until").get<std::string>().ends_with("Z"));
  CHECK(p.at("active") == true);
  CHECK(listed[2].at("step_type").is_null());
  const auto text = cli({"pauses"}, db.url());
  CHECK_THAT(text.out, Catch::Contains("incident 42") && Catch::Contains("all jobs") &&
                           Catch::Contains("step type capability_d") &&
                           Catch::Contains("ops-bob"));
  check_lines_fit(text.out);

  ::pqxx::connection listener(db.url());
  struct Wakes : pqxx::notification_receiver {
    explicit Wakes(pqxx::connection_base& c) : pqxx::notification_receiver(c, "govjobd_jobs") {}
    void operator()(const std::string&, int) override { ++count; }
    int count = 0;
  } wakes(listener);
  const auto resumed = cli({"resume", first, "--by", "carol"}, db.url());
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.out == "pause " + first + " resumed\n");
  listener.await_notification(10, 0);
  CHECK(wakes.count == 1);
  CHECK(json_lines(cli({"pauses", "--json"}, db.url()).out).size() == 2);
  const auto ended = json_lines(cli({"pauses", "--all", "--json"}, db.url()).out);
  REQUIRE(ended.size() == 3);
  CHECK(ended[2].at("resumed_by") == "carol");
  CHECK(ended[2].at("active") == false);
  const auto again = cli({"resume", first}, db.url());
  CHECK(again.exit_code == 65);
  CHECK_THAT(again.err, Catch::Contains("pause " + first + " was already resumed by carol at "));
  const auto unknown = cli({"resume", "987654"}, db.url());
  CHECK(unknown.exit_code == 65);
  CHECK(unknown.err == "govjobd: error: pause 987654 not found\n");
  CHECK(cli({"resume"}, db.url()).exit_code == 2);
  CHECK(cli({"resume", second, "--all"}, db.url()).exit_code == 2);

  const auto rest = cli({"resume", "--all", "--by", "dave"}, db.url());
  CHECK(rest.exit_code == 0);
  CHECK(rest.out == "pauses " + second + ", " + out_line(at) + " resumed\n");
  CHECK(cli({"pauses", "--json"}, db.url()).out.empty());
  CHECK(cli({"resume", "--all"}, db.url()).out == "no active pause\n");
}

TEST_CASE("pause refuses bad input with exit 65 and one line naming the option", "[cli][fleet]") {
  TestDatabase db;
  auto refused = [&](std::vector<std::string> args, const std::string& message) {
    const auto r = cli(args, db.url());
    CHECK(r.exit_code == 65);
    CHECK(r.err == "govjobd: error: " + message + "\n");
  };
  refused({"pause", "--reason", ""}, "--reason: expected 1 to 1000 characters, got 0");
  refused({"pause", "--reason", std::string(1001, 'r')}, "--reason: expected 1 to 1000 characters, got 1001");
  refused({"pause", "--reason", "x", "--by", std::string(101, 'b')}, "--by: expected 1 to 100 characters, got 101");
  refused({"pause", "--reason", "bad \xff byte"}, "--reason: contains invalid UTF-8");
  refused({"pause", "--reason", "x", "--target", ""}, "--target: expected 1 to 1024 characters, got 0");
  refused({"pause", "--reason", "x", "--step-type", std::string(101, 's')},
          "--step-type: expected 1 to 100 characters, got 101");
  refused({"pause", "--reason", "x", "--until", "tomorrow"},
          "--until 'tomorrow': expected a duration from now (30m, 2h, 1d) or an ISO-8601 UTC time (2026-11-28T16:00:00Z)");
  refused({"pause", "--reason", "x", "--until", "2001-01-01T00:00:00Z"},
          "--until 2001-01-01T00:00:00Z is not in the future");
  refused({"pause", "--reason", "x", "--until", "3651d"}, "--until 3651d: at most 3650d from now");
  CHECK(cli({"pause"}, db.url()).exit_code == 2);
  CHECK(db.scalar("SELECT count(*) FROM govjobd.pauses") == "0");
}

TEST_CASE("jobs show says why a PENDING job waits: unserved, target BLOCKED, held, paused, a free slot", "[cli][fleet]") {
  TestDatabase db;
  const auto job = insert_job(db, json::array({step(0, "noop", json::object(), 30, "payments")}));
  auto unserved = waiting_of(db, job);
  REQUIRE(reasons_of(unserved) == std::vector<std::string>{"unserved"});
  CHECK(unserved[0].at("missing") ==
        json::array({"no live daemon serves step type noop", "no live daemon serves target payments"}));

  worker(db, "w-ledger", "{noop}", "{ledger*}");
  worker(db, "w-gone", "{noop}", "{*}", "{}", false, "10 min");  // lost: beyond the lease
  worker(db, "w-stopped", "{noop}", "{*}", "{}", false, "0 s", true);
  unserved = waiting_of(db, job);
  REQUIRE(reasons_of(unserved) == std::vector<std::string>{"unserved"});
  CHECK(unserved[0].at("missing") == json::array({"no live daemon serves target payments"}));

  worker(db, "w-sick", "{noop}", "{pay*}", "{payments,ledger}");
  worker(db, "w-host", "{noop}", "{*}", "{}", true);
  auto blocked = waiting_of(db, job);
  REQUIRE(reasons_of(blocked) == std::vector<std::string>{"target_blocked"});
  CHECK(blocked[0].at("blocked") == json::array({{{"target", "payments"}, {"worker_ids", {"w-sick"}}}}));
  CHECK(blocked[0].at("host_blocked") == json::array({"w-host"}));

  worker(db, "w-ok", "{noop}", "{*}");
  const auto holder = running_holder(db, "payments", "w-ok");
  const auto held = waiting_of(db, job);
  REQUIRE(reasons_of(held) == std::vector<std::string>{"target_held"});
  CHECK(held[0].at("holds")[0].at("target") == "payments");
  CHECK(held[0].at("holds")[0].at("job_id") == holder);
  CHECK(held[0].at("holds")[0].at("held_by") == "w-ok");

  const auto pause = out_line(cli({"pause", "--target", "pay*", "--reason", "incident", "--by", "erin"}, db.url()));
  const auto paused = waiting_of(db, job);
  REQUIRE(reasons_of(paused) == std::vector<std::string>{"paused", "target_held"});
  CHECK(paused[0].at("pauses")[0].at("pause_id") == std::stoll(pause));
  CHECK(paused[0].at("pauses")[0].at("paused_by") == "erin");
  CHECK(paused[0].at("pauses")[0].at("reason") == "incident");

  const auto other = insert_job(db, json::array({step(0, "noop", json::object(), 30, "ledger")}));
  CHECK(reasons_of(waiting_of(db, other)) == std::vector<std::string>{"slots"});
  CHECK(waiting_of(db, holder).is_null());  // RUNNING: not waiting
}

TEST_CASE("jobs show names the contract window a PENDING job waits for when the gate is on", "[cli][fleet]") {
  TestDatabase db;
  db.exec("CREATE TABLE public.system_contracts (contract_id uuid PRIMARY KEY, status varchar(20) NOT NULL, "
          "affected_capabilities varchar[] NOT NULL, activation_window_start timestamp, activation_window_end "
          "timestamp, job_id uuid)");
  const auto job = insert_job(db, json::array({step(0, "noop")}));
  db.exec("INSERT INTO public.system_contracts SELECT contract_id, 'ACTIVE', '{payments}', '2098-01-01 00:00', NULL, "
          "job_id FROM governance_jobs");
  worker(db, "w-ok", "{noop}", "{*}");
  CHECK(reasons_of(waiting_of(db, job)) == std::vector<std::string>{"slots"});  // the gate off: not read
  const auto gated = waiting_of(db, job, {"-c", config_file("gate.yaml", "contract:\n  enabled: true\n")});
  REQUIRE(reasons_of(gated) == std::vector<std::string>{"contract_window"});
  CHECK(gated[0].at("window_start") == "2098-01-01T00:00:00.000000Z");
  CHECK(gated[0].at("contract_id") == db.scalar("SELECT contract_id FROM governance_jobs"));
  // a window that never opens says so, and functions the writer makes like the ones it calls are not used
  db.exec("CREATE FUNCTION public.isfinite(timestamp) RETURNS boolean LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: isfinite'; END $$; "
          "CREATE FUNCTION public.to_char(timestamp, text) RETURNS text LANGUAGE plpgsql AS "
          "$$ BEGIN RAISE EXCEPTION 'hijacked: to_char'; END $$");
  db.exec("UPDATE public.system_contracts SET activation_window_start = 'infinity'");
  const auto never = waiting_of(db, job, {"-c", config_file("gate_never.yaml", "contract:\n  enabled: true\n")});
  REQUIRE(reasons_of(never) == std::vector<std::string>{"contract_window"});
  CHECK(never[0].at("window_start") == "infinity");
}

TEST_CASE("status and workers show the fleet at a glance, as JSON and as text within 100 columns", "[cli][fleet]") {
  TestDatabase db;
  worker(db, "w-ok", "{noop}", "{*}");
  worker(db, "w-sick\nforged", "{noop,process}", "{pay*,ledger}", "{ledger}", true, "0 s", false, "{eu}");
  worker(db, "w-gone", "{noop}", "{*}", "{}", false, "10 min");
  worker(db, "w-stopped", "{noop}", "{*}", "{}", false, "0 s", true);
  const auto holder = running_holder(db, "payments", "w-ok");
  insert_job(db, json::array({step(0, "noop", json::object(), 30, "payments")}));      // target_held
  insert_job(db, json::array({step(0, "noop", json::object(), 30, "ledger")}));        // slots
  insert_job(db, json::array({step(0, "capability_disable", json::object(), 30, "x")}));  // unserved
  db.exec("UPDATE governance_jobs SET created_at = created_at - interval '1 hour' WHERE status = 'PENDING' "
          "AND steps -> 0 ->> 'target' = 'x'");
  cli({"pause", "--step-type", "noop", "--target", "ledger", "--reason", "ledger freeze", "--by", "erin"}, db.url());

  const auto status = cli({"status", "--json"}, db.url());
  REQUIRE(status.exit_code == 0);
  const auto s = json::parse(status.out);
  CHECK(s.at("jobs") == json({{"PENDING", 3}, {"RUNNING", 1}, {"COMPLETED", 0}, {"FAILED", 0}, {"CANCELLED", 0}}));
  CHECK(s.at("oldest_pending_age_seconds").get<double>() >= 3600);
  CHECK(s.at("pending_by_reason") == json({{"paused", 1}, {"contract_window", 0}, {"unserved", 1},
                                           {"target_blocked", 0}, {"target_held", 1}, {"slots", 0}}));
  CHECK(s.at("classified") == 3);
  CHECK(s.at("pauses").size() == 1);
  CHECK(s.at("pauses")[0].at("reason") == "ledger freeze");
  REQUIRE(s.at("held_targets").size() == 1);
  CHECK(s.at("held_targets")[0].at("target") == "payments");
  CHECK(s.at("held_targets")[0].at("job_id") == holder);
  CHECK(s.at("held_targets")[0].at("held_by") == "w-ok");
  CHECK(s.at("daemons") == json({{"live", 2}, {"lost", 1}, {"stopped", 1}}));
  const auto status_text = cli({"status"}, db.url());
  CHECK_THAT(status_text.out, Catch::Contains("PENDING 3") && Catch::Contains("  target_held  ") &&
                                  Catch::Contains("ledger freeze") && Catch::Contains("payments") &&
                                  Catch::Contains("live 2, lost 1"));
  check_lines_fit(status_text.out);

  const auto workers = json_lines(cli({"workers", "--json"}, db.url()).out);
  REQUIRE(workers.size() == 4);
  std::map<std::string, json> by_id;
  for (const auto& w : workers) by_id[w.at("worker_id")] = w;
  const auto& sick = by_id.at("w-sick\nforged");
  CHECK(sick.at("state") == "live");
  CHECK(sick.at("serves") == json({{"step_types", {"noop", "process"}}, {"targets", {"pay*", "ledger"}},
                                   {"pools", {"eu"}}}));
  CHECK(sick.at("blocked_targets") == json::array({"ledger"}));
  CHECK(sick.at("host_blocked") == true);
  CHECK(by_id.at("w-ok").at("running_jobs") == 1);
  CHECK(by_id.at("w-ok").at("concurrency") == 4);
  CHECK(by_id.at("w-gone").at("state") == "lost");
  CHECK(by_id.at("w-gone").at("heartbeat_age_seconds").get<double>() >= 600);
  CHECK(by_id.at("w-stopped").at("state") == "stopped");
  const auto text = cli({"workers"}, db.url());
  CHECK_THAT(text.out, Catch::Contains("w-sick\\nforged") && !Catch::Contains("w-sick\nforged") &&
                           Catch::Contains("host BLOCKED"));
  check_lines_fit(text.out);
}

TEST_CASE("status classifies at most the 10000 oldest PENDING jobs and says so", "[cli][fleet]") {
  TestDatabase db;
  insert_one_step_jobs(db, 10'001, "noop");
  const auto s = json::parse(cli({"status", "--json"}, db.url()).out);
  CHECK(s.at("jobs").at("PENDING") == 10'001);
  CHECK(s.at("classified") == 10'000);
  CHECK(s.at("pending_by_reason").at("unserved") == 10'000);
  CHECK_THAT(cli({"status"}, db.url()).out, Catch::Contains("the 10000 oldest of 10001 PENDING jobs"));
}
