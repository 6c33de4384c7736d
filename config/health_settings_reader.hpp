#pragma once

#include "config/settings.hpp"
#include "config/yaml_reader.hpp"

namespace govjobd::config {

// The `health:` section: probe timeout, cache TTL, block_on, system thresholds, capability probes.
void read_health(MapReader& section, HealthSettings& out);

}  // namespace govjobd::config
