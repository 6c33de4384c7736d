#include "config/duration.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace govjobd::config {

namespace {
constexpr std::array<std::pair<std::string_view, long long>, 5> kUnits{{
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};

// The unit at the start of `text` ("ms" before "m"), or none.
const std::pair<std::string_view, long long>* unit_at(std::string_view text) {
  for (const auto& unit : kUnits)
    if (text.starts_with(unit.first)) return &unit;
  return nullptr;
}
}  // namespace

// Parts such as "1h", "30m" in strictly decreasing units: "30m1h" or "1h1h" is more likely a typo than intent.
std::optional<Duration> parse_duration(std::string_view text) {
  long long total = 0;
  long long previous_unit = std::numeric_limits<long long>::max();
  if (text.empty()) return std::nullopt;
  while (!text.empty()) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 12) return std::nullopt;
    long long value = 0;
    std::from_chars(text.data(), text.data() + digits, value);
    const auto* unit = unit_at(text.substr(digits));
    if (unit == nullptr || unit->second >= previous_unit) return std::nullopt;
    if (value > (std::numeric_limits<long long>::max() - total) / unit->second) return std::nullopt;
    total += value * unit->second;
    previous_unit = unit->second;
    text.remove_prefix(digits + unit->first.size());
  }
  return Duration(total);
}

std::string format_duration(Duration d) {
  const long long ms = d.count();
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it)
    if (ms != 0 && ms % it->second == 0) return fmt::format("{}{}", ms / it->second, it->first);
  return fmt::format("{}ms", ms);
}

}  // namespace govjobd::config
