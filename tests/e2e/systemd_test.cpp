// What systemd and an operator see of metrics.listen and reload: check-config resolves and binds the
// address as `run` will, `run` exits 78 naming the key when it cannot bind, and SIGHUP moves the endpoint
// and names the keys that only a restart applies.

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/test_database.hpp"

using namespace govjobd::testing;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A listener that is not govjobd, holding a port (0: any free one).
struct ForeignListener {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  int port() const { return acceptor.local_endpoint().port(); }
};

int unheld_port() { return ForeignListener().port(); }

std::string config_with_listen(const std::string& name, const std::string& listen, const std::string& more = "") {
  const auto config = write_daemon_config(name, "  noop: {kind: noop}\n");
  std::ofstream(config, std::ios::app) << "metrics: {listen: '" << listen << "'}\n" << more;
  return config;
}

ProcessResult check_config(const std::string& config) { return run_process({GOVJOBD_BINARY, "check-config", "-c", config}); }

// True when GET /metrics on 127.0.0.1:port answers with govjobd's metrics.
bool serves_metrics(int port) { return metrics_body(port).find("govjobd_") != std::string::npos; }

}  // namespace

TEST_CASE("check-config resolves metrics.listen: a host name, [::1] and :port pass, a name that does not "
          "resolve and a port another program holds fail with 78 naming the key", "[ops]") {
  for (const std::string& listen : {"localhost:" + std::to_string(unheld_port()), "[::1]:" + std::to_string(unheld_port()),
                                   ":" + std::to_string(unheld_port())}) {
    INFO(listen);
    const auto r = check_config(config_with_listen("listen-ok", listen));
    CHECK(r.exit_code == 0);
  }
  const auto unresolved = check_config(config_with_listen("listen-name", "no-such-host.invalid:9464"));
  CHECK(unresolved.exit_code == 78);
  CHECK_THAT(unresolved.err, Catch::Contains("metrics.listen: cannot resolve 'no-such-host.invalid'"));
  ForeignListener other;
  const auto in_use = check_config(config_with_listen("listen-used", "127.0.0.1:" + std::to_string(other.port())));
  CHECK(in_use.exit_code == 78);
  CHECK_THAT(in_use.err, Catch::Contains("metrics.listen: cannot bind 127.0.0.1:" + std::to_string(other.port())) &&
                             Catch::Contains("in use"));
}

TEST_CASE("run exits 78 naming metrics.listen when it cannot bind it, and check-config passes a port where a "
          "govjobd serves metrics (systemctl reload checks the running daemon's own)", "[ops]") {
  TestDatabase db;
  ForeignListener other;
  DaemonProcess refused(config_with_listen("bind-fails", "127.0.0.1:" + std::to_string(other.port())), db.url());
  CHECK(refused.wait_exit() == 78);
  CHECK_THAT(refused.log(), Catch::Contains("metrics.listen: cannot bind 127.0.0.1:" + std::to_string(other.port())));

  const int port = unheld_port();
  const auto config = config_with_listen("bind-ok", "127.0.0.1:" + std::to_string(port));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return serves_metrics(port); }));
  const auto r = check_config(config);
  CHECK(r.exit_code == 0);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("SIGHUP moves the metrics endpoint to a new metrics.listen and names the keys only a restart applies",
          "[ops]") {
  TestDatabase db;
  const int first = unheld_port();
  const auto config = config_with_listen("move", "127.0.0.1:" + std::to_string(first));
  DaemonProcess daemon(config, db.url());
  REQUIRE(eventually([&] { return serves_metrics(first); }));
  const int second = unheld_port();
  // the endpoint moves; worker.id and logging.format wait for a restart
  std::ofstream(config) << "worker: {id: renamed, poll_interval: 500ms, heartbeat_interval: 300ms, lease_timeout: 2s}\n"
                           "health: {system: {enabled: false}}\nexecutors:\n  noop: {kind: noop}\n"
                           "logging: {format: json}\nmetrics: {listen: '127.0.0.1:" << second << "'}\n";
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("configuration reloaded"));
  CHECK(eventually([&] { return serves_metrics(second); }));
  CHECK_FALSE(serves_metrics(first));
  CHECK_THAT(daemon.log(), Catch::Contains("applies only after a restart (systemctl restart govjobd): worker.id, logging.format"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("SIGHUP turns retention on without a restart", "[ops]") {
  TestDatabase db;
  // one job that ended 100 days ago (the state machine's way: PENDING, RUNNING, COMPLETED)
  const auto old = db.scalar("INSERT INTO governance_jobs (contract_id, steps) VALUES (gen_random_uuid(), '[]') RETURNING job_id");
  db.exec("UPDATE governance_jobs SET status = 'RUNNING' WHERE job_id = '" + old + "'");
  db.exec("UPDATE governance_jobs SET status = 'COMPLETED', completed_at = (now() AT TIME ZONE 'UTC') - interval '100 days' "
          "WHERE job_id = '" + old + "'");
  const auto config = write_daemon_config("retention-reload", "  noop: {kind: noop}\n");
  DaemonProcess daemon(config, db.url());
  REQUIRE(daemon.wait_for_log("ready"));
  std::ofstream(config, std::ios::app) << "retention: {keep_terminal: 90d, interval: 1h}\n";
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("configuration reloaded"));
  CHECK(eventually([&] { return db.scalar("SELECT count(*) FROM governance_jobs WHERE job_id = '" + old + "'") == "0"; }));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit() == 0);
}
