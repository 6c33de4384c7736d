#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace govjobd::config {

// metrics.listen as written: `host:port`, `[IPv6]:port`, or `:port` (every address). The host is a name
// or an address, unresolved (resolving is the daemon's, at start and on reload, and check-config's).
struct ListenAddress {
  std::string host;  // without brackets; empty: every address
  unsigned short port = 0;
};

// The address, or nullopt with `error` saying what is wrong.
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& error);

}  // namespace govjobd::config
