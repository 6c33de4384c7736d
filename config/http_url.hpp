#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace govjobd::config {

// An http probe's URL: `http://` or `https://`, a host name, an IPv4 address or an IPv6 address in
// brackets, an optional port, and a path with its query. The loader checks it once; the probe connects with
// it. No user info (credentials do not belong in a URL that is logged and stored in snapshots).
struct HttpUrl {
  bool tls = false;         // https
  std::string host;         // without brackets: a name to resolve, or an IP address
  unsigned short port = 0;  // the scheme's default when none is written
  std::string target = "/"; // path and query, never a fragment
  std::string host_header;  // what the Host header carries: brackets around IPv6, the port when not the default
};

// The URL, or nullopt with `error` saying what is wrong (without repeating the URL).
std::optional<HttpUrl> parse_http_url(std::string_view text, std::string& error);

}  // namespace govjobd::config
