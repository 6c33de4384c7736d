// The http probe: GET a URL with Boost.Beast and map the status code to a state.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "health/probe_base.hpp"

namespace govjobd::health {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Url {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

std::optional<Url> parse_http_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return std::nullopt;
  Url u;
  std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    u.target = rest.substr(slash);
    rest.erase(slash);
  }
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    u.port = rest.substr(colon + 1);
    rest.erase(colon);
  }
  u.host = rest;
  if (u.host.empty() || u.port.empty()) return std::nullopt;
  return u;
}

class HttpProbe : public ProbeBase {
 public:
  using ProbeBase::ProbeBase;

 private:
  struct Exchange {
    explicit Exchange(asio::io_context& io) : resolver(io), stream(io) {}
    tcp::resolver resolver;
    boost::beast::tcp_stream stream;
    boost::beast::flat_buffer buffer;
    http::request<http::empty_body> request;
    http::response<http::string_body> response;
  };

  void start(std::shared_ptr<Attempt> attempt) override {
    const auto url = parse_http_url(settings_.url);
    if (!url) return attempt->fail("not an http:// URL: " + settings_.url);
    auto x = std::make_shared<Exchange>(io_);
    attempt->on_timeout = [x] {
      x->resolver.cancel();
      x->stream.close();
    };
    x->request = {http::verb::get, url->target, 11};
    x->request.set(http::field::host, url->host);
    x->request.set(http::field::user_agent, "govjobd-health");
    const std::string where = settings_.url;
    x->resolver.async_resolve(url->host, url->port, [this, attempt, x, where](auto ec, auto results) {
      if (ec) return attempt->fail(fmt::format("cannot resolve {}: {}", where, ec.message()));
      x->stream.async_connect(results, [this, attempt, x, where](auto ec2, auto) {
        if (ec2) return attempt->fail(fmt::format("cannot connect to {}: {}", where, ec2.message()));
        http::async_write(x->stream, x->request, [this, attempt, x, where](auto ec3, std::size_t) {
          if (ec3) return attempt->fail(fmt::format("cannot send to {}: {}", where, ec3.message()));
          http::async_read(x->stream, x->buffer, x->response, [this, attempt, x, where](auto ec4, std::size_t) {
            if (ec4) return attempt->fail(fmt::format("no response from {}: {}", where, ec4.message()));
            rate(*attempt, x->response.result_int());
            boost::system::error_code ignored;
            x->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
          });
        });
      });
    });
  }

  void rate(Attempt& attempt, unsigned status) {
    auto in = [status](const std::vector<int>& codes) {
      return std::find(codes.begin(), codes.end(), static_cast<int>(status)) != codes.end();
    };
    const HealthState state = in(settings_.healthy_status)    ? HealthState::Healthy
                              : in(settings_.degraded_status) ? HealthState::Degraded
                                                              : HealthState::Blocked;
    attempt.finish(state, {{"url", settings_.url}, {"status", status}});
  }
};

}  // namespace

std::unique_ptr<Probe> make_http_probe(asio::io_context& io, const config::ProbeSettings& s, config::Duration timeout) {
  return std::make_unique<HttpProbe>(io, s, timeout);
}

}  // namespace govjobd::health
