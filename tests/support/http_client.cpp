#include "tests/support/http_client.hpp"

#include <fstream>
#include <random>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace govjobd::testing {

namespace asio = boost::asio;

int free_port() {
  // Below the kernel's ephemeral range: a port bound to 0 and released comes from that range, where every
  // outgoing connection (each daemon's to PostgreSQL) draws its local port, and one could take it before the
  // daemon binds it (the daemon then exits 78). Random, so that tests side by side rarely pick the same.
  int low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
  asio::io_context io;
  if (low > 12000) {
    std::mt19937 pick(std::random_device{}());
    std::uniform_int_distribution<int> port(10000, low - 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
      const int p = port(pick);
      boost::system::error_code ec;
      asio::ip::tcp::acceptor a(io);
      a.open(asio::ip::tcp::v4(), ec);
      if (!ec) a.bind({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(p)}, ec);
      if (!ec) return p;
    }
  }
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

std::string http_get(int port, const std::string& path) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  char buf[4096];
  for (std::size_t n; (n = s.read_some(asio::buffer(buf), ec)) > 0 || !ec;) response.append(buf, n);
  return response;
}

void serve_metrics_on(const std::string& config_path, int port) {
  std::ofstream(config_path, std::ios::app) << "metrics: {listen: '127.0.0.1:" << port << "'}\n";
}

std::string metrics_body(int port) {
  try {
    const std::string response = http_get(port, "/metrics");
    if (!response.starts_with("HTTP/1.1 200")) return "";
    const auto body = response.find("\r\n\r\n");
    return body == std::string::npos ? "" : response.substr(body + 4);
  } catch (const std::exception&) {
    return "";
  }
}

double metric_sum(const std::string& body, const std::string& metric) {
  std::istringstream lines(body);
  double sum = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(metric)) continue;
    const auto rest = line.substr(metric.size());
    if (rest.empty() || (rest[0] != ' ' && rest[0] != '{')) continue;  // another metric with this prefix
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace govjobd::testing
