#include "executors/yaml_splice.hpp"

#include <optional>

#include <fmt/format.h>

#include "config/yaml_json.hpp"

namespace govjobd::executors {

namespace {

using nlohmann::json;

struct Found {
  YAML::Node node;
  bool in_flow = false;  // its parent is a flow collection ({a: 1} or [1, 2]): ',', ']' and '}' end it
};

// The node at `key`, or an error. The last of duplicate keys wins, as in yaml_to_json. Nodes are only
// rebound (reset, emplace), never assigned: yaml-cpp's operator= writes into the node referred to.
std::optional<Found> find_node(const YAML::Node& root, const config::ConfigKey& key, std::string& error) {
  Found at{root, false};
  for (std::size_t n = 0; n < key.segments.size(); ++n) {
    const std::string& segment = key.segments[n];
    std::optional<YAML::Node> next;
    if (at.node.IsMap()) {
      for (const auto& kv : at.node)
        if (kv.first.IsScalar() && kv.first.Scalar() == segment) next.emplace(kv.second);
    } else if (at.node.IsSequence()) {
      for (std::size_t i = 0; i < at.node.size() && !next; ++i)
        if (std::to_string(i) == segment) next.emplace(at.node[i]);
    }
    if (!next) {
      error = fmt::format("parameters.key: {} is absent; in a YAML file config_update replaces existing values "
                          "only (so that the file keeps its comments and layout)", key.prefix(n + 1));
      return std::nullopt;
    }
    at.in_flow = at.node.Style() == YAML::EmitterStyle::Flow;
    at.node.reset(*next);
  }
  return at;
}

// The end of the scalar's text that starts at `begin`, or npos for a form not replaced in place.
std::size_t scalar_end(const std::string& text, std::size_t begin, bool in_flow) {
  const char first = text[begin];
  if (first == '"' || first == '\'') {
    for (std::size_t i = begin + 1; i < text.size(); ++i) {
      if (first == '"' && text[i] == '\\') ++i;
      else if (text[i] == first && first == '\'' && i + 1 < text.size() && text[i + 1] == '\'') ++i;
      else if (text[i] == first) return i + 1;
    }
    return std::string::npos;
  }
  if (std::string_view("|>&*!").find(first) != std::string_view::npos) return std::string::npos;
  std::size_t end = begin;
  while (end < text.size() && text[end] != '\n' && text[end] != '\r' &&
         !(in_flow && std::string_view(",]}").find(text[end]) != std::string_view::npos) &&
         !(text[end] == '#' && end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')))
    ++end;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return end;
}

}  // namespace

YamlSplice splice_yaml_scalar(const std::string& text, const YAML::Node& root, const config::ConfigKey& key,
                              const json& new_value) {
  std::string error;
  const auto found = find_node(root, key, error);
  if (!found) return {"", error};
  if (!found->node.IsScalar() && !found->node.IsNull())
    return {"", fmt::format("parameters.key: {} is {} in the file; in a YAML file config_update replaces a scalar "
                            "value only", key.text, found->node.IsMap() ? "a mapping" : "a list")};
  const auto begin = static_cast<std::size_t>(found->node.Mark().pos);
  const std::size_t end = begin < text.size() ? scalar_end(text, begin, found->in_flow) : std::string::npos;
  const std::string refused = fmt::format(
      "parameters.key: the value of {} is not written in a form that config_update replaces in place (a plain, "
      "single- or double-quoted scalar on one line); nothing changed", key.text);
  if (end == std::string::npos) return {"", refused};
  std::string out = text.substr(0, begin) + new_value.dump(-1, ' ', false, json::error_handler_t::replace) +
                    text.substr(end);
  // the proof: the new text reads as the old document with only this value changed
  json expected = config::yaml_to_json(root);
  if (!config::set_at(expected, key, new_value).empty()) return {"", refused};
  try {
    if (config::yaml_to_json(YAML::Load(out)) != expected) return {"", refused};
  } catch (const YAML::Exception&) {
    return {"", refused};
  }
  return {std::move(out), ""};
}

}  // namespace govjobd::executors
