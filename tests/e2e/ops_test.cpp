#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/step_runner.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kOneStep = R"([{"step_index":0,"step_type":"noop","target":"payments"}])";

std::string insert(TestDatabase& db, const std::string& steps = kOneStep) {
  return db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '" + steps + "') RETURNING job_id");
}

// True when GET /metrics answers 200 (false while the daemon is not listening yet, or when it refuses).
bool metrics_served(int port) { return !metrics_body(port).empty(); }

// A daemon config with a noop executor and the metrics endpoint on `port`.
std::string metrics_config(const std::string& name, int port) {
  const auto config = write_daemon_config(name, "  noop: {kind: noop}\n");
  serve_metrics_on(config, port);
  return config;
}

// A TCP connection to the metrics port that sends nothing (yet).
int open_connection(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// How long after `since` the server closed `fd` (reading it gives end of file or a reset, whatever came
// before); nullopt when still open after `limit`. `every`: called each 200 ms while waiting (a slow sender).
std::optional<std::chrono::milliseconds> closed_after(int fd, std::chrono::steady_clock::time_point since,
                                                      std::chrono::milliseconds limit, const std::function<void()>& every = {}) {
  char buf[4096];
  while (std::chrono::steady_clock::now() - since < limit) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      const auto n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since);
      continue;
    }
    if (every) every();
  }
  return std::nullopt;
}

// The daemon's user plus system CPU time so far (/proc/<pid>/stat, clock ticks).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  long long ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14) ticks += std::stoll(field);
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

TEST_CASE("JSON log lines parse back with the job's fields", "[ops]") {
  TestDatabase db;
  const auto config = write_daemon_config("json", "  noop: {kind: noop}\n", "  concurrency: 2\n");
  std::ofstream(config, std::ios::app) << "logging: {format: json}\n";
  const auto id = insert(db);
  // a row's LINE SEPARATOR and RIGHT-TO-LEFT OVERRIDE, in the reason of a malformed job: escaped as \uXXXX
  db.exec("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), "
          "'[{\"step_index\": \"0\u2028{\\\"level\\\": \\\"info\\\"}\u202ex\", \"step_type\": \"noop\"}]')");
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  std::istringstream lines(daemon.log());
  int parsed = 0;
  bool transition = false, step = false;
  for (std::string line; std::getline(lines, line);) {
    CHECK(std::all_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
    const json j = json::parse(line);  // every line is JSON
    ++parsed;
    for (const char* key : {"ts", "level", "msg", "worker"}) CHECK(j.contains(key));
    if (j.at("msg").get<std::string>().find("RUNNING -> COMPLETED") != std::string::npos) {
      transition = true;
      CHECK(j.at("job_id") == id);
      CHECK(j.contains("contract_id"));
    }
    if (j.value("step_type", "") == "noop") {
      step = true;
      CHECK(j.at("step_index") == 0);
      CHECK(j.at("job_id") == id);
    }
  }
  CHECK(parsed >= 4);
  CHECK(transition);
  CHECK(step);
}

TEST_CASE("journal format is chosen when stderr is the journal (JOURNAL_STREAM matches)", "[ops]") {
  TestDatabase db;
  const auto config = write_daemon_config("journal", "  noop: {kind: noop}\n");
  insert(db);
  DaemonProcess journal(config, db.url(), {"--exit-when-idle"}, {{"JOURNAL_STREAM", "@LOG_STREAM@"}});
  REQUIRE(journal.wait_exit() == 0);
  std::istringstream lines(journal.log());
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    INFO(line);
    CHECK((line.starts_with("<6>") || line.starts_with("<4>") || line.starts_with("<3>")));
  }
  CHECK(count >= 3);
  CHECK_THAT(journal.log(), Catch::Contains("<6>job "));
  insert(db);
  DaemonProcess elsewhere(config, db.url(), {"--exit-when-idle"}, {{"JOURNAL_STREAM", "1:1"}});
  REQUIRE(elsewhere.wait_exit() == 0);
  CHECK(elsewhere.log().starts_with("20"));  // not the journal: text with timestamps
}

