#include "config/config_key.hpp"

#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace govjobd::config {

using nlohmann::json;

namespace {

// An existing element's index: decimal digits without a leading zero, below `size`.
std::optional<std::size_t> index_in(const std::string& segment, std::size_t size) {
  std::size_t i = 0;
  const auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), i);
  if (ec != std::errc() || end != segment.data() + segment.size() || (segment.size() > 1 && segment[0] == '0'))
    return std::nullopt;
  if (i >= size) return std::nullopt;
  return i;
}

// One step of a walk: the child of `parent` named by segment `n`, nullptr for an absent object member.
template <typename Json>
Json* child(Json& parent, const ConfigKey& key, std::size_t n, std::string& error) {
  const std::string& segment = key.segments[n];
  if (parent.is_object()) {
    const auto it = parent.find(segment);
    return it == parent.end() ? nullptr : &*it;
  }
  const std::string where = n == 0 ? std::string("the top") : key.prefix(n);
  if (parent.is_array()) {
    if (auto i = index_in(segment, parent.size())) return &parent[*i];
    error = fmt::format("parameters.key: {} is not an index of the {} elements of {} (arrays are not grown)",
                        segment, parent.size(), where);
    return nullptr;
  }
  error = fmt::format("parameters.key: {} is {}, not a mapping or a list", where, json_kind(parent));
  return nullptr;
}

}  // namespace

ConfigKey ConfigKey::parse(const std::string& text, std::string& error) {
  ConfigKey key{text, {}};
  std::size_t count = 1;
  for (char c : text) count += c == '.';
  if (count > kMaxKeySegments) {
    error = fmt::format("more than {} dotted segments ({})", kMaxKeySegments, count);
    return key;
  }
  for (std::size_t start = 0;;) {
    const std::size_t dot = text.find('.', start);
    key.segments.push_back(text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (key.segments.back().empty()) {
      error = fmt::format("an empty segment in '{}'", text);
      return key;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return key;
}

std::string ConfigKey::prefix(std::size_t count) const {
  std::string out;
  for (std::size_t i = 0; i < count && i < segments.size(); ++i) out += (i ? "." : "") + segments[i];
  return out;
}

const json* find_at(const json& document, const ConfigKey& key, std::string& error) {
  const json* at = &document;
  for (std::size_t n = 0; at && n < key.segments.size(); ++n) at = child(*at, key, n, error);
  return error.empty() ? at : nullptr;
}

std::string set_at(json& document, const ConfigKey& key, json value) {
  json* at = &document;
  std::string error;
  for (std::size_t n = 0; n < key.segments.size(); ++n) {
    json* next = child(*at, key, n, error);
    if (!error.empty()) return error;
    if (!next) {  // an absent member: created, and so are the objects below it
      json& created = (*at)[key.segments[n]];
      if (n + 1 < key.segments.size()) created = json::object();
      next = &created;
    }
    at = next;
  }
  *at = std::move(value);
  return "";
}

std::string json_kind(const json& value) {
  switch (value.type()) {
    case json::value_t::object: return "a mapping";
    case json::value_t::array: return "a list";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::null: return "null";
    default: return "a number";
  }
}

}  // namespace govjobd::config
