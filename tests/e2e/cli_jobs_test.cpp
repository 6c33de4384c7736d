// The operator's job commands through the binary: jobs list filters and columns, the jobs show timeline,
// jobs watch, --json on the commands that read, GOVJOBD_CONFIG and --database-url.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/daemon_process.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

extern char** environ;

namespace {

ProcessResult cli_run(const std::vector<std::string>& args, const std::string& url,
                      std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv{GOVJOBD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  env.try_emplace("GOVJOBD_DATABASE_URL", url);
  env.try_emplace("GOVJOBD_CONFIG", "");
  return run_process(argv, env);
}

std::vector<std::string> output_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A job by SQL created `age` ago, with a reason and steps of its own.
std::string insert_aged_job(TestDatabase& db, const std::string& contract, const std::string& age, const std::string& steps,
                        const std::string& reason = "NULL") {
  return db.scalar("INSERT INTO governance_jobs (contract_id, status, status_reason, steps, current_step_index, total_steps, "
                   "step_results, created_at, timeout_at, created_by) VALUES ('" + contract + "', 'PENDING', " + reason +
                   ", '" + steps + "', 0, 1, '[]', (now() AT TIME ZONE 'UTC') - interval '" + age +
                   "', (now() AT TIME ZONE 'UTC') + interval '1 day', 'test') RETURNING job_id");
}

// `govjobd ARGS` running in the background, its stdout and stderr in files.
class Spawned {
 public:
  explicit Spawned(std::vector<std::string> args) {
    const std::string base = (std::filesystem::temp_directory_path() / ("govjobd_watch_" + std::to_string(::getpid()))).string();
    out_ = base + ".out";
    err_ = base + ".err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    args.insert(args.begin(), GOVJOBD_BINARY);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, GOVJOBD_BINARY, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn failed");
  }
  ~Spawned() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove(out_);
    std::filesystem::remove(err_);
  }
  std::string out() const { return file_text(out_); }
  std::string err() const { return file_text(err_); }
  // The exit code once it exits within `timeout`; -1 for a signal; none on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 30s) {
    int status = 0;
    const bool exited = eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!exited) return std::nullopt;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void signal(int sig) const { ::kill(pid_, sig); }

 private:
  pid_t pid_ = -1;
  std::string out_, err_;
};

const char* kListContractA = "40000000-0000-0000-0000-00000000000a";
const char* kListContractB = "40000000-0000-0000-0000-00000000000b";
const char* kListContractC = "40000000-0000-0000-0000-00000000000c";

}  // namespace

TEST_CASE("jobs list filters by contract, since, target and step type, one line per job within 80 columns before the reason",
          "[cli]") {
  TestDatabase db;
  const auto a = insert_aged_job(db, kListContractA, "2 hours",
                             R"([{"step_index":0,"step_type":"noop","target":"payments-eu","parameters":{},"timeout_seconds":10}])",
                             "E'line one\\nline two\\x1b[31m'");
  const auto b = insert_aged_job(db, kListContractB, "10 minutes",
                             R"([{"step_index":0,"step_type":"restart","target":"ledger","parameters":{},"timeout_seconds":10}])");
  const auto c = insert_aged_job(db, kListContractC, "1 minute", R"("not a list")");  // the writer's: must not break a filter
  auto ids = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{"jobs", "list", "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = cli_run(argv, db.url());
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> out;
    for (const auto& line : output_lines(r.out)) out.push_back(json::parse(line).at("job_id"));
    return out;
  };
  CHECK(ids({}) == std::vector<std::string>{c, b, a});
  CHECK(ids({"--contract", kListContractB}) == std::vector<std::string>{b});
  CHECK(ids({"--since", "1h30m"}) == std::vector<std::string>{c, b});
  CHECK(ids({"--since", "5m"}) == std::vector<std::string>{c});
  CHECK(ids({"--since", "2000-01-01T00:00:00Z"}).size() == 3);
  CHECK(ids({"--target", "payments-*"}) == std::vector<std::string>{a});
  CHECK(ids({"--target", "ledger"}) == std::vector<std::string>{b});
  CHECK(ids({"--step-type", "restart"}) == std::vector<std::string>{b});
  CHECK(ids({"--step-type", "restart", "--target", "payments*"}).empty());

  const auto table = cli_run({"jobs", "list"}, db.url());
  REQUIRE(table.exit_code == 0);
  const auto rows = output_lines(table.out);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].find("REASON") <= 80 - 6);
  CHECK(rows[0].find("AGE") != std::string::npos);
  CHECK(rows[0].find("DURATION") != std::string::npos);
  CHECK_THAT(rows[3], Catch::StartsWith(a.substr(0, 8)) && Catch::Contains("line one\\nline two\\x1b[31m") &&
                          Catch::Contains(" 2h "));
  CHECK_THAT(rows[2], Catch::Matches(".* [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} .*"));

  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--since", "yesterday"}, {"--since", "30m1h"}, {"--since", "99999999d"}, {"--contract", "contract-7"}, {"--target", ""}}) {
    std::vector<std::string> argv{"jobs", "list"};
    argv.insert(argv.end(), bad.begin(), bad.end());
    const auto r = cli_run(argv, db.url());
    CHECK(r.exit_code == 65);
    CHECK_THAT(r.err, Catch::StartsWith("govjobd: error: " + bad[0]));
  }
}

