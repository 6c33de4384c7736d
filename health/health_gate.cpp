#include "health/health_gate.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace govjobd::health {

namespace {

std::string short_details(const nlohmann::json& details) {
  std::string text = details.is_null() ? "{}" : details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 300) text = text.substr(0, 297) + "...";
  return text;
}

}  // namespace

namespace {

std::string state_or(const nlohmann::json& v, const char* missing) {
  return v.is_object() && v.contains("state") && v["state"].is_string() ? v["state"].get<std::string>() : missing;
}

}  // namespace

std::string capability_state(const nlohmann::json& capability) { return state_or(capability, "BLOCKED"); }
std::string system_state(const model::HealthSnapshot& snapshot) { return state_or(snapshot.system_health, "HEALTHY"); }

ClaimView claim_view(const model::HealthSnapshot& snapshot, const std::vector<std::string>& block_on) {
  ClaimView view;
  for (const auto& [name, capability] : snapshot.capabilities)
    if (!decide_gate(snapshot, name, block_on).run) view.blocked_targets.push_back(name);
  const std::string system = system_state(snapshot);
  view.host_blocked = std::find(block_on.begin(), block_on.end(), system) != block_on.end();
  if (view.host_blocked) view.blocked_targets.clear();  // the host says it all
  return view;
}

GateDecision decide_gate(const model::HealthSnapshot& snapshot, const std::string& target,
                         const std::vector<std::string>& block_on) {
  auto stops = [&](const std::string& state) {
    return std::find(block_on.begin(), block_on.end(), state) != block_on.end();
  };
  GateDecision d;
  const std::string system_state = health::system_state(snapshot);
  const auto cap = snapshot.capabilities.find(target);
  const std::string target_state = cap == snapshot.capabilities.end() ? "" : capability_state(cap->second);
  d.evidence = {{"target", target},
                {"target_state", target_state.empty() ? nlohmann::json() : nlohmann::json(target_state)},
                {"system_state", system_state}};
  if (stops(system_state)) {
    d.run = false;
    d.reason = fmt::format("blocked by health: system {} ({})", system_state,
                           short_details(snapshot.system_health.value("checks", nlohmann::json::object())));
  } else if (!target_state.empty() && stops(target_state)) {
    d.run = false;
    d.reason = fmt::format("blocked by health: {} {} ({})", target, target_state,
                           short_details(cap->second.value("details", nlohmann::json::object())));
  }
  d.evidence["decision"] = d.run ? "run" : "blocked";
  if (!d.run) d.evidence["reason"] = d.reason;
  if (d.run && (system_state == "DEGRADED" || target_state == "DEGRADED")) d.evidence["degraded"] = true;
  return d;
}

}  // namespace govjobd::health
