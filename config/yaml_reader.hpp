#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config_error.hpp"
#include "config/settings.hpp"

namespace govjobd::config {

// Collects the issues of one file.
class IssueSink {
 public:
  explicit IssueSink(std::string file) : file_(std::move(file)) {}
  void add(const YAML::Mark& mark, std::string key, std::string message);
  const std::string& file() const { return file_; }
  bool empty() const { return issues_.empty(); }
  std::vector<ConfigIssue> take() { return std::move(issues_); }

 private:
  std::string file_;
  std::vector<ConfigIssue> issues_;
};

// Reads one YAML mapping into typed settings. Each getter declares a key; finish() reports keys that no
// getter declared (typos must not pass silently) and keys written twice (yaml-cpp keeps the first).
// A key that is absent leaves its default in place.
class MapReader {
 public:
  MapReader(YAML::Node node, std::string path, IssueSink& sink);
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;
  ~MapReader() = default;

  void integer(const char* key, int& out, int min, int max);
  void duration(const char* key, Duration& out, Duration min);
  void text(const char* key, std::string& out, bool allow_empty = true);
  void choice(const char* key, std::string& out, std::initializer_list<const char*> choices);
  void boolean(const char* key, bool& out);
  void string_list(const char* key, std::vector<std::string>& out);
  void integer_list(const char* key, std::vector<int>& out, int min, int max);
  void number(const char* key, double& out, double min, double max);
  void optional_duration(const char* key, std::optional<Duration>& out, Duration min);
  void string_map(const char* key, std::map<std::string, std::string>& out);

  // Any value, declared like the others, for the caller to read; undefined when the key is missing.
  YAML::Node any(const char* key) { return scalar(key); }
  // A nested mapping; absent when the key is missing (or not a mapping, which is reported).
  std::optional<MapReader> map(const char* key);
  // The keys of a mapping whose keys are names chosen by the user (none of them is then unknown).
  std::vector<std::string> names();

  void finish();

  // When set, every key a reader declares is appended here as a dotted path (for the documented-keys check).
  static std::vector<std::string>* declared_log;
  const std::string& path() const { return path_; }
  IssueSink& sink() { return sink_; }
  const YAML::Node& node() const { return node_; }

 private:
  std::string key_path(const char* key) const;
  YAML::Node scalar(const char* key);  // the value when it is a scalar; reports otherwise
  void bad(const char* key, const YAML::Node& value, const std::string& expected);

  YAML::Node node_;
  std::string path_;
  IssueSink& sink_;
  std::set<std::string> declared_;
  bool free_keys_ = false;
};

}  // namespace govjobd::config