TEST_CASE("the database password never appears in the logs", "[ops]") {
  TestDatabase db;
  std::string url = db.url();
  url.replace(url.find("postgres@"), 9, "postgres:s3cret-pw-42@");  // trust auth ignores it
  const auto config = write_daemon_config("password", "  noop: {kind: noop}\n");
  insert(db);
  DaemonProcess daemon(config, url, {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  CHECK_THAT(daemon.log(), Catch::Contains("postgres:***@"));
  CHECK(daemon.log().find("s3cret-pw-42") == std::string::npos);
}

// A forged event: what a job writer or a step would like the journal to show.
const std::string kForged = "\n<0>job 00000000-0000-0000-0000-000000000000 step - RUNNING -> COMPLETED: forged\r";

// True when `line` is one whole event of `format` (a forged line is not).
bool well_formed_line(const std::string& format, const std::string& line) {
  if (line.find('\r') != std::string::npos) return false;
  if (format == "json") return json::accept(line);
  if (format == "journal") return line.size() > 3 && line[0] == '<' && std::string("34567").find(line[1]) != std::string::npos && line[2] == '>';
  return line.starts_with("20") && line.find("Z ") == 26;  // 2026-11-28T16:19:50.123456Z info ...
}

TEST_CASE("a cancel reason or a stderr tail holding a newline, a priority prefix and CR stays on its event's line", "[ops]") {
  const std::string format = GENERATE("text", "journal", "json");
  INFO("logging.format " << format);
  TestDatabase db;
  const std::string started = (std::filesystem::temp_directory_path() / ("govjobd-started-" + unique_marker())).string();
  const auto config = write_daemon_config(
      "forged-" + format,
      "  hang: {kind: process, command: [/bin/sh, -c, 'touch " + started + "; exec sleep 60'], kill_grace: 200ms}\n"
      "  noisy: {kind: process, command: [/bin/sh, -c, 'printf %s \"$FORGED\" >&2; exit 4'], set_env: {FORGED: " +
          json("disk full" + kForged).dump() + "}}\n");
  std::ofstream(config, std::ios::app) << "logging: {format: " << format << "}\n";
  const auto noisy = insert_job(db, json::array({step(0, "noisy")}));
  const auto hang = insert_job(db, json::array({step(0, "hang")}));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return std::filesystem::exists(started); }));
  std::filesystem::remove(started);
  const auto cancel = run_process({GOVJOBD_BINARY, "cancel", hang, "--reason", "wrong window" + kForged, "--by", "eve\r\n<0>root"},
                                  {{"GOVJOBD_DATABASE_URL", db.url()}});
  REQUIRE(cancel.exit_code == 0);
  REQUIRE(eventually([&] { return status_of(db, hang) == "CANCELLED" && status_of(db, noisy) == "FAILED"; }, 10s));
  REQUIRE_THAT(job_of(db, noisy).at("status_reason").get<std::string>(), Catch::Contains("disk full\n<0>job 00000000"));  // the stderr tail (trimmed)
  daemon.signal(SIGTERM);
  REQUIRE(daemon.wait_exit() == 0);
  const std::string log = daemon.log();
  std::istringstream lines(log);
  int forged_events = 0;
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK(well_formed_line(format, line));
    CHECK_FALSE(line.starts_with("<0>"));
    CHECK_FALSE(line.starts_with("job 00000000"));
    if (line.find("forged") != std::string::npos) ++forged_events;
  }
  CHECK(forged_events >= 3);  // the failed step, its job's end, the cancel: each one line
  if (format != "json") {
    CHECK_THAT(log, Catch::Contains("job " + hang + " step 0 RUNNING -> CANCELLED: Step 0 failed: cancelled by eve\\r\\n<0>root: wrong window\\n<0>job "));
    CHECK_THAT(log, Catch::Contains("exit code 4: disk full\\n<0>job 00000000-0000-0000-0000-000000000000 step - RUNNING -> COMPLETED: forged"));
  }
}

