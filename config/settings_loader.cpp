#include "config/settings_loader.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "config/contract_settings_reader.hpp"
#include "config/executor_settings_reader.hpp"
#include "config/health_settings_reader.hpp"
#include "config/listen_address.hpp"
#include "config/yaml_reader.hpp"

namespace govjobd::config {

bool valid_schema_name(std::string_view schema) {
  if (schema.empty() || schema.size() > 63 || (schema[0] >= '0' && schema[0] <= '9')) return false;
  return std::all_of(schema.begin(), schema.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

namespace {

using std::chrono::milliseconds;
constexpr int kMaxConcurrency = 10'000;

// database.password_file is not kept in the settings: its password is added to database.url (a libpq
// `password` parameter), so that what connects and what is logged (redacted) is that one string, and the
// password never needs to be in an environment. A relative path names a systemd credential.
void read_database(MapReader& m, DatabaseSettings& s, std::string& password_file) {
  m.text("url", s.url);
  m.text("jobs_schema", s.jobs_schema, false);
  m.text("password_file", password_file, false);
  m.finish();
  if (!valid_schema_name(s.jobs_schema))
    m.sink().add(m.node().Mark(), m.path() + ".jobs_schema",
                 "'" + s.jobs_schema + "' is not a schema name govjobd accepts (lower-case letters, digits and '_', "
                 "not starting with a digit, at most 63 characters)");
}

// The password in `path`: its first line. A relative path names a systemd credential (LoadCredential=,
// $CREDENTIALS_DIRECTORY). Refused when every user may read it: then it is no secret.
std::string read_password_file(const std::string& path, std::string& problem) {
  std::filesystem::path file(path);
  if (file.is_relative()) {
    const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
    if (!credentials || !*credentials) {
      problem = "a relative path names a systemd credential, but $CREDENTIALS_DIRECTORY is not set (LoadCredential=)";
      return {};
    }
    file = std::filesystem::path(credentials) / file;
  }
  struct stat st {};
  std::ifstream in(file, std::ios::binary);
  if (!in || ::stat(file.c_str(), &st) != 0) {
    problem = "cannot read " + file.string() + ": " + std::strerror(errno);
    return {};
  }
  if (st.st_mode & S_IROTH) {
    problem = file.string() + " is readable by every user: chmod o-rwx (0640 root:govjobd, or a LoadCredential=)";
    return {};
  }
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) problem = file.string() + " holds no password on its first line";
  return password;
}

// `url` with `password` as one more libpq parameter: percent-encoded in a URI, quoted in key=value form
// (an empty url is key=value form: the PG* environment still supplies the rest). libpq lets the later
// setting win, so the file overrides a password written in the URL.
std::string with_password(const std::string& url, const std::string& password) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    std::string encoded;
    for (const unsigned char c : password)
      encoded += std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ? std::string(1, static_cast<char>(c))
                                                                                  : fmt::format("%{:02X}", c);
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "password=" + encoded;
  }
  std::string quoted;
  for (const char c : password) quoted += c == '\'' || c == '\\' ? std::string{'\\', c} : std::string(1, c);
  return url + (url.empty() ? "" : " ") + "password='" + quoted + "'";
}

void apply_password_file(const std::string& password_file, const YAML::Node& document, IssueSink& sink, DatabaseSettings& s) {
  if (password_file.empty()) return;
  std::string problem;
  const std::string password = read_password_file(password_file, problem);
  if (!problem.empty()) return sink.add(document["database"]["password_file"].Mark(), "database.password_file", problem);
  s.url = with_password(s.url, password);
}

void read_worker(MapReader& m, WorkerSettings& s) {
  m.text("id", s.id, false);
  m.integer("concurrency", s.concurrency, 1, kMaxConcurrency);
  m.duration("poll_interval", s.poll_interval, milliseconds(10));
  m.duration("heartbeat_interval", s.heartbeat_interval, milliseconds(100));
  m.duration("lease_timeout", s.lease_timeout, milliseconds(1000));
  m.duration("shutdown_grace", s.shutdown_grace, milliseconds(0));
  m.integer("max_job_bytes", s.max_job_bytes, 1024, 1 << 30);
  m.string_list("targets", s.targets);
  m.string_list("pools", s.pools);
  m.boolean("exclusive_targets", s.exclusive_targets);
  m.boolean("stop_steps_without_lease", s.stop_steps_without_lease);
  m.duration("unroutable_after", s.unroutable_after, milliseconds(100));
  m.finish();
  if (s.targets.empty())
    m.sink().add(m.node()["targets"].Mark(), m.path() + ".targets", "must list at least one glob (\"*\": every target)");
  for (const auto& glob : s.targets)
    if (glob.empty() || glob.size() > 1024)
      m.sink().add(m.node()["targets"].Mark(), m.path() + ".targets", "each glob must be 1 to 1024 bytes");
  for (const auto& pool : s.pools)
    if (pool.empty() || pool.size() > 100)
      m.sink().add(m.node()["pools"].Mark(), m.path() + ".pools", "each pool must be 1 to 100 bytes");
  if (s.lease_timeout <= s.heartbeat_interval)
    m.sink().add(m.node().Mark(), m.path() + ".lease_timeout",
                 "must be longer than worker.heartbeat_interval, or live workers lose their jobs");
}

void read_logging(MapReader& m, LoggingSettings& s) {
  m.choice("level", s.level, {"trace", "debug", "info", "warn", "error"});
  m.choice("format", s.format, {"text", "json", "journal"});
  m.finish();
}

void read_metrics(MapReader& m, MetricsSettings& s) {
  m.text("listen", s.listen, false);
  m.finish();
  std::string error;
  if (!s.listen.empty() && !parse_listen_address(s.listen, error)) m.sink().add(m.node()["listen"].Mark(), m.path() + ".listen", error);
}

void read_retention(MapReader& m, RetentionSettings& s) {
  m.optional_duration("keep_terminal", s.keep_terminal, std::chrono::hours(1));
  m.duration("interval", s.interval, std::chrono::seconds(1));
  m.integer("batch_size", s.batch_size, 1, 100000);
  m.finish();
}

void read_root(MapReader& root, Settings& s, std::string& password_file) {
  if (auto m = root.map("database")) read_database(*m, s.database, password_file);
  if (auto m = root.map("worker")) read_worker(*m, s.worker);
  if (auto m = root.map("logging")) read_logging(*m, s.logging);
  if (auto m = root.map("executors")) read_executors(*m, s.executors);
  if (auto m = root.map("health")) read_health(*m, s.health);
  if (auto m = root.map("metrics")) read_metrics(*m, s.metrics);
  if (auto m = root.map("retention")) read_retention(*m, s.retention);
  if (auto m = root.map("contract")) read_contract(*m, s.contract);
  root.finish();
}

}  // namespace

