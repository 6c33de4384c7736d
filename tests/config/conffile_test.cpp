// The packaged /etc/govjobd/govjobd.yaml (systemd/govjobd.yaml) against the loader's schema: every key the
// loader knows is in it, commented out with its default and a line of meaning, nothing else is, the file as
// shipped loads (and enables nothing), and so does the file with every line uncommented.

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include "config/settings_loader.hpp"
#include "tests/config/config_helpers.hpp"

using namespace govjobd::config;

namespace {

std::vector<std::string> conffile_lines() {
  std::ifstream in(std::string(GOVJOBD_SOURCE_DIR) + "/systemd/govjobd.yaml");
  REQUIRE(in);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// One '#' removed from every line that starts with one: settings become YAML, '##' lines stay comments.
// The password file must exist and be private for the loader to accept it: it is swapped for such a file.
std::vector<std::string> uncommented(std::vector<std::string> lines, const std::string& password_file) {
  for (auto& line : lines) {
    if (line.starts_with("#")) line.erase(0, 1);
    if (line.starts_with("  password_file: ")) line = "  password_file: " + password_file;
  }
  return lines;
}

bool has_children(const std::set<std::string>& schema, const std::string& path) {
  const auto it = schema.lower_bound(path + ".");
  return it != schema.end() && it->starts_with(path + ".");
}

// The dotted paths of a document, a user-chosen name written NAME where the schema has NAME; the loader's
// free-form values (set_env, rollback_action) are leaves.
void collect(const YAML::Node& node, const std::string& path, const std::set<std::string>& schema,
             std::set<std::string>& out) {
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (!path.empty() && !schema.count(path + "." + key) && schema.count(path + ".NAME")) key = "NAME";
    const std::string full = path.empty() ? key : path + "." + key;
    out.insert(full);
    if (kv.second.IsMap() && has_children(schema, full)) collect(kv.second, full, schema, out);
  }
}

}  // namespace

TEST_CASE("the packaged conffile loads as shipped and enables nothing", "[config]") {
  const Settings s = parse_settings(joined(conffile_lines()), "govjobd.yaml");
  CHECK(s.executors.empty());
  CHECK(s.health.capabilities.empty());
  CHECK(s.metrics.listen.empty());
  CHECK_FALSE(s.retention.keep_terminal.has_value());
  CHECK(s.logging.format.empty());  // journal under systemd, chosen at start
  for (const auto& line : conffile_lines()) {
    INFO(line);
    CHECK((line.empty() || line.starts_with("#")));  // nothing is set
  }
}

TEST_CASE("the packaged conffile lists every key of the schema and nothing else, each with a line of meaning",
          "[config]") {
  const auto keys = schema_keys();
  const std::set<std::string> schema(keys.begin(), keys.end());
  const auto lines = uncommented(conffile_lines(), "/etc/govjobd/db-password");
  std::set<std::string> written;
  collect(YAML::Load(joined(lines)), "", schema, written);
  for (const auto& key : schema) {
    INFO("missing from systemd/govjobd.yaml: " << key);
    CHECK(written.count(key));
  }
  for (const auto& key : written) {
    INFO("not a key of the schema: " << key);
    CHECK(schema.count(key));
  }
  // a setting line is explained by a '##' line right above it, or above the setting it is grouped with
  const auto original = conffile_lines();
  for (std::size_t i = 0; i < original.size(); ++i) {
    if (!original[i].starts_with("#") || original[i].starts_with("##") || original[i].ends_with(":")) continue;
    INFO(original[i]);
    CHECK(((i >= 1 && original[i - 1].starts_with("##")) || (i >= 2 && original[i - 2].starts_with("##")) ||
           original[i].find("kind:") != std::string::npos));
  }
}

TEST_CASE("the packaged conffile with every line uncommented loads", "[config]") {
  const std::string password = govjobd::testing::password_file("s3cret");
  try {
    const Settings s = parse_settings(joined(uncommented(conffile_lines(), password)), "govjobd.yaml");
    CHECK(s.executors.size() == 2);
    CHECK(s.health.capabilities.size() == 5);
    CHECK(s.worker.concurrency == 4);
    CHECK(s.metrics.listen == "127.0.0.1:9464");
  } catch (const ConfigError& e) {
    std::ostringstream all;
    for (const auto& issue : e.issues()) all << issue.text() << "\n";
    FAIL(all.str());
  }
  std::filesystem::remove(password);
}
