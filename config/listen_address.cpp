#include "config/listen_address.hpp"

#include <charconv>

namespace govjobd::config {

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& error) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    error = "expected host:port, [IPv6]:port or :port, such as 127.0.0.1:9464";
    return std::nullopt;
  }
  ListenAddress address;
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  unsigned long value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
    error = "expected a port from 1 to 65535 after the last ':', such as 127.0.0.1:9464";
    return std::nullopt;
  }
  if (host.starts_with('[') && host.ends_with(']') && host.size() > 2) {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of("[]:") != std::string_view::npos) {
    error = "write an IPv6 address in brackets, such as [::1]:9464";
    return std::nullopt;
  }
  address.host = std::string(host);
  address.port = static_cast<unsigned short>(value);
  return address;
}

}  // namespace govjobd::config