TEST_CASE("a step under the daemon's uid cannot read the daemon's environment or descriptors, and inherits no secret", "[ops]") {
  TestDatabase db;
  const std::string out = (std::filesystem::temp_directory_path() / ("govjobd-peek-" + unique_marker())).string();
  // $PPID is the daemon: the step's sh is its child
  const auto config = write_daemon_config(
      "peek", "  peek: {kind: process, command: [/bin/sh, -c, 'cat /proc/$PPID/environ > " + out + ".environ 2>&1; "
              "ls /proc/$PPID/fd > " + out + ".fd 2>&1; env > " + out + ".env']}\n");
  const auto id = insert_job(db, json::array({step(0, "peek")}));
  // Root may read any process's /proc files: the daemon (and so its step) runs as a service user, nobody.
  std::vector<std::string> wrapper;
  if (::geteuid() == 0) wrapper = {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"};
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"}, {{"PGPASSWORD", "s3cret-env-pw"}}, wrapper);
  REQUIRE(daemon.wait_exit() == 0);
  CHECK(status_of(db, id) == "COMPLETED");
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  const std::string environ = read(out + ".environ"), fds = read(out + ".fd"), env = read(out + ".env");
  CHECK_THAT(environ, Catch::Contains("Permission denied"));
  CHECK_THAT(fds, Catch::Contains("Permission denied"));
  for (const std::string& secret : std::vector<std::string>{"s3cret-env-pw", "GOVJOBD_DATABASE_URL", "PGPASSWORD", db.url()}) {
    CHECK(environ.find(secret) == std::string::npos);
    CHECK(env.find(secret) == std::string::npos);
  }
  CHECK_THAT(env, Catch::Contains("GOVJOBD_JOB_ID=" + id));
  for (const char* suffix : {".environ", ".fd", ".env"}) std::filesystem::remove(out + suffix);
}

TEST_CASE("a password that libpq quotes in its error is not in the log nor on the CLI's stderr", "[ops]") {
  TestDatabase db;
  std::string url = db.url();
  url.replace(url.find("postgres@"), 9, "postgres:s3cret%zz-pw@");  // not valid percent-encoding: libpq quotes it
  const auto config = write_daemon_config("bad-password", "  noop: {kind: noop}\n");
  DaemonProcess daemon(config, url);
  REQUIRE(daemon.wait_for_log("invalid percent-encoded token"));
  daemon.signal(SIGTERM);
  daemon.wait_exit();
  CHECK(daemon.log().find("s3cret") == std::string::npos);
  const auto cli = run_process({GOVJOBD_BINARY, "jobs", "list"}, {{"GOVJOBD_DATABASE_URL", url}});
  CHECK(cli.exit_code == 69);
  CHECK_THAT(cli.err, Catch::Contains("invalid percent-encoded token"));
  CHECK(cli.err.find("s3cret") == std::string::npos);
}

#ifdef GOVJOBD_JEMALLOC  // built without it under the sanitizers
TEST_CASE("the daemon runs on jemalloc and its starting line says so", "[ops]") {
  TestDatabase db;
  DaemonProcess daemon(write_daemon_config("allocator", "  noop: {kind: noop}\n"), db.url());
  REQUIRE(daemon.wait_for_log("starting as worker"));
  const std::string log = daemon.log();
  const std::string line = log.substr(log.find("starting as worker"), log.find('\n', log.find("starting as worker")) - log.find("starting as worker"));
  INFO(line);
  CHECK_THAT(line, Catch::Contains("(concurrency 8, jemalloc 5."));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}
#endif

TEST_CASE("SIGHUP changes the log level", "[ops]") {
  TestDatabase db;
  const auto config = write_daemon_config("level", "  noop: {kind: noop}\n");
  std::ofstream(config, std::ios::app) << "logging: {level: warn}\n";
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT count(*) FROM govjobd_workers") == "1"; }));
  const auto quiet = insert(db);
  REQUIRE(eventually([&] { return db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + quiet + "'") == "COMPLETED"; }));
  CHECK(daemon.log().find(quiet) == std::string::npos);  // info lines are below warn
  std::string text;
  {
    std::ifstream in(config);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("level: warn"), 11, "level: info");
  std::ofstream(config) << text;
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("configuration reloaded"));
  const auto loud = insert(db);
  REQUIRE(daemon.wait_for_log("job " + loud + " step - RUNNING -> COMPLETED"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("the metrics endpoint serves the counters in Prometheus text format", "[ops]") {
  TestDatabase db;
  const int port = free_port();
  const auto config = write_daemon_config(
      "metrics", "  noop: {kind: noop}\n  fail: {kind: process, command: [/bin/false]}\n", "  concurrency: 4\n",
      "  capabilities:\n    payments: {kind: file, path: /}\n");
  serve_metrics_on(config, port);
  insert(db);
  insert(db);
  insert(db, R"([{"step_index":0,"step_type":"fail","target":"payments"}])");
  // one job a pause holds: the queue gauges (read when the daemon starts, then every 15 s) count it
  db.exec("INSERT INTO govjobd.pauses (target_glob, reason, paused_by) VALUES ('frozen-*', 'freeze', 'test')");
  insert(db, R"([{"step_index":0,"step_type":"noop","target":"frozen-1"}])");
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT count(*) FROM governance_jobs WHERE status IN ('COMPLETED', 'FAILED')") == "3"; }));
  std::string body;
  REQUIRE(eventually([&] {
    body = http_get(port, "/metrics");
    return body.find("govjobd_jobs_finished_total{status=\"FAILED\",reason=\"step_failed\"} 1") != std::string::npos;
  }, 10s));
  CHECK_THAT(body, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(body, Catch::Contains("text/plain; version=0.0.4"));
  CHECK_THAT(body, Catch::Contains("govjobd_jobs_claimed_total 3"));
  CHECK_THAT(body, Catch::Contains("govjobd_jobs_finished_total{status=\"COMPLETED\",reason=\"completed\"} 2"));
  CHECK_THAT(body, Catch::Contains("govjobd_step_duration_seconds_count{step_type=\"noop\"} 2"));
  CHECK_THAT(body, Catch::Contains("govjobd_step_duration_seconds_bucket{step_type=\"fail\",le=\"+Inf\"} 1"));
  CHECK_THAT(body, Catch::Contains("govjobd_running_jobs 0"));
  CHECK_THAT(body, Catch::Contains("govjobd_health_state{capability=\"payments\"} 0"));
  CHECK_THAT(body, Catch::Contains("govjobd_claim_latency_seconds_count"));
  CHECK_THAT(body, Catch::Contains("govjobd_database_reconnects_total 0"));
  CHECK_THAT(body, Catch::Contains("govjobd_pending_jobs_by_reason{reason=\"paused\"} 1"));
  CHECK_THAT(body, Catch::Contains("govjobd_pending_jobs "));
  CHECK_THAT(body, Catch::Contains("govjobd_oldest_pending_age_seconds "));
  CHECK_THAT(http_get(port, "/nothing"), Catch::StartsWith("HTTP/1.1 404"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("the metrics endpoint caps its connections and drops idle, slow and oversized clients - jobs run meanwhile", "[ops]") {
  TestDatabase db;
  const int port = free_port();
  const auto config = metrics_config("metrics-cap", port);
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return metrics_served(port); }, 10s));
  const auto opened = std::chrono::steady_clock::now();
  std::vector<int> idle;
  for (int i = 0; i < 16; ++i) idle.push_back(open_connection(port));
  for (int i = 0; i < 4; ++i) {  // beyond the cap: closed at once
    const int extra = open_connection(port);
    const auto at = std::chrono::steady_clock::now();
    const auto closed = closed_after(extra, at, 3s);
    REQUIRE(closed);
    CHECK(*closed < 1s);
    ::close(extra);
  }
  const auto id = insert(db);  // the daemon goes on with its jobs
  CHECK(eventually([&] { return db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + id + "'") == "COMPLETED"; }, 4s));
  for (const int fd : idle) {  // each dropped by its 5 s timeout
    const auto closed = closed_after(fd, opened, 10s);
    REQUIRE(closed);
    CHECK(*closed >= 4s);
    ::close(fd);
  }
  CHECK_THAT(http_get(port, "/metrics"), Catch::StartsWith("HTTP/1.1 200"));

  const int slow = open_connection(port);  // a header line every 200 ms: never a whole request
  const std::string line = "X-Slow: 1\r\n";
  CHECK(::send(slow, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL) == 23);
  const auto slow_closed =
      closed_after(slow, std::chrono::steady_clock::now(), 10s, [&] { (void)::send(slow, line.data(), line.size(), MSG_NOSIGNAL); });
  REQUIRE(slow_closed);
  CHECK(*slow_closed < 7s);
  ::close(slow);

  const int big = open_connection(port);  // a request larger than the bound
  const std::string request = "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(16384, 'a') + "\r\n\r\n";
  (void)::send(big, request.data(), request.size(), MSG_NOSIGNAL);  // the server may close before it has all
  const auto big_closed = closed_after(big, std::chrono::steady_clock::now(), 10s);
  REQUIRE(big_closed);
  CHECK(*big_closed < 2s);
  ::close(big);
  CHECK(metrics_served(port));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("with no descriptor left the metrics endpoint backs off instead of spinning on accept", "[ops][no-sanitize]") {
  TestDatabase db;
  const int port = free_port();
  const auto config = metrics_config("metrics-emfile", port);
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return metrics_served(port); }, 10s));
  const auto open_fds = [&] {
    return std::distance(std::filesystem::directory_iterator("/proc/" + std::to_string(daemon.pid()) + "/fd"),
                         std::filesystem::directory_iterator{});
  };
  const auto fds = open_fds();
  const std::string pid = std::to_string(daemon.pid());
  const auto soft = run_process({"/usr/bin/prlimit", "--pid", pid, "--nofile", "--output=SOFT", "--noheadings", "--raw"});
  REQUIRE(soft.exit_code == 0);
  const std::string original = soft.out.substr(0, soft.out.find_first_of(" \n"));
  // the soft limit only: raising a hard limit again may be refused even to root
  REQUIRE(run_process({"/usr/bin/prlimit", "--pid", pid, "--nofile=" + std::to_string(fds + 1) + ":"}).exit_code == 0);
  std::vector<int> waiting;  // the first takes the last descriptor; accept then fails with EMFILE
  for (int i = 0; i < 4; ++i) waiting.push_back(open_connection(port));
  // the loop accepted the first and took the last descriptor: the next accept meets EMFILE
  REQUIRE(eventually([&] { return open_fds() > fds; }, 10s));
  const double before = cpu_seconds(daemon.pid());
  std::this_thread::sleep_for(2s);  // measuring CPU over a window: a sleep is the measure itself
  const double used = cpu_seconds(daemon.pid()) - before;
  CHECK(used < 0.5);  // a busy accept loop burns the whole 2 s
  REQUIRE(run_process({"/usr/bin/prlimit", "--pid", pid, "--nofile=" + original + ":"}).exit_code == 0);
  for (const int fd : waiting) ::close(fd);
  CHECK(eventually([&] { return metrics_served(port); }, 10s));  // accepting again
  const auto id = insert(db);
  CHECK(eventually([&] { return db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + id + "'") == "COMPLETED"; }, 10s));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("an idle daemon whose LISTEN is up sends no claim queries - a new job still starts at once", "[ops]") {
  TestDatabase db;
  const int port = free_port();
  const auto config = write_daemon_config("idle", "  noop: {kind: noop}\n", "  concurrency: 4\n  poll_interval: 100ms\n");
  serve_metrics_on(config, port);
  DaemonProcess daemon(config, db.url());
  auto claims = [&] {
    std::string body;
    try {
      body = http_get(port, "/metrics");
    } catch (const std::exception&) {
      return -1;  // not listening yet
    }
    const auto at = body.find("govjobd_claim_latency_seconds_count ");
    return at == std::string::npos ? -1 : std::stoi(body.substr(at + 36));
  };
  REQUIRE(eventually([&] { return claims() >= 0; }, 10s));
  // LISTEN is up: its connection's last statement is a LISTEN (polls stop claiming from then on)
  REQUIRE(eventually([&] {
    return db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'") != "0";
  }, 10s));
  // The one claim the listener makes on connecting has no outward sign of its own: a pause lets it be counted.
  std::this_thread::sleep_for(1s);
  const int before = claims();
  std::this_thread::sleep_for(2s);  // the point: 20 poll intervals pass, and no claim is made
  CHECK(claims() == before);
  const auto id = insert(db);
  CHECK(eventually([&] { return db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + id + "'") == "COMPLETED"; }, 10s));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}
