#pragma once

// One health snapshot of these settings on a fresh io_context (the health tests' common step).

#include <chrono>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "health/health_monitor.hpp"
#include "process/child_reaper.hpp"

namespace govjobd::testing {

inline model::HealthSnapshot snapshot_of(config::HealthSettings settings) {
  process::prepare_process_for_children();
  boost::asio::io_context io;
  health::HealthMonitor monitor(io, std::move(settings), std::make_shared<process::ChildReaper>());
  std::optional<model::HealthSnapshot> out;
  monitor.snapshot([&](model::HealthSnapshot s) { out = std::move(s); });
  io.run_for(std::chrono::seconds(30));
  REQUIRE(out);
  return *out;
}

}  // namespace govjobd::testing
