#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace govjobd::config {

// "500ms", "30s", "5m", "2h", "90d": a whole number and one unit, nothing else.
std::optional<Duration> parse_duration(std::string_view text);

// The shortest exact spelling parse_duration accepts: 30000ms -> "30s".
std::string format_duration(Duration d);

}  // namespace govjobd::config
