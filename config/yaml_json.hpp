#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace govjobd::config {

// Deeper YAML is refused (as model::kMaxJsonDepth: nothing deeper can be stored as a step's output, and
// the conversion recurses). yaml-cpp's own parser stops at 2000 levels.
inline constexpr int kMaxYamlToJsonDepth = 100;

// A YAML document as JSON. Plain scalars become null, booleans (true/false only), integers or floats when
// they read as such; quoted scalars stay strings. Throws YAML::ParserException, with the mark of
// the node, for nesting deeper than kMaxYamlToJsonDepth.
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace govjobd::config
