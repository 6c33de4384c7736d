#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

// GET /metrics on host:port (Boost.Beast), answered on the event loop from `render`; bounded in connections,
// time and request size (see metrics_server.cpp) so that a client cannot exhaust the daemon.
class MetricsServer {
 public:
  // Connections served at once (one more is accepted only to be closed): part of the descriptor budget.
  static constexpr std::size_t kMaxConnections = 16;

  // Throws std::runtime_error when the address cannot be bound.
  MetricsServer(boost::asio::io_context& io, const std::string& listen, std::function<std::string()> render);
  ~MetricsServer();
  void stop();
  unsigned short port() const;
  // What answers GET /metrics, for a server on another address (a reload that moves metrics.listen).
  const std::function<std::string()>& renderer() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace govjobd::run
