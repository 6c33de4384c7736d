#include "tests/support/http_client.hpp"

#include <fstream>
#include <mutex>
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
  // daemon binds it (the daemon then exits 78). One after another from a random start: never the same port
  // twice in a process (a port handed out is free until its daemon binds it: a second pick of it would pass
  // the bind below, as a CI run saw with random picks), and test processes side by side start apart.
  int low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
  asio::io_context io;
  static std::mutex mutex;
  static int next = -1;
  const std::lock_guard<std::mutex> lock(mutex);
  if (low > 12000) {
    const int span = low - 10000;
    if (next < 0) {
      std::mt19937 start(std::random_device{}());
      next = std::uniform_int_distribution<int>(0, span - 1)(start);
    }
    for (int attempt = 0; attempt < 200; ++attempt) {
      const int p = 10000 + next++ % span;
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
