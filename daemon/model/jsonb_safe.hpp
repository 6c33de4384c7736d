#pragma once

#include <nlohmann/json.hpp>

namespace govjobd::model {

// Deeper than this, JSON from outside govjobd (a step's output, a probe's report, a configuration file)
// is not kept: PostgreSQL's jsonb refuses very deep values (its stack limit; 30,000 levels fail), and
// nothing a governance step reports needs more.
inline constexpr int kMaxJsonDepth = 100;

// The deepest nesting of `value`: 0 for a scalar, 1 for [] or {} of scalars.
int json_depth(const nlohmann::json& value);

// Makes `value` storable as jsonb: a NUL character in a string or a key (PostgreSQL refuses \u0000)
// becomes U+FFFD, as NUL bytes of captured output do; a value nested deeper than kMaxJsonDepth is
// replaced by a string that says so. Returns whether anything was changed.
bool make_jsonb_safe(nlohmann::json& value);

}  // namespace govjobd::model
