#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include "health/health_gate.hpp"
#include "health/health_monitor.hpp"
#include "process/child_reaper.hpp"
#include "tests/health/snapshot_of.hpp"

using namespace govjobd;
using namespace std::chrono_literals;
using govjobd::testing::snapshot_of;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

config::HealthSettings with(std::map<std::string, config::ProbeSettings> caps) {
  config::HealthSettings h;
  h.system.enabled = false;
  h.probe_timeout = 1s;
  h.capabilities = std::move(caps);
  return h;
}

config::ProbeSettings probe(std::string kind) {
  config::ProbeSettings p;
  p.kind = std::move(kind);
  return p;
}

// A one-shot HTTP server on loopback answering one request with `status`, on its own thread.
struct HttpServer {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  explicit HttpServer(int status) {
    thread = std::thread([this, status] {
      tcp::socket s(io);
      boost::system::error_code ec;
      acceptor.accept(s, ec);
      if (ec) return;
      char buf[1024];
      s.read_some(asio::buffer(buf), ec);
      const std::string reply = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      asio::write(s, asio::buffer(reply), ec);
    });
  }
  int port() const { return acceptor.local_endpoint().port(); }
  ~HttpServer() { thread.join(); }  // the probe connected once; the thread has ended
};

}  // namespace

TEST_CASE("tcp probe: a loopback listener is HEALTHY, a closed port BLOCKED or on_error", "[health]") {
  asio::io_context io;
  tcp::acceptor listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto open = probe("tcp");
  open.host = "127.0.0.1";
  open.port = listener.local_endpoint().port();
  auto closed = open;
  closed.port = 1;
  auto lenient = closed;
  lenient.on_error = "DEGRADED";
  const auto s = snapshot_of(with({{"open", open}, {"closed", closed}, {"lenient", lenient}}));
  CHECK(s.capabilities.at("open").at("state") == "HEALTHY");
  CHECK(s.capabilities.at("closed").at("state") == "BLOCKED");
  CHECK_THAT(s.capabilities.at("closed").at("details").at("error").get<std::string>(), Catch::Contains("refused"));
  CHECK(s.capabilities.at("lenient").at("state") == "DEGRADED");
  CHECK(s.capabilities.at("open").contains("latency_ms"));
}

TEST_CASE("http probe maps status codes to states", "[health]") {
  HttpServer ok(200), busy(429), broken(500);
  auto p = [](int port) {
    auto h = probe("http");
    h.url = "http://127.0.0.1:" + std::to_string(port) + "/health";
    return h;
  };
  const auto s = snapshot_of(with({{"ok", p(ok.port())}, {"busy", p(busy.port())}, {"broken", p(broken.port())}}));
  CHECK(s.capabilities.at("ok").at("state") == "HEALTHY");
  CHECK(s.capabilities.at("ok").at("details").at("status") == 200);
  CHECK(s.capabilities.at("busy").at("state") == "DEGRADED");
  CHECK(s.capabilities.at("broken").at("state") == "BLOCKED");
}

TEST_CASE("file probe: exists, and not older than max_age", "[health]") {
  const auto path = std::filesystem::temp_directory_path() / "govjobd-health-file-test";
  std::ofstream(path) << "ok";
  auto fresh = probe("file");
  fresh.path = path.string();
  fresh.max_age = 1h;
  auto stale = fresh;
  std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() - 2h);
  stale.max_age = 1h;
  auto plain = fresh;
  plain.max_age.reset();
  auto missing = probe("file");
  missing.path = "/nonexistent/govjobd-flag";
  const auto s = snapshot_of(with({{"stale", stale}, {"plain", plain}, {"missing", missing}}));
  CHECK(s.capabilities.at("stale").at("state") == "BLOCKED");
  CHECK(s.capabilities.at("plain").at("state") == "HEALTHY");
  CHECK(s.capabilities.at("missing").at("state") == "BLOCKED");
  std::filesystem::remove(path);
}

TEST_CASE("command probe: exit 0 HEALTHY, configured codes DEGRADED, others BLOCKED, JSON state honoured", "[health]") {
  auto cmd = [](std::string script, std::vector<int> degraded = {}) {
    auto p = probe("command");
    p.command = {"/bin/sh", "-c", std::move(script)};
    p.degraded_exit_codes = std::move(degraded);
    return p;
  };
  const auto s = snapshot_of(with({{"ok", cmd("exit 0")},
                                   {"soft", cmd("exit 2", {2})},
                                   {"hard", cmd("exit 3", {2})},
                                   {"says", cmd("echo '{\"state\":\"DEGRADED\",\"details\":{\"lag\":7}}'")},
                                   {"missing", cmd("x")}}));
  CHECK(s.capabilities.at("ok").at("state") == "HEALTHY");
  CHECK(s.capabilities.at("soft").at("state") == "DEGRADED");
  CHECK(s.capabilities.at("hard").at("state") == "BLOCKED");
  CHECK(s.capabilities.at("says").at("state") == "DEGRADED");
  CHECK(s.capabilities.at("says").at("details").at("reported").at("lag") == 7);
}