TEST_CASE("jobs show prints a timeline of transitions and steps with health and the error's first line, and --json keeps the JSON",
          "[cli]") {
  TestDatabase db;
  const auto config = write_daemon_config(
      "show", "  noop: {kind: noop}\n  fail: {kind: process, command: [/bin/sh, -c, \"echo 'disk full' >&2; echo more >&2; exit 4\"]}\n",
      "  concurrency: 2\n", "  capabilities:\n    payments: {kind: file, path: /}\n");
  const auto id = insert_job(db, json::array({step(0, "noop"), step(1, "fail"), step(2, "noop")}));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);

  const auto shown = cli_run({"jobs", "show", id.substr(0, 8)}, db.url());
  REQUIRE(shown.exit_code == 0);
  INFO(shown.out);
  CHECK_THAT(shown.out, Catch::StartsWith("job       " + id + "\n"));
  CHECK_THAT(shown.out, Catch::Contains("\nstatus    FAILED: Step 1 failed: "));
  CHECK_THAT(shown.out, Catch::Contains("\nduration  "));
  CHECK_THAT(shown.out, Catch::Contains("PENDING -> RUNNING") && Catch::Contains("RUNNING -> FAILED"));
  CHECK_THAT(shown.out, Catch::Contains("  #0  COMPLETED  ") && Catch::Contains("s  noop  payments\n"));
  CHECK_THAT(shown.out, Catch::Contains("      health  target HEALTHY -> HEALTHY  system "));
  CHECK_THAT(shown.out, Catch::Contains("  #1  FAILED  ") && Catch::Contains("s  fail  payments\n"));
  CHECK_THAT(shown.out, Catch::Contains("  #2  SKIPPED  -  noop  payments\n"));
  CHECK_THAT(shown.out, Catch::Contains("disk full"));
  CHECK_THAT(shown.out, !Catch::Contains("\nmore"));

  const auto as_json = cli_run({"jobs", "show", "--json", id}, db.url());
  REQUIRE(as_json.exit_code == 0);
  const auto job = json::parse(as_json.out);
  CHECK(job.at("status") == "FAILED");
  CHECK(job.at("transitions").size() == 2);  // inserted by SQL: no creation transition

  CHECK(cli_run({"jobs", "show", "4"}, db.url()).exit_code == 65);
  CHECK(cli_run({"jobs", "show", "ffffffff"}, db.url()).exit_code == 65);
}

TEST_CASE("jobs watch JOB prints its transitions as they happen and exits when it ends", "[cli]") {
  TestDatabase db;
  const auto config = write_daemon_config("watch", "  noop: {kind: noop}\n");
  const auto id = insert_job(db, json::array({step(0, "noop"), step(1, "noop")}));
  Spawned watch({"jobs", "watch", id.substr(0, 8), "--interval", "100ms", "--database-url", db.url()});
  REQUIRE(eventually([&] { return watch.err().find("watching job " + id) != std::string::npos; }));
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  REQUIRE(watch.wait_exit() == 0);
  const auto lines = output_lines(watch.out());
  REQUIRE(lines.size() == transitions_of(db, id).size());
  CHECK_THAT(lines.front(), Catch::Contains(id.substr(0, 8) + "  PENDING -> RUNNING"));
  CHECK_THAT(lines.back(), Catch::Contains("RUNNING -> COMPLETED") && Catch::Contains("All steps completed successfully"));
}

