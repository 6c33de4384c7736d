// The store's claim: the statement, and the isolation of a row that breaks it (docs/reliability.md).
#include <algorithm>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "daemon/store/pg_errors.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store_contract.hpp"
#include "daemon/store/store_impl.hpp"

namespace govjobd::store {

using detail::translate_errors;

namespace {

using detail::json_list;
using detail::or_null;
using detail::text_or_null;
using detail::bound_or_null;
using detail::time_or_null;

// One row of queries/job_claim.sql that holds a job; `contract_table` is set when the contract gate is on.
ClaimedJob claimed_job_of(const pqxx::row& r, const std::optional<std::string>& contract_table) {
  ClaimedJob job{r[0].c_str(), text_or_null(r[1]), text_or_null(r[2]), bound_or_null(r[3]),
                 time_or_null(r[4]).value_or(model::now_utc()), or_null<int>(r[5]), or_null<long long>(r[6]), std::nullopt,
                 std::nullopt, false, std::nullopt, {}, or_null<double>(r[17]), text_or_null(r[18]),
                 text_or_null(r[19])};
  if (contract_table) job.contract = detail::contract_facts_of(r, 7, *contract_table);
  return job;
}

// The rows of queries/job_claim.sql: the jobs, and the row without a job that says when a window opens.
void add_claimed(const pqxx::result& rows, const std::optional<std::string>& contract_table, ClaimResult& out) {
  for (const auto& r : rows) {
    if (!r[0].is_null()) {
      out.jobs.push_back(claimed_job_of(r, contract_table));
      continue;
    }
    out.partial_holds += r[14].is_null() ? 0 : r[14].as<long long>();
    out.left_behind = out.left_behind || (!r[15].is_null() && r[15].as<bool>());
    out.dropped += r[16].is_null() ? 0 : r[16].as<long long>();
    if (r[13].is_null()) continue;
    const double seconds = r[13].as<double>();
    out.window_opens_in = std::chrono::milliseconds(static_cast<long long>(std::clamp(seconds, 0.0, 1e9) * 1000.0));
  }
}

// One row of queries/job_claim_isolated.sql: claimed without its steps, because of `claim_error`.
ClaimedJob isolated_job_of(const pqxx::row& r, const std::string& claim_error) {
  return {r[0].c_str(), text_or_null(r[1]), std::nullopt, bound_or_null(r[2]),
          time_or_null(r[3]).value_or(model::now_utc()), std::nullopt, std::nullopt, claim_error, std::nullopt, false,
          std::nullopt, {}, or_null<double>(r[4]), std::nullopt, std::nullopt};
}

// A uuid[] literal of job ids ('{}' for none); ids come from the database, never from job data.
std::string uuid_array(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (const auto& id : ids) out += (out.size() > 1 ? "," : "") + id;
  return out + "}";
}

}  // namespace

Store::Impl::Params Store::Impl::claim_params(const JobClaimParams& p, const std::optional<std::string>& only) {
  const auto flag = [](bool v) { return std::optional<std::string>(v ? "true" : "false"); };
  const auto number = [](long long v) { return std::optional<std::string>(std::to_string(v)); };
  return {p.worker_id,
          number(p.limit),
          number(p.lease.count()),
          number(p.max_steps_bytes),
          uuid_array(p.excluded),
          only,
          number(model::kMaxContractCapabilities),
          number(model::kMaxContractCapabilitiesBytes),
          json_list(p.step_types),
          json_list(p.targets),
          json_list(p.pools),
          flag(p.exclusive_targets),
          json_list(p.blocked_targets),
          flag(p.host_blocked),
          flag(p.force)};
}

void Store::Impl::add_claim_rows(const pqxx::result& rows, ClaimResult& out) const {
  const auto contract_table =
      contract.enabled ? std::optional<std::string>(contract_table_name(contract, jobs_schema, false)) : std::nullopt;
  add_claimed(rows, contract_table, out);
}

// How the claim is planned, for its own transaction: a claim of the oldest jobs as queries/job_claim_plan.sql
// says (one generic plan through the PENDING index), a claim of one job by its id for that id (a custom plan:
// its primary-key lookup).
std::string Store::Impl::claim_plan_setting(const std::optional<std::string>& only) {
  if (only) return "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)";
  static const std::string oldest = [] {  // the statement without its comment lines
    std::string out;
    const std::string_view text = query("job_claim_plan");
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t end = std::min(text.find('\n', at), text.size());
      if (!text.substr(at, end - at).starts_with("--")) out.append(text.substr(at, end - at)).append("\n");
      at = end + 1;
    }
    return out;
  }();
  return oldest;
}

std::string Store::Impl::contract_lock_call() {
  return "govjobd.lock_contracts(" + conn.quote(contract_table_name(contract, jobs_schema, true)) + ")";
}

std::string Store::Impl::claim_setting(const std::optional<std::string>& only) {
  return contract.enabled ? claim_plan_setting(only) + ", " + contract_lock_call() : claim_plan_setting(only);
}

void Store::Impl::lock_contracts(pqxx::transaction_base& t) {
  if (contract.enabled) t.exec("SELECT " + contract_lock_call());
}

void Store::Impl::prepare_claim(const std::optional<std::string>& only) {
  const char* name = claim_statement(only);
  if (!contract.enabled || claims_prepared.contains(name)) return;  // gate off: prepared at its first use
  pqxx::work w(conn);
  lock_contracts(w);  // held to the commit: the planning waits for nothing there
  conn.prepare_now(name);  // a statement prepared stays so past its transaction's end
  w.commit();
  claims_prepared.insert(name);
}

