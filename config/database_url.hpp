#pragma once

#include <string>

// Connection strings hold passwords: these take them out before a string is shown or logged. Text alone
// (no libpq), so that the store, the command line and the unit tests share it.
namespace govjobd::config {

// "postgresql://app:secret@db/x" -> "postgresql://app:***@db/x"; also password=... in key=value form.
std::string redact_database_url(const std::string& url);

// A connection error's text without any password of `url`: libpq may quote a value it cannot parse
// ("invalid percent-encoded token: \"s3cret%zz\""), and the message may hold the URL itself.
std::string redact_connection_error(const std::string& message, const std::string& url);

}  // namespace govjobd::config