TEST_CASE("jobs watch without a job prints new transitions of every job until Ctrl-C", "[cli]") {
  TestDatabase db;
  const auto before = insert_job(db, json::array({step(0, "noop")}));
  REQUIRE(cli_run({"cancel", before}, db.url()).exit_code == 0);
  Spawned watch({"jobs", "watch", "--interval", "100ms", "--database-url", db.url()});
  REQUIRE(eventually([&] { return watch.err().find("watching every job") != std::string::npos; }));
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  REQUIRE(cli_run({"cancel", id, "--reason", "line\nbreak"}, db.url()).exit_code == 0);
  CHECK(eventually([&] { return watch.out().find(id.substr(0, 8) + "  PENDING -> CANCELLED") != std::string::npos; }));
  watch.signal(SIGINT);
  CHECK(watch.wait_exit() == 0);
  CHECK(watch.out().find(before.substr(0, 8)) == std::string::npos);  // from now on: not the history
  CHECK(output_lines(watch.out()).size() == 1);
  CHECK_THAT(watch.out(), Catch::Contains("line\\nbreak"));
}

TEST_CASE("GOVJOBD_CONFIG is the default config, --database-url overrides its database, --json on every read", "[cli]") {
  TestDatabase db;
  const auto path = std::filesystem::temp_directory_path() / ("govjobd_cfg_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "database:\n  url: postgresql://postgres@127.0.0.1:1/none?connect_timeout=2\n";
  const std::map<std::string, std::string> env{{"GOVJOBD_CONFIG", path.string()}, {"GOVJOBD_DATABASE_URL", ""}};
  CHECK(cli_run({"jobs", "list"}, "", env).exit_code == 69);  // the file's unreachable database
  CHECK(cli_run({"jobs", "list", "--database-url", db.url()}, "", env).exit_code == 0);
  CHECK(cli_run({"--database-url", db.url(), "status", "--json"}, "", env).exit_code == 0);
  CHECK(cli_run({"run", "--database-url", db.url()}, "", env).exit_code == 65);
  std::ofstream(path) << "worker:\n  colour: blue\n";
  CHECK(cli_run({"check-config"}, "", env).exit_code == 78);
  std::filesystem::remove(path);

  insert_job(db, json::array({step(0, "noop")}));
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"jobs", "list", "--json"}, {"status", "--json"}, {"workers", "--json"}, {"pauses", "--json"}, {"verify", "--json", "--since", "1h30m"}}) {
    const auto r = cli_run(command, db.url());
    INFO(command[0] << ": " << r.err);
    CHECK(r.exit_code == 0);
    for (const auto& line : output_lines(r.out)) CHECK_NOTHROW(json::parse(line));
  }
  CHECK(cli_run({"verify", "--since", "soon"}, db.url()).exit_code == 65);
  const auto health = cli_run({"health", "--json", "-c", "/dev/null"}, db.url());
  CHECK_NOTHROW(json::parse(health.out));
}

TEST_CASE("jobs show and jobs list print a writer's malformed row without failing, every text on its line", "[cli]") {
  TestDatabase db;
  const auto id = db.scalar(
      "INSERT INTO governance_jobs (contract_id, status, status_reason, steps, current_step_index, total_steps, "
      "step_results, created_at, timeout_at, created_by) VALUES ('40000000-0000-0000-0000-0000000000dd', 'PENDING', "
      "E'two\\nlines\\x1b]0;title\\x07', '[1, null, {\"step_index\": \"x\", \"step_type\": [], \"target\": {\"a\": 1}}]', "
      "0, 3, '\"oops\"', now() AT TIME ZONE 'UTC', NULL, E'by\\rwho') RETURNING job_id");
  const auto shown = cli_run({"jobs", "show", id}, db.url());
  INFO(shown.out << shown.err);
  REQUIRE(shown.exit_code == 0);
  CHECK_THAT(shown.out, Catch::Contains("status    PENDING: two\\nlines\\x1b]0;title\\x07\n"));
  CHECK_THAT(shown.out, Catch::Contains("created   ") && Catch::Contains(" by by\\rwho\n"));
  CHECK_THAT(shown.out, Catch::Contains("steps (3):\n  #-  not run  -  -  -\n"));
  CHECK_THAT(shown.out, Catch::Contains("  #x  not run  -  []  {\"a\":1}\n"));
  CHECK(shown.out.find('\x1b') == std::string::npos);
  const auto listed = cli_run({"jobs", "list", "--target", "*"}, db.url());
  CHECK(listed.exit_code == 0);
  CHECK(output_lines(listed.out).size() == 1);  // the title: no step has a text target
}

