#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace govjobd::config {

// A dotted key of a config_update step (parameters.key) or of a file's `keys:` allowlist, split at its
// dots. Bounded: a step's key is job data, and each segment is a level of nesting that every later walk
// (set, compare, dump) would recurse into.
inline constexpr std::size_t kMaxKeySegments = 32;

struct ConfigKey {
  std::string text;                   // as the step wrote it
  std::vector<std::string> segments;  // 1 to kMaxKeySegments, none empty

  // `error` is left empty when valid, else says what is wrong (without naming the field)
  static ConfigKey parse(const std::string& text, std::string& error);
  // The first `count` segments joined with dots (the path of a parent in messages).
  std::string prefix(std::size_t count) const;
};

// Where `key` is in `document`: the value, or nullptr when its last segment is an absent member of an
// object. `error` is set when the key cannot be there: a segment beyond an array's end (arrays are never
// grown: a job could otherwise ask for a billion elements), or one that steps into a scalar. Messages
// name parameters.key (the only source of keys walked) and never show the file's values.
const nlohmann::json* find_at(const nlohmann::json& document, const ConfigKey& key, std::string& error);

// Sets `key` in `document` to `value`, creating absent object members on the way. Returns the problem,
// or "" (same rules as find_at).
std::string set_at(nlohmann::json& document, const ConfigKey& key, nlohmann::json value);

// "a string", "a number", "a mapping"... (never the value itself)
std::string json_kind(const nlohmann::json& value);

}  // namespace govjobd::config
