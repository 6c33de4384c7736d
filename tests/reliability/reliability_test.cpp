// The reliability suite (scripts/test --reliability): what the world does to a fleet of daemons, and the
// evidence afterwards. Every case counts side effects outside the database (a file each step appends to),
// so "exactly once" is measured, not assumed, and ends with `govjobd verify`. Each case appends its figures
// to $GOVJOBD_RELIABILITY_REPORT, which scripts/test prints.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "process/child_reaper.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"
#include "tests/reliability/reliability_report.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// `count` PENDING jobs of 1 to 3 steps of `step_type`, inserted by plain SQL in one statement.
void insert_jobs(TestDatabase& db, int count, const std::string& step_type) {
  db.exec(fmt::format(
      "INSERT INTO governance_jobs (contract_id, steps, total_steps, timeout_at) "
      "SELECT gen_random_uuid(), (SELECT jsonb_agg(jsonb_build_object('step_index', k, 'step_type', '{}', "
      "'target', 'capability-' || k, 'parameters', jsonb_build_object('job', i), 'timeout_seconds', 60)) "
      "FROM generate_series(0, i % 3) k), i % 3 + 1, (now() AT TIME ZONE 'UTC') + interval '1 hour' "
      "FROM generate_series(1, {}) i",
      step_type, count));
}

// A scalar that tolerates the database being away (outage tests): nullopt then.
std::optional<long long> count_of(TestDatabase& db, const std::string& query) {
  try {
    return std::stoll(db.scalar(query));
  } catch (const std::exception&) {
    db.reset_connection();
    return std::nullopt;
  }
}

bool all_terminal(TestDatabase& db) {
  return count_of(db, "SELECT count(*) FROM governance_jobs WHERE status IN ('PENDING', 'RUNNING')") == 0;
}

// Side effects against the recorded step results, step by step.
struct EffectAudit {
  long long steps = 0;               // step results recorded
  long long executed = 0;            // distinct steps with a side effect
  long long twice = 0;               // steps with more than one side effect
  long long completed_without = 0;   // COMPLETED results without a side effect
  long long skipped_with = 0;        // SKIPPED results (never run) with a side effect
  long long unknown = 0;             // side effects of no recorded step
  std::map<std::string, long long> by_job;  // side effects per job

  std::string text() const {
    return fmt::format("{} step results, {} executed, {} executed twice, {} COMPLETED without its side effect, "
                       "{} SKIPPED with one, {} side effects of no recorded step",
                       steps, executed, twice, completed_without, skipped_with, unknown);
  }
  bool clean() const { return twice == 0 && completed_without == 0 && skipped_with == 0 && unknown == 0; }
};

EffectAudit audit_effects(TestDatabase& db, const SideEffects& effects) {
  EffectAudit a;
  const auto all = effects.counts();
  for (const auto& [line, n] : all) {
    a.executed += 1;
    a.by_job[line.substr(0, line.find(' '))] += n;
  }
  auto counts = all;  // what no step result accounts for is left
  pqxx::work w(db.sql());
  const auto rows = w.exec("SELECT j.job_id::text, r->>'step_index', r->>'status' FROM governance_jobs j, "
                           "jsonb_array_elements(coalesce(j.step_results, '[]'::jsonb)) r");
  for (const auto& row : rows) {
    ++a.steps;
    const std::string line = std::string(row[0].c_str()) + " " + row[1].c_str();
    const std::string status = row[2].c_str();
    const auto it = counts.find(line);
    const int n = it == counts.end() ? 0 : it->second;
    if (n > 1) ++a.twice;
    if (status == "COMPLETED" && n == 0) ++a.completed_without;
    if (status == "SKIPPED" && n > 0) ++a.skipped_with;
    if (it != counts.end()) counts.erase(it);
  }
  a.unknown = static_cast<long long>(counts.size());
  return a;
}

std::map<std::string, long long> status_counts(TestDatabase& db) {
  std::map<std::string, long long> out;
  pqxx::work w(db.sql());
  for (const auto& row : w.exec("SELECT status, count(*) FROM governance_jobs GROUP BY status"))
    out[row[0].c_str()] = row[1].as<long long>();
  return out;
}

std::string statuses_text(const std::map<std::string, long long>& counts) {
  std::string out;
  for (const auto& [status, n] : counts) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + status;
  return out;
}

// A daemon log's warning and error lines, the first 10.
std::string serious_lines(const std::string& log) {
  std::istringstream in(log);
  std::string out, line;
  for (int n = 0; n < 10 && std::getline(in, line);)
    if (line.find("Z warning ") != std::string::npos || line.find("Z error ") != std::string::npos ||
        line.find("Z critical ") != std::string::npos) {
      out += line + "\n";
      ++n;
    }
  return out;
}

// Jobs that ended some other way than COMPLETED or "worker ... lost" (a reaped claim).
long long ended_otherwise(TestDatabase& db) {
  return std::stoll(db.scalar("SELECT count(*) FROM governance_jobs WHERE status <> 'COMPLETED' "
                              "AND NOT (status = 'FAILED' AND (status_reason LIKE 'worker % lost%' OR status_reason LIKE 'Step % failed: worker % lost%'))"));
}

}  // namespace