Settings parse_settings(std::string_view yaml, const std::string& source) {
  IssueSink sink(source);
  Settings settings;
  settings.source = source;
  YAML::Node document;
  try {
    document = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    sink.add(e.mark, "", "invalid YAML: " + e.msg);
    throw ConfigError(sink.take());
  }
  std::string password_file;
  if (document.IsMap()) {
    MapReader root(document, "", sink);
    read_root(root, settings, password_file);
  } else if (document.IsDefined() && !document.IsNull()) {
    sink.add(document.Mark(), "", "expected a mapping of sections (database, worker, logging, executors, health, metrics, retention, contract)");
  }
  if (const char* url = std::getenv(kDatabaseUrlEnv); url && *url) settings.database.url = url;
  if (sink.empty()) apply_password_file(password_file, document, sink, settings.database);
  if (!sink.empty()) throw ConfigError(sink.take());
  return settings;
}

std::vector<std::string> schema_keys() {
  // Every section present, so that every reader runs and declares its keys.
  static constexpr const char* kEverySection = R"(
database: {}
worker: {}
logging: {}
executors: {NAME: {kind: config_update, files: {NAME: {path: /x}}}}
health: {system: {load_per_cpu: {}, memory_available_pct: {}, disk_free_pct: {}}, capabilities: {NAME: {kind: file, path: /}}}
metrics: {}
retention: {}
contract: {columns: {}}
)";
  std::vector<std::string> keys;
  MapReader::declared_log = &keys;
  try {
    parse_settings(kEverySection, "<schema>");
  } catch (...) {
    MapReader::declared_log = nullptr;
    throw;
  }
  MapReader::declared_log = nullptr;
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

Settings load_settings(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError({{path, 0, 0, "", "cannot read the file"}});
  std::ostringstream text;
  text << in.rdbuf();
  return parse_settings(text.str(), path);
}

}  // namespace govjobd::config
