// The http probe against real local servers: TLS with a CA made for the test (openssl CLI), certificate and
// host name verification, the opt-out, IPv6 literals, the Host header's port, and hostile endpoints (a huge
// header, an endless body, a slow drip, a handshake that never comes), each ending in bounded time.
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include "health/health_monitor.hpp"
#include "tests/health/snapshot_of.hpp"
#include "tests/support/run_process.hpp"

using namespace govjobd;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A test CA, a server certificate from it for localhost, 127.0.0.1 and ::1, and one for another name.
// Made once per run with the openssl command; removed at exit.
struct Pki {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("govjobd-pki-" + std::to_string(::getpid()));
  std::string ca() const { return (dir / "ca.pem").string(); }
  std::string cert(const std::string& name) const { return (dir / (name + ".pem")).string(); }
  std::string key(const std::string& name) const { return (dir / (name + ".key")).string(); }

  Pki() {
    std::filesystem::create_directories(dir);
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=govjobd test CA", "-keyout", key("ca"), "-out", ca(), "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"});
    issue("server", "DNS:localhost,IP:127.0.0.1,IP:::1");
    issue("other", "DNS:other.example");
  }
  ~Pki() { std::filesystem::remove_all(dir); }

  void issue(const std::string& name, const std::string& names) const {
    const auto ext = (dir / (name + ".ext")).string();
    std::ofstream(ext) << "subjectAltName=" << names << "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
             "/CN=" + name, "-keyout", key(name), "-out", (dir / (name + ".csr")).string()});
    openssl({"x509", "-req", "-in", (dir / (name + ".csr")).string(), "-CA", ca(), "-CAkey", key("ca"),
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert(name)});
  }
  static void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    const auto r = testing::run_process(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
};

const Pki& pki() {
  static const Pki made;
  return made;
}

enum class Reply { Ok, HugeHeader, EndlessBody, SlowDrip, Silent };

