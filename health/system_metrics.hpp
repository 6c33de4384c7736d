#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/settings.hpp"
#include "health/health_state.hpp"

namespace govjobd::health {

// Pure parsers of /proc text (tests feed them saved samples).
std::optional<double> parse_loadavg_1m(std::string_view proc_loadavg);
struct MemInfo {
  long long total_kib = 0;
  long long available_kib = 0;
};
std::optional<MemInfo> parse_meminfo(std::string_view proc_meminfo);

HealthState rate_higher_is_worse(double value, const config::Threshold& t);
HealthState rate_lower_is_worse(double value, const config::Threshold& t);

// What the system checks read; filled from /proc and statvfs by read_system_readings().
struct SystemReadings {
  std::optional<double> load_1m;
  int cpus = 1;
  std::optional<MemInfo> memory;
  struct Disk {
    std::string path;
    std::optional<double> free_pct;  // none when statvfs failed
    std::string error;
  };
  std::vector<Disk> disks;
};
SystemReadings read_system_readings(const config::SystemHealthSettings& settings);

// {"state", "load_per_cpu", "memory_available_pct", "disks": [{path, free_pct, state}], "checks": {...}}.
// The state is the worst of the checks; a reading that failed is BLOCKED with its error.
nlohmann::json evaluate_system(const SystemReadings& readings, const config::SystemHealthSettings& settings);

}  // namespace govjobd::health
