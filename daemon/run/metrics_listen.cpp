#include "daemon/run/metrics_listen.hpp"

#include <chrono>
#include <stdexcept>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "config/listen_address.hpp"

namespace govjobd::run {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

std::runtime_error listen_error(const std::string& what) { return std::runtime_error("metrics.listen: " + what); }

// True when what listens at `endpoint` answers GET /metrics with govjobd's metrics (within 2 s).
bool serves_govjobd_metrics(const tcp::endpoint& endpoint) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  beast::http::request<beast::http::empty_body> request{beast::http::verb::get, "/metrics", 11};
  request.set(beast::http::field::host, "govjobd-check-config");
  beast::http::response<beast::http::string_body> response;
  bool govjobd = false;
  stream.expires_after(std::chrono::seconds(2));
  stream.async_connect(endpoint, [&](beast::error_code ec) {
    if (ec) return;
    beast::http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
      if (ec) return;
      beast::http::async_read(stream, buffer, response, [&](beast::error_code ec, std::size_t) {
        govjobd = !ec && response.result() == beast::http::status::ok && response.body().find("govjobd_") != std::string::npos;
      });
    });
  });
  io.run();
  return govjobd;
}

}  // namespace

tcp::endpoint resolve_metrics_listen(const std::string& listen) {
  std::string error;
  const auto address = config::parse_listen_address(listen, error);
  if (!address) throw listen_error(error);
  if (address->host.empty()) return tcp::endpoint(tcp::v6(), address->port);
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  const auto results = resolver.resolve(address->host, std::to_string(address->port), tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) throw listen_error("cannot resolve '" + address->host + "': " + ec.message());
  return results.begin()->endpoint();
}

void bind_metrics_listen(tcp::acceptor& acceptor, const std::string& listen) {
  tcp::endpoint endpoint = resolve_metrics_listen(listen);
  const bool every_address = endpoint.address().is_v6() && endpoint.address().is_unspecified();
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (ec && every_address) {  // no IPv6 on this host: every IPv4 address
    endpoint = tcp::endpoint(tcp::v4(), endpoint.port());
    acceptor.open(endpoint.protocol(), ec);
  }
  if (ec) throw listen_error("cannot open a socket for " + listen + ": " + ec.message());
  if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(!every_address), ec);
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close();
    throw listen_error("cannot bind " + listen + ": " + ec.message());
  }
}

std::string metrics_listen_problem(const std::string& listen) {
  if (listen.empty()) return {};
  try {
    asio::io_context io;
    tcp::acceptor acceptor(io);
    bind_metrics_listen(acceptor, listen);
    return {};
  } catch (const std::runtime_error& e) {
    try {
      if (serves_govjobd_metrics(resolve_metrics_listen(listen))) return {};
    } catch (const std::runtime_error&) {
    }
    return e.what();
  }
}

}  // namespace govjobd::run