TEST_CASE("a probe that times out is BLOCKED with its error, and its process is gone", "[health]") {
  auto slow = probe("command");
  slow.command = {"/bin/sleep", "30.7531"};
  slow.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const auto s = snapshot_of(with({{"slow", slow}}));
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(s.capabilities.at("slow").at("state") == "BLOCKED");
  CHECK(s.capabilities.at("slow").at("details").at("error") == "probe timed out after 300ms");
}

TEST_CASE("20 probes of 200 ms run together, well under the 4 s one by one would take", "[health]") {
  std::map<std::string, config::ProbeSettings> caps;
  for (int i = 0; i < 20; ++i) {
    auto p = probe("command");
    p.command = {"/bin/sleep", "0.2"};
    caps["cap" + std::to_string(i)] = p;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto s = snapshot_of(with(caps));
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(s.capabilities.size() == 20);
  for (const auto& [name, cap] : s.capabilities) CHECK(cap.at("state") == "HEALTHY");
  CHECK(took < 2s);
}

TEST_CASE("a snapshot has exactly the HealthSnapshot fields", "[health]") {
  config::HealthSettings h;
  h.capabilities["flag"] = probe("file");
  h.capabilities["flag"].path = "/";
  const auto j = nlohmann::json(snapshot_of(h));
  CHECK(j.size() == 3);
  CHECK(j.contains("captured_at"));
  CHECK(j.at("capabilities").at("flag").size() == 3);  // state, details, latency_ms
  for (const char* key : {"state", "load_per_cpu", "memory_available_pct", "disks"}) CHECK(j.at("system_health").contains(key));
}

TEST_CASE("the gate: BLOCKED target or system stops a step, DEGRADED only when configured, no probe no gate", "[health]") {
  model::HealthSnapshot s;
  s.system_health = {{"state", "HEALTHY"}};
  s.capabilities["payments"] = {{"state", "BLOCKED"}, {"details", {{"error", "cannot connect"}}}};
  s.capabilities["ledger"] = {{"state", "DEGRADED"}, {"details", {}}};
  const std::vector<std::string> strict{"BLOCKED"}, cautious{"BLOCKED", "DEGRADED"};

  const auto blocked = health::decide_gate(s, "payments", strict);
  CHECK_FALSE(blocked.run);
  CHECK(blocked.reason == "blocked by health: payments BLOCKED ({\"error\":\"cannot connect\"})");
  CHECK(blocked.evidence.at("decision") == "blocked");
  CHECK(health::decide_gate(s, "ledger", strict).run);
  CHECK(health::decide_gate(s, "ledger", strict).evidence.at("degraded") == true);
  CHECK_FALSE(health::decide_gate(s, "ledger", cautious).run);
  CHECK(health::decide_gate(s, "unprobed", strict).run);
  CHECK(health::decide_gate(s, "unprobed", strict).evidence.at("target_state").is_null());

  s.system_health = {{"state", "BLOCKED"}, {"checks", {{"disk:/", {{"state", "BLOCKED"}}}}}};
  const auto system = health::decide_gate(s, "unprobed", strict);
  CHECK_FALSE(system.run);
  CHECK_THAT(system.reason, Catch::StartsWith("blocked by health: system BLOCKED ("));
  CHECK_FALSE(health::nothing_blocked(s));
}

TEST_CASE("a cache TTL reuses the last snapshot instead of probing again", "[health]") {
  const auto counter = std::filesystem::temp_directory_path() / ("govjobd-probe-count-" + std::to_string(::getpid()));
  std::filesystem::remove(counter);
  auto counting = probe("command");
  counting.command = {"/bin/sh", "-c", "echo x >> " + counter.string()};
  auto settings = with({{"counted", counting}});
  settings.cache_ttl = 1h;
  process::prepare_process_for_children();
  asio::io_context io;
  health::HealthMonitor monitor(io, settings, std::make_shared<process::ChildReaper>());
  int snapshots = 0;
  for (int i = 0; i < 5; ++i) {
    monitor.snapshot([&](model::HealthSnapshot) { ++snapshots; });
    io.restart();
    io.run_for(10s);
  }
  CHECK(snapshots == 5);
  std::ifstream in(counter);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  CHECK(all == "x\n");  // probed once
  std::filesystem::remove(counter);
}