void Store::Impl::claim_in(pqxx::transaction_base& t, const JobClaimParams& p, const std::optional<std::string>& only,
                           ClaimResult& out) {
  // one message, one implicit transaction: the setting, then the claim, whose rows are the message's last result
  add_claim_rows(t.exec(claim_setting(only) + "; " + execute_text(claim_statement(only), claim_params(p, only))), out);
}

void Store::Impl::release_partial_holds(const ClaimResult& out) {
  if (out.partial_holds == 0) return;
  // The claim has committed: a failure here must not lose its jobs; the periodic sweep releases what is left.
  try {
    pqxx::nontransaction w(conn);
    w.exec_prepared("target_holds_release");
  } catch (const std::exception&) {
  }
}

ClaimResult Store::job_claim(const JobClaimParams& p) {
  return translate_errors([&] {
    const std::string excluded = uuid_array(p.excluded);
    const auto claim = [&](const std::optional<std::string>& only, ClaimResult& out) {
      {
        impl_->prepare_claim(only);
        pqxx::nontransaction w(impl_->conn);  // one statement, atomic by itself: no BEGIN and COMMIT round trips
        impl_->claim_in(w, p, only, out);
      }
      impl_->release_partial_holds(out);
    };
    try {
      ClaimResult out;
      claim(p.only, out);
      for (auto& job : out.jobs) job.forced = p.force;
      return out;
    } catch (const pqxx::sql_error& e) {
      if (detail::sqlstate_of(e) == "GJ006") throw std::runtime_error(detail::claim_lock_message(e));
      // the contracts table cannot be read as configured (dropped, altered, a grant revoked): no row's doing.
      // A missing grant may be another table's (the jobs table's): the database says whether it is this one.
      const bool contracts_unreadable =
          impl_->contract.enabled && detail::contract_statement_error(e) &&
          (detail::sqlstate_of(e) != "42501" || !contract_table_problems().empty());
      // a statement timeout may be a row's doing (its size): isolate rather than run the same claim again
      if (!contracts_unreadable && detail::transient(e) && e.sqlstate() != "57014") throw;
      if (contracts_unreadable)
        throw std::runtime_error(fmt::format("contract.table: {} cannot be read ({}); no job claimed, jobs stay PENDING",
                                             contract_table_name(impl_->contract, impl_->jobs_schema, false),
                                             detail::first_line(e.what())));
      // a claim that can match no row fails too: no row asked for is the cause, and isolating would fail jobs
      // that did nothing (routed elsewhere, paused): none is claimed, and the next claim tries again
      if (const auto anyway = claim_of_none_fails(p))
        throw std::runtime_error(fmt::format("the claim fails whichever job it claims ({}); no job claimed, jobs stay PENDING", *anyway));
      if (p.only) {  // the one job asked for broke the claim: claimed alone, failed by its worker
        ClaimResult out;
        claim_alone(p, *p.only, detail::first_line(e.what()), out);
        return out;
      }
    }
    return claim_isolating(p, excluded, [&](const std::string& id, ClaimResult& out) { claim(id, out); });
  });
}

// The claim statement asked for a job by an id it also leaves out: it can match no row, and claims nothing.
// Its error, when it fails anyway.
std::optional<std::string> Store::claim_of_none_fails(const JobClaimParams& p) {
  static const std::string kNoJob = "00000000-0000-0000-0000-000000000000";
  JobClaimParams none = p;
  none.excluded.push_back(kNoJob);
  try {
    ClaimResult nothing;
    impl_->prepare_claim(kNoJob);
    pqxx::nontransaction w(impl_->conn);
    impl_->claim_in(w, none, kNoJob, nothing);
    return std::nullopt;
  } catch (const pqxx::sql_error& e) {
    if (detail::sqlstate_of(e) == "GJ006") throw std::runtime_error(detail::claim_lock_message(e));  // locked meanwhile
    if (detail::transient(e) && e.sqlstate() != "57014") throw;
    return detail::first_line(e.what());
  }
}

// Some row broke the claim: claim the candidates one by one; the row that fails again is claimed alone
// without reading its steps, and failed by its worker with the database's message.
ClaimResult Store::claim_isolating(const JobClaimParams& p, const std::string& excluded,
                                   const std::function<void(const std::string&, ClaimResult&)>& claim_one) {
  ClaimResult out;
  std::vector<std::string> candidates;
  {
    pqxx::read_transaction r(impl_->conn);
    for (const auto& row : r.exec_prepared("job_claim_candidates", p.limit, excluded)) candidates.emplace_back(row[0].c_str());
  }
  for (const auto& id : candidates) {
    try {
      claim_one(id, out);
    } catch (const pqxx::sql_error& e) {
      if (detail::transient(e) && e.sqlstate() != "57014") throw;
      // the contracts table locked meanwhile (GJ006): no row's doing; the jobs claimed so far run, the rest wait
      if (detail::sqlstate_of(e) == "GJ006") break;
      claim_alone(p, id, detail::first_line(e.what()), out);
    }
  }
  return out;
}

void Store::claim_alone(const JobClaimParams& p, const std::string& id, const std::string& message, ClaimResult& out) {
  try {
    pqxx::nontransaction w(impl_->conn);
    for (const auto& r : w.exec_prepared("job_claim_isolated", id, p.worker_id, p.lease.count()))
      out.jobs.push_back(isolated_job_of(r, message));
  } catch (const pqxx::sql_error& again) {
    if (detail::transient(again)) throw;
    out.unclaimable.emplace_back(id, message + "; claimed alone: " + detail::first_line(again.what()));
  }
}

}  // namespace govjobd::store