TEST_CASE("4 daemons, 20,000 jobs of 1 to 3 steps: every step executed exactly once, verify clean", "[reliability]") {
  const int jobs = env_int("GOVJOBD_RELIABILITY_JOBS", 20000);
  TestDatabase db;
  SideEffects effects;
  const auto config = write_daemon_config("load", effects.fast_executor("touch"),
                                          std::string("  concurrency: 16\n") + kLoadedMachineLease);
  insert_jobs(db, jobs, "touch");
  const long long expected_steps = std::stoll(db.scalar("SELECT sum(total_steps) FROM governance_jobs"));
  const auto start = Clock::now();
  std::vector<std::unique_ptr<DaemonProcess>> daemons;
  for (int i = 0; i < 4; ++i) daemons.push_back(std::make_unique<DaemonProcess>(config, db.url(), std::vector<std::string>{"--exit-when-idle"}));
  for (auto& d : daemons) {
    const auto code = d->wait_exit(900s);
    INFO("exit " << code.value_or(-99) << "; log ends: " << d->log_tail());
    REQUIRE(code == 0);
  }
  const double took = seconds_since(start);

  const auto statuses = status_counts(db);
  // what ended otherwise, and each daemon's warnings and errors: a failure here must say why
  INFO("ended otherwise: " << db.scalar("SELECT coalesce(string_agg(r, '; '), 'none') FROM (SELECT count(*) || ' ' || "
                                        "status || ' ' || left(status_reason, 200) r FROM governance_jobs WHERE status <> "
                                        "'COMPLETED' GROUP BY status, status_reason ORDER BY count(*) DESC LIMIT 5) x"));
  std::string warnings;
  for (const auto& d : daemons) warnings += serious_lines(d->log());
  INFO("the daemons' warnings and errors (first 10 of each):\n" << warnings);
  CHECK(statuses == std::map<std::string, long long>{{"COMPLETED", jobs}});
  const auto audit = audit_effects(db, effects);
  INFO(audit.text());
  CHECK(audit.clean());
  CHECK(audit.steps == expected_steps);
  CHECK(audit.executed == expected_steps);
  CHECK(db.scalar("SELECT count(DISTINCT claimed_by) FROM governance_jobs") == "4");  // all four took part
  const auto verify = verify_output(db.url());
  CHECK(verify == "verify: clean\n");
  report(fmt::format("load: 4 daemons, {} jobs ({} steps) in {:.1f} s, {:.0f} jobs/s: {}; {}; verify {}", jobs,
                     expected_steps, took, jobs / took, statuses_text(statuses), audit.text(),
                     verify == "verify: clean\n" ? "clean" : "NOT clean"));
}

