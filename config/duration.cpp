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
}

std::optional<Duration> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  long long value = 0;
  std::from_chars(text.data(), text.data() + digits, value);
  const std::string_view unit = text.substr(digits);
  for (const auto& [name, ms] : kUnits) {
    if (unit != name) continue;
    if (value > std::numeric_limits<long long>::max() / ms) return std::nullopt;
    return Duration(value * ms);
  }
  return std::nullopt;
}

std::string format_duration(Duration d) {
  const long long ms = d.count();
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it)
    if (ms != 0 && ms % it->second == 0) return fmt::format("{}{}", ms / it->second, it->first);
  return fmt::format("{}ms", ms);
}

}  // namespace govjobd::config
