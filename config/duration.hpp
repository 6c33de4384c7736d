#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace govjobd::config {

// "500ms", "30s", "90m", "2h", "1d", "1h30m": whole numbers each with a unit (ms, s, m, h, d), the units
// strictly decreasing, nothing else (no sign, no spaces). The one parser of config and command-line durations.
std::optional<Duration> parse_duration(std::string_view text);

// The shortest exact spelling parse_duration accepts: 30000ms -> "30s".
std::string format_duration(Duration d);

}  // namespace govjobd::config
