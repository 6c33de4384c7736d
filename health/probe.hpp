#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "config/settings.hpp"
#include "health/health_state.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::process {
class ChildReaper;
}

namespace govjobd::health {

struct ProbeResult {
  HealthState state = HealthState::Blocked;
  nlohmann::json details = nlohmann::json::object();
  std::chrono::milliseconds latency{0};
};

// Samples one capability on the event loop within its own timeout. A probe that fails or times out
// reports the configured on_error state with the error in its details. `done` runs once, on the loop.
class Probe {
 public:
  virtual ~Probe() = default;
  virtual void sample(std::function<void(ProbeResult)> done) = 0;
};

// The command and systemd_unit probes track their children in `reaper`, which the daemon owns.
std::unique_ptr<Probe> make_probe(boost::asio::io_context& io, const config::ProbeSettings& settings,
                                  config::Duration default_timeout, std::shared_ptr<process::ChildReaper> reaper);

}  // namespace govjobd::health
