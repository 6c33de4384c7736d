// The daemon's journal events read back from a real systemd-journald started for the test in private mount
// and PID namespaces (journald_ns.sh): the fields, the priorities, and what a row's text cannot forge. Skipped
// (ctest SKIP_REGULAR_EXPRESSION "SKIP:") where that journald cannot run: not root, no systemd-journald.
// The JSON format's from and to (the same transition fields, on stderr) need no journald.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;

namespace {

const std::string kScript = GOVJOBD_SOURCE_DIR "/tests/e2e/journald_ns.sh";
// What a step's stderr (so a job's reason) or a job writer's step type would like the journal to hold.
const std::string kForged = "\nGOVJOBD_JOB_ID=forged\nPRIORITY=0";

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("govjobd-journal-" + unique_marker());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// The entries of a `journalctl -o json` output file (one object a line; none when the file is empty).
std::vector<json> entries(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// The first entry whose MESSAGE holds `text`; fails the test when none does.
json entry_with(const std::vector<json>& all, const std::string& text) {
  for (const auto& e : all)
    if (e.value("MESSAGE", "").find(text) != std::string::npos) return e;
  FAIL("no journal entry holds: " << text);
  return {};
}

// A status transition's entry: its statuses as fields.
void check_move(const json& e, const std::string& from, const std::string& to) {
  INFO(e.dump());
  CHECK(e.at("GOVJOBD_FROM") == from);
  CHECK(e.at("GOVJOBD_TO") == to);
}

std::string journal_config(const std::string& name) {
  const auto config = write_daemon_config(
      name, "  noop: {kind: noop}\n"
            "  noisy: {kind: process, command: [/bin/sh, -c, 'printf %s \"$FORGED\" >&2; exit 4'], set_env: {FORGED: " +
                json("disk full" + kForged).dump() + "}}\n",
      "  concurrency: 8\n  id: journal-test-worker\n");
  std::ofstream(config, std::ios::app) << "logging: {format: journal}\n";
  return config;
}

// A database, the daemon's config (logging.format: journal) and the directory journald_ns.sh writes to.
struct JournalCase {
  TestDatabase db;
  std::string config;
  TempDir out;
  std::string log;  // the daemon's stderr (and the script's)

  explicit JournalCase(const std::string& name) : config(journal_config(name)) {}
  std::string insert(const std::string& step_type) { return insert_job(db, json::array({step(0, step_type)})); }
  std::vector<json> read(const std::string& file) const { return entries(out.path / file); }

  // The daemon until idle, wrapped by journald_ns.sh (`options` before OUT_DIR, the journalctl `matches`
  // after it); false (after saying why) when this machine cannot run it.
  bool run(const std::vector<std::string>& options, const std::vector<std::string>& matches) {
    std::vector<std::string> wrapper{kScript};
    wrapper.insert(wrapper.end(), options.begin(), options.end());
    wrapper.push_back(out.path.string());
    wrapper.insert(wrapper.end(), matches.begin(), matches.end());
    wrapper.push_back("--");
    DaemonProcess daemon(config, db.url(), {"--exit-when-idle"}, {}, wrapper);
    const auto code = daemon.wait_exit();
    log = daemon.log();
    if (code == 77) {
      std::cout << log;  // the script's "SKIP: ..." line
      return false;
    }
    INFO(log);
    REQUIRE(code == 0);
    return true;
  }
};

}  // namespace

TEST_CASE("journal: each event reaches a real journald with its job's fields and priority", "[journal]") {
  JournalCase c("journal");
  const auto ok = c.insert("noop");
  if (!c.run({}, {"GOVJOBD_JOB_ID=" + ok})) return;
  CHECK(c.log.find("<6>") == std::string::npos);  // every event went to the journal, none to stderr
  const auto mine = c.read("0.json");
  REQUIRE(mine.size() >= 3);
  const std::string contract = job_of(c.db, ok).at("contract_id");
  for (const auto& e : mine) {
    INFO(e.dump());
    CHECK(e.at("GOVJOBD_JOB_ID") == ok);
    CHECK(e.at("GOVJOBD_CONTRACT_ID") == contract);
    CHECK(e.at("SYSLOG_IDENTIFIER") == "govjobd");
    CHECK(e.at("GOVJOBD_WORKER") == "journal-test-worker");
    CHECK(e.at("PRIORITY") == "6");
    CHECK_FALSE(e.contains("CODE_FILE"));
  }
  const json claimed = entry_with(mine, "PENDING -> RUNNING");
  check_move(claimed, "PENDING", "RUNNING");
  CHECK_FALSE(claimed.contains("GOVJOBD_STEP_INDEX"));
  const json step_line = entry_with(mine, "step 0 COMPLETED (noop payments)");
  CHECK(step_line.at("GOVJOBD_STEP_INDEX") == "0");
  CHECK(step_line.at("GOVJOBD_STEP_TYPE") == "noop");
  CHECK_FALSE(step_line.contains("GOVJOBD_FROM"));
  const json done = entry_with(mine, "RUNNING -> COMPLETED: All steps completed successfully");
  check_move(done, "RUNNING", "COMPLETED");
  CHECK(done.at("MESSAGE") == "job " + ok + " step - RUNNING -> COMPLETED: All steps completed successfully");
  // the daemon's own events (start, ready, stop) carry no job
  const json ready = entry_with(c.read("all.json"), "ready: connected, schema checked");
  CHECK_FALSE(ready.contains("GOVJOBD_JOB_ID"));
  CHECK(ready.at("GOVJOBD_WORKER") == "journal-test-worker");
}

TEST_CASE("journal: a reason holding a newline and GOVJOBD_JOB_ID=forged forges no field or entry, nor a step type", "[journal]") {
  JournalCase c("journal-forged");
  const auto noisy = c.insert("noisy");
  const auto unknown = c.insert("nothing" + kForged);
  if (!c.run({}, {"GOVJOBD_JOB_ID=" + noisy, "GOVJOBD_JOB_ID=" + unknown, "GOVJOBD_JOB_ID=forged", "PRIORITY=0"})) return;
  REQUIRE_THAT(job_of(c.db, noisy).at("status_reason").get<std::string>(), Catch::Contains("disk full" + kForged));
  // the steps parser refuses a step type with a control character and quotes it escaped in the reason
  REQUIRE_THAT(job_of(c.db, unknown).at("status_reason").get<std::string>(), Catch::Contains("nothing\\nGOVJOBD_JOB_ID=forged"));
  CHECK(c.read("2.json").empty());  // no entry has GOVJOBD_JOB_ID=forged
  CHECK(c.read("3.json").empty());  // nor PRIORITY=0
  const auto failed = c.read("0.json");
  const json step_line = entry_with(failed, "step 0 FAILED (noisy payments)");
  CHECK(step_line.at("PRIORITY") == "4");  // a failed step is a warning
  CHECK(step_line.at("GOVJOBD_STEP_TYPE") == "noisy");
  CHECK_THAT(step_line.at("MESSAGE").get<std::string>(), Catch::EndsWith("exit code 4: disk full\\nGOVJOBD_JOB_ID=forged\\nPRIORITY=0"));
  const json end = entry_with(failed, "RUNNING -> FAILED: Step 0 failed: exit code 4: disk full\\nGOVJOBD_JOB_ID=forged\\nPRIORITY=0");
  CHECK(end.at("GOVJOBD_JOB_ID") == noisy);
  check_move(end, "RUNNING", "FAILED");
  CHECK(end.at("PRIORITY") == "6");
  // the reason quotes it escaped ("\\n"), and the log escapes that backslash in turn: no text reads as a break
  const json refused = entry_with(c.read("1.json"), "step_type: contains invalid UTF-8 or a control character: 'nothing\\\\nGOVJOBD_JOB_ID=forged");
  CHECK(refused.at("GOVJOBD_JOB_ID") == unknown);
  for (const auto& e : c.read("all.json")) {
    INFO(e.dump());
    for (const auto& [name, value] : e.items()) CHECK(value.is_string());  // one value per field, all text
    if (e.contains("GOVJOBD_JOB_ID")) CHECK((e.at("GOVJOBD_JOB_ID") == noisy || e.at("GOVJOBD_JOB_ID") == unknown));
  }
}

TEST_CASE("journal: with no journald to take them, events go to stderr as priority-prefixed lines", "[journal]") {
  JournalCase c("journal-gone");
  const auto ok = c.insert("noop");
  if (!c.run({"--no-journald"}, {})) return;
  CHECK_THAT(c.log, Catch::Contains("<6>job " + ok + " step - PENDING -> RUNNING: claimed by journal-test-worker\n"));
  CHECK_THAT(c.log, Catch::Contains("<6>job " + ok + " step - RUNNING -> COMPLETED: All steps completed successfully\n"));
  CHECK(status_of(c.db, ok) == "COMPLETED");
}

TEST_CASE("json logs: a transition's line carries from and to, as the journal's GOVJOBD_FROM and GOVJOBD_TO", "[journal]") {
  TestDatabase db;
  const auto config = write_daemon_config("json-moves", "  noop: {kind: noop}\n");
  std::ofstream(config, std::ios::app) << "logging: {format: json}\n";
  const auto ok = insert_job(db, json::array({step(0, "noop")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  std::istringstream lines(daemon.log());
  std::vector<std::string> moves;
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    if (!j.contains("from")) {
      CHECK_FALSE(j.contains("to"));
      continue;
    }
    moves.push_back(j.at("job_id").get<std::string>() + " " + j.at("from").get<std::string>() + "->" +
                    j.at("to").get<std::string>());
  }
  CHECK(moves == std::vector<std::string>{ok + " PENDING->RUNNING", ok + " RUNNING->COMPLETED"});
}
