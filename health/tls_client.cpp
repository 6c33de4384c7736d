#include "health/tls_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace govjobd::health {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_client_context(const config::ProbeSettings& settings, std::string& error) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  if (!settings.tls_verify) {
    context->set_verify_mode(ssl::verify_none);
    return context;
  }
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (settings.ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) error = fmt::format("cannot load the system's CA certificates: {}", ec.message());
  } else {
    context->load_verify_file(settings.ca_file, ec);
    if (ec) error = fmt::format("cannot load ca_file {}: {}", settings.ca_file, ec.message());
  }
  return ec ? nullptr : context;
}

bool prepare_tls_connection(SSL* ssl, const std::string& host, bool verify) {
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(host, not_ip);
  if (not_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
  if (!verify) return true;
  if (!not_ip) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

std::string describe_handshake_error(SSL* ssl, const boost::system::error_code& ec) {
  const long verified = SSL_get_verify_result(ssl);
  if (ec.category() == boost::asio::error::get_ssl_category() && verified != X509_V_OK)
    return fmt::format("certificate rejected: {}", X509_verify_cert_error_string(verified));
  return ec.message();
}

}  // namespace govjobd::health