// A server on its own thread and io_context: plain, or TLS with `cert` (from pki()). Every request it reads is
// recorded; each connection gets `reply`.
class TestServer {
 public:
  TestServer(const std::string& address, Reply reply, const std::string& cert = "")
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address(address), 0)), reply_(reply) {
    if (!cert.empty()) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(pki().cert(cert));
      tls_->use_private_key_file(pki().key(cert), asio::ssl::context::pem);
    }
    asio::co_spawn(io_, accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  asio::awaitable<void> accept() {
    for (;;) asio::co_spawn(io_, session(co_await acceptor_.async_accept(asio::use_awaitable)), asio::detached);
  }
  asio::awaitable<void> session(tcp::socket socket) {
    try {
      if (!tls_) co_return co_await respond(socket);
      asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
      co_await respond(stream);
    } catch (const std::exception&) {  // the client left or refused the certificate: what the tests provoke
    }
  }
  template <class Stream>
  asio::awaitable<void> respond(Stream& stream) {
    std::string request;
    co_await asio::async_read_until(stream, asio::dynamic_buffer(request, 64 * 1024), "\r\n\r\n", asio::use_awaitable);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    if (reply_ == Reply::Ok) co_await asio::async_write(stream, asio::buffer(ok), asio::use_awaitable);
    if (reply_ == Reply::HugeHeader) {
      const std::string huge = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
      co_await asio::async_write(stream, asio::buffer(huge), asio::use_awaitable);
    }
    if (reply_ == Reply::EndlessBody) {
      co_await asio::async_write(stream, asio::buffer(std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")),
                                 asio::use_awaitable);
      const std::string chunk = "4000\r\n" + std::string(0x4000, 'x') + "\r\n";
      for (;;) co_await asio::async_write(stream, asio::buffer(chunk), asio::use_awaitable);  // until the client leaves
    }
    asio::steady_timer timer(io_);
    if (reply_ == Reply::SlowDrip) {
      co_await asio::async_write(stream, asio::buffer(std::string("HTTP/1.1 200 OK\r\nX-Drip: ")), asio::use_awaitable);
      for (;;) {  // a byte every 50 ms, never the header's end
        timer.expires_after(50ms);
        co_await timer.async_wait(asio::use_awaitable);
        co_await asio::async_write(stream, asio::buffer("a", 1), asio::use_awaitable);
      }
    }
    if (reply_ == Reply::Silent) {
      timer.expires_after(1h);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  Reply reply_;
  std::optional<asio::ssl::context> tls_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

config::ProbeSettings http_probe(const std::string& url) {
  config::ProbeSettings p;
  p.kind = "http";
  p.url = url;
  p.timeout = 5s;
  return p;
}

// Takes one snapshot of these probes; their states and details by name.
std::map<std::string, nlohmann::json> sample(std::map<std::string, config::ProbeSettings> probes) {
  config::HealthSettings h;
  h.system.enabled = false;
  h.capabilities = std::move(probes);
  return testing::snapshot_of(std::move(h)).capabilities;
}

// An https probe of `url` that trusts the test CA.
config::ProbeSettings trusting_test_ca(const std::string& url) {
  auto p = http_probe(url);
  p.ca_file = pki().ca();
  return p;
}

std::string error_of(const nlohmann::json& capability) { return capability.at("details").value("error", ""); }

bool ipv6_loopback() {
  asio::io_context io;
  boost::system::error_code ec;
  tcp::acceptor a(io);
  a.open(tcp::v6(), ec);
  if (!ec) a.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), ec);
  return !ec;
}

}  // namespace

TEST_CASE("https probe: HEALTHY with the test CA as ca_file, on_error without it or for another name", "[health]") {
  TestServer server("127.0.0.1", Reply::Ok, "server"), other("127.0.0.1", Reply::Ok, "other");
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/health";
  const auto trusted = trusting_test_ca(url);
  const auto by_name = trusting_test_ca("https://localhost:" + std::to_string(server.port()) + "/health");
  auto unknown_ca = http_probe(url);  // the system's CAs do not know the test CA
  auto lenient = unknown_ca;
  lenient.on_error = "DEGRADED";
  const auto wrong_name = trusting_test_ca("https://localhost:" + std::to_string(other.port()) + "/health");
  const auto s = sample({{"trusted", trusted}, {"by_name", by_name}, {"unknown_ca", unknown_ca}, {"lenient", lenient},
                         {"wrong_name", wrong_name}});
  CHECK(s.at("trusted").at("state") == "HEALTHY");
  CHECK(s.at("trusted").at("details").at("status") == 200);
  CHECK(s.at("by_name").at("state") == "HEALTHY");
  CHECK(s.at("unknown_ca").at("state") == "BLOCKED");
  CHECK_THAT(error_of(s.at("unknown_ca")), Catch::StartsWith("TLS handshake with " + url + " failed: certificate rejected: "));
  CHECK_THAT(error_of(s.at("unknown_ca")), Catch::Contains("issuer certificate"));
  CHECK(s.at("lenient").at("state") == "DEGRADED");
  CHECK(s.at("wrong_name").at("state") == "BLOCKED");
  CHECK_THAT(error_of(s.at("wrong_name")), Catch::EndsWith("certificate rejected: hostname mismatch"));
}

TEST_CASE("https probe: tls_verify false accepts the unknown CA and the wrong name", "[health]") {
  TestServer other("127.0.0.1", Reply::Ok, "other");
  auto blind = http_probe("https://localhost:" + std::to_string(other.port()) + "/");
  blind.tls_verify = false;
  const auto s = sample({{"blind", blind}});
  CHECK(s.at("blind").at("state") == "HEALTHY");
}

TEST_CASE("http probe: the Host header carries a port that is not the scheme's default", "[health]") {
  TestServer plain("127.0.0.1", Reply::Ok), tls("127.0.0.1", Reply::Ok, "server");
  const auto s = sample({{"plain", http_probe("http://127.0.0.1:" + std::to_string(plain.port()) + "/health")},
                         {"https", trusting_test_ca("https://localhost:" + std::to_string(tls.port()) + "/x?y=1")}});
  CHECK(s.at("plain").at("state") == "HEALTHY");
  CHECK(s.at("https").at("state") == "HEALTHY");
  REQUIRE(plain.requests().size() == 1);
  CHECK_THAT(plain.requests()[0], Catch::StartsWith("GET /health HTTP/1.1\r\n"));
  CHECK_THAT(plain.requests()[0], Catch::Contains("\r\nHost: 127.0.0.1:" + std::to_string(plain.port()) + "\r\n"));
  REQUIRE(tls.requests().size() == 1);
  CHECK_THAT(tls.requests()[0], Catch::StartsWith("GET /x?y=1 HTTP/1.1\r\n"));
  CHECK_THAT(tls.requests()[0], Catch::Contains("\r\nHost: localhost:" + std::to_string(tls.port()) + "\r\n"));
}

TEST_CASE("http probe: an IPv6 literal URL reaches a [::1] listener, plain and TLS", "[health]") {
  if (!ipv6_loopback()) {
    WARN("SKIPPED: this machine has no IPv6 loopback (::1 cannot be bound)");
    return;
  }
  TestServer plain("::1", Reply::Ok), tls("::1", Reply::Ok, "server");
  const auto s = sample({{"plain", http_probe("http://[::1]:" + std::to_string(plain.port()) + "/health")},
                         {"https", trusting_test_ca("https://[::1]:" + std::to_string(tls.port()) + "/health")}});
  CHECK(s.at("plain").at("state") == "HEALTHY");
  CHECK(s.at("https").at("state") == "HEALTHY");
  REQUIRE(plain.requests().size() == 1);
  CHECK_THAT(plain.requests()[0], Catch::Contains("\r\nHost: [::1]:" + std::to_string(plain.port()) + "\r\n"));
}

TEST_CASE("http probe: a huge header, an endless body, a slow drip and a silent TLS peer end in bounded time", "[health]") {
  TestServer huge("127.0.0.1", Reply::HugeHeader), endless("127.0.0.1", Reply::EndlessBody, "server"),
      drip("127.0.0.1", Reply::SlowDrip), silent("127.0.0.1", Reply::Silent);
  const auto at = [](const std::string& scheme, const TestServer& s) {
    return scheme + "://127.0.0.1:" + std::to_string(s.port()) + "/";
  };
  const auto endless_probe = trusting_test_ca(at("https", endless));
  auto drip_probe = http_probe(at("http", drip));
  drip_probe.timeout = 500ms;
  auto silent_probe = http_probe(at("https", silent));
  silent_probe.timeout = 500ms;
  const auto started = std::chrono::steady_clock::now();
  const auto s = sample({{"huge", http_probe(at("http", huge))}, {"endless", endless_probe}, {"drip", drip_probe},
                         {"silent", silent_probe}});
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  CHECK(s.at("huge").at("state") == "BLOCKED");
  CHECK_THAT(error_of(s.at("huge")), Catch::StartsWith("response header over 16384 bytes from http://127.0.0.1:"));
  CHECK(s.at("endless").at("state") == "HEALTHY");  // rated on its status line; the body is never read
  CHECK(s.at("drip").at("state") == "BLOCKED");
  CHECK(error_of(s.at("drip")) == "probe timed out after 500ms");
  CHECK(s.at("silent").at("state") == "BLOCKED");
  CHECK(error_of(s.at("silent")) == "probe timed out after 500ms");
}

TEST_CASE("https probe: an unusable ca_file fails each sample naming it", "[health]") {
  const auto bad = std::filesystem::temp_directory_path() / ("govjobd-bad-ca-" + std::to_string(::getpid()));
  std::ofstream(bad) << "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  auto probe = http_probe("https://127.0.0.1:1/");
  probe.ca_file = bad.string();
  const auto s = sample({{"bad", probe}});
  std::filesystem::remove(bad);
  CHECK(s.at("bad").at("state") == "BLOCKED");
  CHECK_THAT(error_of(s.at("bad")), Catch::StartsWith("cannot load ca_file " + bad.string() + ": "));
}
