// The http probe's URL (config/http_url.hpp) and its keys as the loader checks them: file:line: key errors.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "config/http_url.hpp"
#include "tests/config/config_helpers.hpp"

using namespace govjobd::config;
using govjobd::testing::errors_of;
using V = std::vector<std::string>;

namespace {

HttpUrl parsed(const std::string& text) {
  std::string error;
  const auto url = parse_http_url(text, error);
  INFO(text << ": " << error);
  REQUIRE(url);
  return *url;
}

std::string error_of(const std::string& text) {
  std::string error;
  CHECK_FALSE(parse_http_url(text, error));
  return error;
}

std::string http_probe_yaml(const std::string& keys) {
  return "health:\n  capabilities:\n    api:\n      kind: http\n" + keys;
}

// A file in the temporary directory holding `text`, removed at the end of the test.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& name, const std::string& text)
      : path(std::filesystem::temp_directory_path() / fmt::format("govjobd-{}-{}", name, ::getpid())) {
    std::ofstream(path, std::ios::trunc) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("http probe URLs: scheme, host, IPv6 in brackets, port, and the Host header", "[config]") {
  const auto plain = parsed("http://example.org/health");
  CHECK_FALSE(plain.tls);
  CHECK(plain.host == "example.org");
  CHECK(plain.port == 80);
  CHECK(plain.target == "/health");
  CHECK(plain.host_header == "example.org");
  const auto tls = parsed("https://example.org");
  CHECK(tls.tls);
  CHECK(tls.port == 443);
  CHECK(tls.target == "/");
  CHECK(tls.host_header == "example.org");
  const auto v6 = parsed("http://[::1]:8080/health?deep=1#part");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 8080);
  CHECK(v6.target == "/health?deep=1");
  CHECK(v6.host_header == "[::1]:8080");
  CHECK(parsed("https://[2001:db8::5]/").host_header == "[2001:db8::5]");
  CHECK(parsed("https://example:8443/x").host_header == "example:8443");
  CHECK(parsed("https://example:443/x").host_header == "example");
  CHECK(parsed("http://127.0.0.1:80").host_header == "127.0.0.1");
  CHECK(parsed("http://127.0.0.1:443").host_header == "127.0.0.1:443");
  CHECK(parsed("https://h?q=1").target == "/?q=1");
}

TEST_CASE("http probe URLs that are refused say why", "[config]") {
  CHECK(error_of("ftp://h/") == "expected an http:// or https:// URL");
  CHECK(error_of("HTTPS//h/") == "expected an http:// or https:// URL");
  for (const char* no_host : {"https://", "https:///x", "https://:443/", "https://a b/", "https://h\x01/"})
    CHECK(error_of(no_host) == "expected a host name or an IP address after the scheme, such as https://example.org/health");
  for (const char* port : {"https://h:0/", "https://h:65536/", "https://h:/", "https://h:x/", "https://[::1]:/", "https://h:-1"})
    CHECK(error_of(port) == "expected a port from 1 to 65535 after ':'");
  CHECK(error_of("https://::1/") == "write an IPv6 address in brackets, such as http://[::1]:8080/health");
  CHECK(error_of("https://[::1/") == "expected an IPv6 address in brackets, such as https://[::1]:8443/health");
  CHECK(error_of("https://[zz]/") == "expected an IPv6 address in brackets, such as https://[::1]:8443/health");
  CHECK(error_of("https://[::1]x/") == "expected ':port' or '/' after the IPv6 address's ']'");
  CHECK(error_of("https://user:secret@h/") ==
        "user info ('user@') is not supported: credentials do not belong in a probe's URL");
  CHECK(error_of("https://h/a b") == "the path holds a space, a control character or a non-ASCII byte: percent-encode it");
  CHECK(error_of("https://h/a\r\nX-Evil: 1") ==
        "the path holds a space, a control character or a non-ASCII byte: percent-encode it");
}

TEST_CASE("http probe keys: an https URL, ca_file and tls_verify are checked at load, naming the key", "[config]") {
  const TempFile ca("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const TempFile not_pem("not-pem", "hello\n");
  const auto s = govjobd::config::parse_settings(
      http_probe_yaml(fmt::format("      url: https://[::1]:8443/health\n      ca_file: {}\n", ca.path.string())), "f.yaml");
  CHECK(s.health.capabilities.at("api").ca_file == ca.path.string());
  CHECK(s.health.capabilities.at("api").tls_verify);
  CHECK(errors_of(http_probe_yaml("      url: https://h/\n      tls_verify: false\n")).empty());
  CHECK(errors_of(http_probe_yaml("      url: \"https://h:99999/\"\n")) ==
        V{"govjobd.yaml:5:12: health.capabilities.api.url: expected a port from 1 to 65535 after ':'"});
  CHECK(errors_of(http_probe_yaml("      url: https://h/\n      ca_file: /nonexistent/ca.pem\n")) ==
        V{"govjobd.yaml:6:16: health.capabilities.api.ca_file: cannot read /nonexistent/ca.pem: No such file or directory"});
  CHECK(errors_of(http_probe_yaml("      url: https://h/\n      ca_file: /tmp\n")) ==
        V{"govjobd.yaml:6:16: health.capabilities.api.ca_file: /tmp is not a regular file"});
  CHECK(errors_of(http_probe_yaml("      url: https://h/\n      ca_file: ca.pem\n")) ==
        V{"govjobd.yaml:6:16: health.capabilities.api.ca_file: expected an absolute path, got 'ca.pem'"});
  CHECK(errors_of(http_probe_yaml(fmt::format("      url: https://h/\n      ca_file: {}\n", not_pem.path.string()))) ==
        V{fmt::format("govjobd.yaml:6:16: health.capabilities.api.ca_file: {} holds no PEM certificate "
                      "('-----BEGIN CERTIFICATE-----')", not_pem.path.string())});
  CHECK(errors_of(http_probe_yaml(fmt::format("      url: http://h/\n      ca_file: {}\n", ca.path.string()))) ==
        V{"govjobd.yaml:6:16: health.capabilities.api.ca_file: applies to https:// URLs only"});
  CHECK(errors_of(http_probe_yaml("      url: http://h/\n      tls_verify: false\n")) ==
        V{"govjobd.yaml:6:19: health.capabilities.api.tls_verify: applies to https:// URLs only"});
  CHECK(errors_of(http_probe_yaml(fmt::format("      url: https://h/\n      tls_verify: false\n      ca_file: {}\n",
                                              ca.path.string()))) ==
        V{"govjobd.yaml:7:16: health.capabilities.api.ca_file: has no effect with tls_verify: false (nothing is verified)"});
  if (::geteuid() != 0) {  // root reads any file
    const TempFile locked("locked.pem", "x");
    std::filesystem::permissions(locked.path, std::filesystem::perms::none);
    CHECK(errors_of(http_probe_yaml(fmt::format("      url: https://h/\n      ca_file: {}\n", locked.path.string()))) ==
          V{fmt::format("govjobd.yaml:6:16: health.capabilities.api.ca_file: cannot read {}: Permission denied",
                        locked.path.string())});
  }
}
