#include "daemon/model/jsonb_safe.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "daemon/model/utf8.hpp"

namespace govjobd::model {

namespace {

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

// `depth`: the nesting of `value` itself (1 for a member of the top-level value)
bool make_safe(nlohmann::json& value, int depth) {
  bool changed = false;
  if (value.is_string()) {
    auto& s = value.get_ref<std::string&>();
    if (has_nul(s)) {
      s = replace_invalid_utf8(s, true);
      changed = true;
    }
    return changed;
  }
  if (!value.is_structured()) return false;
  if (depth >= kMaxJsonDepth) {
    value = "(nested deeper than " + std::to_string(kMaxJsonDepth) + " levels: not kept)";
    return true;
  }
  if (value.is_array()) {
    for (auto& element : value) changed = make_safe(element, depth + 1) || changed;
    return changed;
  }
  std::vector<std::string> renamed;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (has_nul(it.key())) renamed.push_back(it.key());
    changed = make_safe(it.value(), depth + 1) || changed;
  }
  for (const auto& key : renamed) {
    auto member = std::move(value[key]);
    value.erase(key);
    value[replace_invalid_utf8(key, true)] = std::move(member);
  }
  return changed || !renamed.empty();
}

}  // namespace

namespace {
struct TooDeep {};
}  // namespace

BoundedJson parse_bounded_json(std::string_view text, int max_depth) {
  // `depth` counts the containers already open: the top-level value starts at 0
  auto guard = [max_depth](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    const bool opens = event == nlohmann::json::parse_event_t::object_start ||
                       event == nlohmann::json::parse_event_t::array_start;
    if (opens && depth >= max_depth) throw TooDeep{};
    return true;
  };
  try {
    return {nlohmann::json::parse(text.begin(), text.end(), guard, false), false};
  } catch (const TooDeep&) {
    return {nlohmann::json(nlohmann::json::value_t::discarded), true};
  }
}

int json_depth(const nlohmann::json& value) {
  // Iterative: the value may come straight from a parser, as deep as its text allowed.
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> stack{{&value, 0}};
  while (!stack.empty()) {
    const auto [v, depth] = stack.back();
    stack.pop_back();
    if (!v->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& element : *v) stack.emplace_back(&element, depth + 1);
  }
  return deepest;
}

bool make_jsonb_safe(nlohmann::json& value) { return make_safe(value, 0); }

}  // namespace govjobd::model
