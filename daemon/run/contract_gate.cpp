#include "daemon/run/contract_gate.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "daemon/log/logging.hpp"
#include "daemon/model/bounded_list.hpp"

namespace govjobd::run {

using nlohmann::json;

namespace {

// The status as the reason shows it: plain when it is a plain word, else as a JSON string (the creator's
// data may hold anything: control characters stay escaped on the reason's one line).
std::string shown_status(const std::optional<std::string>& status) { return status ? log::shown(*status) : "NULL"; }

// Every step whose target is not among the capabilities, "; "-joined (model::kMaxStepsNamed, then how many
// more); empty when there is none.
std::string targets_outside(const std::string& id, const std::vector<std::string>& capabilities,
                            const std::vector<model::JobStep>& steps) {
  model::BoundedList list(model::kMaxStepsNamed);
  for (const auto& step : steps)
    if (std::find(capabilities.begin(), capabilities.end(), step.target) == capabilities.end() && list.count())
      list.add(fmt::format("step {}: target '{}' is not among contract {}'s affected capabilities", step.step_index,
                           step.target, id));
  return list.text("steps");
}

std::string refusal(const std::string& id, const model::ContractFacts& f, const std::vector<model::JobStep>& steps,
                    model::Timestamp now) {
  if (!f.found) return fmt::format("contract {} not found in {}", id, f.table);
  if (f.duplicated)
    return fmt::format("contract {} has more than one row in {}: which of them governs the job is unknown", id, f.table);
  if (f.status != "ACTIVE") return fmt::format("contract {} is {}, not ACTIVE", id, shown_status(f.status));
  if (f.window_start && f.window_end && *f.window_end <= *f.window_start)
    return fmt::format("contract {}: activation window is empty: it closes at {}, not after it opens at {}", id,
                       model::format_timestamp(*f.window_end), model::format_timestamp(*f.window_start));
  if (f.window_end && now >= *f.window_end)
    return fmt::format("contract {}: activation window closed at {}", id, model::format_timestamp(*f.window_end));
  if (f.window_start && now < *f.window_start)
    return fmt::format("contract {}: activation window opens at {}", id, model::format_timestamp(*f.window_start));
  if (!f.capabilities && f.capabilities_count)
    return fmt::format("contract {}: affected_capabilities cannot be read (it holds {} entries; govjobd reads at most {} "
                       "entries and {} bytes of them)", id, *f.capabilities_count, model::kMaxContractCapabilities,
                       model::kMaxContractCapabilitiesBytes);
  return targets_outside(id, f.capabilities.value_or(std::vector<std::string>{}), steps);
}

}  // namespace

ContractDecision decide_contract(const std::string& contract_id, const std::optional<model::ContractFacts>& gate,
                                 const std::vector<model::JobStep>& steps, model::Timestamp now) {
  ContractDecision d;
  if (!gate) {
    d.allowed = true;
    d.evidence["enabled"] = false;
    return d;
  }
  const model::ContractFacts& facts = *gate;
  d.reason = refusal(contract_id, facts, steps, now);
  d.allowed = d.reason.empty();
  json& e = d.evidence;
  e["enabled"] = true;
  e["decision"] = d.allowed ? "allowed" : "refused";
  e["table"] = facts.table;
  e["contract_id"] = contract_id;
  e["contract_found"] = facts.found;
  if (facts.duplicated) e["contract_rows"] = "more than one";
  e["contract_status"] = facts.status ? json(*facts.status) : json();
  e["activation_window"] = {{"start", model::optional_to_json(facts.window_start)},
                            {"end", model::optional_to_json(facts.window_end)}};
  e["affected_capabilities"] = facts.capabilities ? json(*facts.capabilities) : json();
  e["checked_at"] = model::format_timestamp(now);
  if (!d.allowed) e["reason"] = d.reason;
  return d;
}

}  // namespace govjobd::run
