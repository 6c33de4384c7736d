#include <catch2/catch.hpp>

#include "config/database_url.hpp"

TEST_CASE("a connection error loses every password of the connection string, quoted or encoded", "[logging]") {
  using govjobd::config::redact_connection_error;
  CHECK(redact_connection_error("invalid percent-encoded token: \"pw%zz\"", "postgresql://app:pw%zz@db/x") ==
        "invalid percent-encoded token: \"***\"");
  CHECK(redact_connection_error("bad value it\\'s-secret here", "host=db password='it\\'s-secret' user=x") ==
        "bad value *** here");
  CHECK(redact_connection_error("x tok3n y", "postgresql://db/x?sslmode=prefer&password=tok3n") == "x *** y");
  CHECK(redact_connection_error("echo: host=db password='a b'", "host=db password='a b'") == "echo: host=db password=***");
  CHECK(govjobd::config::redact_database_url("host=db password='it\\'s secret' user=x") == "host=db password=*** user=x");
}