TEST_CASE("jobs show reads a writer's huge or deeply nested row within bounds, and --json escapes what a terminal "
          "would act on", "[cli]") {
  TestDatabase db;
  // steps 14,000 arrays deep (28 kB: indented, 392 MB of output), a reason with a right-to-left override, and a
  // result of 9 MB, past worker.max_job_bytes
  const auto id = db.scalar(
      "INSERT INTO governance_jobs (contract_id, steps, status_reason, step_results) VALUES (gen_random_uuid(), "
      "('[{\"step_index\": ' || repeat('[', 14000) || repeat(']', 14000) || ', \"step_type\": \"noop\"}]')::jsonb, "
      "E'by ops\\u202enimda', jsonb_build_array(repeat('x', 9000000))) RETURNING job_id");
  const auto shown = cli_run({"jobs", "show", "--json", id}, db.url());
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.size() < 100'000);
  CHECK(output_lines(shown.out).size() == 1);
  const auto job = json::parse(shown.out);
  CHECK(job.at("status_reason") == "by ops\u202enimda");
  CHECK_THAT(shown.out, Catch::Contains("by ops\\u202enimda"));
  CHECK(job.at("steps") == "(not shown: nested deeper than 100 levels or holds a number past 1e300 or within 1e-300 of 0)");
  CHECK_THAT(job.at("step_results").get<std::string>(),
             Catch::StartsWith("(not shown: ") && Catch::EndsWith(" bytes of JSON, more than worker.max_job_bytes)"));
  const auto text = cli_run({"jobs", "show", id}, db.url());
  CHECK(text.exit_code == 0);
  CHECK(text.out.size() < 100'000);
}

TEST_CASE("jobs list, jobs show and status take a writer's infinite created_at", "[cli]") {
  TestDatabase db;
  std::vector<std::string> ids;
  for (const char* when : {"-infinity", "infinity"})
    ids.push_back(db.scalar(std::string("INSERT INTO governance_jobs (contract_id, steps, created_at) VALUES (gen_random_uuid(), "
                                        "'[]', '") + when + "') RETURNING job_id"));
  const auto listed = cli_run({"jobs", "list"}, db.url());
  INFO(listed.out << listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(output_lines(listed.out).size() == 3);  // the title and both jobs
  for (const auto& id : ids) {
    const auto shown = cli_run({"jobs", "show", id}, db.url());
    INFO(shown.out << shown.err);
    CHECK(shown.exit_code == 0);
  }
  const auto status = cli_run({"status"}, db.url());
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
}

TEST_CASE("jobs list cuts a writer's long texts, and a command waits at most 10 s for a lock another session holds",
          "[cli]") {
  TestDatabase db;
  const auto id = insert_job(db, json::array({step(0, "noop")}));
  db.exec("UPDATE governance_jobs SET status_reason = repeat('A', 200000) WHERE job_id = '" + id + "'");
  const auto listed = cli_run({"jobs", "list", "--json"}, db.url());
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.size() < 5000);  // 200 kB of reason: its first 1,000 characters and its size
  CHECK_THAT(listed.out, Catch::Contains("... (200000 bytes)"));

  // the writer's LOCK TABLE (here on the jobs table) held past the command's lock_timeout: named, not hung
  pqxx::connection locker(db.url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE governance_jobs IN ACCESS EXCLUSIVE MODE");
  const auto started = std::chrono::steady_clock::now();
  const auto status = cli_run({"status"}, db.url());
  CHECK(std::chrono::steady_clock::now() - started < 50s);
  CHECK(status.exit_code != 0);
  CHECK_THAT(status.err, Catch::Contains("lock_timeout"));
  lock.abort();
}
