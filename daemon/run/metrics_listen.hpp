#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace govjobd::run {

// metrics.listen, from the text the loader accepted to a listening socket: a host name is resolved (its
// first address), `[::1]:9464` is IPv6, `:9464` every address (IPv6 and IPv4 on one socket; IPv4 alone on
// a host without IPv6). Errors name the key: "metrics.listen: cannot bind 127.0.0.1:9464: Address already
// in use".

// Throws std::runtime_error naming metrics.listen when the host does not resolve.
boost::asio::ip::tcp::endpoint resolve_metrics_listen(const std::string& listen);

// Opens, binds and listens; throws std::runtime_error naming metrics.listen.
void bind_metrics_listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& listen);

// What check-config says of metrics.listen: "" when `run` can bind it, or when a govjobd already serves
// metrics there (on `systemctl reload`, the running daemon holds its own port); else the problem.
std::string metrics_listen_problem(const std::string& listen);

}  // namespace govjobd::run
