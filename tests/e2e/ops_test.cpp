#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
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
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kOneStep = R"([{"step_index":0,"step_type":"noop","target":"payments"}])";

std::string insert(TestDatabase& db, const std::string& steps = kOneStep) {
  return db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '" + steps + "') RETURNING job_id");
}

int free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

std::string http_get(int port, const std::string& path) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  boost::asio::write(s, boost::asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  char buf[4096];
  for (std::size_t n; (n = s.read_some(boost::asio::buffer(buf), ec)) > 0 || !ec;) response.append(buf, n);
  return response;
}

}  // namespace

TEST_CASE("JSON log lines parse back with the job's fields", "[ops]") {
  TestDatabase db;
  const auto config = write_daemon_config("json", "  noop: {kind: noop}\n", "  concurrency: 2\n");
  std::ofstream(config, std::ios::app) << "logging: {format: json}\n";
  const auto id = insert(db);
  DaemonProcess daemon(config, db.url(), {"--exit-when-idle"});
  REQUIRE(daemon.wait_exit() == 0);
  std::istringstream lines(daemon.log());
  int parsed = 0;
  bool transition = false, step = false;
  for (std::string line; std::getline(lines, line);) {
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
  std::ofstream(config, std::ios::app) << "metrics: {listen: '127.0.0.1:" << port << "'}\n";
  insert(db);
  insert(db);
  insert(db, R"([{"step_index":0,"step_type":"fail","target":"payments"}])");
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
  CHECK_THAT(http_get(port, "/nothing"), Catch::StartsWith("HTTP/1.1 404"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("an idle daemon whose LISTEN is up sends no claim queries - a new job still starts at once", "[ops]") {
  TestDatabase db;
  const int port = free_port();
  const auto config = write_daemon_config("idle", "  noop: {kind: noop}\n", "  concurrency: 4\n  poll_interval: 100ms\n");
  std::ofstream(config, std::ios::app) << "metrics: {listen: '127.0.0.1:" << port << "'}\n";
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
  std::this_thread::sleep_for(1s);  // the claims at start-up and after LISTEN connected
  const int before = claims();
  std::this_thread::sleep_for(2s);  // 20 polls
  CHECK(claims() == before);
  const auto id = insert(db);
  CHECK(eventually([&] { return db.scalar("SELECT status FROM governance_jobs WHERE job_id = '" + id + "'") == "COMPLETED"; }, 10s));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("retention deletes old terminal jobs and their transitions in small batches, nothing else", "[ops]") {
  TestDatabase db;
  // five jobs that ended 100 days ago, one that ended now, one still PENDING
  db.exec("INSERT INTO governance_jobs (job_id, contract_id, steps) SELECT ('00000000-0000-0000-0000-00000000000' || g)::uuid, "
          "gen_random_uuid(), '[]' FROM generate_series(1, 6) g");
  db.exec("INSERT INTO governance_job_transitions (job_id, to_status, transitioned_by) SELECT job_id, 'PENDING', 'x' FROM governance_jobs");
  db.exec("UPDATE governance_jobs SET status = 'RUNNING'");
  db.exec("UPDATE governance_jobs SET status = 'COMPLETED', completed_at = (now() AT TIME ZONE 'UTC') - "
          "CASE WHEN job_id = '00000000-0000-0000-0000-000000000006' THEN interval '0' ELSE interval '100 days' END");
  const auto pending = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '[]') RETURNING job_id");
  const auto config = write_daemon_config("retention", "  noop: {kind: noop}\n");
  std::ofstream(config, std::ios::app) << "retention: {keep_terminal: 90d, interval: 1s, batch_size: 2}\n";
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return db.scalar("SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'") == "1"; }));
  CHECK(db.scalar("SELECT job_id FROM governance_jobs WHERE status = 'COMPLETED'") == "00000000-0000-0000-0000-000000000006");
  CHECK(db.scalar("SELECT count(*) FROM governance_job_transitions WHERE job_id::text LIKE '00000000-0000-0000-0000-00000000000%' "
                  "AND job_id <> '00000000-0000-0000-0000-000000000006'") == "0");
  CHECK(db.scalar("SELECT count(*) FROM governance_jobs WHERE job_id = '" + pending + "'") == "1");
  REQUIRE(daemon.wait_for_log("retention deleted 5 terminal jobs"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}
