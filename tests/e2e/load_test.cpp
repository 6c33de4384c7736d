// Load: the daemon holds at its configured concurrency under the open-files limit it is given (or refuses
// to start, naming the numbers), and resources that run out fail a step or pause claims, never the daemon.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kSleepExecutor = "  nap: {kind: process, command: [/bin/sleep, '1']}\n";

// prlimit as a wrapper: `--nofile=SOFT:` lowers the soft limit alone, `SOFT:HARD` both (lowering the hard
// limit is allowed; raising it is not, even to root, in some sandboxes).
std::vector<std::string> nofile_limit(const std::string& limits) { return {"/usr/bin/prlimit", "--nofile=" + limits, "--"}; }

rlim_t hard_nofile() {
  rlimit l{};
  ::getrlimit(RLIMIT_NOFILE, &l);
  return l.rlim_max;
}

}  // namespace

TEST_CASE("under a soft open-files limit far below its concurrency the daemon raises it and runs every job", "[load]") {
  REQUIRE(hard_nofile() >= 2048);
  TestDatabase db;
  const int jobs = 150;
  const auto config = write_daemon_config("low-soft", kSleepExecutor, std::string("  concurrency: 150\n") + kLoadedMachineLease);
  insert_one_step_jobs(db, jobs, "nap");
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"}, {}, nofile_limit("128:"));
  const auto code = daemon.wait_exit(120s);
  INFO(daemon.log_tail());
  REQUIRE(code == 0);
  CHECK(jobs_by_status(db) == std::map<std::string, int>{{"COMPLETED", jobs}});
  CHECK_THAT(daemon.log(), Catch::Contains("open files: soft limit raised from 128 to " + std::to_string(hard_nofile())));
}

TEST_CASE("a concurrency the open-files limit cannot cover is refused at start with exit 78, naming the numbers, and by check-config", "[load]") {
  TestDatabase db;
  const auto config = write_daemon_config("low-hard", kSleepExecutor, "  concurrency: 150\n");
  DaemonProcess daemon(config, db.url(), {}, {}, nofile_limit("128:128"));
  const auto code = daemon.wait_exit(30s);
  INFO(daemon.log_tail());
  CHECK(code == 78);
  const std::string refusal = "worker.concurrency 150 needs 502 open files (150 running steps x 3, health probes 0, "
                              "database 4, metrics endpoint 0, the daemon's own 16, margin 32) but RLIMIT_NOFILE allows 128: "
                              "raise the limit (LimitNOFILE= in the unit) to at least 502 or lower worker.concurrency to at most 25";
  CHECK_THAT(daemon.log(), Catch::Contains(refusal));
  CHECK(db.scalar("SELECT count(*) FROM govjobd_workers") == "0");  // never started

  const auto checked = run_process({"/usr/bin/prlimit", "--nofile=128:128", "--", GOVJOBD_BINARY, "check-config", "-c", config});
  CHECK(checked.exit_code == 78);
  CHECK_THAT(checked.err, Catch::Contains(refusal));
  const auto fits = run_process({"/usr/bin/prlimit", "--nofile=128:1024", "--", GOVJOBD_BINARY, "check-config", "-c", config});
  CHECK(fits.exit_code == 0);
  CHECK_THAT(fits.out, Catch::Contains(": OK (open files: 502 needed, 1024 allowed here)"));
}

TEST_CASE("what running process steps really hold stays within the descriptor budget", "[load]") {
  TestDatabase db;
  const int steps = 100;
  const std::string marker = unique_marker();  // "NNN.NNNN": sleep's seconds, found among the processes
  const auto config = write_daemon_config("fds", "  nap: {kind: process, command: [/bin/sleep, '" + marker + "'], kill_grace: 100ms}\n",
                                          std::string("  concurrency: 100\n") + kLoadedMachineLease);
  insert_one_step_jobs(db, steps, "nap");
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return static_cast<int>(processes_with(marker).size()) == steps; }, 60s));
  int open = 0;
  for ([[maybe_unused]] const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(daemon.pid()) + "/fd")) ++open;
  INFO(open << " descriptors open with " << steps << " process steps running");
  CHECK(open >= 2 * steps);  // each holds its stdout and stderr (stdin closes once the step has read it)
  CHECK(open <= 3 * steps + 4 + 16 + 32);  // the budget: 3 per step, the database, the daemon's own, the margin
  daemon.signal(SIGTERM);
  daemon.signal(SIGTERM);  // a second signal: cancel now
  CHECK(daemon.wait_exit(60s) == 0);
}

