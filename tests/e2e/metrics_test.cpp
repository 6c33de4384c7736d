// The metrics an SRE alerts on (issue 19 item 4), read from the real daemon's /metrics: pickup and job
// duration histograms, finished jobs by typed reason with the reaper's, database up, build info, process
// metrics, health gauges refreshed with no job running; and the shipped dashboard, alert rules and
// docs/metrics.md checked against what the daemon exposes.
#include <signal.h>
#include <time.h>

#include <filesystem>
#include <functional>
#include <map>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/job_helpers.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A daemon config with these executors and health lines, metrics on `port`, a short poll (the health refresh).
std::string metrics_config(const std::string& name, int port, const std::string& executors,
                           const std::string& health = "") {
  const auto config = write_daemon_config(name, executors, "  concurrency: 8\n  poll_interval: 200ms\n", health);
  serve_metrics_on(config, port);
  return config;
}

// A database, a port and a config of metrics_config() for one test: `auto& [db, port, config] = fixture;`.
struct MetricsFixture {
  MetricsFixture(const std::string& name, const std::string& executors)
      : port(free_port()), config(metrics_config(name, port, executors)) {}
  TestDatabase db;
  int port;
  std::string config;
};

// Inserts a PENDING job of one step whose created_at is `created_at` (an SQL expression); returns its id.
std::string insert_created(TestDatabase& db, const std::string& step_type, const std::string& target,
                           const std::string& created_at) {
  const json steps = json::array({step(0, step_type, json::object(), 30, target)});
  return db.scalar("INSERT INTO governance_jobs (contract_id, steps, created_at) VALUES (gen_random_uuid(), '" +
                   steps.dump() + "', " + created_at + ") RETURNING job_id");
}

// The body once `ready` holds for it (10 s at most); the last body read otherwise.
std::string metrics_when(int port, const std::function<bool(const std::string&)>& ready) {
  std::string body;
  eventually([&] { return ready(body = metrics_body(port)); }, 10s);
  return body;
}

bool has(const std::string& body, const std::string& sample) { return body.find(sample) != std::string::npos; }

// Every metric family the body declares ("# TYPE name type"), with its type.
std::map<std::string, std::string> families(const std::string& body) {
  std::map<std::string, std::string> out;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string hash, type_word, name, type;
    if (words >> hash >> type_word >> name >> type && hash == "#" && type_word == "TYPE") out[name] = type;
  }
  return out;
}

// The metric names a PromQL text or rule file uses (govjobd_* and process_*), a histogram's series under
// its family's name.
std::set<std::string> names_used(const std::string& text, const std::map<std::string, std::string>& exposed) {
  static const std::regex name(R"(\b(govjobd|process)_[a-z_]+\b)");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it) {
    std::string n = it->str();
    for (const std::string suffix : {"_bucket", "_sum", "_count"})
      if (n.ends_with(suffix) && exposed.count(n.substr(0, n.size() - suffix.size()))) n.resize(n.size() - suffix.size());
    out.insert(n);
  }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every "expr" string anywhere in a Grafana dashboard.
void exprs_of(const json& node, std::string& out) {
  if (node.is_object())
    for (const auto& [key, value] : node.items()) {
      if (key == "expr" && value.is_string()) out += value.get<std::string>() + "\n";
      else exprs_of(value, out);
    }
  else if (node.is_array())
    for (const auto& value : node) exprs_of(value, out);
}

double unix_now() { return static_cast<double>(::time(nullptr)); }

}  // namespace

