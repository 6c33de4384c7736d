#include "config/yaml_reader.hpp"

#include <charconv>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "config/duration.hpp"

namespace govjobd::config {

void IssueSink::add(const YAML::Mark& mark, std::string key, std::string message) {
  issues_.push_back({file_, mark.line + 1, mark.column + 1, std::move(key), std::move(message)});
}

std::vector<std::string>* MapReader::declared_log = nullptr;

MapReader::MapReader(YAML::Node node, std::string path, IssueSink& sink)
    : node_(std::move(node)), path_(std::move(path)), sink_(sink) {}

std::string MapReader::key_path(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

void MapReader::bad(const char* key, const YAML::Node& value, const std::string& expected) {
  std::string got = value.IsScalar() ? "'" + value.Scalar() + "'" : value.IsSequence() ? "a list" : "a mapping";
  if (value.IsNull()) got = "nothing";
  sink_.add(value.Mark(), key_path(key), fmt::format("expected {}, got {}", expected, got));
}

YAML::Node MapReader::scalar(const char* key) {
  declared_.insert(key);
  if (declared_log) declared_log->push_back(key_path(key));
  return std::as_const(node_)[key];  // const: a missing key must not be inserted
}

void MapReader::integer(const char* key, int& out, int min, int max) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined()) return;
  const std::string kind = min == 1 ? "a positive integer" : min == 0 ? "a non-negative integer" : "an integer";
  if (!value.IsScalar()) return bad(key, value, kind);
  const std::string& s = value.Scalar();
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return bad(key, value, kind);
  if (v < min || v > max) return bad(key, value, fmt::format("an integer from {} to {}", min, max));
  out = static_cast<int>(v);
}

void MapReader::duration(const char* key, Duration& out, Duration min) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined()) return;
  const std::string expected = fmt::format("a duration of at least {} such as 500ms, 30s or 1h30m", format_duration(min));
  if (!value.IsScalar()) return bad(key, value, expected);
  auto d = parse_duration(value.Scalar());
  if (!d || *d < min) return bad(key, value, expected);
  out = *d;
}

void MapReader::text(const char* key, std::string& out, bool allow_empty) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined()) return;
  if (!value.IsScalar() || (!allow_empty && value.Scalar().empty()))
    return bad(key, value, allow_empty ? "a string" : "a non-empty string");
  out = value.Scalar();
}

void MapReader::choice(const char* key, std::string& out, std::initializer_list<const char*> choices) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined()) return;
  std::string expected = "one of";
  for (const char* c : choices) expected += fmt::format(" {}", c);
  if (value.IsScalar())
    for (const char* c : choices)
      if (value.Scalar() == c) {
        out = c;
        return;
      }
  bad(key, value, expected);
}

void MapReader::boolean(const char* key, bool& out) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined()) return;
  // Only true and false: YAML 1.1's yes/no/on/off are too easy to write by accident.
  if (value.IsScalar() && (value.Scalar() == "true" || value.Scalar() == "false")) {
    out = value.Scalar() == "true";
    return;
  }
  bad(key, value, "true or false");
}

void MapReader::string_list(const char* key, std::vector<std::string>& out) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined()) return;
  if (!value.IsSequence()) return bad(key, value, "a list of strings");
  std::vector<std::string> items;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].IsScalar()) {
      sink_.add(value[i].Mark(), fmt::format("{}[{}]", key_path(key), i), "expected a string");
      return;
    }
    items.push_back(value[i].Scalar());
  }
  out = std::move(items);
}

void MapReader::integer_list(const char* key, std::vector<int>& out, int min, int max) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined()) return;
  const std::string expected = fmt::format("a list of integers from {} to {}", min, max);
  if (!value.IsSequence()) return bad(key, value, expected);
  std::vector<int> items;
  for (std::size_t i = 0; i < value.size(); ++i) {
    long long v = 0;
    const std::string s = value[i].IsScalar() ? value[i].Scalar() : std::string();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
      sink_.add(value[i].Mark(), fmt::format("{}[{}]", key_path(key), i), fmt::format("expected an integer from {} to {}", min, max));
      return;
    }
    items.push_back(static_cast<int>(v));
  }
  out = std::move(items);
}

void MapReader::number(const char* key, double& out, double min, double max) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined()) return;
  const std::string expected = fmt::format("a number from {} to {}", min, max);
  if (!value.IsScalar()) return bad(key, value, expected);
  const std::string& s = value.Scalar();
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !(v >= min && v <= max)) return bad(key, value, expected);
  out = v;
}

void MapReader::optional_duration(const char* key, std::optional<Duration>& out, Duration min) {
  Duration d{-1};
  duration(key, d, min);
  if (d.count() >= 0) out = d;  // read and valid (an absent or invalid key leaves d untouched)
}

void MapReader::string_map(const char* key, std::map<std::string, std::string>& out) {
  YAML::Node value = scalar(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (!value.IsMap()) return bad(key, value, "a mapping of names to strings");
  std::map<std::string, std::string> items;
  for (const auto& kv : value) {
    const std::string name = kv.first.Scalar();
    if (!kv.second.IsScalar()) {
      sink_.add(kv.second.Mark(), key_path(key) + "." + name, "expected a string");
      continue;
    }
    if (!items.emplace(name, kv.second.Scalar()).second)
      sink_.add(kv.first.Mark(), key_path(key) + "." + name, "duplicate key");
  }
  out = std::move(items);
}

std::optional<MapReader> MapReader::map(const char* key) {
  declared_.insert(key);
  if (declared_log) declared_log->push_back(key_path(key));
  YAML::Node value = std::as_const(node_)[key];
  if (!value.IsDefined() || value.IsNull()) return std::nullopt;
  if (!value.IsMap()) {
    bad(key, value, "a mapping");
    return std::nullopt;
  }
  return std::optional<MapReader>(std::in_place, value, key_path(key), sink_);
}

std::vector<std::string> MapReader::names() {
  free_keys_ = true;
  std::vector<std::string> out;
  for (const auto& kv : node_) {
    // A key that is a list, a mapping or null has no name to look up by: reported, never returned.
    if (kv.first.IsScalar() && !kv.first.Scalar().empty()) {
      out.push_back(kv.first.Scalar());
      continue;
    }
    sink_.add(kv.first.Mark(), key_path("?"), "expected a name (a plain string)");
  }
  return out;
}

void MapReader::finish() {
  std::map<std::string, YAML::Mark> seen;
  for (const auto& kv : node_) {
    const bool named = kv.first.IsScalar() && !kv.first.Scalar().empty();
    if (free_keys_ && !named) continue;  // names() reported it
    const std::string name = named ? kv.first.Scalar() : std::string("?");
    const std::string full = key_path(name.c_str());
    const auto [it, first] = seen.emplace(name, kv.first.Mark());
    if (!first) {
      sink_.add(kv.first.Mark(), full, fmt::format("duplicate key (first at line {})", it->second.line + 1));
      continue;
    }
    if (!free_keys_ && !declared_.count(name)) sink_.add(kv.first.Mark(), full, "unknown key");
  }
}

}  // namespace govjobd::config
