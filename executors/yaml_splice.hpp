#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "config/config_key.hpp"

namespace govjobd::executors {

// A YAML file's text with one existing scalar value replaced in place: every other byte (comments, order,
// quoting, blank lines) is kept. The new value is written as JSON text, which YAML reads as the same value
// (a string double-quoted, so that "007" stays a string). Only what can be proved is done: the result is
// parsed again and must equal the old document with just `key` changed; otherwise nothing is written.
struct YamlSplice {
  std::string text;   // the new file, when error is empty
  std::string error;  // names parameters.key; never shows the file's values
};
YamlSplice splice_yaml_scalar(const std::string& text, const YAML::Node& root, const config::ConfigKey& key,
                              const nlohmann::json& new_value);

}  // namespace govjobd::executors
