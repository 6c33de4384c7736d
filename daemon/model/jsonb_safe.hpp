#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace govjobd::model {

// Deeper than this, JSON from outside govjobd (a step's output, a probe's report, a configuration file)
// is not kept: PostgreSQL's jsonb refuses very deep values (its stack limit; 30,000 levels fail), and
// nothing a governance step reports needs more.
inline constexpr int kMaxJsonDepth = 100;

// JSON text from outside govjobd, parsed with its nesting bounded while it is read: nlohmann parses
// iteratively, but dump(), copies and comparisons recurse, so a megabyte of '[' that parsed would later
// overflow the stack. `value` is discarded when the text is invalid or too deep.
struct BoundedJson {
  nlohmann::json value;
  bool too_deep = false;  // nested deeper than the bound: refused before any walk
};
BoundedJson parse_bounded_json(std::string_view text, int max_depth = kMaxJsonDepth);

// The deepest nesting of `value`: 0 for a scalar, 1 for [] or {} of scalars.
int json_depth(const nlohmann::json& value);

// Makes `value` storable as jsonb: a NUL character in a string or a key (PostgreSQL refuses \u0000)
// becomes U+FFFD, as NUL bytes of captured output do; a value nested deeper than kMaxJsonDepth is
// replaced by a string that says so. Returns whether anything was changed.
bool make_jsonb_safe(nlohmann::json& value);

}  // namespace govjobd::model
