#include "health/health_state.hpp"

#include <stdexcept>

namespace govjobd::health {

std::string_view to_string(HealthState state) {
  switch (state) {
    case HealthState::Healthy: return "HEALTHY";
    case HealthState::Degraded: return "DEGRADED";
    case HealthState::Blocked: return "BLOCKED";
  }
  throw std::logic_error("unknown HealthState");
}

std::optional<HealthState> parse_health_state(std::string_view text) {
  for (HealthState s : {HealthState::Healthy, HealthState::Degraded, HealthState::Blocked})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

HealthState worst(HealthState a, HealthState b) { return a > b ? a : b; }

}  // namespace govjobd::health
