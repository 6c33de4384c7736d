// The loader's connection strings as libpq itself reads them (PQconninfoParse: no connection is made).
// Apart from the other config tests because it links libpq: the unit tests link no database library.

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include "config/settings_loader.hpp"
#include "tests/config/config_helpers.hpp"

using namespace govjobd::config;
using govjobd::testing::errors_of;
using govjobd::testing::password_file;

namespace {

// The value libpq itself reads for `keyword` from a connection string (PQconninfoParse: no connection).
std::string libpq_value(const std::string& conninfo, const std::string& keyword) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (!options) {
    const std::string message = error ? error : "?";
    PQfreemem(error);
    FAIL("libpq refused " << conninfo << ": " << message);
  }
  std::string value;
  for (auto* o = options; o->keyword; ++o)
    if (o->keyword == keyword && o->val) value = o->val;
  PQconninfoFree(options);
  return value;
}

}  // namespace

TEST_CASE("database.password_file gives libpq the password, whatever characters it holds", "[config]") {
  ::unsetenv(kDatabaseUrlEnv);
  const std::string password = "p a's\\s%2F&x=y@#?\"";
  const std::string file = password_file(password);
  for (const std::string url : {"postgresql://govjobd@db/governance", "postgresql://govjobd:old@db/governance?sslmode=prefer",
                                "host=db user=govjobd", "host=db password=old", ""}) {
    INFO(url);
    const Settings s = parse_settings("database:\n  url: '" + url + "'\n  password_file: " + file + "\n", "f.yaml");
    CHECK(libpq_value(s.database.url, "password") == password);  // the file wins over the URL's password
    CHECK(libpq_value(s.database.url, "host") == (url.empty() ? "" : "db"));
  }
  ::setenv(kDatabaseUrlEnv, "postgresql://elsewhere/y", 1);
  CHECK(libpq_value(parse_settings("database:\n  password_file: " + file + "\n", "f.yaml").database.url, "password") == password);
  ::unsetenv(kDatabaseUrlEnv);
  std::filesystem::remove(file);
}

TEST_CASE("a relative database.password_file names a systemd credential", "[config]") {
  const std::string file = password_file("from-credential");
  const auto path = std::filesystem::path(file);
  ::setenv("CREDENTIALS_DIRECTORY", path.parent_path().c_str(), 1);
  CHECK(libpq_value(parse_settings("database:\n  url: 'host=db'\n  password_file: " + path.filename().string() + "\n", "f.yaml")
                        .database.url, "password") == "from-credential");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  CHECK(errors_of("database:\n  password_file: db-password\n") ==
        std::vector<std::string>{"govjobd.yaml:2:18: database.password_file: a relative path names a systemd credential, but "
                                 "$CREDENTIALS_DIRECTORY is not set (LoadCredential=)"});
  std::filesystem::remove(file);
}