TEST_CASE("pickup runs from created_at to the claim - future counts as 0, infinite is not observed - and job durations by status", "[ops]") {
  MetricsFixture fixture("pickup", "  noop: {kind: noop}\n  fail: {kind: process, command: [/bin/false]}\n");
  auto& [db, port, config] = fixture;
  const std::string now = "(now() AT TIME ZONE 'UTC')";
  insert_created(db, "noop", "payments", now + " - interval '120 seconds'");
  insert_created(db, "noop", "payments", now + " + interval '1 day'");  // the writer's clock ahead, or a lie
  insert_created(db, "noop", "payments", "'-infinity'");                 // unknown
  insert_created(db, "fail", "payments", now);
  // held by a pause: the queue's age leaves out the infinite created_at, and the one in the future counts as 0
  db.exec("INSERT INTO govjobd.pauses (target_glob, reason, paused_by) VALUES ('frozen-*', 'freeze', 'test')");
  insert_created(db, "noop", "frozen-1", "'-infinity'");
  insert_created(db, "noop", "frozen-2", now + " + interval '1 day'");
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT count(*) FROM governance_jobs WHERE status IN ('COMPLETED', 'FAILED')") == "4"; }));
  const auto body = metrics_when(port, [](const std::string& b) { return has(b, "govjobd_job_duration_seconds_count{status=\"FAILED\"} 1"); });
  INFO(body);
  CHECK(metric_sum(body, "govjobd_jobs_claimed_total") == 4);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_count") == 3);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_sum") >= 120);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_sum") < 200);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_bucket{le=\"60\"}") == 2);
  CHECK(metric_sum(body, "govjobd_job_pickup_seconds_bucket{le=\"300\"}") == 3);
  CHECK(metric_sum(body, "govjobd_job_duration_seconds_count{status=\"COMPLETED\"}") == 3);
  CHECK(metric_sum(body, "govjobd_job_duration_seconds_bucket{status=\"FAILED\",le=\"+Inf\"}") == 1);
  CHECK(metric_sum(body, "govjobd_job_duration_seconds_sum{status=\"COMPLETED\"}") < 30);
  CHECK_THAT(body, Catch::Contains("HELP govjobd_claim_latency_seconds Time of the claim query"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
  // the queue's first reading after a start, with the held jobs alone left PENDING
  DaemonProcess again(config, db.url());
  const auto queue = metrics_when(port, [](const std::string& b) { return has(b, "\ngovjobd_pending_jobs "); });
  INFO(queue);
  CHECK(has(queue, "\ngovjobd_pending_jobs 2\n"));
  CHECK(has(queue, "\ngovjobd_oldest_pending_age_seconds 0.000\n"));
  again.signal(SIGTERM);
  CHECK(again.wait_exit() == 0);
}

TEST_CASE("the reaper's ends count by typed reason and in govjobd_jobs_reaped_total - no reason text becomes a label", "[ops]") {
  MetricsFixture fixture("reaped", "  hang: {kind: process, command: [/bin/sleep, '60']}\n");
  auto& [db, port, config] = fixture;
  const auto lost = insert_job(db, json::array({step(0, "hang")}));
  const auto cancelled = insert_job(db, json::array({step(0, "hang")}));
  auto victim = std::make_unique<DaemonProcess>(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, lost) == "RUNNING" && status_of(db, cancelled) == "RUNNING"; }));
  victim->signal(SIGKILL);
  victim.reset();
  // a reason that would forge a sample if it ever reached a label or a line
  const auto request = run_process({GOVJOBD_BINARY, "cancel", cancelled, "--reason", "x\"} 1\ngovjobd_forged_total 7", "--by", "eve"},
                                   {{"GOVJOBD_DATABASE_URL", db.url()}});
  REQUIRE(request.exit_code == 0);
  DaemonProcess rescuer(config, db.url());
  REQUIRE(eventually([&] { return status_of(db, lost) == "FAILED" && status_of(db, cancelled) == "CANCELLED"; }, 20s));
  const auto body = metrics_when(port, [](const std::string& b) { return has(b, "govjobd_jobs_reaped_total 2"); });
  INFO(body);
  CHECK(has(body, "govjobd_jobs_reaped_total 2\n"));
  CHECK(has(body, "govjobd_jobs_finished_total{status=\"FAILED\",reason=\"worker_lost\"} 1\n"));
  CHECK(has(body, "govjobd_jobs_finished_total{status=\"CANCELLED\",reason=\"cancelled\"} 1\n"));
  CHECK(!has(body, "forged"));
  CHECK(!has(body, "eve"));
  const std::set<std::string> classes{"completed", "step_failed", "job_timeout", "invalid_job", "contract_refused",
                                      "health_blocked", "unroutable", "worker_lost", "cancelled", "shutdown", "other"};
  static const std::regex finished(R"re(^govjobd_jobs_finished_total\{status="(COMPLETED|FAILED|CANCELLED)",reason="([a-z_]+)"\} \d+$)re");
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("govjobd_jobs_finished_total{")) continue;
    std::smatch m;
    INFO(line);
    REQUIRE(std::regex_match(line, m, finished));
    CHECK(classes.count(m[2].str()) == 1);
  }
  rescuer.signal(SIGTERM);
  CHECK(rescuer.wait_exit() == 0);
}

