#include "config/yaml_json.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace govjobd::config {

namespace {

nlohmann::json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null") return nullptr;
  if (s == "true") return true;
  if (s == "false") return false;
  long long i = 0;
  if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i); ec == std::errc() && end == s.data() + s.size())
    return i;
  double d = 0;
  if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      ec == std::errc() && end == s.data() + s.size() && std::isfinite(d))
    return d;
  return s;
}

nlohmann::json to_json(const YAML::Node& node, int depth) {
  if ((node.IsSequence() || node.IsMap()) && depth >= kMaxYamlToJsonDepth)
    throw YAML::ParserException(node.Mark(), fmt::format("nested deeper than {} levels", kMaxYamlToJsonDepth));
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      auto out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(to_json(item, depth + 1));
      return out;
    }
    case YAML::NodeType::Map: {
      auto out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = to_json(kv.second, depth + 1);
      return out;
    }
    case YAML::NodeType::Scalar:
      return node.Tag() == "!" ? nlohmann::json(node.Scalar()) : plain_scalar(node.Scalar());
    default: return nullptr;
  }
}

}  // namespace

nlohmann::json yaml_to_json(const YAML::Node& node) { return to_json(node, 0); }

}  // namespace govjobd::config
