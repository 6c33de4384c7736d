// The contract gate's decision (daemon/run/contract_gate.cpp): pure, from the facts a claim read.
#include <catch2/catch.hpp>

#include "daemon/run/contract_gate.hpp"

using govjobd::model::ContractFacts;
using govjobd::model::JobStep;
using govjobd::model::Timestamp;
using govjobd::run::decide_contract;
using namespace std::chrono_literals;

namespace {

const std::string kId = "7d1c2a52-0000-4000-8000-000000000001";
const Timestamp kNow = *govjobd::model::parse_timestamp("2026-12-01T12:00:00Z");

ContractFacts active(std::vector<std::string> capabilities = {"payments", "ledger"}) {
  ContractFacts f;
  f.table = "public.system_contracts";
  f.found = true;
  f.status = "ACTIVE";
  f.capabilities_count = static_cast<long long>(capabilities.size());
  f.capabilities = std::move(capabilities);
  return f;
}

std::vector<JobStep> steps_on(std::vector<std::string> targets) {
  std::vector<JobStep> out;
  for (std::size_t i = 0; i < targets.size(); ++i) out.push_back({static_cast<int>(i), "noop", targets[i], {}, 30});
  return out;
}

}  // namespace

TEST_CASE("contract gate: an ACTIVE contract inside its window whose capabilities hold every target allows the job",
          "[contract]") {
  ContractFacts f = active();
  f.window_start = kNow - 1h;
  f.window_end = kNow + 1h;
  const auto d = decide_contract(kId, f, steps_on({"payments", "ledger", "payments"}), kNow);
  CHECK(d.allowed);
  CHECK(d.reason.empty());
  CHECK(d.evidence.at("decision") == "allowed");
  CHECK(d.evidence.at("enabled") == true);
  CHECK(d.evidence.at("contract_status") == "ACTIVE");
  CHECK(d.evidence.at("activation_window").at("end") == "2026-12-01T13:00:00.000000Z");
  CHECK(d.evidence.at("affected_capabilities") == nlohmann::json({"payments", "ledger"}));
  CHECK_FALSE(d.evidence.contains("reason"));
  // NULL bounds: open on that side
  CHECK(decide_contract(kId, active(), steps_on({"ledger"}), kNow).allowed);
  // the gate off: allowed, and the evidence says the gate was off
  const auto off = decide_contract(kId, std::nullopt, steps_on({"anything"}), kNow);
  CHECK(off.allowed);
  CHECK(off.evidence == nlohmann::json{{"enabled", false}});
}

TEST_CASE("contract gate: each refusal says which", "[contract]") {
  ContractFacts missing;
  missing.table = "public.system_contracts";
  CHECK(decide_contract(kId, missing, steps_on({"payments"}), kNow).reason ==
        "contract " + kId + " not found in public.system_contracts");
  ContractFacts draft = active();
  draft.status = "DRAFT";
  const auto refused = decide_contract(kId, draft, steps_on({"payments"}), kNow);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.reason == "contract " + kId + " is DRAFT, not ACTIVE");
  CHECK(refused.evidence.at("decision") == "refused");
  CHECK(refused.evidence.at("reason") == refused.reason);
  ContractFacts closed = active();
  closed.window_end = kNow - 1s;
  CHECK(decide_contract(kId, closed, steps_on({"payments"}), kNow).reason ==
        "contract " + kId + ": activation window closed at 2026-12-01T11:59:59.000000Z");
  ContractFacts later = active();
  later.window_start = kNow + 1s;
  CHECK(decide_contract(kId, later, steps_on({"payments"}), kNow).reason ==
        "contract " + kId + ": activation window opens at 2026-12-01T12:00:01.000000Z");
  ContractFacts empty = active();  // ends before it opens: it never opens, even with both ahead
  empty.window_start = kNow + 2h;
  empty.window_end = kNow + 1h;
  CHECK(decide_contract(kId, empty, steps_on({"payments"}), kNow).reason ==
        "contract " + kId + ": activation window is empty: it closes at 2026-12-01T13:00:00.000000Z, not after it "
        "opens at 2026-12-01T14:00:00.000000Z");
  CHECK(decide_contract(kId, active({"ledger"}), steps_on({"ledger", "payments", "dns"}), kNow).reason ==
        "step 1: target 'payments' is not among contract " + kId + "'s affected capabilities; step 2: target 'dns' is "
        "not among contract " + kId + "'s affected capabilities");
}

TEST_CASE("contract gate: hostile contract values refuse the job, never let it through", "[contract]") {
  ContractFacts null_status = active();
  null_status.status.reset();
  CHECK(decide_contract(kId, null_status, steps_on({"payments"}), kNow).reason == "contract " + kId + " is NULL, not ACTIVE");
  ContractFacts odd = active();
  odd.status = "ACTIVE\n";
  CHECK(decide_contract(kId, odd, steps_on({"payments"}), kNow).reason == "contract " + kId + " is \"ACTIVE\\n\", not ACTIVE");
  ContractFacts null_list = active();
  null_list.capabilities.reset();
  null_list.capabilities_count.reset();
  CHECK_THAT(decide_contract(kId, null_list, steps_on({"payments"}), kNow).reason,
             Catch::StartsWith("step 0: target 'payments' is not among"));
  ContractFacts huge = active();
  huge.capabilities.reset();
  huge.capabilities_count = 5'000'000;
  CHECK(decide_contract(kId, huge, steps_on({"payments"}), kNow).reason ==
        "contract " + kId + ": affected_capabilities cannot be read (it holds 5000000 entries; govjobd reads at most 1000 "
        "entries and 65536 bytes of them)");
}