TEST_CASE("database up, build info and the process metrics - database down while it cannot connect", "[ops]") {
  MetricsFixture fixture("process", "  noop: {kind: noop}\n");
  auto& [db, port, config] = fixture;
  DaemonProcess daemon(config, db.url());
  const auto body = metrics_when(port, [](const std::string& b) { return has(b, "\ngovjobd_heartbeat_timestamp_seconds "); });
  INFO(body);
  CHECK(std::abs(metric_sum(body, "govjobd_heartbeat_timestamp_seconds") - unix_now()) < 10);
  const auto version = run_process({GOVJOBD_BINARY, "--version"}, {});
  const std::string v = version.out.substr(version.out.find(' ') + 1, version.out.find('\n') - version.out.find(' ') - 1);
  CHECK(has(body, "govjobd_build_info{version=\"" + v + "\"} 1\n"));
  CHECK(has(body, "govjobd_database_up 1\n"));
  CHECK(metric_sum(body, "process_cpu_seconds_total") >= 0);
  CHECK(has(body, "\nprocess_cpu_seconds_total "));
  CHECK(metric_sum(body, "process_resident_memory_bytes") > 1e6);
  CHECK(metric_sum(body, "process_resident_memory_bytes") < 1e9);
  const auto fds = std::distance(std::filesystem::directory_iterator("/proc/" + std::to_string(daemon.pid()) + "/fd"), {});
  CHECK(std::abs(metric_sum(body, "process_open_fds") - static_cast<double>(fds)) <= 4);
  CHECK(metric_sum(body, "process_max_fds") >= metric_sum(body, "process_open_fds"));
  CHECK(metric_sum(body, "process_start_time_seconds") > unix_now() - 120);
  CHECK(metric_sum(body, "process_start_time_seconds") <= unix_now() + 1);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);

  const int down_port = free_port();
  const auto down_config = metrics_config("db-down", down_port, "  noop: {kind: noop}\n");
  DaemonProcess unreachable(down_config, "postgresql://govjobd@127.0.0.1:" + std::to_string(free_port()) + "/none?connect_timeout=2");
  const auto down = metrics_when(down_port, [](const std::string& b) { return has(b, "govjobd_database_up 0\n"); });
  INFO(down << unreachable.log_tail());
  CHECK(has(down, "govjobd_database_up 0\n"));
  unreachable.signal(SIGTERM);
  CHECK(unreachable.wait_exit(30s).has_value());
}

