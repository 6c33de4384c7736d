#pragma once

// Private to health/: the OpenSSL side of the https probe, kept out of probe headers.

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "config/settings.hpp"

namespace govjobd::health {

// A client context for one probe: TLS 1.2 or later; with tls_verify, peer verification against ca_file
// alone when set, else the system's CA store. Null with `error` set when the CAs cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(const config::ProbeSettings& settings,
                                                                   std::string& error);

// Prepares one connection's SSL object: SNI for a host name (never for an IP address, RFC 6066), and with
// `verify` the name or address that the certificate must carry, checked by OpenSSL itself during the
// handshake (RFC 6125 rules, no wildcard beyond one leftmost label). False when OpenSSL refuses.
bool prepare_tls_connection(SSL* ssl, const std::string& host, bool verify);

// Why a handshake failed: OpenSSL's verification result when it rejected the certificate ("self-signed
// certificate", "hostname mismatch"), else the error's own message.
std::string describe_handshake_error(SSL* ssl, const boost::system::error_code& ec);

}  // namespace govjobd::health