TEST_CASE("kill -9 of a random daemon every 2 s for 60 s while 2,000 jobs run on daemons of two configs with exclusive targets: "
          "nothing lost, nothing run twice, no target shared", "[reliability]") {
  const int jobs = env_int("GOVJOBD_RELIABILITY_CHAOS_JOBS", 2000);
  const auto chaos_for = std::chrono::seconds(env_int("GOVJOBD_RELIABILITY_CHAOS_SECONDS", 60));
  TestDatabase db;
  SideEffects effects;
  // each step: its side effect, then 500 ms of work: 2,000 jobs keep 4 x 8 slots busy for about a minute.
  // Two daemons serve work and alpha, two work and beta (issue 18): each job goes where it can run, one at a
  // time per target fleet-wide.
  const std::string worker = "  concurrency: 8\n  exclusive_targets: true\n  unroutable_after: 10m\n";
  const std::vector<std::string> configs{
      write_daemon_config("chaos-a", effects.fast_executor("work", 500) + effects.fast_executor("alpha", 500), worker),
      write_daemon_config("chaos-b", effects.fast_executor("work", 500) + effects.fast_executor("beta", 500), worker)};
  // 1 to 3 steps of one type, all on the job's target, one of 100
  db.exec(fmt::format(
      "INSERT INTO governance_jobs (contract_id, steps, total_steps, timeout_at) "
      "SELECT gen_random_uuid(), (SELECT jsonb_agg(jsonb_build_object('step_index', k, 'step_type', "
      "(ARRAY['alpha', 'beta', 'work', 'work'])[i % 4 + 1], 'target', 'capability-' || (i % 100), "
      "'parameters', jsonb_build_object('job', i), 'timeout_seconds', 60)) FROM generate_series(0, i % 3) k), "
      "i % 3 + 1, (now() AT TIME ZONE 'UTC') + interval '1 hour' FROM generate_series(1, {}) i", jobs));
  std::vector<std::unique_ptr<DaemonProcess>> daemons;
  for (int i = 0; i < 4; ++i) daemons.push_back(std::make_unique<DaemonProcess>(configs[i / 2], db.url()));
  std::map<int, std::chrono::system_clock::time_point> killed_at;  // pid -> when
  std::mt19937 rng{std::random_device{}()};
  const auto start = Clock::now();
  int kills = 0;
  while (Clock::now() - start < chaos_for) {
    std::this_thread::sleep_for(2s);  // the point: the daemons run jobs for a while between two kills
    const std::size_t index = std::uniform_int_distribution<std::size_t>(0, daemons.size() - 1)(rng);
    auto& victim = daemons[index];
    const int pid = victim->pid();
    victim->signal(SIGKILL);
    killed_at[pid] = std::chrono::system_clock::now();
    REQUIRE(victim->wait_exit(10s) == -1);
    ++kills;
    victim = std::make_unique<DaemonProcess>(configs[index / 2], db.url());  // systemd's Restart=
  }
  REQUIRE(eventually([&] { return all_terminal(db); }, 300s));
  for (auto& d : daemons) d->signal(SIGTERM);
  for (auto& d : daemons) CHECK(d->wait_exit(60s) == 0);

  const auto statuses = status_counts(db);
  CHECK(statuses.count("PENDING") == 0);
  CHECK(statuses.count("RUNNING") == 0);
  CHECK(ended_otherwise(db) == 0);  // COMPLETED, or FAILED because its worker was killed: nothing else
  const auto audit = audit_effects(db, effects);
  INFO(audit.text());
  CHECK(audit.clean());

  // Every reaped job belonged to a killed daemon, and was reaped within the lease (2 s) and one reaper
  // interval (at most 1.2 s) of the kill; the bound allows 3 s more for this noisy machine.
  std::map<std::string, int> pid_of;
  {
    pqxx::work w(db.sql());
    for (const auto& row : w.exec("SELECT worker_id, pid FROM govjobd_workers")) pid_of[row[0].c_str()] = row[1].as<int>();
  }
  double worst = 0;
  long long reaped = 0, reaped_alive = 0;
  {
    pqxx::work w(db.sql());
    for (const auto& row : w.exec("SELECT j.claimed_by, extract(epoch FROM t.transitioned_at)::float8 FROM governance_jobs j "
                                  "JOIN governance_job_transitions t ON t.job_id = j.job_id AND t.transitioned_by LIKE 'reaper:%'")) {
      ++reaped;
      const auto pid = pid_of.find(row[0].c_str());
      const auto kill = pid == pid_of.end() ? killed_at.end() : killed_at.find(pid->second);
      if (kill == killed_at.end()) {
        ++reaped_alive;
        continue;
      }
      const double kill_epoch = std::chrono::duration<double>(kill->second.time_since_epoch()).count();
      worst = std::max(worst, row[1].as<double>() - kill_epoch);
    }
  }
  CHECK(reaped_alive == 0);
  CHECK(worst <= 2.0 + 1.2 + 3.0);
  // each job ran where it could; no two steps of different jobs on one target overlapped; no hold is left
  const std::string misrouted = db.scalar("SELECT count(*) FROM governance_jobs j JOIN govjobd_workers w ON w.worker_id = j.claimed_by "
                                          "WHERE NOT (j.route_step_types <@ w.serves_step_types)");
  CHECK(misrouted == "0");
  const std::string overlapping = db.scalar(
      "WITH s AS (SELECT j.job_id, r ->> 'target' AS target, (r ->> 'started_at')::timestamp AS a, "
      "(r ->> 'completed_at')::timestamp AS b FROM governance_jobs j, jsonb_array_elements(j.step_results) r "
      "WHERE r ->> 'started_at' IS NOT NULL AND r ->> 'completed_at' IS NOT NULL) "
      "SELECT count(*) FROM s x JOIN s y ON x.target = y.target AND x.job_id < y.job_id AND x.a < y.b AND y.a < x.b");
  CHECK(overlapping == "0");
  CHECK(db.scalar("SELECT count(*) FROM govjobd.target_holds") == "0");
  const auto verify = verify_output(db.url());
  CHECK(verify == "verify: clean\n");
  report(fmt::format("kill -9: {} kills in {:.0f} s over {} jobs on daemons of two configs, exclusive targets: {}; {} reaped "
                     "(all of killed daemons: {}), longest RUNNING after its owner died {:.2f} s (lease 2 s + reaper "
                     "interval <= 1.2 s); misrouted {}, overlapping steps on a target {}; {}; verify {}",
                     kills, std::chrono::duration<double>(chaos_for).count(), jobs, statuses_text(statuses), reaped,
                     reaped_alive == 0 ? "yes" : "NO", worst, misrouted, overlapping, audit.text(),
                     verify == "verify: clean\n" ? "clean" : "NOT clean"));
}

