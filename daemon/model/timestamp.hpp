#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace govjobd::model {

// All timestamps are UTC, kept to the microsecond (PostgreSQL's precision).
using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

Timestamp now_utc();

// "2026-11-28T16:19:50.123456Z"
std::string format_timestamp(Timestamp t);

// Accepts ISO-8601 ("T" or " " separator, optional fraction, optional "Z" or "+00:00"), as written by
// format_timestamp and by PostgreSQL for `timestamp` columns. Other offsets are rejected: every time is UTC.
std::optional<Timestamp> parse_timestamp(std::string_view text);

}  // namespace govjobd::model
