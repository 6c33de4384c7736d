#include "daemon/run/metrics_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace govjobd::run {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Session : std::enable_shared_from_this<Session> {
  Session(tcp::socket socket, std::function<std::string()> render)
      : stream(std::move(socket)), render(std::move(render)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  http::response<http::string_body> response;
  std::function<std::string()> render;

  void start() {
    stream.expires_after(std::chrono::seconds(5));
    http::async_read(stream, buffer, request, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->answer();
    });
  }

  void answer() {
    const bool found = request.method() == http::verb::get && (request.target() == "/metrics" || request.target() == "/");
    response = {found ? http::status::ok : http::status::not_found, request.version()};
    response.set(http::field::content_type, found ? "text/plain; version=0.0.4" : "text/plain");
    response.body() = found ? render() : "not found; try /metrics\n";
    response.keep_alive(false);
    response.prepare_payload();
    http::async_write(stream, response, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }
};

}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
  Impl(asio::io_context& io, std::function<std::string()> render) : acceptor(io), render(std::move(render)) {}
  tcp::acceptor acceptor;
  std::function<std::string()> render;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), self->render)->start();
      self->accept();
    });
  }
};

MetricsServer::MetricsServer(asio::io_context& io, const std::string& listen, std::function<std::string()> render)
    : impl_(std::make_shared<Impl>(io, std::move(render))) {
  const auto colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  const auto port = static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)));
  beast::error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec), port);
  if (ec) throw std::runtime_error("metrics.listen: not an IP address: " + host);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint, ec);
  if (ec) throw std::runtime_error("metrics.listen: cannot bind " + listen + ": " + ec.message());
  impl_->acceptor.listen();
  impl_->accept();
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

unsigned short MetricsServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace govjobd::run