TEST_CASE("PostgreSQL restarted, then unreachable for 10 s, mid-run: nothing lost, nothing run twice", "[reliability]") {
  const char* outage = std::getenv("GOVJOBD_TEST_PG_OUTAGE");
  REQUIRE(outage != nullptr);  // set by scripts/test
  TestDatabase db;
  SideEffects effects;
  // The default lease: a daemon stops its running steps once its heartbeats have failed for 24 s of it (the
  // lease less kill_grace 5 s and 1 s), which the 10 s outage and the reconnect backoff after it (5 s at
  // most) stay within; so the running steps ride the outage out.
  const auto config = write_daemon_config("outages", effects.fast_executor("work", 100),
                                          "  concurrency: 8\n  lease_timeout: 30s\n  heartbeat_interval: 500ms\n");
  insert_jobs(db, 1500, "work");
  std::vector<std::unique_ptr<DaemonProcess>> daemons;
  for (int i = 0; i < 3; ++i) daemons.push_back(std::make_unique<DaemonProcess>(config, db.url()));
  auto completed = [&] { return count_of(db, "SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'").value_or(-1); };
  REQUIRE(eventually([&] { return completed() >= 100; }, 60s));
  db.reset_connection();
  REQUIRE(run_process({outage, "0"}, {}, 120s).exit_code == 0);  // a restart
  const long long after_restart = completed();
  REQUIRE(eventually([&] { return completed() >= after_restart + 100; }, 60s));
  const long long before_outage = completed();
  db.reset_connection();
  const auto down = Clock::now();
  REQUIRE(run_process({outage, "10"}, {}, 120s).exit_code == 0);  // stopped, 10 s, started
  const double down_for = seconds_since(down);
  REQUIRE(eventually([&] { return all_terminal(db); }, 300s));
  for (auto& d : daemons) {
    CHECK(d->log().find("database connection restored") != std::string::npos);
    d->signal(SIGTERM);
  }
  for (auto& d : daemons) CHECK(d->wait_exit(60s) == 0);

  const auto statuses = status_counts(db);
  CHECK(ended_otherwise(db) == 0);
  const auto audit = audit_effects(db, effects);
  INFO(audit.text());
  CHECK(audit.clean());
  // A job is reaped only when its claim's commit was in doubt as the server went away: its daemon never
  // knew it had it, so none of its steps ran.
  long long reaped = 0, reaped_ran = 0;
  {
    pqxx::work w(db.sql());
    for (const auto& row : w.exec("SELECT job_id::text FROM governance_jobs WHERE status = 'FAILED'")) {
      ++reaped;
      if (audit.by_job.count(row[0].c_str())) ++reaped_ran;
    }
  }
  CHECK(reaped_ran == 0);
  CHECK(before_outage < 1500);  // the outage came mid-run
  const auto verify = verify_output(db.url());
  CHECK(verify == "verify: clean\n");
  report(fmt::format("outages: 3 daemons, 1500 jobs, a restart after {} and {:.1f} s down after {} completed: {}; "
                     "{} reaped claims in doubt, {} of them with a step run; {}; verify {}",
                     after_restart, down_for, before_outage, statuses_text(statuses), reaped, reaped_ran, audit.text(),
                     verify == "verify: clean\n" ? "clean" : "NOT clean"));
}

TEST_CASE("a database host that accepts connections but never answers: an error within the connect bound, no hang",
          "[reliability]") {
  // A listening socket that never accepts: the kernel completes the handshake, nothing ever replies.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string url = fmt::format("postgresql://postgres@127.0.0.1:{}/silent", ntohs(addr.sin_port));
  const auto start = Clock::now();
  const auto result = run_process({GOVJOBD_BINARY, "jobs", "list"}, {{"GOVJOBD_DATABASE_URL", url}, {"PGCONNECT_TIMEOUT", ""}}, 60s);
  const double took = seconds_since(start);
  ::close(fd);
  CHECK_FALSE(result.timed_out);
  CHECK(result.exit_code == 69);
  CHECK(took < 30);  // connect_timeout=10 (libpq may try twice, with and without SSL)
  report(fmt::format("silent database host: govjobd gave up after {:.1f} s with exit {} ({})", took, result.exit_code,
                     result.err.substr(0, result.err.find('\n'))));
}

