#include "health/health_monitor.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "health/health_gate.hpp"
#include "health/system_metrics.hpp"

namespace govjobd::health {

namespace asio = boost::asio;

namespace {

std::string error_of(const nlohmann::json& capability) {
  const auto details = capability.find("details");
  if (details == capability.end() || !details->is_object()) return "";
  const auto error = details->find("error");
  return error != details->end() && error->is_string() ? error->get<std::string>() : "";
}

nlohmann::json previous(const std::optional<model::HealthSnapshot>& last, const std::string& name) {
  if (!last) return nullptr;
  const auto it = last->capabilities.find(name);
  return it == last->capabilities.end() ? nlohmann::json() : it->second;
}

// A probe's error is logged when it appears or changes, and its recovery once: an endpoint that keeps
// failing the same way fills no journal.
void log_change(const std::string& name, const nlohmann::json& before, const nlohmann::json& now) {
  const std::string was = error_of(before), is = error_of(now);
  if (!is.empty() && is != was)
    spdlog::warn("health: capability {} is {}: {}", name, now.value("state", "?"), is);
  else if (is.empty() && !was.empty())
    spdlog::info("health: capability {} answers again: {}", name, now.value("state", "?"));
}

}  // namespace

struct HealthMonitor::Pending {
  model::HealthSnapshot snapshot;
  std::size_t waiting = 0;
  std::vector<std::function<void(model::HealthSnapshot)>> callers;
};

HealthMonitor::HealthMonitor(asio::io_context& io, config::HealthSettings settings,
                             std::shared_ptr<process::ChildReaper> reaper)
    : io_(io), settings_(std::move(settings)) {
  for (const auto& [name, probe] : settings_.capabilities) {
    probes_.emplace(name, make_probe(io_, probe, settings_.probe_timeout, reaper));
    if (probe.kind == "http" && probe.url.starts_with("https://") && !probe.tls_verify)
      spdlog::warn("health: capability {} probes {} with tls_verify: false: any certificate is accepted, so "
                   "anyone on the path can answer for it", name, probe.url);
  }
}

HealthMonitor::~HealthMonitor() = default;

void HealthMonitor::snapshot(std::function<void(model::HealthSnapshot)> done) {
  const auto now = std::chrono::steady_clock::now();
  if (cached_ && settings_.cache_ttl.count() > 0 && now - cached_at_ < settings_.cache_ttl) {
    asio::post(io_, [done = std::move(done), s = *cached_] { done(s); });
    return;
  }
  if (in_flight_) {
    in_flight_->callers.push_back(std::move(done));
    return;
  }
  auto pending = std::make_shared<Pending>();
  in_flight_ = pending;
  pending->callers.push_back(std::move(done));
  pending->waiting = probes_.size();
  pending->snapshot.system_health = settings_.system.enabled
      ? evaluate_system(read_system_readings(settings_.system), settings_.system)
      : nlohmann::json{{"state", "HEALTHY"}, {"enabled", false}};
  auto complete = [this, pending] {
    pending->snapshot.captured_at = model::now_utc();
    cached_ = pending->snapshot;
    cached_at_ = std::chrono::steady_clock::now();
    if (in_flight_ == pending) in_flight_.reset();
    if (listener_) listener_(pending->snapshot);
    for (auto& caller : pending->callers) caller(pending->snapshot);
  };
  if (probes_.empty()) {
    asio::post(io_, complete);
    return;
  }
  for (auto& [name, probe] : probes_) {
    probe->sample([this, pending, name = name, complete](ProbeResult r) {
      auto& now = pending->snapshot.capabilities[name] = {
          {"state", to_string(r.state)}, {"details", std::move(r.details)}, {"latency_ms", r.latency.count()}};
      log_change(name, previous(cached_, name), now);
      if (--pending->waiting == 0) complete();
    });
  }
}

bool nothing_blocked(const model::HealthSnapshot& snapshot) {
  if (system_state(snapshot) == "BLOCKED") return false;
  for (const auto& [name, cap] : snapshot.capabilities)
    if (capability_state(cap) == "BLOCKED") return false;
  return true;
}

HealthState worst_state(const model::HealthSnapshot& snapshot) {
  const auto state_of = [](const std::string& text) { return parse_health_state(text).value_or(HealthState::Blocked); };
  HealthState state = state_of(system_state(snapshot));
  for (const auto& [name, capability] : snapshot.capabilities) state = worst(state, state_of(capability_state(capability)));
  return state;
}

}  // namespace govjobd::health
