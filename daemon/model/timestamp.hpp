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

// The first and the last instant parse_timestamp can return: 0001-01-01T00:00:00Z, 9999-12-31T23:59:59.999999Z.
Timestamp first_instant();
Timestamp last_instant();

// A time read as a bound (a deadline, a window's edge): PostgreSQL's text for a timestamp the parser cannot
// hold (infinity, a year after 9999: the last instant it can; -infinity, a year BC: the first, 0001-01-01),
// never none, so that a bound that could not be read does not open what it closes. nullopt for other text.
std::optional<Timestamp> parse_bound(std::string_view text);

}  // namespace govjobd::model
