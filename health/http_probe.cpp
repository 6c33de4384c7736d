// The http probe: GET a URL over HTTP/1.1, plain or TLS (Boost.Beast over asio::ssl), and map the status
// code to a state. One code path for both schemes: the exchange is a template over its stream.
//
// A hostile or broken endpoint is bounded on every side: the probe's timeout stops a slow drip, a stalled
// handshake or a name that resolves slowly (the loop never waits: Asio resolves on its own thread); only the
// status line and headers are read, at most kMaxHeaderBytes, so an endless body or a huge header costs no
// memory; a certificate that fails verification ends the handshake, its reason in the details.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

#include "config/http_url.hpp"
#include "health/probe_base.hpp"
#include "health/tls_client.hpp"

namespace govjobd::health {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kMaxReadBuffer = 64 * 1024;

// What every sample of one probe shares: the URL as checked at load, and how statuses rate.
struct HttpTarget {
  config::ProbeSettings settings;
  config::HttpUrl url;
  std::shared_ptr<asio::ssl::context> tls;  // https only

  HealthState rate(unsigned status) const {
    auto in = [status](const std::vector<int>& codes) {
      return std::find(codes.begin(), codes.end(), static_cast<int>(status)) != codes.end();
    };
    return in(settings.healthy_status)    ? HealthState::Healthy
           : in(settings.degraded_status) ? HealthState::Degraded
                                          : HealthState::Blocked;
  }
};

class HttpProbe : public ProbeBase {
 public:
  HttpProbe(asio::io_context& io, const config::ProbeSettings& s, config::Duration timeout) : ProbeBase(io, s, timeout) {
    auto target = std::make_shared<HttpTarget>();
    target->settings = s;
    const auto url = config::parse_http_url(s.url, setup_error_);
    if (!url) return;
    target->url = *url;
    if (url->tls && !(target->tls = make_tls_client_context(s, setup_error_))) return;
    target_ = std::move(target);
  }

 private:
  template <class Stream>
  class Exchange;

  void start(std::shared_ptr<Attempt> attempt) override;

  std::shared_ptr<const HttpTarget> target_;  // null when the URL or its CAs are unusable: setup_error_ says why
  std::string setup_error_;
};

// One sample: resolve (or take the IP address as is), connect, handshake (https), send, read the header.
template <class Stream>
class HttpProbe::Exchange : public std::enable_shared_from_this<Exchange<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Exchange(asio::io_context& io, std::shared_ptr<const HttpTarget> target, std::shared_ptr<Attempt> attempt)
      : resolver_(io), stream_(make_stream(io, *target)), target_(std::move(target)), attempt_(std::move(attempt)) {}

  void run() {
    // weak: the attempt must not keep its exchange alive (nor the exchange its attempt) once both are done
    attempt_->on_timeout = [weak = this->weak_from_this()] {
      if (auto self = weak.lock()) self->stop();
    };
    parser_.header_limit(kMaxHeaderBytes);
    request_ = {http::verb::get, target_->url.target, 11};
    request_.set(http::field::host, target_->url.host_header);
    request_.set(http::field::user_agent, "govjobd-health");
    request_.set(http::field::connection, "close");
    resolve();
  }

 private:
  static Stream make_stream(asio::io_context& io, const HttpTarget& target) {
    if constexpr (kTls) return Stream(io, *target.tls);
    else return Stream(io);
  }

  void stop() {
    resolver_.cancel();
    beast::get_lowest_layer(stream_).close();
  }

  void fail(const char* what, const boost::system::error_code& ec) {
    attempt_->fail(fmt::format("{} {}: {}", what, target_->settings.url, ec.message()));
    stop();
  }

  void resolve() {
    const config::HttpUrl& url = target_->url;
    boost::system::error_code not_ip;
    const auto address = asio::ip::make_address(url.host, not_ip);
    if (!not_ip) return connect(tcp::resolver::results_type::create(tcp::endpoint(address, url.port), url.host, ""));
    resolver_.async_resolve(url.host, std::to_string(url.port),
                            [self = this->shared_from_this()](auto ec, tcp::resolver::results_type results) {
                              if (ec) return self->fail("cannot resolve", ec);
                              self->connect(std::move(results));
                            });
  }

  void connect(tcp::resolver::results_type endpoints) {
    endpoints_ = std::move(endpoints);
    beast::get_lowest_layer(stream_).async_connect(endpoints_, [self = this->shared_from_this()](auto ec, auto) {
      if (ec) return self->fail("cannot connect to", ec);
      if constexpr (kTls) self->handshake();
      else self->send();
    });
  }

  void handshake() {
    if (!prepare_tls_connection(stream_.native_handle(), target_->url.host, target_->settings.tls_verify))
      return fail("cannot set up TLS for", asio::error::invalid_argument);
    stream_.async_handshake(asio::ssl::stream_base::client, [self = this->shared_from_this()](auto ec) {
      if (!ec) return self->send();
      self->attempt_->fail(fmt::format("TLS handshake with {} failed: {}", self->target_->settings.url,
                                       describe_handshake_error(self->stream_.native_handle(), ec)));
      self->stop();
    });
  }

  void send() {
    http::async_write(stream_, request_, [self = this->shared_from_this()](auto ec, std::size_t) {
      if (ec) return self->fail("cannot send to", ec);
      self->read();
    });
  }

  void read() {
    http::async_read_header(stream_, buffer_, parser_, [self = this->shared_from_this()](auto ec, std::size_t) {
      if (ec == http::error::header_limit)
        return self->fail(fmt::format("response header over {} bytes from", kMaxHeaderBytes).c_str(), ec);
      if (ec) return self->fail("no response from", ec);
      const unsigned status = self->parser_.get().result_int();
      self->attempt_->finish(self->target_->rate(status), {{"url", self->target_->settings.url}, {"status", status}});
      self->stop();  // the body is never read
    });
  }

  tcp::resolver resolver_;
  tcp::resolver::results_type endpoints_;
  Stream stream_;
  std::shared_ptr<const HttpTarget> target_;
  std::shared_ptr<Attempt> attempt_;
  beast::flat_buffer buffer_{kMaxReadBuffer};
  http::request<http::empty_body> request_;
  http::response_parser<http::empty_body> parser_;
};

void HttpProbe::start(std::shared_ptr<Attempt> attempt) {
  if (!target_) return attempt->fail(setup_error_);
  if (target_->url.tls)
    std::make_shared<Exchange<beast::ssl_stream<beast::tcp_stream>>>(io_, target_, std::move(attempt))->run();
  else
    std::make_shared<Exchange<beast::tcp_stream>>(io_, target_, std::move(attempt))->run();
}

}  // namespace

std::unique_ptr<Probe> make_http_probe(asio::io_context& io, const config::ProbeSettings& s, config::Duration timeout) {
  return std::make_unique<HttpProbe>(io, s, timeout);
}

}  // namespace govjobd::health
