#include "daemon/run/metrics_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/run/metrics_listen.hpp"

namespace govjobd::run {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Whoever can reach the port must not be able to exhaust the daemon: at most kMaxConnections at once (more
// are closed at once), each given kConnectionTimeout to send its request and again to take the answer (a
// client that sends nothing, or a byte at a time, is dropped), a request of at most kMaxRequestBytes, and
// after a failed accept (EMFILE: no descriptor left) a pause before the next, not a busy loop.
constexpr std::size_t kMaxConnections = MetricsServer::kMaxConnections;
constexpr auto kConnectionTimeout = std::chrono::seconds(5);
constexpr std::size_t kMaxRequestBytes = 8192;
constexpr auto kMinAcceptBackoff = std::chrono::milliseconds(50);
constexpr auto kMaxAcceptBackoff = std::chrono::seconds(1);

struct Session : std::enable_shared_from_this<Session> {
  Session(tcp::socket socket, std::function<std::string()> render, std::shared_ptr<std::size_t> open)
      : stream(std::move(socket)), buffer(kMaxRequestBytes), render(std::move(render)), open(std::move(open)) {
    ++*this->open;
    parser.header_limit(kMaxRequestBytes);
  }
  ~Session() { --*open; }
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  http::response<http::string_body> response;
  std::function<std::string()> render;
  std::shared_ptr<std::size_t> open;  // sessions alive, shared with the acceptor

  void start() {
    stream.expires_after(kConnectionTimeout);
    http::async_read(stream, buffer, parser, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;  // timed out, too large, malformed, closed: the socket closes with the session
      self->answer();
    });
  }

  void answer() {
    const auto& request = parser.get();
    const bool found = request.method() == http::verb::get && (request.target() == "/metrics" || request.target() == "/");
    response = {found ? http::status::ok : http::status::not_found, request.version()};
    response.set(http::field::content_type, found ? "text/plain; version=0.0.4" : "text/plain");
    response.body() = found ? render() : "not found; try /metrics\n";
    response.keep_alive(false);
    response.prepare_payload();
    stream.expires_after(kConnectionTimeout);
    http::async_write(stream, response, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }
};

}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
  Impl(asio::io_context& io, std::function<std::string()> render) : acceptor(io), retry(io), render(std::move(render)) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  std::function<std::string()> render;
  std::shared_ptr<std::size_t> open = std::make_shared<std::size_t>(0);
  std::chrono::milliseconds backoff = kMinAcceptBackoff;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (ec) return self->accept_later();
      self->backoff = kMinAcceptBackoff;
      if (*self->open < kMaxConnections)
        std::make_shared<Session>(std::move(socket), self->render, self->open)->start();
      // else: the socket closes here, at once
      self->accept();
    });
  }

  // The error (EMFILE, ENFILE, ENOBUFS) lasts until descriptors or memory are freed: wait, doubling.
  void accept_later() {
    retry.expires_after(backoff);
    backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxAcceptBackoff));
    retry.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->acceptor.is_open()) self->accept();
    });
  }
};

MetricsServer::MetricsServer(asio::io_context& io, const std::string& listen, std::function<std::string()> render)
    : impl_(std::make_shared<Impl>(io, std::move(render))) {
  bind_metrics_listen(impl_->acceptor, listen);
  impl_->accept();
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->retry.cancel();
}

unsigned short MetricsServer::port() const { return impl_->acceptor.local_endpoint().port(); }

const std::function<std::string()>& MetricsServer::renderer() const { return impl_->render; }

}  // namespace govjobd::run