TEST_CASE("hostile steps: 100 forks, a closed stdout, 1 GB of output, setsid - the daemon stays small and serves on",
          "[reliability]") {
  TestDatabase db;
  const std::string tag = unique_marker();
  const std::string mark = tag.substr(tag.find('.') + 1);  // digits: "sleep 300.<mark>" is a valid, findable sleep
  const std::string executors =
      // forks 100 sleepers and exits: the sleepers are killed with the step's group
      "  fork_exit: {kind: process, command: [/bin/sh, -c, 'for i in $(seq 100); do sleep 300." + mark + " & done; exit 0']}\n"
      // forks 100 sleepers and waits for them: the timeout kills all 101
      "  fork_wait: {kind: process, kill_grace: 200ms, command: [/bin/sh, -c, 'for i in $(seq 100); do sleep 301." + mark + " & done; wait']}\n"
      // closes stdout and stderr and keeps running: the step is not over at EOF; the timeout ends it
      "  closed_hang: {kind: process, kill_grace: 200ms, command: [/bin/sh, -c, 'exec >&- 2>&-; sleep 302." + mark + "']}\n"
      // closes stdout, works on for a second, then succeeds
      "  closed_exit: {kind: process, command: [/bin/sh, -c, 'echo early; exec >&- 2>&-; sleep 1; exit 0']}\n"
      // 1 GiB on stdout: 64 KiB kept, the rest drained and counted
      "  gigabyte: {kind: process, command: [/usr/bin/head, -c, '1073741824', /dev/zero]}\n"
      // leaves its process group with setsid and outlives the step
      "  escape: {kind: process, command: [/bin/sh, -c, 'setsid sleep 3." + mark + " > /dev/null 2>&1 < /dev/null & sleep 0.3; exit 0']}\n"
      "  noop: {kind: noop}\n";
  const auto config = write_daemon_config("hostile", executors, kLoadedMachineLease);  // 1 GiB through the loop
  const auto fork_exit = insert_job(db, json::array({step(0, "fork_exit")}));
  const auto fork_wait = insert_job(db, json::array({step(0, "fork_wait", json::object(), 2)}));
  const auto closed_hang = insert_job(db, json::array({step(0, "closed_hang", json::object(), 2)}));
  const auto closed_exit = insert_job(db, json::array({step(0, "closed_exit")}));
  const auto gigabyte = insert_job(db, json::array({step(0, "gigabyte", json::object(), 120)}));
  DaemonProcess daemon(config, db.url());
  long long max_rss_kb = 0;
  auto rss_kb = [&] {
    std::ifstream status("/proc/" + std::to_string(daemon.pid()) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    return 0LL;
  };
  REQUIRE(eventually([&] {
    max_rss_kb = std::max(max_rss_kb, rss_kb());
    return count_of(db, "SELECT count(*) FROM governance_jobs WHERE status IN ('PENDING', 'RUNNING')") == 0;
  }, 180s));
  CHECK(status_of(db, fork_exit) == "COMPLETED");
  CHECK(job_of(db, fork_wait).at("status_reason") == "Step 0 failed: step timeout of 2s exceeded (SIGTERM)");
  CHECK(job_of(db, closed_hang).at("status_reason") == "Step 0 failed: step timeout of 2s exceeded (SIGTERM)");
  const json closed = job_of(db, closed_exit);
  CHECK(closed.at("status") == "COMPLETED");
  CHECK(closed.at("step_results")[0].at("output").at("stdout") == "early\n");
  CHECK(closed.at("execution_evidence").at("govjobd").at("step_durations_ms").at("0").get<double>() >= 900);  // not over at EOF
  const json big = job_of(db, gigabyte);
  CHECK(big.at("status") == "COMPLETED");
  const json& out = big.at("step_results")[0].at("output");
  CHECK(out.at("stdout_bytes") == 1073741824LL);
  CHECK(out.at("truncated") == true);
  CHECK(max_rss_kb < 100 * 1024);
  // nothing of the forks is left; nothing of any step is a zombie
  CHECK(eventually([&] { return processes_with("300." + mark).empty() && processes_with("301." + mark).empty() &&
                                processes_with("302." + mark).empty(); }, 10s));

  // setsid escapes the group: it outlives its step (documented); under systemd, KillMode=mixed ends it with
  // the unit's cgroup at stop. Here the daemon, its subreaper, reaps it when it exits.
  const auto escape = insert_job(db, json::array({step(0, "escape")}));
  REQUIRE(eventually([&] { return status_of(db, escape) == "COMPLETED"; }));
  const bool escaped = !processes_with("3." + mark).empty();
  CHECK(escaped);
  CHECK(eventually([&] { return processes_with("3." + mark).empty(); }, 10s));
  CHECK(eventually([&] { return govjobd::process::zombie_children(daemon.pid()).empty(); }, 5s));

  const auto after = insert_job(db, json::array({step(0, "noop")}));  // still serving
  CHECK(eventually([&] { return status_of(db, after) == "COMPLETED"; }));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
  CHECK(verify_output(db.url()) == "verify: clean\n");
  report(fmt::format("hostile steps: 100 forks (exit and timeout), closed stdout (hang and exit), 1 GiB of stdout, "
                     "setsid: daemon RSS at most {} MB, no process left, setsid escaped its group until it exited: {}",
                     max_rss_kb / 1024, escaped ? "yes (documented)" : "no"));
}

TEST_CASE("2,000 concurrent process steps under a soft open-files limit of 1024, and under limits that fit or not", "[reliability]") {
  const int steps = 2000;
  const auto config = write_daemon_config("fd-load", "  nap: {kind: process, command: [/bin/sleep, '2']}\n",
                                          "  concurrency: 2000\n  lease_timeout: 30s\n  heartbeat_interval: 1s\n");
  struct Run {
    double seconds = 0;
    long long peak_rss_kb = 0;
    std::map<std::string, long long> counts;
    int odd_failures = 0;  // FAILED for anything but a resource reason
  };
  // One daemon under `nofile` (prlimit's SOFT:HARD) until every job has ended; it must still be alive then.
  auto run = [&](const std::string& nofile) {
    TestDatabase db;
    insert_jobs(db, steps, "nap");
    db.exec("UPDATE governance_jobs SET steps = jsonb_build_array(steps->0), total_steps = 1");  // one step each
    const auto start = Clock::now();
    DaemonProcess daemon(config, db.url(), {}, {}, {"/usr/bin/prlimit", "--nofile=" + nofile, "--"});
    Run r;
    auto hwm_kb = [&] {
      std::ifstream status("/proc/" + std::to_string(daemon.pid()) + "/status");
      for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
      return r.peak_rss_kb;
    };
    const bool ended = eventually([&] {
      r.peak_rss_kb = std::max(r.peak_rss_kb, hwm_kb());
      return all_terminal(db);
    }, 120s);
    r.seconds = seconds_since(start);
    INFO(daemon.log_tail());
    CHECK(ended);
    CHECK_FALSE(daemon.wait_exit(100ms).has_value());  // alive
    daemon.signal(SIGTERM);
    CHECK(daemon.wait_exit(60s) == 0);
    for (const auto& [status, n] : status_counts(db)) r.counts[status] = n;
    r.odd_failures = std::stoi(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'FAILED' AND status_reason NOT LIKE "
                                         "'Step 0 failed: spawn failed: %'"));
    CHECK(r.odd_failures == 0);
    CHECK(r.counts.count("RUNNING") == 0);
    CHECK(r.counts.count("PENDING") == 0);
    CHECK(verify_output(db.url()) == "verify: clean\n");
    return r;
  };
  auto text = [](const Run& r) {
    return fmt::format("{} COMPLETED, {} FAILED in {:.1f} s, peak RSS {} MB", r.counts.count("COMPLETED") ? r.counts.at("COMPLETED") : 0,
                       r.counts.count("FAILED") ? r.counts.at("FAILED") : 0, r.seconds, r.peak_rss_kb / 1024);
  };
  const Run raised = run("1024:");  // soft 1024, hard as given to the test: the daemon raises its soft limit
  CHECK(raised.counts == std::map<std::string, long long>{{"COMPLETED", steps}});

  // a hard limit of 1024 cannot cover 2,000 steps: refused at start, naming the numbers
  TestDatabase idle_db;
  DaemonProcess refused(config, idle_db.url(), {}, {}, {"/usr/bin/prlimit", "--nofile=1024:1024", "--"});
  CHECK(refused.wait_exit(30s) == 78);
  CHECK_THAT(refused.log(), Catch::Contains("worker.concurrency 2000 needs 6052 open files"));
  CHECK_THAT(refused.log(), Catch::Contains("RLIMIT_NOFILE allows 1024"));

  const Run fits = run("6100:6100");  // just above the budget
  CHECK(fits.counts == std::map<std::string, long long>{{"COMPLETED", steps}});
  report(fmt::format("open files: {} process steps at once; soft limit 1024 (raised by the daemon): {}; hard limit 1024: "
                     "refused at start (exit 78, 6052 needed); limit 6100: {}", steps, text(raised), text(fits)));
}