TEST_CASE("database up reads 0 before the first connection, while that connection waits for its connect_timeout", "[ops]") {
  // a listener that never accepts: the kernel completes the handshake and the server never answers
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const int port = free_port();
  const auto config = metrics_config("db-first-connect", port, "  noop: {kind: noop}\n");
  DaemonProcess daemon(config, "postgresql://govjobd@127.0.0.1:" + std::to_string(silent.local_endpoint().port()) +
                                   "/none?connect_timeout=8");
  const auto body = metrics_when(port, [](const std::string& b) { return has(b, "\ngovjobd_database_up "); });
  INFO(body << daemon.log_tail());
  CHECK(has(body, "govjobd_database_up 0\n"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit(40s).has_value());
}

TEST_CASE("with no job the health gauges follow the background refresh - a reload's removed capability goes", "[ops]") {
  TestDatabase db;
  const int port = free_port();
  const auto gate = std::filesystem::temp_directory_path() / ("govjobd-gate-" + std::to_string(port));
  std::filesystem::remove(gate);
  const auto config = metrics_config("health-refresh", port, "  noop: {kind: noop}\n",
                                     "  capabilities:\n    gate: {kind: file, path: '" + gate.string() + "'}\n");
  DaemonProcess daemon(config, db.url());
  auto body = metrics_when(port, [](const std::string& b) { return has(b, "govjobd_health_state{capability=\"gate\"} 2\n"); });
  REQUIRE(has(body, "govjobd_health_state{capability=\"gate\"} 2\n"));
  const double first = metric_sum(body, "govjobd_health_snapshot_timestamp_seconds");
  CHECK(std::abs(first - unix_now()) < 10);
  std::ofstream(gate) << "up\n";  // the capability recovers while no job runs: a few 200 ms refreshes
  body = metrics_when(port, [](const std::string& b) { return has(b, "govjobd_health_state{capability=\"gate\"} 0\n"); });
  INFO(body);
  CHECK(has(body, "govjobd_health_state{capability=\"gate\"} 0\n"));
  CHECK(metric_sum(body, "govjobd_health_snapshot_timestamp_seconds") > first);
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs") == "0");
  // a reload without the capability: its gauge goes instead of staying at its last state
  std::string text = read_file(config);
  text.replace(text.find("    gate:"), 0, "    other: {kind: file, path: /}\n");
  text.erase(text.find("    gate:"), text.find('\n', text.find("    gate:")) - text.find("    gate:") + 1);
  std::ofstream(config) << text;
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("configuration reloaded"));
  body = metrics_when(port, [](const std::string& b) { return has(b, "govjobd_health_state{capability=\"other\"} 0\n"); });
  CHECK(has(body, "govjobd_health_state{capability=\"other\"} 0\n"));
  CHECK(!has(body, "capability=\"gate\""));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
  std::filesystem::remove(gate);
}

TEST_CASE("the Grafana dashboard and the alert rules use only metrics the daemon exposes - docs/metrics.md documents each", "[ops]") {
  MetricsFixture fixture("exposed", "  noop: {kind: noop}\n");
  auto& [db, port, config] = fixture;
  DaemonProcess daemon(config, db.url());
  const auto body = metrics_when(port, [](const std::string& b) {
    return has(b, "\ngovjobd_pending_jobs ") && has(b, "\ngovjobd_health_snapshot_timestamp_seconds ") &&
           has(b, "\ngovjobd_heartbeat_timestamp_seconds ");
  });
  const auto exposed = families(body);
  REQUIRE(exposed.size() >= 20);
  const std::filesystem::path source = GOVJOBD_SOURCE_DIR;
  json dashboard;
  REQUIRE_NOTHROW(dashboard = json::parse(read_file(source / "examples/grafana/govjobd.json")));
  std::string exprs;
  exprs_of(dashboard, exprs);
  const auto in_dashboard = names_used(exprs, exposed);
  CHECK(in_dashboard.size() >= 15);
  const auto in_alerts = names_used(read_file(source / "examples/prometheus/alerts.yml"), exposed);
  const std::string docs = read_file(source / "docs/metrics.md");
  for (const auto& used : {in_dashboard, in_alerts})
    for (const auto& name : used) {
      INFO(name);
      CHECK(exposed.count(name) == 1);
    }
  for (const auto& [name, type] : exposed) {
    INFO(name);
    CHECK(has(docs, "`" + name + "`"));
  }
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}
