#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace govjobd::config {

// A YAML document as JSON. Plain scalars become null, booleans (true/false only), integers or floats when
// they read as such; quoted scalars stay strings.
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace govjobd::config

namespace govjobd::config {

// JSON as a YAML document; strings are double-quoted so that types survive the round trip.
std::string json_to_yaml(const nlohmann::json& value);

}  // namespace govjobd::config