namespace {

struct Malformed {
  std::string name;
  std::string steps;       // jsonb literal, or NULL
  std::string reason;      // the status_reason starts with this
};

std::vector<Malformed> malformed_corpus() {
  const std::string ok_step = R"({"step_index":0,"step_type":"noop","target":"a","timeout_seconds":5})";
  std::string ten_thousand = "[";
  for (int i = 0; i < 10000; ++i) ten_thousand += fmt::format(R"({}{{"step_index":{},"step_type":"noop"}})", i ? "," : "", i);
  ten_thousand += "]";
  const std::string huge(2 * 1024 * 1024, 'x');
  return {
      {"steps an object", R"('{"step_index":0}')", "invalid steps: steps: expected an array of steps, got an object"},
      {"steps a string", R"('"noop"')", "invalid steps: steps: expected an array of steps, got 'noop'"},
      {"steps a number", "'42'", "invalid steps: steps: expected an array of steps, got 42"},
      {"steps JSON null", "'null'", "invalid steps: steps: expected an array of steps, got null"},
      {"no steps", "'[]'", "invalid steps: steps: a job needs at least one step"},
      {"a step not an object", R"('[7]')", "invalid steps: steps[0]: expected an object, got 7"},
      {"step_index a string", R"('[{"step_index":"0","step_type":"noop"}]')",
       "invalid steps: steps[0].step_index: expected a non-negative integer, got '0'"},
      {"step_index negative", R"('[{"step_index":-1,"step_type":"noop"}]')",
       "invalid steps: steps[0].step_index: expected a non-negative integer, got -1"},
      {"step_index a fraction", R"('[{"step_index":0.5,"step_type":"noop"}]')",
       "invalid steps: steps[0].step_index: expected a non-negative integer, got 0.5"},
      {"step_index missing", R"('[{"step_type":"noop"}]')", "invalid steps: steps[0].step_index: missing"},
      {"step_type a number", R"('[{"step_index":0,"step_type":5}]')",
       "invalid steps: steps[0].step_type: expected a string, got 5"},
      {"step_type with a space", R"('[{"step_index":0,"step_type":"rm -rf"}]')",
       "Step 0 failed: No handler registered for step type: rm -rf"},
      {"target an array", R"('[{"step_index":0,"step_type":"noop","target":["a"]}]')",
       "invalid steps: steps[0].target: expected a string, got an array"},
      {"parameters an array", R"('[{"step_index":0,"step_type":"noop","parameters":[1]}]')",
       "invalid steps: steps[0].parameters: expected an object, got an array"},
      {"parameters of 2 MiB", "'[{\"step_index\":0,\"step_type\":\"noop\",\"parameters\":{\"blob\":\"" + huge + "\"}}]'",
       "invalid steps: steps[0].parameters: larger than 1048576 bytes"},
      {"target of 2 KiB", "'[{\"step_index\":0,\"step_type\":\"noop\",\"target\":\"" + std::string(2048, 't') + "\"}]'",
       "invalid steps: steps[0].target: longer than 1024 bytes (2048)"},
      {"target with a control character", R"('[{"step_index":0,"step_type":"noop","target":"a\u0007b"}]')",
       "invalid steps: steps[0].target: contains invalid UTF-8 or a control character"},
      {"timeout zero", R"('[{"step_index":0,"step_type":"noop","timeout_seconds":0}]')",
       "invalid steps: steps[0].timeout_seconds: expected a positive integer no larger than 604800, got 0"},
      {"timeout negative", R"('[{"step_index":0,"step_type":"noop","timeout_seconds":-30}]')",
       "invalid steps: steps[0].timeout_seconds: expected a positive integer no larger than 604800, got -30"},
      {"timeout enormous", R"('[{"step_index":0,"step_type":"noop","timeout_seconds":99999999999999999999}]')",
       "invalid steps: steps[0].timeout_seconds: expected a positive integer no larger than 604800, got "},
      {"timeout a string", R"('[{"step_index":0,"step_type":"noop","timeout_seconds":"30s"}]')",
       "invalid steps: steps[0].timeout_seconds: expected a positive integer no larger than 604800, got '30s'"},
      {"duplicate indexes", "'[" + ok_step + "," + ok_step + "]'",
       "invalid steps: steps[1].step_index: duplicate step_index 0 (also at steps[0])"},
      {"a gap in the indexes", R"('[{"step_index":0,"step_type":"noop"},{"step_index":2,"step_type":"noop"}]')",
       "invalid steps: steps: step_index 1 is missing"},
      {"indexes from 5", R"('[{"step_index":5,"step_type":"noop"}]')",
       "invalid steps: steps: step_index must start at 0 or 1, the first is 5"},
      {"10,000 steps", "'" + ten_thousand + "'", "invalid steps: steps: 10000 steps, more than the limit of 1000"},
      {"an unknown step type", R"('[{"step_index":0,"step_type":"noop"},{"step_index":1,"step_type":"format_disk"}]')",
       "Step 1 failed: No handler registered for step type: format_disk"},
  };
}

}  // namespace

