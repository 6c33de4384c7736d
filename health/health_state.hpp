#pragma once

#include <optional>
#include <string_view>

namespace govjobd::health {

// Ordered from best to worst, so that the worst of several states is their maximum.
enum class HealthState { Healthy = 0, Degraded = 1, Blocked = 2 };

std::string_view to_string(HealthState state);
std::optional<HealthState> parse_health_state(std::string_view text);
HealthState worst(HealthState a, HealthState b);

}  // namespace govjobd::health