TEST_CASE("an unexpected error while handling one job ends that job FAILED, and the daemon serves the others", "[load]") {
  TestDatabase db;
  const auto config = write_daemon_config("contain", "  ok: {kind: noop}\n  boom: {kind: noop}\n");
  const auto bad = insert_job(db, json::array({step(0, "ok"), step(1, "boom"), step(2, "ok")}));
  insert_one_step_jobs(db, 20, "ok");
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"}, {{"GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE", "boom"}});
  const auto code = daemon.wait_exit(60s);
  INFO(daemon.log_tail());
  CHECK(code == 0);
  const json job = job_of(db, bad);
  CHECK(job.at("status") == "FAILED");
  const std::string reason = "Execution error: fault injected after a step of type 'boom' (GOVJOBD_TEST_FAULT_AFTER_STEP_TYPE)";
  CHECK(job.at("status_reason") == "Step 1 failed: " + reason);  // the creator's frame around the step's error
  CHECK(step_statuses(job) == std::vector<std::string>{"COMPLETED", "FAILED", "SKIPPED"});
  CHECK(job.at("step_results")[1].at("error") == reason);
  CHECK(transitions_of(db, bad) == std::vector<std::string>{"PENDING->RUNNING@-", "RUNNING->FAILED@1"});
  CHECK(jobs_by_status(db) == std::map<std::string, int>{{"COMPLETED", 20}, {"FAILED", 1}});
  CHECK_THAT(daemon.log(), Catch::Contains("job " + bad + " step 1: unexpected error while handling the job (in step end)"));
  CHECK(verify_output(db.url()) == "verify: clean\n");
}

TEST_CASE("spawns that fail for lack of processes fail their steps with the reason, queued jobs wait, the daemon lives", "[load]") {
  REQUIRE(::geteuid() == 0);  // RLIMIT_NPROC binds only a user without CAP_SYS_RESOURCE: the daemon runs as uid 64999
  TestDatabase db;
  const int jobs = 90;
  const auto config = write_daemon_config("nproc", "  nap: {kind: process, command: [/bin/sleep, '1']}\n",
                                          std::string("  concurrency: 30\n") + kLoadedMachineLease);
  insert_one_step_jobs(db, jobs, "nap");
  // the daemon's own threads (main, 2 database, LISTEN, executors' pool) and about 8 steps at once
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"}, {},
                       {"/usr/bin/prlimit", "--nproc=13", "--", "/usr/bin/setpriv", "--reuid=64999", "--regid=64999",
                        "--clear-groups"});
  const auto code = daemon.wait_exit(120s);
  INFO(daemon.log_tail());
  CHECK(code == 0);
  const auto counts = jobs_by_status(db);
  INFO("COMPLETED " << counts.count("COMPLETED") << ", FAILED " << (counts.count("FAILED") ? counts.at("FAILED") : 0));
  CHECK(counts.count("PENDING") == 0);
  CHECK(counts.count("RUNNING") == 0);
  const int failed = counts.count("FAILED") ? counts.at("FAILED") : 0;
  CHECK(failed >= 1);
  CHECK(failed <= 35);  // the first claim's 30 minus what could start, and a few probes: not every job beyond capacity
  CHECK(counts.at("COMPLETED") + failed == jobs);
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'FAILED' AND status_reason <> "
                  "'Step 0 failed: spawn failed: resource temporarily unavailable'") == "0");
  CHECK_THAT(daemon.log(), Catch::Contains("a step could not start for lack of resources"));
}

TEST_CASE("the unit's LimitNOFILE lets the daemon raise its limit far past a concurrency of 1,000", "[load]") {
  std::ifstream unit(std::string(GOVJOBD_SOURCE_DIR) + "/systemd/govjobd.service");
  std::string line, limit;
  while (std::getline(unit, line))
    if (line.starts_with("LimitNOFILE=")) limit = line.substr(12);
  REQUIRE(limit == "1024:524288");  // soft for steps, hard for the daemon
  const auto hard = std::stoll(limit.substr(limit.find(':') + 1));
  const auto config = write_daemon_config("unit-limit", kSleepExecutor, "  concurrency: 1000\n");
  // lowered to the unit's values where this machine allows more; checked against the machine's hard limit otherwise
  const auto allowed = std::min<long long>(hard, static_cast<long long>(hard_nofile()));
  const auto checked = run_process({"/usr/bin/prlimit", "--nofile=1024:" + std::to_string(allowed), "--", GOVJOBD_BINARY,
                                    "check-config", "-c", config});
  CHECK(checked.exit_code == 0);
  CHECK_THAT(checked.out, Catch::Contains("OK (open files: 3052 needed, " + std::to_string(allowed) + " allowed here)"));
}