TEST_CASE("a corpus of malformed jobs: each ends FAILED naming its problem, nothing runs, the daemon serves on",
          "[reliability]") {
  TestDatabase db;
  SideEffects effects;
  const auto config = write_daemon_config("corpus", "  noop: {kind: noop}\n" + effects.fast_executor("touch"));
  const auto corpus = malformed_corpus();
  std::vector<std::string> ids;
  for (const auto& m : corpus)
    ids.push_back(db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), " + m.steps +
                            ") RETURNING job_id"));
  // NULs cannot even be stored: jsonb refuses \u0000 (the parser's own check is in the unit tests and fuzzing)
  bool nul_refused = false;
  try {
    db.exec(R"(INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '[{"step_index":0,"step_type":"noop","target":"a\u0000b"}]'))");
  } catch (const pqxx::sql_error& e) {
    nul_refused = e.sqlstate() == "22P05";
    db.reset_connection();
  }
  CHECK(nul_refused);
  const auto good = insert_job(db, json::array({step(0, "touch")}));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, good) == "COMPLETED"; }, 60s));
  REQUIRE(eventually([&] { return all_terminal(db); }, 60s));
  int named = 0;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const json job = job_of(db, ids[i]);
    INFO(corpus[i].name << ": " << job.at("status_reason"));
    CHECK(job.at("status") == "FAILED");
    const bool ok = job.at("status_reason").get<std::string>().starts_with(corpus[i].reason);
    CHECK(ok);
    named += ok;
  }
  CHECK(effects.counts().size() == 1);  // only the good job's step ran

  // Invalid UTF-8 can be stored only where the database's encoding is SQL_ASCII.
  std::string ascii_db = "govjobd_ascii_" + unique_marker();
  std::replace(ascii_db.begin(), ascii_db.end(), '.', '_');
  std::string ascii_id;
  {
    pqxx::connection admin(admin_url());
    pqxx::nontransaction(admin).exec0("CREATE DATABASE " + ascii_db + " ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
  }
  const std::string ascii_url = with_database(admin_url(), ascii_db);
  REQUIRE(run_process({GOVJOBD_BINARY, "migrate"}, {{"GOVJOBD_DATABASE_URL", ascii_url}}).exit_code == 0);
  {
    pqxx::connection c(ascii_url);
    pqxx::work w(c);
    ascii_id = w.exec1("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), "
                       "'[{\"step_index\":0,\"step_type\":\"noop\",\"target\":\"pay\xff\xfe\"}]') RETURNING job_id")[0].c_str();
    w.commit();
  }
  DaemonProcess ascii_daemon(config, ascii_url);
  std::string ascii_reason;
  REQUIRE(eventually([&] {
    pqxx::connection c(ascii_url);
    pqxx::work w(c);
    const auto row = w.exec1("SELECT status, coalesce(status_reason, '') FROM governance_jobs WHERE job_id = '" + ascii_id + "'");
    ascii_reason = row[1].c_str();
    return std::string(row[0].c_str()) == "FAILED";
  }, 30s));
  CHECK(ascii_reason == "invalid steps: steps[0].target: contains invalid UTF-8");
  ascii_daemon.signal(SIGTERM);
  CHECK(ascii_daemon.wait_exit() == 0);
  {
    pqxx::connection admin(admin_url());
    pqxx::nontransaction(admin).exec0("DROP DATABASE " + ascii_db + " WITH (FORCE)");
  }

  CHECK(::kill(daemon.pid(), 0) == 0);  // never crashed
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
  CHECK(verify_output(db.url()) == "verify: clean\n");
  report(fmt::format("malformed jobs: {} kinds through the daemon, {} ended FAILED naming the problem; invalid UTF-8 "
                     "(SQL_ASCII database): {}; NUL: refused by jsonb itself: {}; no step of theirs ran; the daemon never crashed",
                     corpus.size(), named, ascii_reason, nul_refused ? "yes" : "NO"));
}

