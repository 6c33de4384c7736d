#pragma once

// Private to daemon/store: the connection behind a Store, shared by the files that implement it.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "daemon/store/sql_files.hpp"
#include "daemon/store/store.hpp"

namespace govjobd::store {

// A cut connection fails on its next use instead of reconnecting without its session settings (store.cpp).
void stay_down_when_cut(pqxx::connection_base& conn);

struct Store::Impl {
  Impl(const std::string& url, std::string jobs_schema, config::ContractSettings contract);
  pqxx::connection conn;
  std::string jobs_schema;  // where the jobs table is (valid_schema_name)
  config::ContractSettings contract;  // the contract gate: the claim reads this table when enabled
  std::set<std::string> claims_prepared;  // prepare_claim's, on this connection

  // A query or migration's SQL for this jobs schema.
  std::string sql(std::string_view text) const;
  // A statement's parameters in its file's order, as text (nullopt: NULL).
  using Params = std::vector<std::optional<std::string>>;
  // The claim statement's (queries/job_claim.sql), claiming only `only` when set (store_claim.cpp).
  static Params claim_params(const JobClaimParams& p, const std::optional<std::string>& only);
  // The claim statement (queries/job_claim.sql) in `t`; the jobs it claimed added to `out` (store_claim.cpp).
  void claim_in(pqxx::transaction_base& t, const JobClaimParams& p, const std::optional<std::string>& only, ClaimResult& out);
  // The claim's plan mode, a statement sent before it in its message (store_claim.cpp).
  static std::string claim_plan_setting(const std::optional<std::string>& only);
  // The call that takes the contracts table's lock for the rest of its transaction, waiting a second at most
  // (migration 24: govjobd.lock_contracts, GJ006 past it). With the gate on only.
  std::string contract_lock_call();
  // claim_plan_setting, and with the gate on the contracts table's lock (contract_lock_call)
  std::string claim_setting(const std::optional<std::string>& only);
  // With the gate on, takes the contracts table's lock in `t` (GJ006 past a second); nothing with it off.
  void lock_contracts(pqxx::transaction_base& t);
  // With the gate on, prepares the claim statement on this connection, if it is not yet, with the contracts
  // table's lock taken first (its planning takes it): as the claim itself. Called before the claim's transaction.
  void prepare_claim(const std::optional<std::string>& only);
  // The prepared claim for a claim of the oldest jobs (only: none) or of one job by its id.
  static const char* claim_statement(const std::optional<std::string>& only);
  static constexpr const char* kClaimById = "job_claim_by_id";
  // The rows of a claim statement added to `out`.
  void add_claim_rows(const pqxx::result& rows, ClaimResult& out) const;
  // `EXECUTE name(...)` of a prepared query with these parameters as quoted literals, for several statements
  // sent in one message (a pipeline): the statement prepared first, its plan cached as for exec_prepared.
  std::string execute_text(const char* name, const Params& params);
  // The writes and the claim in one message, one implicit transaction (store_run.cpp).
  WriteAndClaim write_and_claim(const std::vector<JobWrite>& writes, const JobClaimParams& claim);
  // Holds of jobs a committed claim left PENDING: released at once (another claim waits for none of them).
  void release_partial_holds(const ClaimResult& out);
};

}  // namespace govjobd::store
