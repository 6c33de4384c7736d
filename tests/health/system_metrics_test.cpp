#include <catch2/catch.hpp>

#include "health/system_metrics.hpp"

using namespace govjobd;
using namespace govjobd::health;

// Saved from real machines.
static const char* kLoadavg = "3.52 2.10 1.05 3/412 12345\n";
static const char* kMeminfo = R"(MemTotal:       24554904 kB
MemFree:          618732 kB
MemAvailable:    1841112 kB
Buffers:          104512 kB
Cached:          1520020 kB
SwapCached:            0 kB
)";

TEST_CASE("the /proc parsers read saved samples", "[health]") {
  CHECK(parse_loadavg_1m(kLoadavg) == 3.52);
  CHECK_FALSE(parse_loadavg_1m(""));
  CHECK_FALSE(parse_loadavg_1m("garbage"));
  const auto mem = parse_meminfo(kMeminfo);
  REQUIRE(mem);
  CHECK(mem->total_kib == 24554904);
  CHECK(mem->available_kib == 1841112);
  CHECK_FALSE(parse_meminfo("MemTotal: 100 kB\n"));  // no MemAvailable: an error, never an empty reading
}

TEST_CASE("system state is the worst of its checks, each against its thresholds", "[health]") {
  config::SystemHealthSettings s;  // load 2/4 per cpu, memory 10/5 %, disk 10/5 %
  SystemReadings r;
  r.cpus = 2;
  r.load_1m = parse_loadavg_1m(kLoadavg);  // 1.76 per cpu: healthy
  r.memory = parse_meminfo(kMeminfo);      // 7.5 % available: degraded
  r.disks = {{"/", 50.0, ""}, {"/var", 4.0, ""}};
  const auto j = evaluate_system(r, s);
  CHECK(j.at("load_per_cpu") == 1.76);
  CHECK(j.at("memory_available_pct") == 7.5);
  CHECK(j.at("checks").at("load_per_cpu").at("state") == "HEALTHY");
  CHECK(j.at("checks").at("memory_available_pct").at("state") == "DEGRADED");
  CHECK(j.at("disks")[1].at("state") == "BLOCKED");
  CHECK(j.at("state") == "BLOCKED");

  r.disks = {{"/", 50.0, ""}};
  CHECK(evaluate_system(r, s).at("state") == "DEGRADED");
  r.memory.reset();
  const auto unreadable = evaluate_system(r, s);
  CHECK(unreadable.at("state") == "BLOCKED");
  CHECK(unreadable.at("checks").at("memory_available_pct").at("error") == "cannot read /proc/meminfo");
  CHECK(rate_higher_is_worse(4.0, {2, 4}) == HealthState::Blocked);
  CHECK(rate_lower_is_worse(10.0, {10, 5}) == HealthState::Degraded);
}