TEST_CASE("SQL written by hand during a run cannot break the rules", "[reliability]") {
  TestDatabase db;
  const auto config = write_daemon_config(
      "hand", "  noop: {kind: noop}\n  hang: {kind: process, kill_grace: 200ms, command: [/bin/sleep, '60']}\n");
  for (int i = 0; i < 20; ++i) insert_job(db, json::array({step(0, "noop"), step(1, "noop")}));
  const auto running = insert_job(db, json::array({step(0, "hang")}));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] {
    return db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'") == "20" && status_of(db, running) == "RUNNING";
  }));
  const std::string done = db.scalar("SELECT job_id FROM governance_jobs WHERE status = 'COMPLETED' LIMIT 1");
  const std::vector<std::string> attempts{
      "UPDATE governance_jobs SET status = 'RUNNING' WHERE status = 'COMPLETED'",
      "UPDATE governance_jobs SET status = 'PENDING' WHERE job_id = '" + done + "'",
      "UPDATE governance_jobs SET status = 'FAILED', status_reason = 'rewritten' WHERE job_id = '" + done + "'",
      "UPDATE governance_jobs SET step_results = '[]' WHERE job_id = '" + done + "'",
      "UPDATE governance_jobs SET execution_evidence = '{}' WHERE job_id = '" + done + "'",
      "UPDATE governance_jobs SET completed_at = NULL WHERE job_id = '" + done + "'",
      "UPDATE governance_jobs SET health_snapshot_after = NULL WHERE job_id = '" + done + "'",
      "UPDATE governance_jobs SET status = 'PENDING' WHERE job_id = '" + running + "'",
      "UPDATE governance_jobs SET status = 'DONE' WHERE job_id = '" + running + "'",
      "UPDATE governance_job_transitions SET reason = 'forged'",
      "UPDATE governance_job_transitions SET to_status = 'FAILED' WHERE to_status = 'COMPLETED'",
      "DELETE FROM governance_job_transitions",
      "DELETE FROM governance_job_transitions WHERE job_id = '" + done + "'",
      "TRUNCATE governance_job_transitions",
      "INSERT INTO governance_job_transitions (job_id, from_status, to_status, transitioned_by) VALUES ('" + done +
          "', 'COMPLETED', 'RUNNING', 'psql')",
      "INSERT INTO governance_job_transitions (job_id, from_status, to_status, transitioned_by) VALUES ('" + done +
          "', 'PENDING', 'COMPLETED', 'psql')",
  };
  int refused = 0;
  for (const auto& sql : attempts) {
    INFO(sql);
    bool failed = false;
    try {
      db.exec(sql);
    } catch (const pqxx::sql_error&) {
      failed = true;
    }
    CHECK(failed);
    refused += failed;
  }
  // the run goes on: cancel the RUNNING job the supported way
  CHECK(run_process({GOVJOBD_BINARY, "cancel", running, "--reason", "done testing"}, {{"GOVJOBD_DATABASE_URL", db.url()}}).exit_code == 0);
  CHECK(eventually([&] { return status_of(db, running) == "CANCELLED"; }, 20s));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
  CHECK(verify_output(db.url()) == "verify: clean\n");
  report(fmt::format("hand-written SQL during a run: {} of {} rule-breaking statements refused by the database; verify clean",
                     refused, attempts.size()));
}
