#include "health/system_metrics.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace govjobd::health {

std::optional<double> parse_loadavg_1m(std::string_view text) {
  std::istringstream in{std::string(text)};
  double load = 0;
  if (!(in >> load) || load < 0 || !std::isfinite(load)) return std::nullopt;
  return load;
}

std::optional<MemInfo> parse_meminfo(std::string_view text) {
  MemInfo m;
  bool total = false, available = false;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    long long value = 0;
    if (!(fields >> key >> value)) continue;
    if (key == "MemTotal:") m.total_kib = value, total = true;
    if (key == "MemAvailable:") m.available_kib = value, available = true;
  }
  if (!total || !available || m.total_kib <= 0) return std::nullopt;
  return m;
}

HealthState rate_higher_is_worse(double value, const config::Threshold& t) {
  return value >= t.blocked ? HealthState::Blocked : value >= t.degraded ? HealthState::Degraded : HealthState::Healthy;
}

HealthState rate_lower_is_worse(double value, const config::Threshold& t) {
  return value <= t.blocked ? HealthState::Blocked : value <= t.degraded ? HealthState::Degraded : HealthState::Healthy;
}

namespace {

std::optional<std::string> slurp(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double round2(double v) { return std::round(v * 100) / 100; }

}  // namespace

SystemReadings read_system_readings(const config::SystemHealthSettings& settings) {
  SystemReadings r;
  r.cpus = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
  if (auto text = slurp("/proc/loadavg")) r.load_1m = parse_loadavg_1m(*text);
  if (auto text = slurp("/proc/meminfo")) r.memory = parse_meminfo(*text);
  for (const auto& path : settings.disks) {
    struct statvfs st {};
    SystemReadings::Disk d{path, std::nullopt, ""};
    if (::statvfs(path.c_str(), &st) == 0 && st.f_blocks > 0)
      d.free_pct = 100.0 * static_cast<double>(st.f_bavail) / static_cast<double>(st.f_blocks);
    else
      d.error = std::strerror(errno);
    r.disks.push_back(std::move(d));
  }
  return r;
}

nlohmann::json evaluate_system(const SystemReadings& r, const config::SystemHealthSettings& s) {
  HealthState overall = HealthState::Healthy;
  nlohmann::json checks = nlohmann::json::object();
  auto check = [&](const std::string& name, HealthState state, nlohmann::json detail) {
    overall = worst(overall, state);
    detail["state"] = to_string(state);
    checks[name] = std::move(detail);
  };
  nlohmann::json out = nlohmann::json::object();
  if (r.load_1m) {
    const double per_cpu = round2(*r.load_1m / r.cpus);
    out["load_per_cpu"] = per_cpu;
    check("load_per_cpu", rate_higher_is_worse(per_cpu, s.load_per_cpu), {{"value", per_cpu}, {"cpus", r.cpus}});
  } else {
    out["load_per_cpu"] = nullptr;
    check("load_per_cpu", HealthState::Blocked, {{"error", "cannot read /proc/loadavg"}});
  }
  if (r.memory) {
    const double pct = round2(100.0 * static_cast<double>(r.memory->available_kib) / static_cast<double>(r.memory->total_kib));
    out["memory_available_pct"] = pct;
    check("memory_available_pct", rate_lower_is_worse(pct, s.memory_available_pct), {{"value", pct}});
  } else {
    out["memory_available_pct"] = nullptr;
    check("memory_available_pct", HealthState::Blocked, {{"error", "cannot read /proc/meminfo"}});
  }
  out["disks"] = nlohmann::json::array();
  for (const auto& d : r.disks) {
    const HealthState state = d.free_pct ? rate_lower_is_worse(*d.free_pct, s.disk_free_pct) : HealthState::Blocked;
    nlohmann::json disk{{"path", d.path},
                        {"free_pct", d.free_pct ? nlohmann::json(round2(*d.free_pct)) : nlohmann::json()},
                        {"state", to_string(state)}};
    if (!d.error.empty()) disk["error"] = d.error;
    out["disks"].push_back(disk);
    check("disk:" + d.path, state, disk);
  }
  out["state"] = to_string(overall);
  out["checks"] = std::move(checks);
  return out;
}

}  // namespace govjobd::health
