#include "config/http_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace govjobd::config {

namespace {

bool host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// A request target goes on the request line as written: no spaces, controls or raw non-ASCII bytes.
bool target_char(char c) { return c > ' ' && c < 0x7f; }

std::optional<unsigned short> parse_port(std::string_view text) {
  unsigned long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535)
    return std::nullopt;
  return static_cast<unsigned short>(value);
}

// Splits `authority` into host and port text; brackets are removed from (and required around) IPv6.
// `port` is set when a ':' follows the host (even with nothing after it, which is then refused).
bool split_authority(std::string_view authority, HttpUrl& url, std::optional<std::string_view>& port,
                     std::string& error) {
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    const std::string host(authority.substr(1, close == std::string_view::npos ? 0 : close - 1));
    in6_addr ignored{};
    if (close == std::string_view::npos || ::inet_pton(AF_INET6, host.c_str(), &ignored) != 1) {
      error = "expected an IPv6 address in brackets, such as https://[::1]:8443/health";
      return false;
    }
    url.host = host;
    authority.remove_prefix(close + 1);
    if (!authority.empty() && !authority.starts_with(':')) {
      error = "expected ':port' or '/' after the IPv6 address's ']'";
      return false;
    }
    if (!authority.empty()) port = authority.substr(1);
    return true;
  }
  const auto colon = authority.rfind(':');
  url.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  if (url.host.find(':') != std::string::npos) {
    error = "write an IPv6 address in brackets, such as http://[::1]:8080/health";
    return false;
  }
  if (url.host.empty() || !std::all_of(url.host.begin(), url.host.end(), host_name_char)) {
    error = "expected a host name or an IP address after the scheme, such as https://example.org/health";
    return false;
  }
  return true;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(std::string_view text, std::string& error) {
  HttpUrl url;
  if (text.starts_with("https://")) {
    url.tls = true;
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    text.remove_prefix(7);
  } else {
    error = "expected an http:// or https:// URL";
    return std::nullopt;
  }
  const auto end = std::min(text.find_first_of("/?#"), text.size());
  const std::string_view authority = text.substr(0, end);
  if (authority.find('@') != std::string_view::npos) {
    error = "user info ('user@') is not supported: credentials do not belong in a probe's URL";
    return std::nullopt;
  }
  std::optional<std::string_view> port_text;
  if (!split_authority(authority, url, port_text, error)) return std::nullopt;
  const unsigned short default_port = url.tls ? 443 : 80;
  const auto port = port_text ? parse_port(*port_text) : std::optional(default_port);
  if (!port) {
    error = "expected a port from 1 to 65535 after ':'";
    return std::nullopt;
  }
  url.port = *port;
  std::string_view target = text.substr(end);
  target = target.substr(0, target.find('#'));  // a fragment is the client's, never sent
  if (!std::all_of(target.begin(), target.end(), target_char)) {
    error = "the path holds a space, a control character or a non-ASCII byte: percent-encode it";
    return std::nullopt;
  }
  url.target = target.empty() ? "/" : target.starts_with('?') ? "/" + std::string(target) : std::string(target);
  const bool ipv6 = url.host.find(':') != std::string::npos;
  url.host_header = ipv6 ? "[" + url.host + "]" : url.host;
  if (url.port != default_port) url.host_header += ":" + std::to_string(url.port);
  return url;
}

}  // namespace govjobd::config
